/**
 * What a text field may hold: text that PostgreSQL (`text` and `jsonb`, UTF-8) stores as
 * sent. One rule, used by the shared validation for every string of every schema, by the
 * tenant registry for tenant names, and to find the pointer of a database data error.
 *
 * - `no-control-characters`: C0 controls except TAB, LF and CR (U+0000–U+0008, U+000B,
 *   U+000C, U+000E–U+001F), DEL (U+007F) and C1 controls (U+0080–U+009F). PostgreSQL refuses
 *   U+0000 in `text` and in `jsonb` (SQLSTATE 22021 / 22P05); the others are never part of a
 *   name or a description and mostly come from text decoded with the wrong character set.
 * - `unpaired-surrogate`: a UTF-16 surrogate without its partner (e.g. `"\uD800"`). It is
 *   not a Unicode scalar value, so it has no UTF-8 form: `jsonb` refuses the escape
 *   (SQLSTATE 22P02) and Node's UTF-8 encoder would silently store U+FFFD in `text`.
 *
 * Sources: RFC 8259 §8.2 (unpaired surrogates), PostgreSQL 16 docs §8.14 ("jsonb will reject
 * \u0000"), Unicode 15 §23.1 (control codes).
 */
export type TextRule = 'no-control-characters' | 'unpaired-surrogate';

export interface TextViolation {
  rule: TextRule;
  /** Index (UTF-16 code unit) of the first offending character. */
  index: number;
  detail: string;
}

// eslint-disable-next-line no-control-regex -- control characters are what this rule is about
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const hex = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;

/** The first reason `text` cannot be stored as sent, or undefined when it can. */
export function textViolation(text: string): TextViolation | undefined {
  const control = CONTROL.exec(text);
  const surrogate = LONE_SURROGATE.exec(text);
  if (control && (!surrogate || control.index <= surrogate.index)) {
    return {
      rule: 'no-control-characters',
      index: control.index,
      detail: `must not contain control characters (${hex(text.charCodeAt(control.index))} at ${control.index}); TAB, LF and CR are allowed`,
    };
  }
  if (surrogate) {
    return { rule: 'unpaired-surrogate', index: surrogate.index, detail: `must be valid Unicode: an unpaired surrogate (${hex(text.charCodeAt(surrogate.index))}) at ${surrogate.index}` };
  }
  return undefined;
}

export const isStorableText = (text: string): boolean => textViolation(text) === undefined;

/**
 * Every string in a JSON value (property names included) that cannot be stored, with its
 * JSON pointer (RFC 6901): the safety net's way to name the field behind a database data
 * error, and a check for values no schema describes.
 */
export function unstorableTexts(value: unknown, pointer = ''): { pointer: string; violation: TextViolation }[] {
  const out: { pointer: string; violation: TextViolation }[] = [];
  const walk = (v: unknown, at: string, depth: number) => {
    if (depth > 64) return;
    if (typeof v === 'string') {
      const violation = textViolation(v);
      if (violation) out.push({ pointer: at, violation });
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${at}/${i}`, depth + 1));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        const here = `${at}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`;
        const violation = textViolation(k);
        if (violation) out.push({ pointer: here, violation });
        walk(item, here, depth + 1);
      }
    }
  };
  walk(value, pointer, 0);
  return out;
}

// eslint-disable-next-line no-control-regex -- as CONTROL above
const UNSTORABLE_GLOBAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `text` with every character `textViolation` objects to written as a visible `\uXXXX`
 * escape: for records the platform writes about a request (the patient audit log), which must be
 * stored whatever the request held, without inventing a U+FFFD.
 */
export function escapeUnstorable(text: string): string {
  return text.replace(UNSTORABLE_GLOBAL, (ch) => `\\u${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}
