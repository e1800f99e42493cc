/// <reference types="fhir" />
import { Body, Controller, Delete, Get, Header, HttpCode, Inject, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { ApiFhir, ApiFhirCallerOutcomes, FHIR_MEDIA_TYPE } from '#libs/contracts';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import { FhirFormatGuard } from '#libs/content';
import { BACKPORT, DECISION_CHANGES_TOPIC, FHIR_JSON, OperationOutcomeError, operationOutcome, operationOutcomeOf } from '#libs/fhir';
import { CallerGuard, CurrentCaller, PatientAuditLog, parsePublicBaseUrl, publicBase, RequireScope, type Caller } from '#libs/security';
import { TenantDatabases, type TenantId } from '#libs/tenancy';
import { notificationBundle, statusBundle, type NotificationEvent, type StatusInput } from './notification.js';
import { focusIdOf } from './subscription-matcher.js';
import { parseSubscription, PAYLOAD_CONTENTS, toSubscriptionResource, type PayloadContent } from './subscription-resource.js';
import { SubscriptionStore, type DeliveryState, type Subscriber } from './subscription-store.js';
import { SubscriptionRunners } from './subscription-runner.js';

/** Events `$events` returns at most in one answer (page with eventsSinceNumber). */
export const MAX_EVENTS_PER_QUERY = 100;

const fhir = (schema: object) => ({ [FHIR_MEDIA_TYPE]: { schema } });
const resourceSchema = (type: string, description: string, extra: object = {}) => ({
  type: 'object',
  description,
  required: ['resourceType'],
  properties: { resourceType: { type: 'string', enum: [type] }, ...extra },
});
const SUBSCRIPTION_SCHEMA = resourceSchema('Subscription', 'FHIR R4 Subscription in the Backport IG profile backport-subscription', {
  id: { type: 'string' },
  status: { type: 'string', enum: ['requested', 'active', 'error', 'off'] },
  criteria: { type: 'string' },
});
const BUNDLE_SCHEMA = (type: string) => resourceSchema('Bundle', `FHIR R4 Bundle of type ${type}`, { type: { type: 'string', enum: [type] }, entry: { type: 'array', items: { type: 'object' } } });

/** An example a client can post as is (it subscribes to the documentation's synthetic patient, delivering to a local receiver). */
export const SUBSCRIPTION_EXAMPLE = {
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'Home care: changes of our patients’ services',
  criteria: DECISION_CHANGES_TOPIC,
  _criteria: { extension: [{ url: BACKPORT.filterCriteria, valueString: 'EpisodeOfCare?patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|13717404089&event=paused,resumed,ended' }] },
  channel: {
    extension: [
      { url: BACKPORT.heartbeatPeriod, valueUnsignedInt: 3600 },
      { url: BACKPORT.timeout, valueUnsignedInt: 10 },
    ],
    type: 'rest-hook',
    endpoint: 'http://127.0.0.1:9/fhir-notifications',
    header: ['Authorization: Bearer secret-of-the-receiver'],
    payload: 'application/fhir+json',
    _payload: { extension: [{ url: BACKPORT.payloadContent, valueCode: 'id-only' }] },
  },
};

const notFound = (id: string) => new OperationOutcomeError(404, operationOutcome('error', 'not-found', `Subscription/${id.slice(0, 64)} is not known`));

/** A non-negative whole number as FHIR `string` parameters of `$events` carry them; undefined when absent. */
function eventNumberParam(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[0-9]{1,15}$/.test(value)) {
    throw new OperationOutcomeError(400, operationOutcome('error', 'invalid', `${name} must be an event number (a whole number, at most 15 digits), given once`, [name]));
  }
  return Number(value);
}

function strictQuery(query: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(query).filter((k) => !allowed.includes(k) && k !== '_format');
  if (unknown.length > 0) {
    throw new OperationOutcomeError(
      400,
      operationOutcome('error', 'not-supported', `unknown parameter ${unknown[0]!.slice(0, 60)}: this operation takes ${allowed.join(', ') || 'no parameters'}`, [unknown[0]!.slice(0, 60)]),
    );
  }
}

/**
 * FHIR topic-based subscriptions (HL7 Subscriptions R5 Backport IG, STU 1.1) for end-user
 * systems: create, read, list and delete the caller's own Subscriptions, `$status` and
 * `$events`. A subscription belongs to the caller's municipality (tenant) and client: another
 * client never sees it (404). Organisations reading under an agreement may not subscribe.
 */
