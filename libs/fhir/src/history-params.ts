/**
 * Parameters of the type-level history (`GET [base]/EpisodeOfCare/_history`): the patient
 * (required, as in search: `patient.identifier` / `patient:identifier`), `_since` (an
 * instant: versions recorded at or after it, R4 http.html#history) and `_count`. Strict like
 * the search: unknown parameters are refused. Pure.
 */
import { parseInstant } from '#libs/domain';
import { parsePatient, type PatientCriterion, type SearchIssue, type SearchParams } from './search-params.js';

/** Most versions in one history Bundle, and the default. */
export const MAX_HISTORY_COUNT = 1000;
export const DEFAULT_HISTORY_COUNT = 100;

export interface HistoryQuery {
  patient: PatientCriterion;
  /** An instant (RFC 3339 with its offset, as sent). */
  since?: string;
  count: number;
}

const KNOWN = new Set(['patient.identifier', 'patient:identifier', '_since', '_count', '_format']);

/** Parses `_since`: an instant with a zone (FHIR `instant`), or an issue. */
export function parseSinceInstant(value: unknown, name: string, issues: SearchIssue[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || parseInstant(value) === undefined) {
    issues.push({ code: 'invalid', diagnostics: `${name} must be an instant with its time zone, e.g. 2026-01-01T00:00:00+01:00`, expression: [name] });
    return undefined;
  }
  return value;
}

export function parseEpisodeOfCareHistory(params: SearchParams): { ok: true; query: HistoryQuery } | { ok: false; issues: SearchIssue[] } {
  const issues: SearchIssue[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (!KNOWN.has(name)) issues.push({ code: 'not-supported', diagnostics: `Unknown parameter '${name}' of the history.`, expression: [name] });
    else if (name !== 'patient.identifier' && name !== 'patient:identifier' && typeof value !== 'string') issues.push({ code: 'invalid', diagnostics: `Give ${name} once.`, expression: [name] });
  }
  const patient = parsePatient(params, issues);
  const since = typeof params._since === 'string' ? parseSinceInstant(params._since, '_since', issues) : undefined;
  let count = DEFAULT_HISTORY_COUNT;
  if (typeof params._count === 'string') {
    if (/^\d{1,4}$/.test(params._count) && Number(params._count) >= 1 && Number(params._count) <= MAX_HISTORY_COUNT) count = Number(params._count);
    else issues.push({ code: 'invalid', diagnostics: `_count must be a whole number from 1 to ${MAX_HISTORY_COUNT}.`, expression: ['_count'] });
  }
  if (issues.length > 0 || !patient) return { ok: false, issues };
  return { ok: true, query: { patient, ...(since !== undefined ? { since } : {}), count } };
}
