/// <reference types="fhir" />
/**
 * Versions of an EpisodeOfCare and the Bundles that carry them: one version per event of
 * the decision's stream, its `versionId` the event's stream position (1, 2, …), so versions
 * are the same after every rebuild. Pure.
 *
 * A version shows the decision as it stood after that event, with the statuses of the day
 * (in Norway) it was recorded: a version does not change afterwards (`toEpisodeOfCare` of
 * the overview shows statuses as of today instead). A decision entered in error has the
 * status `entered-in-error`.
 */
import { emptyOverview, osloDateOf, viewOverview, type OverviewDecision, type PatientRef } from '#libs/domain';
import { episodeOfCareUrl } from './bundle.js';
import { toEpisodeOfCare } from './episode-of-care.js';

/** The weak ETag of a version (R4 http.html#versioning): `W/"<versionId>"`. */
export const versionETag = (versionId: number | string): string => `W/"${versionId}"`;

/**
 * The version an `If-Match` / `If-None-Match` header names: `W/"3"`, `"3"` or `3` → 3;
 * undefined when it names none (a list, `*`, or not a positive integer).
 */
export function parseVersionETag(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?([1-9][0-9]{0,14})"?\s*$/.exec(header);
  return m ? Number(m[1]) : undefined;
}

/** The EpisodeOfCare of a decision as of one of its versions (the decision after event `decision.position`). */
export function episodeOfCareVersion(decision: OverviewDecision, patient: PatientRef, options: { tenant: string }): fhir4.EpisodeOfCare {
  const day = osloDateOf(decision.lastRecordedAt) ?? decision.lastRecordedAt.slice(0, 10);
  const inError = decision.lifecycle === 'entered-in-error';
  const shown: OverviewDecision = inError ? { ...decision, lifecycle: 'granted' } : decision;
  const doc = { ...emptyOverview(patient), decisions: { [`${decision.sourceSystem}/${decision.decisionId}`]: shown } };
  const entry = viewOverview(doc, { today: day, includeEnded: true }).services[0]!;
  const resource = toEpisodeOfCare(entry, patient, { tenant: options.tenant, lastUpdated: decision.lastRecordedAt });
  return {
    ...resource,
    ...(inError ? { status: 'entered-in-error' as const } : {}),
  };
}

/** One version in a history Bundle: the resource and the request that made it. */
export interface HistoryVersion {
  resource: fhir4.EpisodeOfCare;
  request: { method: 'POST' | 'PUT'; url: string };
}

/** A `history` Bundle (R4 http.html#history): the versions as given (newest first), each with its request and response. */
export function historyBundle(versions: readonly HistoryVersion[], input: { baseUrl: string; selfUrl: string; timestamp?: string }): fhir4.Bundle<fhir4.EpisodeOfCare> {
  return {
    resourceType: 'Bundle',
    type: 'history',
    ...(input.timestamp ? { timestamp: input.timestamp } : {}),
    total: versions.length,
    link: [{ relation: 'self', url: input.selfUrl }],
    ...(versions.length > 0
      ? {
          entry: versions.map(({ resource, request }) => ({
            fullUrl: episodeOfCareUrl(input.baseUrl, resource.id!),
            resource,
            request,
            response: {
              status: request.method === 'POST' && resource.meta!.versionId === '1' ? '201 Created' : '200 OK',
              etag: versionETag(resource.meta!.versionId!),
              lastModified: resource.meta!.lastUpdated!,
            },
          })),
        }
      : {}),
  };
}

/** The answer to one entry of a transaction or batch (or a single create or update). */
export interface EntryResponse {
  /** `201 Created`, `200 OK`, or the error's status with its reason phrase. */
  status: string;
  location?: string;
  etag?: string;
  lastModified?: string;
  resource?: fhir4.EpisodeOfCare;
  outcome?: fhir4.OperationOutcome;
}

/** A `transaction-response` or `batch-response` Bundle: one entry per request entry, in order. */
export function responseBundle(type: 'transaction-response' | 'batch-response', entries: readonly EntryResponse[], input: { baseUrl: string; timestamp?: string }): fhir4.Bundle {
  const { timestamp } = input;
  return {
    resourceType: 'Bundle',
    type,
    ...(timestamp ? { timestamp } : {}),
    entry: entries.map(({ resource, outcome, ...response }) => ({
      ...(resource ? { fullUrl: episodeOfCareUrl(input.baseUrl, resource.id!), resource } : {}),
      response: { ...response, ...(outcome ? { outcome } : {}) },
    })),
  };
}
