/**
 * Every problem the receive service answers with, and the one mapping of the errors of its
 * write path (the decider's rules, idempotency, concurrency) to them. Errors it does not
 * know pass through: the store's errors carry their own problem (`toProblem()`), and the
 * HTTP layer answers the rest (database refusals, outages).
 */
import { ProblemError, problemType, type FieldError } from '#libs/contracts';
import { DecisionRuleError, type Violation } from '#libs/domain';
import { IdempotencyConflictError } from '#libs/event-store';
import { ConcurrencyRetriesExhaustedError } from './write/command-handler.js';

/** 400: the body does not match information model v1 (every bad field). */
export const invalidEvent = (errors: FieldError[]) => ProblemError.of(400, 'invalid-event', 'The event does not match information model v1', `${errors.length} field(s) invalid`, errors);

/** 400: the batch envelope is malformed. */
export const invalidBatch = (errors: FieldError[]) => ProblemError.of(400, 'invalid-batch', 'The batch is malformed', undefined, errors);

/** 400: the OKT snapshot does not match the prototype's model. */
export const invalidOktEvent = (errors: FieldError[]) => ProblemError.of(400, 'invalid-okt-event', 'The OktEvent is malformed', undefined, errors);

/** 422: the report breaks stateless rules (every one). */
export const ruleViolations = (violations: Violation[]) => ProblemError.of(422, 'rule-violation', 'The event breaks a rule', `${violations.length} rule(s) broken`, violations);

/** 422: the OKT snapshot breaks rules. */
export const snapshotRuleViolations = (violations: Violation[]) => ProblemError.of(422, 'rule-violation', 'The snapshot breaks a rule', undefined, violations);

/**
 * The problem of an error of the write path: `DecisionRuleError` → 403 (ownership), 409
 * `lifecycle-conflict` or 422 `rule-violation`, naming the rule and pointer;
 * `IdempotencyConflictError` → 409 `idempotency-conflict` at `/eventId`;
 * `ConcurrencyRetriesExhaustedError` → 409 `concurrency-conflict` with Retry-After: 1.
 * Anything else is returned as is.
 */
export function receiveProblem(error: unknown, context: { decisionId?: string } = {}): unknown {
  if (error instanceof DecisionRuleError) {
    const { status, rule, pointer, detail } = error.violation;
    const errors = [{ pointer, rule, detail }];
    if (status === 403) return ProblemError.of(403, rule, 'The decision belongs to another source system', detail, errors);
    if (status === 409) return ProblemError.of(409, 'lifecycle-conflict', 'The decision is not in a state that allows this event', detail, errors);
    return ProblemError.of(status, 'rule-violation', 'The event breaks a rule', detail, errors);
  }
  if (error instanceof IdempotencyConflictError) {
    // The store's own problem, as a ProblemError whose pointers an OKT snapshot can remap.
    const { problem, headers } = error.toProblem();
    return new ProblemError(problem, headers);
  }
  if (error instanceof ConcurrencyRetriesExhaustedError) {
    return new ProblemError(
      {
        type: problemType('concurrency-conflict'),
        title: 'Too many concurrent changes',
        status: 409,
        detail: `${context.decisionId === undefined ? 'the decisions' : `decision ${context.decisionId}`} kept changing; retry`,
      },
      { 'retry-after': '1' },
    );
  }
  return error;
}
