/**
 * OpenAPI (3.0) schemas of the FHIR R4 resources the API serves, for the OpenAPI document:
 * the shape clients can rely on (resource type, required elements, codes we emit). They are
 * deliberately no copy of FHIR's StructureDefinitions: conformance to R4 and to the OKT
 * profile is checked by a FHIR validator in the tests (libs/fhir/src/testing/validate.ts).
 */
import { EPISODE_OF_CARE_STATUSES } from './episode-of-care.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const resourceType = (name: string) => ({ type: 'string', enum: [name] });
const coding = { type: 'object', properties: { system: { type: 'string' }, code: { type: 'string' }, display: { type: 'string' } } };
const identifier = { type: 'object', properties: { system: { type: 'string' }, value: { type: 'string' } } };

export const FHIR_OPENAPI_SCHEMAS: Readonly<Record<string, object>> = Object.freeze({
  OperationOutcome: {
    type: 'object',
    description: 'FHIR R4 OperationOutcome: why the request failed',
    required: ['resourceType', 'issue'],
    properties: {
      resourceType: resourceType('OperationOutcome'),
      issue: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['severity', 'code'],
          properties: {
            severity: { type: 'string', enum: ['fatal', 'error', 'warning', 'information'] },
            code: { type: 'string', description: 'FHIR IssueType' },
            diagnostics: { type: 'string' },
            expression: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
  },
  EpisodeOfCare: {
    type: 'object',
    description: "FHIR R4 EpisodeOfCare in HL7 Norway's OktEpisodeOfCare profile: one service decision",
    required: ['resourceType', 'id', 'meta', 'identifier', 'status', 'type', 'patient', 'period'],
    properties: {
      resourceType: resourceType('EpisodeOfCare'),
      id: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' },
      meta: { type: 'object', properties: { profile: { type: 'array', items: { type: 'string' } }, lastUpdated: { type: 'string' }, source: { type: 'string' } } },
      identifier: { type: 'array', items: identifier },
      status: { type: 'string', enum: [...EPISODE_OF_CARE_STATUSES] },
      statusHistory: { type: 'array', items: { type: 'object' } },
      type: { type: 'array', minItems: 1, items: { type: 'object', properties: { coding: { type: 'array', items: coding } } } },
      patient: { type: 'object', required: ['identifier'], properties: { identifier } },
      period: { type: 'object', required: ['start'], properties: { start: { type: 'string', format: 'date' }, end: { type: 'string', format: 'date' } } },
      managingOrganization: { type: 'object' },
      contained: { type: 'array', items: { type: 'object' } },
      extension: { type: 'array', items: { type: 'object', required: ['url'], properties: { url: { type: 'string' } } } },
    },
  },
  Bundle: {
    type: 'object',
    description: 'FHIR R4 searchset Bundle of EpisodeOfCare (with _summary=count: the total only)',
    required: ['resourceType', 'type', 'total'],
    properties: {
      resourceType: resourceType('Bundle'),
      id: { type: 'string' },
      meta: { type: 'object' },
      type: { type: 'string', enum: ['searchset'] },
      total: { type: 'integer', minimum: 0 },
      link: { type: 'array', items: { type: 'object', required: ['relation', 'url'], properties: { relation: { type: 'string' }, url: { type: 'string' } } } },
      entry: {
        type: 'array',
        items: {
          type: 'object',
          required: ['fullUrl', 'resource'],
          properties: { fullUrl: { type: 'string' }, resource: ref('EpisodeOfCare'), search: { type: 'object', properties: { mode: { type: 'string', enum: ['match'] } } } },
        },
      },
    },
  },
  EpisodeOfCareInput: {
    type: 'object',
    description:
      'An EpisodeOfCare to write (OktEpisodeOfCare profile): identifier (urn:fpi:decision-id:<source>|<decision id>), patient.identifier, ' +
      'a Volven 9151 type, period, status; WeeklyExtentRatio, ServiceDescriptionMarkdown and a managingOrganization when known',
    required: ['resourceType'],
    properties: { resourceType: resourceType('EpisodeOfCare') },
  },
  RequestBundle: {
    type: 'object',
    description: 'A transaction or batch Bundle of EpisodeOfCare creates (POST EpisodeOfCare) and updates (PUT EpisodeOfCare?identifier=…); Bundle.identifier is the idempotency key',
    required: ['resourceType', 'type', 'entry'],
    properties: {
      resourceType: resourceType('Bundle'),
      type: { type: 'string', enum: ['transaction', 'batch'] },
      identifier: identifier,
      entry: {
        type: 'array',
        minItems: 1,
        maxItems: 100,
        items: {
          type: 'object',
          required: ['resource', 'request'],
          properties: {
            fullUrl: { type: 'string' },
            resource: ref('EpisodeOfCareInput'),
            request: {
              type: 'object',
              required: ['method', 'url'],
              properties: { method: { type: 'string', enum: ['POST', 'PUT'] }, url: { type: 'string', minLength: 1 }, ifMatch: { type: 'string' }, ifNoneExist: { type: 'string' } },
            },
          },
        },
      },
    },
  },
  ResponseBundle: {
    type: 'object',
    description: 'FHIR R4 transaction-response or batch-response Bundle: one entry per request entry, in order',
    required: ['resourceType', 'type', 'entry'],
    properties: {
      resourceType: resourceType('Bundle'),
      type: { type: 'string', enum: ['transaction-response', 'batch-response'] },
      timestamp: { type: 'string' },
      entry: {
        type: 'array',
        items: {
          type: 'object',
          required: ['response'],
          properties: {
            fullUrl: { type: 'string' },
            resource: ref('EpisodeOfCare'),
            response: {
              type: 'object',
              required: ['status'],
              properties: { status: { type: 'string' }, location: { type: 'string' }, etag: { type: 'string' }, lastModified: { type: 'string' }, outcome: ref('OperationOutcome') },
            },
          },
        },
      },
    },
  },
  HistoryBundle: {
    type: 'object',
    description: 'FHIR R4 history Bundle of EpisodeOfCare versions, newest first, each with the request that made it',
    required: ['resourceType', 'type', 'total'],
    properties: {
      resourceType: resourceType('Bundle'),
      type: { type: 'string', enum: ['history'] },
      total: { type: 'integer', minimum: 0 },
      timestamp: { type: 'string' },
      link: { type: 'array', items: { type: 'object', required: ['relation', 'url'], properties: { relation: { type: 'string' }, url: { type: 'string' } } } },
      entry: {
        type: 'array',
        items: {
          type: 'object',
          required: ['fullUrl', 'resource', 'request', 'response'],
          properties: {
            fullUrl: { type: 'string' },
            resource: ref('EpisodeOfCare'),
            request: { type: 'object', required: ['method', 'url'], properties: { method: { type: 'string', enum: ['POST', 'PUT'] }, url: { type: 'string' } } },
            response: { type: 'object', required: ['status'], properties: { status: { type: 'string' }, etag: { type: 'string' }, lastModified: { type: 'string' } } },
          },
        },
      },
    },
  },
  CapabilityStatement: {
    type: 'object',
    description: 'FHIR R4 CapabilityStatement of this server',
    required: ['resourceType', 'status', 'date', 'kind', 'fhirVersion', 'format', 'rest'],
    properties: {
      resourceType: resourceType('CapabilityStatement'),
      status: { type: 'string' },
      date: { type: 'string' },
      kind: { type: 'string', enum: ['instance'] },
      fhirVersion: { type: 'string', enum: ['4.0.1'] },
      format: { type: 'array', items: { type: 'string' } },
      rest: { type: 'array', items: { type: 'object' } },
    },
  },
});
