import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FHIR_JSON, isFhirPath, OperationOutcomeError, problemToOperationOutcome } from '#libs/fhir';
import { isProblemSource, PROBLEM_CONTENT_TYPE, ProblemError, problemType, unstorableTexts, type FieldError, type Problem } from '#libs/contracts';

const logger = new Logger('Problem');

/** Connection-level failures: the database is down or unreachable, the client may retry. */
const UNAVAILABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|connect ENOENT|Connection terminated|the database system is (starting up|shutting down|in recovery mode)|timeout exceeded when trying to connect|terminating connection|not currently accepting connections|too many clients/;
/** SQLSTATEs of the same: connection exceptions (08…), admin shutdown (57P0…), too many connections, cannot connect now. */
const UNAVAILABLE_CODES = /^(08|57P0|53300|57P03)/;
/** Socket errors of the same (Node's `code`). */
const UNAVAILABLE_SOCKET = /^E(CONNREFUSED|CONNRESET|TIMEDOUT|PIPE)$/;

/**
 * Whether an error means the database cannot be reached now (a 503 the client may retry),
 * over TCP or over a Unix-domain socket: a stopped local server removes its socket file, so
 * a connect there fails with ENOENT, not ECONNREFUSED.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { message?: unknown; code?: unknown; syscall?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (UNAVAILABLE_SOCKET.test(code) || UNAVAILABLE_CODES.test(code)) return true;
  if (code === 'ENOENT' && e?.syscall === 'connect') return true;
  return typeof e?.message === 'string' && UNAVAILABLE.test(e.message);
}

/**
 * A PostgreSQL data exception (SQLSTATE class 22: invalid text, untranslatable character,
 * value out of range, bad datetime, …): the data sent cannot be stored. Source: PostgreSQL
 * docs, Appendix A "PostgreSQL Error Codes".
 */
export function isDataException(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
}

/**
 * The 400 problem of a data exception. The database does not say which value it refused:
 * every string of `body` that cannot be stored is named by its pointer and rule; when none
 * is found, the body as a whole (`""`, rule `storable-data`).
 */
function dataExceptionProblem(code: string, body: unknown): Problem {
  const found = body === undefined ? [] : unstorableTexts(body);
  const errors: FieldError[] =
    found.length > 0
      ? found.map((f) => ({ pointer: f.pointer, rule: f.violation.rule, detail: f.violation.detail }))
      : [{ pointer: '', rule: 'storable-data', detail: `a value cannot be stored (SQLSTATE ${code})` }];
  return { type: problemType('unstorable-data'), title: 'The data cannot be stored', status: 400, detail: `the database refused a value of the request (SQLSTATE ${code})`, errors };
}

/**
 * Maps any error to an RFC 9457 problem: an error that knows its problem (`ProblemSource`,
 * which each library implements for its own errors) gives it; database refusals and
 * outages, and Nest's and Fastify's HTTP errors, are mapped here; unknown errors become a
 * 500 without internals.
 * `context.body` (the request body, or a batch item) lets a database data exception name
 * the field it came from.
 */
export function toProblem(error: unknown, context: { body?: unknown } = {}): { problem: Problem; headers: Record<string, string> } {
  // Each library's errors know their problem (ProblemError, the store's errors, …).
  if (isProblemSource(error)) return error.toProblem();
  if (isDataException(error)) {
    const code = (error as { code: string }).code;
    // The code only: PostgreSQL's message may quote the refused value (personal data).
    logger.warn(`data exception (SQLSTATE ${code}) answered with 400`);
    return { problem: dataExceptionProblem(code, context.body), headers: {} };
  }
  // Nest hands Fastify's own failures (body limit, content type, JSON syntax) over as HTTP errors.
  const e = error as { statusCode?: number; status?: number; code?: string; message?: string };
  const status = error instanceof HttpException ? error.getStatus() : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 500) {
    const message = e?.message ?? 'Bad request';
    const known: Record<number, Problem> = {
      404: { type: problemType('not-found'), title: 'Not found', status, detail: message },
      405: { type: problemType('method-not-allowed'), title: 'Method not allowed', status, detail: message },
      413: { type: problemType('body-too-large'), title: 'Request body too large', status, detail: 'the body may be at most 1 MB' },
      415: { type: problemType('unsupported-media-type'), title: 'Unsupported media type', status, detail: 'send application/json' },
      429: { type: problemType('rate-limited'), title: 'Too many requests', status, detail: 'this client sent too many requests; see Retry-After' },
    };
    if (known[status]) return { problem: known[status], headers: {} };
    if (status === 400 && /JSON|body/i.test(message)) {
      return { problem: { type: problemType('invalid-json'), title: 'Malformed JSON', status, detail: message, errors: [{ pointer: '', rule: 'json', detail: message }] }, headers: {} };
    }
    return { problem: { type: 'about:blank', title: message, status }, headers: {} };
  }
  if (error instanceof HttpException && error.getStatus() === 503) {
    return { problem: { type: problemType('unavailable'), title: 'Service unavailable', status: 503 }, headers: { 'retry-after': '2' } };
  }
  if (isDatabaseUnavailable(error)) {
    return {
      problem: { type: problemType('unavailable'), title: 'Service unavailable', status: 503, detail: 'the event store cannot be reached; retry later' },
      headers: { 'retry-after': '2' },
    };
  }
  logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return { problem: { type: problemType('internal'), title: 'Internal error', status: 500 }, headers: {} };
}

export function sendProblem(reply: FastifyReply, error: unknown, context: { body?: unknown } = {}): FastifyReply {
  const { problem, headers } = toProblem(error, context);
  return reply
    .status(problem.status)
    .headers({ ...headers, 'content-type': PROBLEM_CONTENT_TYPE })
    .send(problem);
}

/**
 * Renders an error as problem+json, or for the FHIR API as an OperationOutcome (Fastify's own
 * errors, such as the rate limit or a malformed URL, included).
 */
export function renderError(request: Pick<FastifyRequest, 'url' | 'body'>, reply: FastifyReply, exception: unknown): void {
  if (!isFhirPath(request.url)) {
    sendProblem(reply, exception, { body: request.body });
    return;
  }
  if (exception instanceof OperationOutcomeError) {
    reply.status(exception.status).header('content-type', FHIR_JSON).send(exception.outcome);
    return;
  }
  const { problem, headers } = toProblem(exception, { body: request.body });
  reply
    .status(problem.status)
    .headers({ ...headers, 'content-type': FHIR_JSON })
    .send(problemToOperationOutcome(problem));
}

/**
 * Fastify's router errors, which never reach Nest (`frameworkErrors`): a URL whose percent
 * escapes are malformed or not UTF-8 (FST_ERR_BAD_URL) is a 400 problem like any other bad
 * input. The framework's message is not repeated: it quotes the URL, which may hold a
 * person identifier.
 */
export function frameworkErrorHandler(error: { code?: string; statusCode?: number }, request: FastifyRequest, reply: FastifyReply): void {
  const bad = error.code === 'FST_ERR_BAD_URL' || error.statusCode === 400;
  renderError(
    { url: request.raw.url ?? request.url, body: undefined },
    reply,
    bad
      ? ProblemError.of(400, 'invalid-url', 'The URL is not valid', 'a percent escape of the URL is malformed or not UTF-8', [
          { pointer: '', rule: 'url-encoding', detail: 'percent escapes must encode UTF-8 (RFC 3986 §2.5)' },
        ])
      : error,
  );
}

/** Renders every error that reaches Nest (see `renderError`). */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    renderError(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), exception);
  }
}
