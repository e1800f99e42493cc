import fc from 'fast-check';
import { compareInstants, laterInstant, osloDateOf, parseInstant } from './dates.js';

describe('instants are compared as instants, not as text', () => {
  it('orders instants written with different offsets by the time they name', () => {
    // 10:00+02:00 is 08:00Z: an hour before 09:00Z, though it sorts after it as text.
    expect(compareInstants('2026-03-01T10:00:00+02:00', '2026-03-01T09:00:00Z')).toBeLessThan(0);
    expect(compareInstants('2026-03-01T09:00:00Z', '2026-03-01T10:00:00+02:00')).toBeGreaterThan(0);
    expect(compareInstants('2026-03-01T00:30:00+01:00', '2026-02-28T23:45:00Z')).toBeLessThan(0);
  });

  it('treats the same instant written differently as equal', () => {
    expect(compareInstants('2026-03-01T08:00:00Z', '2026-03-01T10:00:00+02:00')).toBe(0);
    expect(compareInstants('2026-03-01T08:00:00.000Z', '2026-03-01t08:00:00z')).toBe(0);
    expect(compareInstants('2026-03-01T08:00:00+0000', '2026-03-01 08:00:00-00:00')).toBe(0);
    expect(compareInstants('2026-03-01T09:00:00+01', '2026-03-01T08:00:00Z')).toBe(0);
  });

  it('compares fractions of any precision digit by digit', () => {
    expect(compareInstants('2026-03-01T08:00:00.1Z', '2026-03-01T08:00:00.09999Z')).toBeGreaterThan(0);
    expect(compareInstants('2026-03-01T08:00:00.0000001Z', '2026-03-01T08:00:00Z')).toBeGreaterThan(0);
    expect(compareInstants('2026-03-01T08:00:00.5Z', '2026-03-01T08:00:00.500000Z')).toBe(0);
  });

  it('places a leap second after every fraction of the 59th second and before the next minute', () => {
    expect(compareInstants('2016-12-31T23:59:60Z', '2016-12-31T23:59:59.999999Z')).toBeGreaterThan(0);
    expect(compareInstants('2016-12-31T23:59:60Z', '2017-01-01T00:00:00Z')).toBeLessThan(0);
  });

  it('lets a real instant win over text that is not one', () => {
    expect(parseInstant('not a time')).toBeUndefined();
    expect(parseInstant('2026-02-30T08:00:00Z')).toBeUndefined();
    expect(compareInstants('garbage', '2026-03-01T08:00:00Z')).toBeLessThan(0);
    expect(laterInstant('garbage', '2000-01-01T00:00:00Z')).toBe('2000-01-01T00:00:00Z');
  });

  it('keeps the later instant as written, and the current one on a tie', () => {
    expect(laterInstant('2026-03-01T10:00:00+02:00', '2026-03-01T09:00:00Z')).toBe('2026-03-01T09:00:00Z');
    expect(laterInstant('2026-03-01T09:00:00Z', '2026-03-01T10:00:00+02:00')).toBe('2026-03-01T09:00:00Z');
    expect(laterInstant('2026-03-01T08:00:00Z', '2026-03-01T10:00:00+02:00')).toBe('2026-03-01T08:00:00Z');
    expect(laterInstant(undefined, '2026-03-01T08:00:00Z')).toBe('2026-03-01T08:00:00Z');
  });

  it('gives the same answers past its parse memo (over 4096 distinct texts, repeated)', () => {
    const base = '2026-03-01T08:00:00Z';
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < 5000; i++) {
        const later = new Date(Date.parse(base) + (i + 1) * 1000).toISOString().replace('.000Z', '+00:00');
        expect(compareInstants(later, base)).toBeGreaterThan(0);
        expect(compareInstants(base, later)).toBeLessThan(0);
      }
    expect(compareInstants('garbage', 'garbage')).toBe(0);
  });

  it('dates an instant by its day in Norway, whatever offset it was written with', () => {
    expect(osloDateOf('2026-03-01T23:30:00Z')).toBe('2026-03-02'); // 00:30 in Oslo (CET)
    expect(osloDateOf('2026-07-01T22:30:00Z')).toBe('2026-07-02'); // 00:30 in Oslo (CEST)
    expect(osloDateOf('2026-03-02T00:30:00+01:00')).toBe('2026-03-02');
    expect(osloDateOf('2026-03-01T20:00:00-05:00')).toBe('2026-03-02');
    expect(osloDateOf('nope')).toBeUndefined();
  });

  it('gives the day Intl gives for Europe/Oslo for any instant, at any offset, across DST changes and far dates (the per-hour cache changes nothing)', () => {
    const oslo = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Oslo' });
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1800, 0, 1) / 1000, max: Date.UTC(2200, 0, 1) / 1000 }), fc.integer({ min: -14 * 4, max: 14 * 4 }), (seconds, quarters) => {
        const offset = quarters * 15;
        const local = new Date((seconds + offset * 60) * 1000).toISOString().slice(0, 19);
        const sign = offset < 0 ? '-' : '+';
        const abs = Math.abs(offset);
        const text = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        expect(osloDateOf(text)).toBe(oslo.format(new Date(seconds * 1000)));
      }),
      { numRuns: 3000 },
    );
  });
});
