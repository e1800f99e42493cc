import { Type } from '@sinclair/typebox';
import { escapeUnstorable, textViolation, unstorableTexts } from './storable-text.js';
import { compileValidator } from './validation.js';
import { DecisionEventSchema } from './decision-events/v1.js';

describe('storable text: what PostgreSQL stores as sent', () => {
  it('takes ordinary text, TAB, LF, CR, non-Latin scripts, emoji and a U+FFFD the client sent', () => {
    for (const t of ['Sone sør', 'a\tb\nc\r\n', 'Ǆ ǅ ǆ', 'ᚠᛇᚻ', '😀 surrogate pair', '\uFFFD', '']) expect(textViolation(t)).toBeUndefined();
  });

  it('refuses NUL and the other control characters (no-control-characters)', () => {
    for (const t of ['a\u0000b', '\u0001', 'x\u001F', 'DEL\u007F', 'C1\u0085', '\u009F']) expect(textViolation(t)?.rule).toBe('no-control-characters');
    expect(textViolation('ab\u0000')).toMatchObject({ index: 2, detail: expect.stringContaining('U+0000') });
  });

  it('refuses unpaired surrogates (unpaired-surrogate), high or low, anywhere', () => {
    for (const t of ['\uD800', 'a\uDBFFb', '\uDC00', 'x\uDFFF', '😀\uD83D', '\uDE00😀']) expect(textViolation(t)?.rule).toBe('unpaired-surrogate');
  });

  it('names every unstorable string of a JSON value by pointer, property names included', () => {
    expect(unstorableTexts({ a: 'ok', b: ['x', 'y\u0000'], 'c/\uD800': 1, d: { e: '\uDC00' } })).toEqual([
      { pointer: '/b/1', violation: expect.objectContaining({ rule: 'no-control-characters' }) },
      { pointer: '/c~1\uD800', violation: expect.objectContaining({ rule: 'unpaired-surrogate' }) },
      { pointer: '/d/e', violation: expect.objectContaining({ rule: 'unpaired-surrogate' }) },
    ]);
  });

  it('escapes what cannot be stored, for records the platform must write anyway', () => {
    expect(escapeUnstorable('a\u0000b\uD800c😀')).toBe('a\\u0000b\\uD800c😀');
  });
});

describe('compileValidator: every string of every schema is storable text', () => {
  const validate = compileValidator(Type.Object({ name: Type.String({ maxLength: 10 }), tags: Type.Array(Type.String()), code: Type.Optional(Type.String({ pattern: '^[a-z\\u0000]+$' })) }));

  it('reports the pointer and the rule, even where the schema itself would allow the character', () => {
    const result = validate({ name: 'a\u0000b', tags: ['ok', '\uD800'], code: 'a\u0000' });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors).toEqual([
      { pointer: '/name', rule: 'no-control-characters', detail: expect.any(String) },
      { pointer: '/tags/1', rule: 'unpaired-surrogate', detail: expect.any(String) },
      { pointer: '/code', rule: 'no-control-characters', detail: expect.any(String) },
    ]);
  });

  it('covers the free text of the decision events, in the variant the discriminator picks', () => {
    const result = compileValidator(DecisionEventSchema)({
      type: 'ServiceEnded',
      eventId: '6f1c1c56-5d7e-4a55-9d1e-3f0a0c7d2b01',
      decisionId: 'V-1',
      occurredAt: '2026-03-01T08:00:00Z',
      patient: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' },
      endDate: '2026-03-02',
      reason: 'Flyttet\u0000',
    });
    expect(!result.ok && result.errors).toEqual([{ pointer: '/reason', rule: 'no-control-characters', detail: expect.any(String) }]);
  });

  it('leaves the published schema unchanged', () => {
    expect(JSON.stringify(validate.schema)).not.toContain('storableText');
  });
});
