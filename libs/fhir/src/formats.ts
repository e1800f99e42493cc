/// <reference types="fhir" />
/**
 * Content negotiation of the FHIR API (R4 http.html#mime-type): this server speaks JSON
 * only. `_format` takes precedence over `Accept`; when neither allows JSON the answer is
 * 406 Not Acceptable with an OperationOutcome (in JSON: the only format we have). Pure.
 */
import { operationOutcome } from './operation-outcome.js';

/** `_format` values (and `Accept` media types) that mean FHIR JSON. */
export const FHIR_JSON_FORMATS: readonly string[] = Object.freeze(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);

/** Media ranges of `Accept` that admit FHIR JSON. */
const JSON_RANGES = new Set(['*/*', 'application/*', 'application/json', 'application/fhir+json', 'application/json+fhir']);

/** A `_format` value as a bare media type: parameters dropped, lower case, and a `+` that arrived as a space (unencoded in a URL) restored. */
const formatType = (value: string) =>
  value
    .split(';')[0]!
    .trim()
    .toLowerCase()
    .replace(/^application\/fhir json$/, 'application/fhir+json')
    .replace(/^application\/json fhir$/, 'application/json+fhir');

/** Whether an `Accept` header admits JSON: some range matching it with q > 0 (RFC 9110 §12.5.1). A missing or empty header admits anything. */
export function acceptsFhirJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((p) => p.trim());
    if (!type) continue;
    const q = params.map((p) => /^q=([0-9.]+)$/i.exec(p)).find((m) => m)?.[1];
    if (JSON_RANGES.has(type.toLowerCase()) && (q === undefined || Number(q) > 0)) return true;
  }
  return false;
}

/**
 * The 406 OperationOutcome when the client accepts no JSON, else undefined. `format` holds
 * every `_format` value given (URL and, for POST _search, body); when there is one, it
 * decides and `Accept` is not consulted.
 */
export function fhirFormatOutcome(format: readonly string[], accept: string | undefined): fhir4.OperationOutcome | undefined {
  const given = format.filter((f) => f !== '');
  if (given.length > 0) {
    const refused = given.find((f) => !FHIR_JSON_FORMATS.includes(formatType(f)));
    if (refused === undefined) return undefined;
    return operationOutcome('error', 'not-supported', 'The _format asked for is not available: this server answers in JSON only (_format=json or application/fhir+json).', ['_format']);
  }
  if (acceptsFhirJson(accept)) return undefined;
  return operationOutcome('error', 'not-supported', 'None of the media types in Accept is available: this server answers in application/fhir+json only.', ['Accept']);
}

/**
 * A request URL with the FHIR base written `/fhir/` (FHIR clients post transactions to
 * `[base]/`) as `/fhir`; every other URL unchanged.
 */
export function fhirBaseUrl(url: string): string {
  return url === '/fhir/' || url.startsWith('/fhir/?') ? `/fhir${url.slice('/fhir/'.length)}` : url;
}
