/**
 * Information model v1 of the receive service: the decision events (vedtakshendelser)
 * that EPJ systems post. JSON Schema (via TypeBox) is the single source: it validates
 * requests (Ajv), types the code, and is published in the OpenAPI document.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const INFORMATION_MODEL_VERSION = '1';

export const PERSON_ID_SYSTEM_URIS = [
  'urn:oid:2.16.578.1.12.4.1.4.1', // fødselsnummer (FNR)
  'urn:oid:2.16.578.1.12.4.1.4.2', // D-nummer (DNR)
  'urn:oid:2.16.578.1.12.4.1.4.3', // felles hjelpenummer (FHN)
] as const;

export const DECISION_EVENT_TYPES = ['ServiceDecisionGranted', 'ServiceDecisionChanged', 'ServicePaused', 'ServiceResumed', 'ServiceEnded', 'DecisionEnteredInError'] as const;
export type DecisionEventType = (typeof DECISION_EVENT_TYPES)[number];
const DECISION_EVENT_TYPE_SET: ReadonlySet<string> = new Set(DECISION_EVENT_TYPES);
/** Whether a stored event type is one of the decision events (what the read models fold). */
export const isDecisionEventType = (type: string): type is DecisionEventType => DECISION_EVENT_TYPE_SET.has(type);

/** Stay types of the OKT prototype plus the institutional stays of 9151. */
export const STAY_TYPES = ['dagopphold', 'nattopphold', 'korttidsopphold', 'langtidsopphold', 'avlastningsopphold'] as const;

/** A string enum as JSON Schema `enum` (one clear error instead of one per alternative). */
export const StringEnum = <const T extends readonly string[]>(values: T, options: Record<string, unknown> = {}) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

const text = (max: number, description: string) => Type.String({ minLength: 1, maxLength: max, description });
const date = (description: string) => Type.String({ format: 'date', description, examples: ['2026-01-15'] });

export const PersonIdentifierSchema = Type.Object(
  {
    system: StringEnum(PERSON_ID_SYSTEM_URIS, { description: 'FNR urn:oid:2.16.578.1.12.4.1.4.1, DNR …4.2 or FHN …4.3' }),
    value: Type.String({ pattern: '^[0-9]{11}$', description: '11 digits; check digits by the legacy or the 2032 rule' }),
  },
  { additionalProperties: false, description: 'The patient (tjenestemottaker)' },
);

export const ServiceTypeSchema = Type.Object(
  {
    code: Type.String({ pattern: '^[0-9]{1,3}$', description: 'Volven 9151 code; "15", "015" and "05" are accepted, stored unpadded' }),
    system: Type.Optional(StringEnum(['urn:oid:2.16.578.1.12.4.1.1.9151', 'https://finnkode.helsedirektoratet.no/adm/collections/9151'] as const)),
  },
  { additionalProperties: false, description: 'Service type (tjenestetype), Volven 9151' },
);

export const PeriodSchema = Type.Object({ start: date('First day of the service'), end: Type.Optional(date('Last day of the service, when decided')) }, { additionalProperties: false });

export const ExtentSchema = Type.Object(
  {
    value: Type.Number({ minimum: 0, maximum: 744, description: 'Hours in the unit below' }),
    unit: StringEnum(['hours-per-week', 'hours-per-month'] as const, {
      description: 'Monthly extents are converted to weekly by dividing by 4 (IPLOS/KPR rule)',
    }),
  },
  { additionalProperties: false, description: 'Extent decided (omfang); 0-168 hours per week after conversion' },
);

export const PerformerSchema = Type.Object(
  {
    orgnr: Type.Optional(Type.String({ pattern: '^[0-9]{9}$', description: 'Organisation number of the performing unit (mod 11)' })),
    name: text(200, 'Name of the performing unit, e.g. "Hjemmesykepleien sone vest"'),
    phone: Type.Optional(Type.String({ pattern: '^\\+?[0-9][0-9 ]{2,19}$', description: "The unit's phone: the contact the legevakt calls" })),
  },
  { additionalProperties: false, description: 'Performing unit (utførende enhet)' },
);

const envelope = {
  // A plain UUID (Ajv's `uuid` format would also take the `urn:uuid:` form).
  eventId: Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'Sender-chosen UUID: the idempotency key' }),
  decisionId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$', description: "The sender's stable id of the decision (vedtak)" }),
  occurredAt: Type.String({ format: 'date-time', description: 'When it happened in the EPJ (not when we recorded it)' }),
  sourceSystem: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$', description: 'The sending EPJ system; defaults to the calling client' })),
  patient: PersonIdentifierSchema,
};

