/// <reference types="fhir" />
/** FHIR R4 OperationOutcome, for errors (4xx/5xx) of the FHIR API. Pure functions. */
import { unstorableTexts, type Problem } from '#libs/contracts';

/** The media type of every FHIR answer, errors included. */
export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Requests of the FHIR API: every error they get is an OperationOutcome, never problem+json. */
export const isFhirPath = (url: string) => url === '/fhir' || url.startsWith('/fhir/') || url.startsWith('/fhir?');

/** An error answered with exactly this OperationOutcome and status. */
export class OperationOutcomeError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: fhir4.OperationOutcome,
  ) {
    super(outcome.issue[0]?.diagnostics ?? 'FHIR error');
  }
}

export type IssueSeverity = fhir4.OperationOutcomeIssue['severity'];
export type IssueType = fhir4.OperationOutcomeIssue['code'];

export interface OutcomeIssue {
  severity?: IssueSeverity;
  code: IssueType;
  diagnostics: string;
  expression?: readonly string[];
}

/** Characters a FHIR `string` may not hold: controls and whitespace other than space, tab, CR, LF; unpaired surrogates. */
const NOT_FHIR_STRING =
  // eslint-disable-next-line no-control-regex -- control characters are what this pattern finds
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text made a valid FHIR R4 `string` (regex `[ \r\n\t\S]+`, no controls): each character it
 * may not hold written as `\uXXXX`. Diagnostics often quote what the client sent, which may
 * hold exactly such characters (found by the FHIR validator on the bad-input property).
 */
export function fhirString(text: string): string {
  const escaped = text.replace(NOT_FHIR_STRING, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
  return escaped.trim() === '' ? `"${escaped}"` : escaped;
}

function issue({ severity = 'error', code, diagnostics, expression }: OutcomeIssue): fhir4.OperationOutcomeIssue {
  return { severity, code, diagnostics: fhirString(diagnostics), ...(expression && expression.length > 0 ? { expression: expression.map(fhirString) } : {}) };
}

/** An OperationOutcome with one issue. Keep personal data (identifiers) out of `diagnostics`. */
export function operationOutcome(severity: IssueSeverity, code: IssueType, diagnostics: string, expression?: readonly string[]): fhir4.OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [issue({ severity, code, diagnostics, ...(expression ? { expression } : {}) })] };
}

/** An OperationOutcome with several issues (e.g. every problem of a search); severity defaults to error. */
export function operationOutcomeOf(issues: readonly OutcomeIssue[]): fhir4.OperationOutcome {
  if (issues.length === 0) throw new RangeError('an OperationOutcome needs at least one issue');
  return { resourceType: 'OperationOutcome', issue: issues.map(issue) };
}

/** A problem (RFC 9457) as an OperationOutcome: each field error an issue with its path, else one issue. */
export function problemToOperationOutcome(problem: Problem): fhir4.OperationOutcome {
  const code: IssueType = problem.status === 404 ? 'not-found' : problem.status === 429 ? 'throttled' : problem.status >= 500 ? 'transient' : problem.status === 403 ? 'security' : 'invalid';
  return operationOutcomeOf(
    problem.errors?.length
      ? problem.errors.map((e) => ({ severity: 'error' as const, code, diagnostics: `${e.rule}: ${e.detail}`, expression: e.pointer ? [e.pointer.slice(1).replaceAll('/', '.')] : undefined }))
      : [{ severity: problem.status >= 500 ? 'fatal' : 'error', code, diagnostics: problem.detail ?? problem.title }],
  );
}

/**
 * The FHIRPath of a JSON pointer (RFC 6901) into a resource at `at`: `/identifier/0/value`
 * under `EpisodeOfCare` → `EpisodeOfCare.identifier[0].value`.
 */
export function fhirPathOfPointer(at: string, pointer: string): string {
  let path = at;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path += /^(0|[1-9][0-9]*)$/.test(segment) ? `[${segment}]` : `.${segment}`;
  }
  return path;
}

/**
 * Every string of a posted FHIR body (values and property names) that PostgreSQL cannot store
 * (control characters, unpaired surrogates), as issues at its FHIRPath under `at`: the rule
 * the native API holds every body to (`unstorableTexts`, libs/contracts), applied before
 * anything is derived from the text (ids, keys). Empty when all text is storable.
 */
export function unstorableTextIssues(body: unknown, at: string): { code: 'invalid'; diagnostics: string; expression: string[] }[] {
  return unstorableTexts(body).map(({ pointer, violation }) => ({ code: 'invalid' as const, diagnostics: `${violation.rule}: ${violation.detail}`, expression: [fhirPathOfPointer(at, pointer)] }));
}
