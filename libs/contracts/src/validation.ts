import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { TSchema, Static } from '@sinclair/typebox';
import type { FieldError } from './problem.js';
import { textViolation } from './storable-text.js';

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
type FormatsPlugin = typeof addFormatsImport.default;
const addFormats: FormatsPlugin = (addFormatsImport as unknown as { default?: FormatsPlugin }).default ?? (addFormatsImport as unknown as FormatsPlugin);

const ajv = new Ajv({ allErrors: true, discriminator: true, strict: false, coerceTypes: false, useDefaults: false });
addFormats(ajv, ['date', 'date-time', 'uuid', 'email', 'uri']);

/**
 * `storableText`: the string holds only text PostgreSQL stores as sent (see storable-text.ts).
 * Not written in the contracts: `compileValidator` adds it to every string schema, so no
 * free-text field can be forgotten.
 */
const STORABLE_TEXT = 'storableText';
ajv.addKeyword({
  keyword: STORABLE_TEXT,
  type: 'string',
  schemaType: 'boolean',
  errors: true,
  validate: function storableText(enabled: boolean, data: string): boolean {
    if (!enabled) return true;
    const violation = textViolation(data);
    if (!violation) return true;
    (storableText as unknown as { errors: Partial<ErrorObject>[] }).errors = [{ keyword: STORABLE_TEXT, message: violation.detail, params: { rule: violation.rule } }];
    return false;
  },
});

/** A copy of the schema with `storableText` on every schema that admits strings. */
function withStorableText(schema: TSchema): TSchema {
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = k === 'examples' || k === 'default' || k === 'const' || k === 'enum' ? v : visit(v);
    const type = out.type;
    if (type === 'string' || (Array.isArray(type) && type.includes('string'))) out[STORABLE_TEXT] = true;
    return out;
  };
  return visit(schema) as TSchema;
}

export type Validator<T> = ((value: unknown) => { ok: true; value: T } | { ok: false; errors: FieldError[] }) & { schema: TSchema };

/**
 * Compiles a schema once; the validator reports every violation as a pointer and a rule.
 * Every string must also be storable text (rules `no-control-characters`,
 * `unpaired-surrogate`; see storable-text.ts), whatever the schema says.
 */
export function compileValidator<S extends TSchema>(schema: S): Validator<Static<S>> {
  const validate: ValidateFunction = ajv.compile(withStorableText(schema));
  const fn = ((value: unknown) => (validate(value) ? { ok: true as const, value: value as Static<S> } : { ok: false as const, errors: toFieldErrors(validate.errors ?? []) })) as Validator<Static<S>>;
  fn.schema = schema;
  return fn;
}

function toFieldErrors(errors: ErrorObject[]): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let pointer = e.instancePath;
    let detail = e.message ?? 'is invalid';
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
        pointer += '/' + escape(String(params.missingProperty));
        detail = 'is required';
        break;
      case 'additionalProperties':
        pointer += '/' + escape(String(params.additionalProperty));
        detail = 'is not a field of this model';
        break;
      case 'enum':
        detail = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'discriminator':
        pointer += '/' + escape(String(params.tag));
        detail = params.error === 'mapping' ? 'is not a known event type' : 'must be a string naming the event type';
        break;
      case STORABLE_TEXT:
        detail = e.message ?? 'cannot be stored';
        break;
      case 'format':
        detail = `must be a valid ${String(params.format)}` + (params.format === 'date' ? ' (YYYY-MM-DD, a real calendar date)' : '');
        break;
    }
    const key = `${pointer}|${e.keyword}`;
    if (seen.has(key)) continue;
    // A missing discriminator is already reported as `required`.
    if (e.keyword === 'discriminator' && out.some((x) => x.pointer === pointer)) continue;
    seen.add(key);
    const rule = e.keyword === 'discriminator' ? 'enum' : e.keyword === STORABLE_TEXT ? String(params.rule) : e.keyword;
    out.push({ pointer, rule, detail });
  }
  return out;
}

const escape = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');
