/**
 * The service overview's answer as an OpenAPI (3.0) schema, for the document: what
 * `ServiceOverviewResponse` (service-overview.reader.ts) serialises to.
 */
const date = { type: 'string', format: 'date' };
const instant = { type: 'string', format: 'date-time' };

export const SERVICE_OVERVIEW_OPENAPI_SCHEMA = {
  type: 'object',
  required: ['patient', 'services', 'sources', 'checkpoint', 'readModelVersion', 'generatedAt'],
  properties: {
    patient: { type: 'object', required: ['system', 'value'], properties: { system: { type: 'string' }, value: { type: 'string' } } },
    services: {
      type: 'array',
      description: 'Active and paused first, then planned; ended and cancelled only with include=ended',
      items: {
        type: 'object',
        required: ['decisionId', 'sourceSystem', 'status', 'service', 'period', 'lastChangedAt', 'lastRecordedAt', 'version'],
        properties: {
          decisionId: { type: 'string' },
          sourceSystem: { type: 'string' },
          status: { type: 'string', enum: ['active', 'paused', 'planned', 'ended', 'cancelled'] },
          service: {
            type: 'object',
            required: ['code', 'system', 'display', 'group', 'codeTableVersion'],
            properties: { code: { type: 'string' }, system: { type: 'string' }, display: { type: 'string' }, group: { type: 'string' }, codeTableVersion: { type: 'string' } },
          },
          period: { type: 'object', required: ['start'], properties: { start: date, end: date } },
          weeklyHours: { type: 'number', minimum: 0, maximum: 168 },
          stayType: { type: 'string' },
          performer: { type: 'object', properties: { orgnr: { type: 'string' }, name: { type: 'string' }, phone: { type: 'string' } } },
          description: { type: 'string' },
          pausedFrom: date,
          pauseReason: { type: 'string' },
          lastChangedAt: instant,
          lastRecordedAt: instant,
          version: {
            type: 'integer',
            minimum: 1,
            description: "The decision's version: the stream position of its last event (FHIR meta.versionId; /api/v1/service-overview/history lists every version)",
          },
        },
      },
    },
    sources: {
      type: 'array',
      description: 'The EPJ systems that report for this patient, and when each last sent an event',
      items: {
        type: 'object',
        required: ['sourceSystem', 'lastRecordedAt', 'lastOccurredAt'],
        properties: { sourceSystem: { type: 'string' }, lastRecordedAt: instant, lastOccurredAt: { type: 'string' } },
      },
    },
    checkpoint: { type: 'string', description: 'The point of the event stream this overview reflects' },
    readModelVersion: { type: 'integer' },
    generatedAt: instant,
  },
} as const;
