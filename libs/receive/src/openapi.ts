import type { OpenAPIObject } from '@nestjs/swagger';
import { DECISION_EVENT_TYPES, DECISION_EVENT_VARIANTS, DecisionEventBatchSchema, DecisionEventReceiptSchema } from '#libs/contracts';
import { OktEventSchema, OktResultMessageSchema } from './okt/okt-contract.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Synthetic examples (+65 month pid, mod-11-valid orgnr); each is checked by a test. */
const patient = { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' };
const common = { decisionId: 'VEDTAK-2026-0042', occurredAt: '2026-03-01T08:15:00+01:00', sourceSystem: 'epj-demo', patient };
export const decisionEventExamples = {
  granted: {
    summary: 'Home nursing granted',
    value: {
      type: 'ServiceDecisionGranted',
      eventId: '6f1c1c56-5d7e-4a55-9d1e-3f0a0c7d2b01',
      ...common,
      service: { code: '15', system: 'urn:oid:2.16.578.1.12.4.1.1.9151' },
      period: { start: '2026-03-01', end: '2026-12-31' },
      extent: { value: 6, unit: 'hours-per-week' },
      performer: { orgnr: '974760673', name: 'Hjemmesykepleien sone vest', phone: '+47 99 99 99 99' },
      description: 'Hjemmesykepleie morgen og kveld',
    },
  },
  changed: {
    summary: 'Extent changed',
    value: { type: 'ServiceDecisionChanged', eventId: '6f1c1c56-5d7e-4a55-9d1e-3f0a0c7d2b02', ...common, extent: { value: 32, unit: 'hours-per-month' } },
  },
  paused: {
    summary: 'Paused during a hospital stay',
    value: { type: 'ServicePaused', eventId: '6f1c1c56-5d7e-4a55-9d1e-3f0a0c7d2b03', ...common, pausedFrom: '2026-04-02', reason: 'Innlagt på sykehus' },
  },
  resumed: {
    summary: 'Resumed after discharge',
    value: { type: 'ServiceResumed', eventId: '6f1c1c56-5d7e-4a55-9d1e-3f0a0c7d2b04', ...common, resumedFrom: '2026-04-09' },
  },
  ended: {
    summary: 'Ended',
    value: { type: 'ServiceEnded', eventId: '6f1c1c56-5d7e-4a55-9d1e-3f0a0c7d2b05', ...common, endDate: '2026-06-30', reason: 'Behov opphørt' },
  },
  enteredInError: {
    summary: 'Posted by mistake',
    value: { type: 'DecisionEnteredInError', eventId: '6f1c1c56-5d7e-4a55-9d1e-3f0a0c7d2b06', ...common, reason: 'Registrert på feil pasient' },
  },
};

export const openApiRefs = {
  decisionEvent: ref('DecisionEvent'),
  decisionEventExamples,
  receipt: ref('DecisionEventReceipt'),
  problem: ref('Problem'),
  batch: ref('DecisionEventBatch'),
  oktEvent: ref('OktEvent'),
  oktResult: ref('OktResultMessage'),
  batchResult: ref('DecisionEventBatchResult'),
};

const ProblemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details (application/problem+json)',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', description: 'urn:fpi:problem:<code>, see docs/problems.md' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          pointer: { type: 'string', description: 'JSON pointer to the bad field' },
          rule: { type: 'string', description: 'The rule broken' },
          detail: { type: 'string' },
        },
      },
    },
  },
};

/** Adds the information-model schemas (the same ones the validators use) to the document. */
export function addContractSchemas(document: OpenAPIObject): OpenAPIObject {
  const plain = (s: unknown) => JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
  document.components ??= {};
  document.components.schemas = {
    ...document.components.schemas,
    ...Object.fromEntries(DECISION_EVENT_VARIANTS.map((v, i) => [DECISION_EVENT_TYPES[i]!, plain(v)])),
    DecisionEvent: { oneOf: DECISION_EVENT_TYPES.map(ref), discriminator: { propertyName: 'type' }, description: 'A decision event, information model v1' },
    // Items are judged one by one (a bad item is rejected in its own result, the batch still
    // answers 200), so the batch itself accepts any item: the document must not claim more.
    DecisionEventBatch: {
      ...plain(DecisionEventBatchSchema),
      properties: {
        events: {
          type: 'array',
          minItems: 1,
          maxItems: 500,
          description: 'Each item a DecisionEvent, validated on its own: an item that is not one is rejected in its result, the others are still recorded',
          items: { anyOf: [ref('DecisionEvent'), { description: 'anything else: rejected in its own result' }] },
        },
      },
    },
    DecisionEventReceipt: plain(DecisionEventReceiptSchema),
    Problem: ProblemSchema,
    DecisionEventBatchResult: {
      type: 'object',
      required: ['accepted', 'duplicates', 'rejected', 'results'],
      properties: {
        accepted: { type: 'integer', minimum: 0 },
        duplicates: { type: 'integer', minimum: 0 },
        rejected: { type: 'integer', minimum: 0 },
        results: {
          type: 'array',
          description: 'One per item, in order',
          items: {
            type: 'object',
            required: ['index', 'status'],
            properties: {
              index: { type: 'integer', minimum: 0 },
              eventId: { type: 'string' },
              status: { type: 'string', enum: ['accepted', 'duplicate', 'rejected'] },
              receipt: ref('DecisionEventReceipt'),
              problem: ref('Problem'),
            },
          },
        },
      },
    },
    OktEvent: plain(OktEventSchema),
    OktResultMessage: plain(OktResultMessageSchema),
  } as NonNullable<OpenAPIObject['components']>['schemas'];
  return document;
}
