/**
 * An OKT snapshot (NHN's prototype) as a command: diffed against what the sender reported
 * before for the person, it becomes the decision commands that explain the difference,
 * recorded all or nothing by the command handler (`handleAllOrNothing`), which reads,
 * diffs and decides again when a concurrent post wins a race.
 */
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { v5 as uuidv5 } from 'uuid';
import { ProblemError, STAY_TYPES, type DecisionEventV1 } from '#libs/contracts';
import {
  asDecisionEvent,
  canonicalServiceCode,
  decisionStreamId,
  diffOktSnapshot,
  foldDecision,
  lookupServiceCode,
  oktDecisionKey,
  osloToday,
  parseWeeklyExtent,
  type DecisionCommand,
  type OktService,
  type Violation,
} from '#libs/domain';
import { compareCheckpoints, EVENT_STORE, formatCheckpoint, type EventStore } from '#libs/event-store';
import type { Caller } from '#libs/security';
import { decisionCommandOf, decisionStream, rulesFor } from '../record-decision/record-decision.handler.js';
import { receiveProblem, snapshotRuleViolations } from '../receive-problems.js';
import { handleAllOrNothing } from '../write/command-handler.js';
import type { BatchItem } from '../write/batch-plan.js';
import type { OktEvent, OktResultMessage } from './okt-contract.js';
import { PATIENT_DECISIONS, type PatientDecisionsLookup } from './patient-decisions.port.js';

/** Namespace of the name-based (v5) event ids of snapshot-derived events. */
const OKT_EVENT_NAMESPACE = 'a3b0f6e2-58c4-4d8e-9a3c-0c5f0e6b7f11';

/** Today in Norway (kept under this name for the OKT tests). */
export const norwegianToday = osloToday;

/** Record a schema-valid OKT snapshot of one person's services from the calling sender. */
export class RecordOktSnapshotCommand extends Command<OktResultMessage> {
  constructor(
    readonly caller: Caller,
    readonly snapshot: OktEvent,
  ) {
    super();
  }
}

@CommandHandler(RecordOktSnapshotCommand)
export class RecordOktSnapshotHandler implements ICommandHandler<RecordOktSnapshotCommand> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PATIENT_DECISIONS) private readonly decisions: PatientDecisionsLookup,
  ) {}

  async execute({ caller, snapshot }: RecordOktSnapshotCommand): Promise<OktResultMessage> {
    const services = parseServices(snapshot);
    const sender = caller.clientId;
    const pid = snapshot.personIdentifier;
    const prefix = decisionStreamId(sender, '');
    // No organisation numbers in a snapshot: the performer's orgnr rule does not apply.
    const rules = { ...rulesFor(caller), defaultSourceSystem: sender, performerOrgnrRequired: false };
    const reports: { type: string; decisionId: string; eventId: string }[] = [];
    let listed = new Set<string>();
    const handled = await handleAllOrNothing(
      this.store,
      caller.tenant,
      decisionStream,
      async () => {
        listed = new Set((await this.decisions.streamIdsOf(caller.tenant, pid)).filter((id) => id.startsWith(prefix)));
        // The lookup is a read model and may not show yet what a concurrent post of the same
        // snapshot stored: the streams the snapshot names are read as well.
        return [...new Set([...listed, ...services.map((s) => prefix + s.decisionKey)])];
      },
      (histories) => {
        const known = [...histories]
          .map(([id, history]) => ({ id, decisionId: id.slice(prefix.length), state: foldDecision(history.map(asDecisionEvent)) }))
          // A stream the lookup did not list counts only when it is this person's decision (another's is left to the decider).
          .filter(({ id, state }) => listed.has(id) || (state.status !== 'none' && state.decision.patient.value === pid))
          .map(({ decisionId, state }) => ({ decisionId, state }));
        const diff = diffOktSnapshot(known, services, { pid, sourceSystem: sender, today: norwegianToday(), occurredAt: new Date().toISOString() });
        if (!diff.ok) throw snapshotRuleViolations(diff.violations);
        reports.length = 0;
        return diff.reports.map((report): BatchItem<DecisionCommand> => {
          // Name-based ids over the decision's state: the same transition gets the same id.
          const prior = JSON.stringify(known.find((k) => k.decisionId === report.decisionId)?.state ?? null);
          const eventId = uuidv5(`${caller.tenant}|${sender}|${report.decisionId}|${report.type}|${prior}`, OKT_EVENT_NAMESPACE);
          reports.push({ type: report.type, decisionId: report.decisionId, eventId });
          try {
            return decisionCommandOf({ ...report, eventId } as DecisionEventV1, rules);
          } catch (error) {
            throw withSnapshotPointers(error, services, report.decisionId);
          }
        });
      },
      (item, error) => withSnapshotPointers(receiveProblem(error, { decisionId: item.command.data.decisionId }), services, item.command.data.decisionId),
    ).catch((error: unknown) => {
      throw receiveProblem(error);
    });
    const events = handled.map(({ result }, i) => ({ ...reports[i]!, outcome: result.outcome === 'duplicate' ? 'duplicate' : 'accepted' }));
    const last = handled
      .map((h) => h.result.checkpoint)
      .sort(compareCheckpoints)
      .at(-1);
    return { result: 'accepted', eventsAppended: events.filter((e) => e.outcome === 'accepted').length, events, ...(last ? { checkpoint: formatCheckpoint(last) } : {}) };
  }
}

/** The snapshot's messages as services, or a 422 problem naming every message field that breaks a rule. */
function parseServices(snapshot: OktEvent): OktService[] {
  const violations: Violation[] = [];
  const services: OktService[] = [];
  snapshot.oktMessages.forEach((m, index) => {
    const at = `/oktMessages/${index}`;
    const code = canonicalServiceCode(m.iplosCode.iplosCodeValue);
    if (!code || !lookupServiceCode(code))
      violations.push({ pointer: `${at}/iplosCode/iplosCodeValue`, rule: 'unknown-service-code', detail: `"${m.iplosCode.iplosCodeValue}" is not an active Volven 9151 code` });
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
  if (violations.length > 0) throw snapshotRuleViolations(violations);
  return services;
}

/** Rule violations of a derived event point back into the snapshot (person, or the message). */
function withSnapshotPointers(error: unknown, services: OktService[], decisionId: string): unknown {
  if (!(error instanceof ProblemError)) return error;
  const problem = error.problem;
  const service = services.find((s) => decisionId === s.decisionKey || decisionId.startsWith(`${s.decisionKey}~`));
  const map = (pointer: string) => {
    if (pointer.startsWith('/patient')) return '/personIdentifier';
    return service ? `/oktMessages/${service.index}` : '';
  };
  return new ProblemError({ ...problem, errors: problem.errors?.map((e) => ({ ...e, pointer: map(e.pointer) })) }, error.headers);
}
