/**
 * RFC 9457 problem details. Every error of the HTTP APIs is one of these, served as
 * `application/problem+json`; `errors` names each bad field by JSON pointer and the rule.
 */
export interface FieldError {
  /** JSON pointer (RFC 6901) into the request body; "" for the body as a whole. */
  pointer: string;
  /** The rule broken: a JSON Schema keyword (`required`, `format`, …) or a domain rule (`check-digits`, …). */
  rule: string;
  detail: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Problem types are URNs: stable identifiers, documented in docs/problems.md, never fetched. */
export const problemType = (code: string) => `urn:fpi:problem:${code}`;

/** A problem and the response headers that go with it (Retry-After, …). */
export interface ProblemAnswer {
  problem: Problem;
  headers: Record<string, string>;
}

/**
 * An error that knows its problem. Each library maps its own errors by implementing this
 * (or by throwing `ProblemError`), so the HTTP layer renders them without knowing them.
 */
export interface ProblemSource {
  toProblem(): ProblemAnswer;
}

/** Whether `error` knows its problem (see `ProblemSource`). */
export const isProblemSource = (error: unknown): error is ProblemSource => typeof error === 'object' && error !== null && typeof (error as { toProblem?: unknown }).toProblem === 'function';

/** Thrown anywhere below the HTTP layer; the problem filter renders it. */
export class ProblemError extends Error implements ProblemSource {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail ?? problem.title);
  }

  toProblem(): ProblemAnswer {
    return { problem: this.problem, headers: this.headers };
  }

  static of(status: number, code: string, title: string, detail?: string, errors?: FieldError[]): ProblemError {
    return new ProblemError({ type: problemType(code), title, status, ...(detail ? { detail } : {}), ...(errors ? { errors } : {}) });
  }
}

/**
 * Refuses query parameters an endpoint does not take: 400 `invalid-parameter`, one error per
 * unknown name (pointer `/<name>`, rule `additionalProperties`), so a misspelt filter never
 * widens a read silently. `allowed`: the endpoint's parameter names; `detail`: an optional
 * sentence for the problem. Throws `ProblemError`; returns nothing.
 */
export function refuseUnknownParameters(query: Record<string, unknown>, allowed: readonly string[], detail?: string): void {
  const unknown = Object.keys(query).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) return;
  throw ProblemError.of(
    400,
    'invalid-parameter',
    'Unknown query parameter',
    detail,
    unknown.map((k) => ({ pointer: `/${k}`, rule: 'additionalProperties', detail: 'not a parameter of this endpoint' })),
  );
}
