import { ProblemError } from '#libs/contracts';
import { DecisionRuleError } from '#libs/domain';
import { IdempotencyConflictError } from '#libs/event-store';
import { receiveProblem } from './receive-problems.js';
import { ConcurrencyRetriesExhaustedError } from './write/command-handler.js';

const answer = (error: unknown, context?: { decisionId?: string }) => {
  const mapped = receiveProblem(error, context);
  expect(mapped).toBeInstanceOf(ProblemError);
  return (mapped as ProblemError).toProblem();
};
const rule = (status: 403 | 409 | 422, name: string) => new DecisionRuleError({ status, rule: name, pointer: '/type', detail: 'because' });

describe("receiveProblem: the receive library's errors as problems", () => {
  it.each([
    [403, 'decision-owned-by-other-source', 'urn:fpi:problem:decision-owned-by-other-source'],
    [409, 'decision-ended', 'urn:fpi:problem:lifecycle-conflict'],
    [422, 'period-order', 'urn:fpi:problem:rule-violation'],
  ] as const)('a decider refusal with %i names its rule and pointer', (status, name, type) => {
    expect(answer(rule(status, name)).problem).toMatchObject({ status, type, detail: 'because', errors: [{ pointer: '/type', rule: name, detail: 'because' }] });
  });

  it('a reused event id is a 409 at /eventId', () => {
    expect(answer(new IdempotencyConflictError(['x'])).problem).toMatchObject({ status: 409, type: 'urn:fpi:problem:idempotency-conflict', errors: [{ pointer: '/eventId', rule: 'idempotency' }] });
  });

  it('a decision that kept changing is a 409 the client may retry after a second', () => {
    const { problem, headers } = answer(new ConcurrencyRetriesExhaustedError('Decision/epj-a/V-1', 5), { decisionId: 'V-1' });
    expect(problem).toMatchObject({ status: 409, type: 'urn:fpi:problem:concurrency-conflict', detail: 'decision V-1 kept changing; retry' });
    expect(headers).toEqual({ 'retry-after': '1' });
  });

  it('passes other errors through for the HTTP layer', () => {
    const outage = Object.assign(new Error('Connection terminated'), { code: '57P01' });
    expect(receiveProblem(outage)).toBe(outage);
  });
});
