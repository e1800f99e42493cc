import { ProblemError } from '#libs/contracts';
import { parsePersonIdentifier, personIdForAuditLog, type PersonId, type PersonIdParseResult } from '#libs/domain';

/** Where a request names a patient, and how (for `requirePersonId` and the patient audit log). */
export interface PersonIdSource {
  /** The value as received: header, path segment (decoded by the router), body field, FHIR token value. */
  value: unknown;
  /** JSON pointer or parameter name for the problem, e.g. `/person-id`, `/pid`, `patient.identifier`. */
  pointer: string;
  /** The identifier system the client named (FHIR `system|value`), if any. */
  system?: string;
}

/** The 400 problem for a person identifier that did not parse: names the field and the rule, never the number. */
export function invalidPersonId(result: Extract<PersonIdParseResult, { ok: false }>, pointer: string): ProblemError {
  return ProblemError.of(400, 'invalid-person-id', 'Invalid person identifier', result.message, [{ pointer, rule: result.rule, detail: result.message }]);
}

/**
 * The person identifier of a request, parsed by the one parser (`parsePersonIdentifier`):
 * returns it, or throws the 400 problem `invalid-person-id` naming the field and the rule.
 */
export function requirePersonId(source: PersonIdSource): PersonId {
  const result = parsePersonIdentifier(source.value, source.system === undefined ? {} : { system: source.system });
  if (!result.ok) throw invalidPersonId(result, source.pointer);
  return result.id;
}

/** The first single value of a header or query parameter (repeated ones are not a person id). */
const single = (v: unknown): unknown => (Array.isArray(v) ? (v.length === 1 ? v[0] : undefined) : v);

/** A FHIR token `system|value`, split at the first bar. */
export function splitToken(token: unknown): { system?: string; value: unknown } {
  const t = single(token);
  if (typeof t !== 'string') return { value: undefined };
  const bar = t.indexOf('|');
  return bar < 0 ? { value: t } : { system: t.slice(0, bar), value: t.slice(bar + 1) };
}

/**
 * The patient a request is about, as far as its person-id carriers tell (the `person-id`
 * header, the OKT `:pid` path segment, a `_search` body's `personId`, FHIR
 * `patient.identifier` in the query or form body), by the same parser the read uses,
 * including non-canonical spellings of a valid identifier. For the audit-log record of a
 * refused read; undefined when none names a patient.
 */
export function patientOfRequest(request: { headers: Record<string, unknown>; params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown }): string | undefined {
  const body = typeof request.body === 'object' && request.body !== null && !Array.isArray(request.body) ? (request.body as Record<string, unknown>) : {};
  const own = (o: Record<string, unknown> | undefined, key: string) => (o && Object.hasOwn(o, key) ? o[key] : undefined);
  const fhir = [own(request.query, 'patient.identifier'), own(request.query, 'patient:identifier'), own(body, 'patient.identifier'), own(body, 'patient:identifier')]
    .filter((v) => v !== undefined)
    .map(splitToken);
  const candidates: { value: unknown; system?: string }[] = [{ value: single(own(request.headers, 'person-id')) }, { value: own(request.params, 'pid') }, { value: own(body, 'personId') }, ...fhir];
  for (const c of candidates) {
    const pid = personIdForAuditLog(c.value, c.system === undefined ? {} : { system: c.system });
    if (pid) return pid;
  }
  return undefined;
}
