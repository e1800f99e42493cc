/// <reference types="fhir" />
/**
 * Search results as FHIR R4 `searchset` Bundles. Pure functions.
 *
 * Links are whatever the caller passes: build them with `searchQueryString` (search-params)
 * so they repeat the search in canonical form. They carry the patient's identifier; a
 * client that follows them should POST the query to `EpisodeOfCare/_search` to keep it
 * out of URLs and request logs (as NHN's Pasientens prøvesvar and PMD do with the `person-id`
 * header or a POST `_search` body; the OKT prototype's `GET /okt-events/{pid}` does not).
 */

export interface SearchsetBundleInput {
  entries: readonly fhir4.EpisodeOfCare[];
  /** All matches, not just this page. */
  total: number;
  /** The FHIR base, e.g. `https://fpi.example/fhir` (a trailing slash is dropped). */
  baseUrl: string;
  selfUrl: string;
  nextUrl?: string;
  /** `Bundle.timestamp`: when the result was assembled (instant). */
  timestamp?: string;
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** `${baseUrl}/EpisodeOfCare/${id}`. */
export function episodeOfCareUrl(baseUrl: string, id: string): string {
  return `${trimSlash(baseUrl)}/EpisodeOfCare/${id}`;
}

/** A `searchset` Bundle with one `match` entry per resource (no `entry` when empty). */
export function searchsetBundle(input: SearchsetBundleInput): fhir4.Bundle<fhir4.EpisodeOfCare> {
  const link: fhir4.BundleLink[] = [{ relation: 'self', url: input.selfUrl }];
  if (input.nextUrl) link.push({ relation: 'next', url: input.nextUrl });
  const entry = input.entries.map((resource): fhir4.BundleEntry<fhir4.EpisodeOfCare> => ({
    fullUrl: episodeOfCareUrl(input.baseUrl, resource.id!),
    resource,
    search: { mode: 'match' },
  }));
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(input.timestamp ? { timestamp: input.timestamp } : {}),
    total: input.total,
    link,
    ...(entry.length > 0 ? { entry } : {}),
  };
}

/** The answer to `_summary=count`: a `searchset` Bundle with only `total` (and `self`). */
export function countBundle(total: number, selfUrl?: string): fhir4.Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    ...(selfUrl ? { link: [{ relation: 'self', url: selfUrl }] } : {}),
  };
}
