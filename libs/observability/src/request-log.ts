/**
 * The HTTP request log (pino; installed by libs/service's `createServiceApp` with `installRequestLog`): what a request
 * line holds, and how every log line is masked. Operations' log, not the patient audit log
 * (tilgangslogg, libs/security's `PatientAuditLog`).
 *
 * No patient number reaches a log, in any spelling. Three layers:
 * 1. Request lines carry only an allow-list of headers (`REQUEST_LOG_HEADERS`): a header not on
 *    it is left out, whatever its name (credentials, `person-id`, and any header a client
 *    invents to carry a number).
 * 2. Every logged request field is masked on its decoded value: percent-encoding is undone
 *    before masking, so `%2013717404089` or `%31%33…` cannot slip past, and the query string
 *    is left out altogether (it may hold a FHIR patient search).
 * 3. Every log line, whatever wrote it (request lines, error stacks, Nest's own messages),
 *    passes `maskPersonIds` on its way out (`maskingDestination`).
 *
 * The mask replaces every run of 11 or more digits, also when the digits are separated by
 * spaces, dots, hyphens, underscores or plus signs (or their percent-encodings): a person
 * identifier is 11 digits, and a longer run may contain one. Shorter numbers (organisation
 * numbers, counts, ports) stay readable, and so does pino's `"time":<epoch ms>`.
 */
import { pino } from 'pino';
import { percentDecoded } from '#libs/domain';

/** One digit, as written or percent-encoded once or twice (`7`, `%37`, `%2537`). */
const DIGIT = String.raw`(?:[0-9]|%(?:25)?3[0-9])`;
/** A separator a number may be padded or grouped with: white space (also escaped in JSON), . - _ + and their encodings. */
const SEPARATOR = String.raw`(?:[\s.\-_+\u200b-\u200d\u2060\ufeff]|\\[nrt]|\\u00a0|%(?:25)?(?:20|09|0[aAdD]|2[bBdDeE]|5[fF]|[cC]2%(?:25)?[aA]0))`;
/** pino's own `"time":<epoch ms>` (13 digits) is the one long number a log line must keep. */
const PERSON_ID_LIKE = new RegExp(String.raw`(?<![0-9]|"time":)${DIGIT}(?:${SEPARATOR}{0,3}${DIGIT}){10,}(?![0-9])`, 'g');

export const PERSON_ID_MASK = '***********';

/** Masks every digit run that may hold a person identifier (see the module comment). */
export const maskPersonIds = (text: string): string => text.replace(PERSON_ID_LIKE, PERSON_ID_MASK);

/** Masks the decoded value, and the raw value too (a string that does not decode is masked as written). */
export const maskDecoded = (text: string): string => maskPersonIds(percentDecoded(maskPersonIds(text)));

/**
 * The request headers a log line may show: none of them carries a credential or a person
 * by design, and each value is masked all the same. Everything else is left out.
 */
export const REQUEST_LOG_HEADERS: readonly string[] = Object.freeze(['host', 'user-agent', 'accept', 'content-type', 'content-length', 'x-request-id', 'traceparent']);

/** The request as logged: method, masked path without query string, allow-listed and masked headers. */
export function serializeRequest(req: { id?: unknown; method?: string; url?: string; headers?: Record<string, unknown>; remoteAddress?: string }) {
  const path = (req.url ?? '').split('?')[0]!;
  const headers: Record<string, string> = {};
  for (const name of REQUEST_LOG_HEADERS) {
    const value = req.headers?.[name];
    if (typeof value === 'string') headers[name] = maskDecoded(value);
    else if (Array.isArray(value)) headers[name] = maskDecoded(value.join(', '));
  }
  return { id: req.id, method: req.method, url: maskDecoded(path), headers, remoteAddress: req.remoteAddress };
}

/** The response as logged: its status only (headers may echo a request, e.g. Location). */
export function serializeResponse(res: { statusCode?: number }) {
  return { statusCode: res.statusCode };
}

/** A pino destination that masks person identifiers in every line before writing it to `out` (stdout by default). */
export function maskingDestination(out: { write(chunk: string): unknown } = process.stdout): { write(line: string): void } {
  return { write: (line: string) => void out.write(maskPersonIds(line)) };
}

/** Paths whose requests are not logged: probes and scrapes, called every few seconds. */
const UNLOGGED_PATHS = new Set(['/health/live', '/metrics']);

/**
 * The process's logger (pino, JSON lines, level `level`), every line masked on its way out
 * (`maskingDestination`). One per process: the request log and Nest's own messages share it.
 */
export function processLogger(level: string, out: { write(chunk: string): unknown } = process.stdout): pino.Logger {
  return pino({ level }, maskingDestination(out));
}

/** A Fastify request as the request log reads it. */
interface LoggedRequest {
  id?: unknown;
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  ip?: string;
}

/**
 * The request log: one line per answered request, written by a Fastify `onResponse` hook,
 * with the request (`serializeRequest`: masked path, allow-listed masked headers), the status
 * and the time taken in ms. No middleware and no AsyncLocalStorage: a hook that returns at
 * once when the level is above `info` (as in the benches), and a line built only when it is
 * written. 5xx answers are logged at `error`, the rest at `info`.
 */
export function installRequestLog(
  fastify: { addHook(name: 'onResponse', hook: (request: LoggedRequest, reply: { statusCode: number; elapsedTime: number }, done: () => void) => void): unknown },
  logger: pino.Logger,
): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    if (logger.isLevelEnabled(level) && !UNLOGGED_PATHS.has(request.url ?? '')) {
      logger[level](
        // Fastify's request fields are getters: named one by one, not spread.
        {
          req: serializeRequest({ id: request.id, method: request.method, url: request.url, headers: request.headers, remoteAddress: request.ip }),
          res: serializeResponse(reply),
          responseTime: Math.round(reply.elapsedTime * 100) / 100,
        },
        reply.statusCode >= 500 ? 'request errored' : 'request completed',
      );
    }
    done();
  });
}

/** Nest's logger interface on the process logger: Nest's own messages are masked lines too. */
export class NestPinoLogger {
  constructor(private readonly logger: pino.Logger) {}
  private write(level: pino.Level, message: unknown, params: unknown[]): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const context = params.length > 0 && typeof params[params.length - 1] === 'string' ? (params[params.length - 1] as string) : undefined;
    const err = message instanceof Error ? message : undefined;
    const stack = level === 'error' && typeof params[0] === 'string' && params.length > 1 ? params[0] : undefined;
    this.logger[level]({ ...(context ? { context } : {}), ...(err ? { err } : {}), ...(stack ? { stack } : {}) }, err ? err.message : typeof message === 'string' ? message : JSON.stringify(message));
  }
  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }
}
