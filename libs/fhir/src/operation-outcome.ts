/// <reference types="fhir" />
/** FHIR R4 OperationOutcome, for errors (4xx/5xx) of the FHIR API. Pure functions. */
import type { Problem } from '#libs/contracts';

/** The media type of every FHIR answer, errors included. */
export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Requests of the FHIR API: every error they get is an OperationOutcome, never problem+json. */
export const isFhirPath = (url: string) => url === '/fhir' || url.startsWith('/fhir/') || url.startsWith('/fhir?');

/** An error answered with exactly this OperationOutcome and status. */
export class OperationOutcomeError extends Error {
  constructor(readonly status: number, readonly outcome: fhir4.OperationOutcome) {
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

function issue({ severity = 'error', code, diagnostics, expression }: OutcomeIssue): fhir4.OperationOutcomeIssue {
  return { severity, code, diagnostics, ...(expression && expression.length > 0 ? { expression: [...expression] } : {}) };
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