@ApiTags('FHIR R4 (Subscription, topic-based)')
@Controller('fhir')
@UseGuards(FhirFormatGuard, CallerGuard)
@RequireScope('read')
@ApiFhirCallerOutcomes()
@ApiFhir(406, 'The client accepts no JSON (_format, or Accept without a JSON type) (OperationOutcome)')
export class SubscriptionController {
  private readonly publicBaseUrl: string | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: PlatformConfig,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    private readonly tenants: TenantDatabases,
    private readonly auditLog: PatientAuditLog,
    private readonly runners: SubscriptionRunners,
  ) {
    this.publicBaseUrl = parsePublicBaseUrl(config.env.FPI_PUBLIC_BASE_URL);
  }

  @Post('Subscription')
  @HttpCode(201)
  @Header('content-type', FHIR_JSON)
  @ApiOperation({
    summary: 'Subscribe to decision changes (R4 Subscription, backport profile); the server sends a handshake, then notifications',
    description:
      `criteria is the topic ${DECISION_CHANGES_TOPIC}; filters (backport-filter-criteria on criteria): patient.identifier, ` +
      "organization.identifier (the caller's own unit only) and event (granted, changed, paused, resumed, ended, entered-in-error). " +
      'channel.type rest-hook; endpoint https (http only to loopback in the embedded default); payload application/fhir+json with content empty, id-only or full-resource.',
  })
  @ApiConsumes('application/fhir+json', 'application/json')
  @ApiBody({ required: true, schema: SUBSCRIPTION_SCHEMA, examples: { subscription: { summary: 'Changes of one patient’s services, id-only', value: SUBSCRIPTION_EXAMPLE } } })
  @ApiResponse({ status: 201, description: 'The stored Subscription (status requested until the handshake succeeds)', content: fhir(SUBSCRIPTION_SCHEMA) })
  @ApiFhir(400, 'Not a valid Subscription for this server: each issue names the element and the rule (OperationOutcome)')
  @ApiFhir(403, 'An organisation filter that is not the caller’s own, full-resource with break-the-glass, or a partner under an agreement (OperationOutcome)')
  @ApiFhir(413, 'The body is over 1 MB (OperationOutcome)')
  @ApiFhir(415, 'The body is not JSON (OperationOutcome)')
  async create(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Body() body: unknown): Promise<fhir4.Subscription> {
    this.refusePartner(caller);
    const own = caller.orgnrChild ? [caller.orgnrChild] : [caller.orgnrParent];
    // http: to loopback only in the embedded default (dev tokens) and never for a production municipality.
    const allowLoopbackHttp = this.config.auth.mode === 'dev' && caller.tenantEnvironment !== 'production';
    const parsed = parseSubscription(body, own, { allowLoopbackHttp });
    if (!parsed.ok) {
      const status = parsed.issues.some((i) => i.code === 'security') ? 403 : 400;
      throw new OperationOutcomeError(status, operationOutcomeOf(parsed.issues.map((i) => ({ severity: 'error' as const, ...i }))));
    }
    const request = parsed.request;
    if (request.content === 'full-resource' && caller.purpose === 'BTG') {
      throw new OperationOutcomeError(
        403,
        operationOutcome(
          'error',
          'security',
          'full-resource needs a token that may read the data for a standing purpose (TREAT, ETREAT or COC): break-the-glass (BTG) is for one situation, not a subscription (rule full-resource-purpose)',
          ['Subscription.channel.payload.extension'],
        ),
      );
    }
    const subscriber: Subscriber = {
      clientId: caller.clientId,
      ...(caller.clientName ? { clientName: caller.clientName } : {}),
      orgnrParent: caller.orgnrParent,
      ...(caller.orgnrChild ? { orgnrChild: caller.orgnrChild } : {}),
      ...(caller.hprNumber ? { hprNumber: caller.hprNumber } : {}),
      ...(caller.purpose ? { purpose: caller.purpose } : {}),
      ...(caller.purposeDetails ? { purposeDetails: caller.purposeDetails } : {}),
      tenantEnvironment: caller.tenantEnvironment,
      fhirBase: this.base(req),
    };
    // A subscription to one patient is about that patient: logged like a read.
    if (request.filters.patient)
      await this.auditLog.record(caller, { action: 'fhir.subscription.create', outcome: 'success', patientId: request.filters.patient, detail: `content ${request.content}` });
    const head = await this.events.head(caller.tenant);
    const stored = await (await this.store(caller.tenant)).create(caller.tenant, subscriber, request, head);
    (await this.runners.of(caller.tenant)).worker.wake();
    return toSubscriptionResource(stored);
  }

  @Get('Subscription')
  @Header('content-type', FHIR_JSON)
  @ApiOperation({ summary: "The caller's subscriptions (searchset Bundle); status filters (comma = OR)" })
  @ApiQuery({ name: 'status', required: false, description: 'requested, active, error, off (comma = OR)', schema: { type: 'string' } })
  @ApiResponse({ status: 200, description: 'A searchset Bundle of Subscriptions', content: fhir(BUNDLE_SCHEMA('searchset')) })
  @ApiFhir(400, 'An unknown parameter or status (OperationOutcome)')
  async list(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Query() query: Record<string, unknown>): Promise<fhir4.Bundle> {
    this.refusePartner(caller);
    strictQuery(query, ['status']);
    const statuses = this.statuses(query.status);
    const all = await (await this.store(caller.tenant)).list(caller.tenant, caller.clientId, statuses);
    const base = this.base(req);
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total: all.length,
      link: [{ relation: 'self', url: `${base}/Subscription${statuses ? `?status=${statuses.join(',')}` : ''}` }],
      ...(all.length > 0 ? { entry: all.map((s) => ({ fullUrl: `${base}/Subscription/${s.id}`, resource: toSubscriptionResource(s), search: { mode: 'match' as const } })) } : {}),
    };
  }

  @Get('Subscription/$status')
  @Header('content-type', FHIR_JSON)
  @ApiOperation({ summary: "$status of the caller's subscriptions (backport-subscription-status): a searchset Bundle of SubscriptionStatus" })
  @ApiQuery({ name: 'id', required: false, description: 'Subscription ids (comma = OR); none: all of the caller', schema: { type: 'string' } })
  @ApiQuery({ name: 'status', required: false, description: 'requested, active, error, off (comma = OR)', schema: { type: 'string' } })
  @ApiResponse({ status: 200, description: 'A searchset Bundle of Parameters (backport-subscription-status-r4, type query-status)', content: fhir(BUNDLE_SCHEMA('searchset')) })
  @ApiFhir(400, 'An unknown parameter or status (OperationOutcome)')
  async statusOfAll(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Query() query: Record<string, unknown>): Promise<fhir4.Bundle> {
    this.refusePartner(caller);
    strictQuery(query, ['id', 'status']);
    const ids = query.id === undefined ? undefined : [query.id].flat().flatMap((v) => String(v).split(','));
    const all = (await (await this.store(caller.tenant)).list(caller.tenant, caller.clientId, this.statuses(query.status))).filter((s) => !ids || ids.includes(s.id));
    const base = this.base(req);
    return statusBundle(
      all.map((s) => this.statusOf(s, base)),
      `${base}/Subscription/$status`,
    );
  }

  @Get('Subscription/:id')
  @Header('content-type', FHIR_JSON)
  @ApiOperation({ summary: "Read one of the caller's subscriptions" })
  @ApiParam({ name: 'id', description: 'The id the create answered', schema: { type: 'string' } })
  @ApiResponse({ status: 200, description: 'The Subscription', content: fhir(SUBSCRIPTION_SCHEMA) })
  @ApiFhir(404, 'No such subscription of this client (OperationOutcome)')
  async read(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<fhir4.Subscription> {
    this.refusePartner(caller);
    return toSubscriptionResource(await this.owned(caller, id));
  }

  @Delete('Subscription/:id')
  @HttpCode(204)
  @ApiOperation({ summary: "Delete one of the caller's subscriptions: no notification is sent after the answer" })
  @ApiParam({ name: 'id', description: 'The id the create answered', schema: { type: 'string' } })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiFhir(404, 'No such subscription of this client (OperationOutcome)')
  async remove(@CurrentCaller() caller: Caller, @Param('id') id: string): Promise<void> {
    this.refusePartner(caller);
    if (!(await (await this.store(caller.tenant)).delete(caller.tenant, caller.clientId, id))) throw notFound(id);
  }

  @Get('Subscription/:id/$status')
  @Header('content-type', FHIR_JSON)
  @ApiOperation({ summary: '$status of one subscription (backport-subscription-status): a searchset Bundle with its SubscriptionStatus' })
  @ApiParam({ name: 'id', description: 'The id the create answered', schema: { type: 'string' } })
  @ApiResponse({ status: 200, description: 'A searchset Bundle with one Parameters (backport-subscription-status-r4, type query-status)', content: fhir(BUNDLE_SCHEMA('searchset')) })
  @ApiFhir(400, 'An unknown parameter (OperationOutcome)')
  @ApiFhir(404, 'No such subscription of this client (OperationOutcome)')
  async status(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Param('id') id: string, @Query() query: Record<string, unknown>): Promise<fhir4.Bundle> {
    this.refusePartner(caller);
    strictQuery(query, []);
    const s = await this.owned(caller, id);
    const base = this.base(req);
    return statusBundle([this.statusOf(s, base)], `${base}/Subscription/${s.id}/$status`);
  }

  @Get('Subscription/:id/$events')
  @Header('content-type', FHIR_JSON)
  @ApiOperation({
    summary: `$events (backport-subscription-events): the subscription's events by number, delivered or not, at most ${MAX_EVENTS_PER_QUERY} per answer, as a history notification Bundle (type query-event)`,
  })
  @ApiParam({ name: 'id', description: 'The id the create answered', schema: { type: 'string' } })
  @ApiQuery({ name: 'eventsSinceNumber', required: false, description: 'First event number (inclusive); default 1', schema: { type: 'string', pattern: '^[0-9]{1,15}$' } })
  @ApiQuery({ name: 'eventsUntilNumber', required: false, description: 'Last event number (inclusive); default the newest', schema: { type: 'string', pattern: '^[0-9]{1,15}$' } })
  @ApiQuery({
    name: 'content',
    required: false,
    description: 'empty or id-only (a hint; full-resource only for a full-resource subscription)',
    schema: { type: 'string', enum: [...PAYLOAD_CONTENTS] },
  })
  @ApiResponse({ status: 200, description: 'A history Bundle: SubscriptionStatus first, then one entry per event (backport-subscription-notification-r4)', content: fhir(BUNDLE_SCHEMA('history')) })
  @ApiFhir(400, 'A bad or unknown parameter (OperationOutcome)')
  @ApiFhir(404, 'No such subscription of this client (OperationOutcome)')
  async eventsOf(@CurrentCaller() caller: Caller, @Req() req: FastifyRequest, @Param('id') id: string, @Query() query: Record<string, unknown>): Promise<fhir4.Bundle> {
    this.refusePartner(caller);
    strictQuery(query, ['eventsSinceNumber', 'eventsUntilNumber', 'content']);
    const since = eventNumberParam(query.eventsSinceNumber, 'eventsSinceNumber') ?? 1;
    const until = eventNumberParam(query.eventsUntilNumber, 'eventsUntilNumber');
    if (query.content !== undefined && !PAYLOAD_CONTENTS.includes(query.content as PayloadContent)) {
      throw new OperationOutcomeError(400, operationOutcome('error', 'invalid', `content must be one of ${PAYLOAD_CONTENTS.join(', ')}`, ['content']));
    }
    const s = await this.owned(caller, id);
    // The content asked for, never more than the subscription's own (a hint, as the IG says).
    const order: PayloadContent[] = ['empty', 'id-only', 'full-resource'];
    const asked = (query.content as PayloadContent | undefined) ?? s.content;
    const content = order[Math.min(order.indexOf(asked), order.indexOf(s.content))]!;
    const runner = await this.runners.of(caller.tenant);
    const found = await (await this.store(caller.tenant)).events(caller.tenant, s.id, Math.max(since, 1), Math.min(until ?? s.eventsSinceStart, s.eventsSinceStart), MAX_EVENTS_PER_QUERY);
    const resources = content === 'full-resource' && found.length > 0 ? await runner.readResources(s, found, 'fhir.subscription.events', caller) : new Map<string, fhir4.EpisodeOfCare>();
    const events: NotificationEvent[] = found.map((e) => {
      const focusId = focusIdOf(e);
      const resource = resources.get(focusId);
      return { eventNumber: e.eventNumber, timestamp: e.recordedAt.toISOString(), focusId, eventType: e.eventType, ...(resource ? { resource } : {}) };
    });
    return notificationBundle({ ...this.statusOf(s, this.base(req)), type: 'query-event', content, events });
  }

  private statusOf(s: DeliveryState, base: string): StatusInput {
    return {
      base,
      subscriptionId: s.id,
      status: s.status,
      type: 'query-status',
      eventsSinceStart: s.eventsSinceStart,
      content: s.content,
      ...(s.status === 'error' && s.lastError ? { error: s.lastError } : {}),
    };
  }

  private statuses(value: unknown): string[] | undefined {
    if (value === undefined) return undefined;
    const codes = [value].flat().flatMap((v) => String(v).split(','));
    const bad = codes.find((c) => !['requested', 'active', 'error', 'off'].includes(c));
    if (bad !== undefined) throw new OperationOutcomeError(400, operationOutcome('error', 'invalid', 'status takes requested, active, error or off (comma = OR)', ['status']));
    return codes;
  }

  private async owned(caller: Caller, id: string): Promise<DeliveryState> {
    const s = await (await this.store(caller.tenant)).get(caller.tenant, caller.clientId, id);
    if (!s) throw notFound(id);
    return s;
  }

  private async store(tenant: TenantId): Promise<SubscriptionStore> {
    return new SubscriptionStore((await this.tenants.of(tenant)).db.pool);
  }

  private refusePartner(caller: Caller): void {
    if (caller.partner) {
      throw new OperationOutcomeError(
        403,
        operationOutcome('error', 'security', 'an organisation reading under an agreement (fpi-municipality) may not subscribe: subscriptions are for the municipality’s own systems'),
      );
    }
  }

  private base(req: FastifyRequest): string {
    return `${publicBase(req, this.publicBaseUrl)}/fhir`;
  }
}
