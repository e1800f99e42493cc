/// <reference types="fhir" />
/** FHIR R4 OperationOutcome, for errors (4xx/5xx) of the FHIR API. Pure functions. */

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
