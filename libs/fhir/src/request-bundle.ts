/// <reference types="fhir" />
/**
 * A `transaction` or `batch` Bundle as a client posts it to the FHIR base (R4
 * http.html#transaction): its entries as requests to write, each with the FHIRPath of its
 * resource for error expressions. Pure; the resources themselves are read by
 * `parseEpisodeOfCareInput`.
 */
import { unstorableTextIssues, type OutcomeIssue } from './operation-outcome.js';

/** Most entries in one Bundle (as the native batch endpoint's 500 items, but resources are larger). */
export const MAX_BUNDLE_ENTRIES = 100;

export interface RequestEntry {
  resource: unknown;
  /** `Bundle.entry[<i>].resource` */
  at: string;
  method: 'POST' | 'PUT';
  url: string;
  ifMatch?: string;
  ifNoneExist?: string;
  /** fullUrl, else the entry's index: the entry's part of the idempotency key. */
  key: string;
}

export interface RequestBundle {
  type: 'transaction' | 'batch';
  /** `Bundle.identifier` as `system|value`, when it has a value: the idempotency key. */
  key?: string;
  entries: RequestEntry[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a posted Bundle; errors name every element that cannot be read (`Bundle.entry[1].request.method`). */
export function parseRequestBundle(body: unknown): { ok: true; value: RequestBundle } | { ok: false; issues: OutcomeIssue[] } {
  const issues: OutcomeIssue[] = [];
  if (!isObject(body) || body.resourceType !== 'Bundle')
    return { ok: false, issues: [{ code: 'invalid', diagnostics: 'POST [base] takes a Bundle of type transaction or batch', expression: ['Bundle'] }] };
  if (body.type !== 'transaction' && body.type !== 'batch') return { ok: false, issues: [{ code: 'invalid', diagnostics: 'Bundle.type must be transaction or batch', expression: ['Bundle.type'] }] };
  // Text that cannot be stored is refused before any key or id is derived from it.
  const unstorable = unstorableTextIssues(body, 'Bundle');
  if (unstorable.length > 0) return { ok: false, issues: unstorable };
  const raw = body.entry === undefined ? [] : body.entry;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_BUNDLE_ENTRIES) {
    return { ok: false, issues: [{ code: 'invalid', diagnostics: `Bundle.entry: 1 to ${MAX_BUNDLE_ENTRIES} entries`, expression: ['Bundle.entry'] }] };
  }
  const entries: RequestEntry[] = [];
  raw.forEach((e: unknown, i) => {
    const at = `Bundle.entry[${i}]`;
    if (!isObject(e)) return void issues.push({ code: 'invalid', diagnostics: 'an entry is an object', expression: [at] });
    const request = isObject(e.request) ? e.request : undefined;
    if (!request) return void issues.push({ code: 'required', diagnostics: 'entry.request (method and url) is required', expression: [`${at}.request`] });
    const { method, url } = request;
    if (method !== 'POST' && method !== 'PUT')
      issues.push({ code: 'not-supported', diagnostics: 'entry.request.method: POST (create) or PUT (update) of EpisodeOfCare', expression: [`${at}.request.method`] });
    if (typeof url !== 'string' || url === '') issues.push({ code: 'required', diagnostics: 'entry.request.url is required', expression: [`${at}.request.url`] });
    if (e.resource === undefined) issues.push({ code: 'required', diagnostics: 'entry.resource is required', expression: [`${at}.resource`] });
    const text = (name: string) => {
      const v = request[name];
      if (v === undefined) return undefined;
      if (typeof v !== 'string') issues.push({ code: 'invalid', diagnostics: `entry.request.${name} is a string`, expression: [`${at}.request.${name}`] });
      return typeof v === 'string' ? v : undefined;
    };
    const ifMatch = text('ifMatch');
    const ifNoneExist = text('ifNoneExist');
    if (typeof method !== 'string' || typeof url !== 'string') return;
    entries.push({
      resource: e.resource,
      at: `${at}.resource`,
      method: method as RequestEntry['method'],
      url,
      ...(ifMatch !== undefined ? { ifMatch } : {}),
      ...(ifNoneExist !== undefined ? { ifNoneExist } : {}),
      key: typeof e.fullUrl === 'string' && e.fullUrl !== '' ? e.fullUrl : String(i),
    });
  });
  if (issues.length > 0) return { ok: false, issues };
  const identifier = isObject(body.identifier) ? body.identifier : undefined;
  const key = identifier && typeof identifier.value === 'string' && identifier.value !== '' ? `${typeof identifier.system === 'string' ? identifier.system : ''}|${identifier.value}` : undefined;
  return { ok: true, value: { type: body.type, ...(key !== undefined ? { key } : {}), entries } };
}
