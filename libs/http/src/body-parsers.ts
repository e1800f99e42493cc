import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RawServerDefault } from 'fastify';
import { ProblemError } from '#libs/contracts';

/**
 * Request bodies are text in UTF-8, decoded strictly: JSON is UTF-8 (RFC 8259 §8.1), and
 * so is a form body (WHATWG URL Standard, application/x-www-form-urlencoded parsing). A
 * `charset` other than UTF-8 is refused with 415, and bytes that are not UTF-8 with 400,
 * instead of being decoded into U+FFFD replacement characters the client never sent.
 */

/** The `charset` parameter of a Content-Type (lower case, unquoted), or undefined. */
export function charsetOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  for (const param of contentType.split(';').slice(1)) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    return param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
  }
  return undefined;
}

/** Whether a `charset` names UTF-8 (absent counts: UTF-8 is the only encoding of JSON). */
export const isUtf8Charset = (charset: string | undefined): boolean => charset === undefined || charset === 'utf-8' || charset === 'utf8';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text; undefined when the bytes are not UTF-8. A leading BOM is dropped (RFC 8259 §8.1 lets parsers ignore it). */
export function decodeUtf8(body: Buffer): string | undefined {
  try {
    return UTF8.decode(body);
  } catch {
    return undefined;
  }
}

/**
 * Parses an application/x-www-form-urlencoded body: repeated names become arrays (as in a
 * query string). Percent escapes must decode to UTF-8; undefined when they do not.
 */
export function parseFormBody(text: string): Record<string, string | string[]> | undefined {
  const out = new Map<string, string | string[]>();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      const decode = (s: string) => decodeURIComponent(s.replaceAll('+', ' '));
      name = decode(eq < 0 ? pair : pair.slice(0, eq));
      value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    } catch {
      return undefined; // a malformed escape, or escapes that are not UTF-8
    }
    const earlier = out.get(name);
    out.set(name, earlier === undefined ? value : Array.isArray(earlier) ? [...earlier, value] : [earlier, value]);
  }
  // Own data properties only (no prototype setter): `__proto__` stays an ordinary, unknown name.
  return Object.fromEntries(out);
}

const problem = (status: number, code: string, title: string, detail: string, rule: string) =>
  Object.assign(ProblemError.of(status, code, title, detail, [{ pointer: '', rule, detail }]), { statusCode: status });

function decodeRequestBody(request: { headers: { 'content-type'?: string } }, body: Buffer): string {
  if (!isUtf8Charset(charsetOf(request.headers['content-type']))) {
    throw problem(415, 'unsupported-media-type', 'Unsupported media type', 'the body must be UTF-8: send charset=utf-8 or no charset (RFC 8259 §8.1)', 'charset');
  }
  const text = decodeUtf8(body);
  if (text === undefined) throw problem(400, 'invalid-encoding', 'The body is not valid UTF-8', 'the body holds bytes that are not UTF-8', 'utf-8');
  return text;
}

/** Registers the strict JSON and form parsers on the app (before `init`), replacing Nest's defaults. */
export function installStrictBodyParsers(app: NestFastifyApplication, bodyLimit: number): void {
  const fastify = app.getHttpAdapter().getInstance();
  const json = fastify.getDefaultJsonParser('error', 'error');
  // FHIR JSON (R4 http.html#mime-type) is JSON: the same parser.
  for (const type of ['application/json', 'application/fhir+json', 'application/json+fhir']) {
    app.useBodyParser<RawServerDefault>(type, { bodyLimit }, (request, body, done) => {
      let text: string;
      try {
        text = decodeRequestBody(request, body);
      } catch (error) {
        done(error as Error, undefined);
        return;
      }
      json(request, text, done);
    });
  }
  app.useBodyParser<RawServerDefault>('application/x-www-form-urlencoded', { bodyLimit }, (request, body, done) => {
    try {
      const form = parseFormBody(decodeRequestBody(request, body));
      if (!form) throw problem(400, 'invalid-encoding', 'The body is not valid UTF-8', 'a percent escape of the form body is malformed or not UTF-8', 'utf-8');
      done(null, form);
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
