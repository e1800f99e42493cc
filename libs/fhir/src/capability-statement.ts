/// <reference types="fhir" />
/**
 * The server's FHIR R4 CapabilityStatement (`GET [base]/metadata`). Pure function.
 *
 * One resource type, EpisodeOfCare (profile OktEpisodeOfCare): read, search-type, vread,
 * history (instance and type), create and (conditional) update; transaction and batch.
 * Search needs the patient, given by identifier: `patient.identifier=system|value` (chained,
 * as PMD uses) or `patient:identifier=system|value` (the identifier modifier); plain
 * `patient={pid}` as in the OKT IG table is not standard FHIR and is not accepted.
 */
import { OKT_EPISODE_OF_CARE_PROFILE } from './constants.js';
import { MAX_COUNT, DEFAULT_COUNT } from './search-params.js';
import { subscriptionCapability } from './subscriptions-backport.js';

export interface CapabilityStatementInput {
  /** The FHIR base URL (`implementation.url`). */
  baseUrl: string;
  /** The running software's version (`software.version`). */
  softwareVersion: string;
  /** When this statement was last changed (`date`, a FHIR dateTime). */
  date: string;
  /** `software.name`; default `fpi-platform`. */
  softwareName?: string;
  /** `rest.security.description`; a generic OAuth text by default. */
  securityDescription?: string;
}

const SEARCH_DOCUMENTATION =
  `Search with GET [base]/EpisodeOfCare?... or, preferred so the person identifier stays out of URLs and request logs, ` +
  `POST [base]/EpisodeOfCare/_search with an application/x-www-form-urlencoded body holding the same parameters ` +
  `(parameters in its URL count too, as if repeated in one query). ` +
  `The patient is required and given by identifier (patient.identifier or patient:identifier). ` +
  `Unknown parameters, modifiers and prefixes are rejected with 400 and an OperationOutcome (strict handling). ` +
  `Results are ordered by resource id; follow the next link (parameter _cursor) for more pages. ` +
  `JSON only: a _format (which takes precedence over Accept) or Accept that admits no JSON is answered with 406.`;

/** The CapabilityStatement of the FHIR API. */
export function capabilityStatement(input: CapabilityStatementInput): fhir4.CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    name: 'FpiOktFhirServer',
    title: 'FPI overview of municipal services (OKT-on-FHIR)',
    status: 'active',
    date: input.date,
    kind: 'instance',
    software: { name: input.softwareName ?? 'fpi-platform', version: input.softwareVersion },
    implementation: {
      description: 'FHIR R4 view of the overview of municipal health and care services (tjenesteoversikt), and the OKT-on-FHIR receive side',
      url: input.baseUrl.replace(/\/+$/, ''),
    },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        documentation: SEARCH_DOCUMENTATION,
        security: {
          service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth', display: 'OAuth' }] }],
          description: input.securityDescription ?? 'Every request needs an OAuth 2.0 access token (HelseID); the tenant is taken from the token.',
        },
        interaction: [
          { code: 'transaction', documentation: 'POST [base] with a transaction Bundle of EpisodeOfCare creates and updates: all entries or none' },
          { code: 'batch', documentation: 'POST [base] with a batch Bundle: each entry on its own' },
        ],
        resource: [
          {
            type: 'EpisodeOfCare',
            profile: OKT_EPISODE_OF_CARE_PROFILE,
            supportedProfile: [OKT_EPISODE_OF_CARE_PROFILE],
            documentation: 'One EpisodeOfCare per service decision (vedtak), mapped to the HL7 Norway OKT-on-FHIR draft IG.',
            interaction: [
              { code: 'read', documentation: 'GET [base]/EpisodeOfCare/[id]; ETag W/"[versionId]", If-None-Match gives 304' },
              { code: 'search-type', documentation: SEARCH_DOCUMENTATION },
              { code: 'vread', documentation: 'GET [base]/EpisodeOfCare/[id]/_history/[versionId]: the versionId is the position of the event in the decision stream' },
              { code: 'history-instance', documentation: 'GET [base]/EpisodeOfCare/[id]/_history: one version per event of the decision, newest first, each with the request that made it' },
              { code: 'history-type', documentation: "GET [base]/EpisodeOfCare/_history?patient.identifier=system|value[&_since=instant][&_count=n]: a patient's versions, newest first" },
              { code: 'create', documentation: 'POST [base]/EpisodeOfCare: a new decision (its identifier names it); If-None-Exist makes it conditional' },
              {
                code: 'update',
                documentation:
                  'PUT [base]/EpisodeOfCare?identifier=urn:fpi:decision-id:[source]|[decision id] (conditional) or PUT [base]/EpisodeOfCare/[id]; If-Match W/"[versionId]" is the expected version (412)',
              },
            ],
            versioning: 'versioned-update',
            readHistory: true,
            updateCreate: true,
            conditionalCreate: true,
            conditionalUpdate: true,
            conditionalRead: 'not-supported',
            conditionalDelete: 'not-supported',
            referencePolicy: ['logical', 'local'],
            searchParam: [
              {
                name: 'patient',
                definition: 'http://hl7.org/fhir/SearchParameter/clinical-patient',
                type: 'reference',
                documentation:
                  'Required. Only by identifier: patient.identifier=system|value (chained) or patient:identifier=system|value, ' +
                  'with system urn:oid:2.16.578.1.12.4.1.4.1 (FNR), .2 (DNR) or .3 (FHN) and an 11-digit value.',
              },
              {
                name: 'status',
                definition: 'http://hl7.org/fhir/SearchParameter/EpisodeOfCare-status',
                type: 'token',
                documentation: 'EpisodeOfCare status codes, comma-separated (OR). A paused service is onhold.',
              },
              {
                name: 'type',
                definition: 'http://hl7.org/fhir/SearchParameter/EpisodeOfCare-type',
                type: 'token',
                documentation:
                  'Service type, urn:oid:2.16.578.1.12.4.1.1.9151|code or code (zero-padded codes accepted), or a stay type ' +
                  'http://hl7.no/fhir/ig/okt/CodeSystem/OktStayTypeCs|code. Comma-separated values are OR.',
              },
              {
                name: 'date',
                definition: 'http://hl7.org/fhir/SearchParameter/clinical-date',
                type: 'date',
                documentation: 'Matched against the period (an open end is ongoing). At most two values (AND); prefixes eq, gt, lt, ge, le, sa, eb; ' + 'precision year, month or day.',
              },
              { name: '_count', type: 'number', documentation: `Page size, 0-${MAX_COUNT} (default ${DEFAULT_COUNT}); 0 gives only the total, like _summary=count.` },
              { name: '_summary', type: 'token', documentation: 'Only count (a Bundle with total and no entries) and false.' },
              { name: '_cursor', type: 'string', documentation: 'Paging: the id of the last resource of the previous page, as in the next link.' },
            ],
          },
          subscriptionCapability(),
        ],
      },
    ],
  };
}
