import fc from 'fast-check';
import { episodeOfCareId, episodeOfCareIdMatches, isHashedEpisodeOfCareId, parseEpisodeOfCareId } from './episode-of-care-id.js';

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const UUID = '3f1c2b9e-8d7a-4c6b-9e5f-0a1b2c3d4e5f';

describe('episodeOfCareId', () => {
  it.each([
    ['gerica', 'v-2025-0001', 'gerica.0v-2025-0001'],
    ['gerica', 'V-2025/17', 'gerica.0.v-2025.417'],
    ['Profil', 'a.b_c:d/e', '.profil.0a.1b.2c.3d.4e'],
    ['cosdoc', UUID, `cosdoc.0${UUID}`],
  ])('encodes %s + %s readably as %s and parses it back', (sourceSystem, decisionId, id) => {
    expect(episodeOfCareId(sourceSystem, decisionId)).toBe(id);
    expect(id).toMatch(FHIR_ID);
    expect(parseEpisodeOfCareId(id)).toEqual({ sourceSystem, decisionId });
  });

  it('is stable and tells decisions apart that differ only in case', () => {
    expect(episodeOfCareId('gerica', 'Ab')).toBe(episodeOfCareId('gerica', 'Ab'));
    expect(episodeOfCareId('gerica', 'Ab')).not.toBe(episodeOfCareId('gerica', 'ab'));
    expect(episodeOfCareId('gerica', 'ab')).not.toBe(episodeOfCareId('gericaa', 'b'));
  });

  it('produces lower-case ids and parses case-insensitively (FHIR ids are case-insensitive)', () => {
    const id = episodeOfCareId('Gerica', 'VED-1');
    expect(id).toBe(id.toLowerCase());
    expect(parseEpisodeOfCareId(id.toUpperCase())).toEqual({ sourceSystem: 'Gerica', decisionId: 'VED-1' });
    expect(episodeOfCareIdMatches(id.toUpperCase(), { sourceSystem: 'Gerica', decisionId: 'VED-1' })).toBe(true);
  });

  it('hashes pairs whose encoding would exceed 64 characters: valid, stable, not reversible', () => {
    const decisionId = 'A'.repeat(40);
    const id = episodeOfCareId('gerica', decisionId);
    expect(id).toMatch(/^\.9[0-9a-f]{40}$/);
    expect(id).toMatch(FHIR_ID);
    expect(isHashedEpisodeOfCareId(id)).toBe(true);
    expect(episodeOfCareId('gerica', decisionId)).toBe(id);
    expect(episodeOfCareId('gerica', 'B'.repeat(40))).not.toBe(id);
    expect(parseEpisodeOfCareId(id)).toBeUndefined();
    expect(episodeOfCareIdMatches(id, { sourceSystem: 'gerica', decisionId })).toBe(true);
    expect(episodeOfCareIdMatches(id, { sourceSystem: 'gerica', decisionId: 'B'.repeat(40) })).toBe(false);
  });

  it('keeps the longest pair that fits readable (64 characters)', () => {
    const decisionId = 'a'.repeat(64 - 'gerica.0'.length);
    const id = episodeOfCareId('gerica', decisionId);
    expect(id).toHaveLength(64);
    expect(parseEpisodeOfCareId(id)).toEqual({ sourceSystem: 'gerica', decisionId });
    expect(isHashedEpisodeOfCareId(episodeOfCareId('gerica', `${decisionId}a`))).toBe(true);
  });

  it('hashes input outside the contract alphabet (and empty parts) instead of failing', () => {
    for (const [s, d] of [
      ['gerica', 'vedtak 1'],
      ['gerica', 'ø'],
      ['', 'x'],
      ['gerica', ''],
    ] as const) {
      const id = episodeOfCareId(s, d);
      expect(isHashedEpisodeOfCareId(id)).toBe(true);
      expect(episodeOfCareIdMatches(id, { sourceSystem: s, decisionId: d })).toBe(true);
    }
  });

  it.each([
    ['no separator', 'gerica-v1'],
    ['two separators', 'gerica.0a.0b'],
    ['an empty source system', '.0v1'],
    ['an empty decision id', 'gerica.0'],
    ['a dangling escape', 'gerica.0v1.'],
    ['an unknown escape', 'gerica.0v.5'],
    ['characters FHIR ids do not allow', 'gerica.0v_1'],
    ['more than 64 characters', `gerica.0${'a'.repeat(57)}`],
    ['the empty string', ''],
  ])('parseEpisodeOfCareId rejects %s', (_label, id) => {
    expect(parseEpisodeOfCareId(id)).toBeUndefined();
  });

  it('round-trips every contract-conforming pair (property)', () => {
    const chars = (alphabet: string) => fc.constantFrom(...alphabet.split(''));
    const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const sourceSystem = fc.tuple(chars(alnum), fc.array(chars(`${alnum}._-`), { maxLength: 49 })).map(([h, t]) => h + t.join(''));
    const decisionId = fc.tuple(chars(alnum), fc.array(chars(`${alnum}._:/-`), { maxLength: 99 })).map(([h, t]) => h + t.join(''));
    fc.assert(
      fc.property(sourceSystem, decisionId, (s, d) => {
        const id = episodeOfCareId(s, d);
        expect(id).toMatch(FHIR_ID);
        expect(episodeOfCareIdMatches(id, { sourceSystem: s, decisionId: d })).toBe(true);
        if (isHashedEpisodeOfCareId(id)) expect(parseEpisodeOfCareId(id)).toBeUndefined();
        else expect(parseEpisodeOfCareId(id)).toEqual({ sourceSystem: s, decisionId: d });
      }),
      { numRuns: 500 },
    );
  });
});
