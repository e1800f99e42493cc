import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { v5 as uuidv5 } from 'uuid';
import { compileValidator, ProblemError, STAY_TYPES, type DecisionEventV1 } from '#libs/contracts';
import {
  asDecisionEvent,
  canonicalServiceCode,
  osloToday,
  decisionStreamId,
  diffOktSnapshot,
  foldDecision,
  lookupServiceCode,
  oktDecisionKey,
  parseWeeklyExtent,
  type OktService,
  type Violation,
} from '#libs/domain';
import { PatientDecisions } from '#libs/content';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import { CallerGuard, CurrentCaller, RequireScope, type Caller } from '#libs/security';
import { RecordDecisionHandler } from '../record-decision/record-decision.handler.js';
import { openApiRefs } from '../openapi.js';
import { OktEventSchema, type OktEvent, type OktResultMessage } from './okt-contract.js';

const validateOktEvent = compileValidator(OktEventSchema);
/** Namespace of the name-based (v5) event ids of snapshot-derived events. */
const OKT_EVENT_NAMESPACE = 'a3b0f6e2-58c4-4d8e-9a3c-0c5f0e6b7f11';

/** Today in Norway (kept under this name for the OKT tests). */
export const norwegianToday = osloToday;

@ApiTags('OKT prototype compatibility')
@Controller('okt-events')
@UseGuards(CallerGuard)
@RequireScope('write')
export class OktController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly recorder: RecordDecisionHandler,
    private readonly decisions: PatientDecisions,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: "Post a snapshot of a person's services (NHN OKT prototype shape)",
    description:
      'The snapshot is diffed against what this sender posted before for the person, and the lifecycle events that explain the difference are appended: new services are granted, changed ones changed, temporaryCessation pauses and resumes, services missing from the snapshot are ended. Posting the same snapshot again appends nothing.',
  })
  @ApiBody({ schema: openApiRefs.oktEvent })
  @ApiResponse({ status: 200, description: 'ResultMessage', schema: openApiRefs.oktResult })
  async post(@CurrentCaller() caller: Caller, @Body() body: unknown): Promise<OktResultMessage> {
    const parsed = validateOktEvent(body);
    if (!parsed.ok) throw ProblemError.of(400, 'invalid-okt-event', 'The OktEvent is malformed', undefined, parsed.errors);
    const snapshot = parsed.value;
    const services = parseServices(snapshot);
    const sender = caller.clientId;
    // A concurrent post for the same person can win a race; the snapshot is then diffed
    // again against what is stored now (usually leaving nothing to do).
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.apply(caller, snapshot.personIdentifier, services, sender);
      } catch (error) {
        if (attempt < 3 && error instanceof ProblemError && error.problem.status === 409) continue;
        throw error;
      }
    }
  }

  private async apply(caller: Caller, pid: string, services: OktService[], sender: string): Promise<OktResultMessage> {
    const prefix = decisionStreamId(sender, '');
    const known = await Promise.all(
      (await this.decisions.streamIdsOf(caller.tenant, pid))
        .filter((id) => id.startsWith(prefix))
        .map(async (id) => ({ decisionId: id.slice(prefix.length), state: foldDecision((await this.store.readStream(caller.tenant, id)).map(asDecisionEvent)) })),
    );
    const diff = diffOktSnapshot(known, services, { pid, sourceSystem: sender, today: norwegianToday(), occurredAt: new Date().toISOString() });
    if (!diff.ok) throw ProblemError.of(422, 'rule-violation', 'The snapshot breaks a rule', undefined, diff.violations);

    const results: OktResultMessage['events'] = [];
    let checkpoint: string | undefined;
    for (const report of diff.reports) {
      // Name-based ids over the decision's state: the same transition gets the same id.
      const prior = JSON.stringify(known.find((k) => k.decisionId === report.decisionId)?.state ?? null);
      const eventId = uuidv5(`${caller.tenant}|${sender}|${report.decisionId}|${report.type}|${prior}`, OKT_EVENT_NAMESPACE);
      const r = await this.recorder
        .record(caller, { ...report, eventId } as DecisionEventV1, { tenantEnvironment: caller.tenantEnvironment, defaultSourceSystem: sender, performerOrgnrRequired: false })
        .catch((error: unknown) => {
          throw error instanceof ProblemError ? withSnapshotPointers(error, services, report.decisionId) : error;
        });
      results.push({ type: report.type, decisionId: report.decisionId, eventId, outcome: r.outcome });
      checkpoint = r.receipt.checkpoint;
    }
    return { result: 'accepted', eventsAppended: results.filter((r) => r.outcome === 'accepted').length, events: results, ...(checkpoint ? { checkpoint } : {}) };
  }
}

function parseServices(snapshot: OktEvent): OktService[] {
  const violations: Violation[] = [];
  const services: OktService[] = [];
  snapshot.oktMessages.forEach((m, index) => {
    const at = `/oktMessages/${index}`;
    const code = canonicalServiceCode(m.iplosCode.iplosCodeValue);
    if (!code || !lookupServiceCode(code)) violations.push({ pointer: `${at}/iplosCode/iplosCodeValue`, rule: 'unknown-service-code', detail: `"${m.iplosCode.iplosCodeValue}" is not an active Volven 9151 code` });
    const hours = parseWeeklyExtent(m.weeklyExtent ?? '');
    if (hours === 'invalid') violations.push({ pointer: `${at}/weeklyExtent`, rule: 'weekly-extent-format', detail: 'write hours as "5", "5 timer" or minutes as "15 minutter"' });
    const stayType = m.stayType?.trim().toLowerCase() || undefined;
    if (stayType && !(STAY_TYPES as readonly string[]).includes(stayType)) violations.push({ pointer: `${at}/stayType`, rule: 'enum', detail: `must be one of ${STAY_TYPES.join(', ')}` });
    if (m.endDate && m.endDate < m.startDate) violations.push({ pointer: `${at}/endDate`, rule: 'period-order', detail: 'the end is before the start' });
    if (!code) return;
    services.push({
      index,
      decisionKey: m.decisionId ?? oktDecisionKey(snapshot.personIdentifier, code, m.startDate),
      serviceCode: code,
      startDate: m.startDate,
      endDate: m.endDate || undefined,
      weeklyHours: hours === 'invalid' ? undefined : hours,
      stayType,
      unitName: m.serviceLevel?.trim() || undefined,
      description: m.serviceDescription?.trim() || undefined,
      paused: m.temporaryCessation === true,
    });
  });
  if (violations.length > 0) throw ProblemError.of(422, 'rule-violation', 'The snapshot breaks a rule', undefined, violations);
  return services;
}

/** Rule violations of a derived event point back into the snapshot (person, or the message). */
function withSnapshotPointers(error: ProblemError, services: OktService[], decisionId: string): ProblemError {
  const problem = error.problem;
  const service = services.find((s) => decisionId === s.decisionKey || decisionId.startsWith(`${s.decisionKey}~`));
  const map = (pointer: string) => {
    if (pointer.startsWith('/patient')) return '/personIdentifier';
    return service ? `/oktMessages/${service.index}` : '';
  };
  return new ProblemError({ ...problem, errors: problem.errors?.map((e) => ({ ...e, pointer: map(e.pointer) })) }, error.headers);
}