const variant = <T extends Record<string, TSchema>>(type: DecisionEventType, properties: T, description: string) =>
  Type.Object({ type: Type.Literal(type), ...envelope, ...properties }, { additionalProperties: false, description, title: type });

/** What a decision includes besides its service and period; a change may name any of them. */
const terms = {
  extent: Type.Optional(ExtentSchema),
  stayType: Type.Optional(StringEnum(STAY_TYPES)),
  performer: Type.Optional(PerformerSchema),
  description: Type.Optional(text(2000, 'Free-text description of what the decision includes')),
};

export const ServiceDecisionGrantedSchema = variant('ServiceDecisionGranted', { service: ServiceTypeSchema, period: PeriodSchema, ...terms }, 'A service was granted (vedtak fattet)');

export const ServiceDecisionChangedSchema = variant(
  'ServiceDecisionChanged',
  { period: Type.Optional(PeriodSchema), ...terms },
  'The decision changed: extent, period (given whole), performing unit, stay type or description (at least one)',
);

export const ServicePausedSchema = variant(
  'ServicePaused',
  {
    pausedFrom: Type.Optional(date('First day of the pause; defaults to the day of occurredAt')),
    reason: Type.Optional(text(500, 'Why, e.g. "Innlagt på sykehus"')),
  },
  'Temporary cessation (midlertidig opphør), e.g. during a hospital stay',
);

export const ServiceResumedSchema = variant(
  'ServiceResumed',
  { resumedFrom: Type.Optional(date('First day the service is given again; defaults to the day of occurredAt')) },
  'The paused service is given again',
);

export const ServiceEndedSchema = variant('ServiceEnded', { endDate: date('Last day of the service'), reason: Type.Optional(text(500, 'Why it ended')) }, 'The service ended (avsluttet)');

export const DecisionEnteredInErrorSchema = variant(
  'DecisionEnteredInError',
  { reason: Type.Optional(text(500, 'What was wrong')) },
  'The decision was posted by mistake: it leaves the overview, its history stays',
);

/** The six variants, in the order of DECISION_EVENT_TYPES. */
export const DECISION_EVENT_VARIANTS = [ServiceDecisionGrantedSchema, ServiceDecisionChangedSchema, ServicePausedSchema, ServiceResumedSchema, ServiceEndedSchema, DecisionEnteredInErrorSchema];

export type ServiceDecisionGranted = Static<typeof ServiceDecisionGrantedSchema>;
export type ServiceDecisionChanged = Static<typeof ServiceDecisionChangedSchema>;
export type ServicePaused = Static<typeof ServicePausedSchema>;
export type ServiceResumed = Static<typeof ServiceResumedSchema>;
export type ServiceEnded = Static<typeof ServiceEndedSchema>;
export type DecisionEnteredInError = Static<typeof DecisionEnteredInErrorSchema>;
export type DecisionEventV1 = ServiceDecisionGranted | ServiceDecisionChanged | ServicePaused | ServiceResumed | ServiceEnded | DecisionEnteredInError;

/** One of the six events, chosen by `type` (discriminator: errors point into the right variant). */
export const DecisionEventSchema = Type.Unsafe<DecisionEventV1>({
  type: 'object',
  title: 'DecisionEvent',
  description: 'A decision event, information model v1',
  required: ['type'],
  properties: { type: { type: 'string', enum: [...DECISION_EVENT_TYPES] } },
  discriminator: { propertyName: 'type' },
  oneOf: DECISION_EVENT_VARIANTS,
});

export const MAX_BATCH_SIZE = 500;

export const DecisionEventBatchSchema = Type.Object(
  { events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH_SIZE, description: 'Each item is a DecisionEvent, validated on its own' }) },
  { additionalProperties: false, title: 'DecisionEventBatch' },
);

/** The answer to an accepted event; a retry gets the very same answer with 200. */
export const DecisionEventReceiptSchema = Type.Object(
  {
    eventId: Type.String({ format: 'uuid' }),
    decisionId: Type.String(),
    streamPosition: Type.Integer({ description: 'Position of the event in its decision stream' }),
    checkpoint: Type.String({ description: 'Opaque $all checkpoint; pass it as min-checkpoint to read your write' }),
  },
  { title: 'DecisionEventReceipt' },
);
export type DecisionEventReceipt = Static<typeof DecisionEventReceiptSchema>;
