const OSLO_DATE = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Oslo' });

/** Today (YYYY-MM-DD) in Norway, where decisions are dated. The formatter is built once: it is costly. */
export const osloToday = (now = new Date()) => OSLO_DATE.format(now);

/**
 * Instants (RFC 3339 `date-time`, as the contract's `format: date-time` accepts them) are
 * compared as points in time, never as text: `2026-03-01T10:00:00+02:00` is before
 * `2026-03-01T09:00:00Z`, though it sorts after it as a string.
 */
export interface Instant {
  /** Whole seconds since 1970-01-01T00:00:00Z (a leap second counts as :59 with `leap`). */
  epochSeconds: number;
  /** The second was `60` (RFC 3339 §5.6 allows 23:59:60 UTC): after every fraction of :59. */
  leap: boolean;
  /** Fractional-second digits as sent, without trailing zeros ("" for none); any precision. */
  fraction: string;
}

// date "T"|"t"|" " time, seconds may be 60, fraction of any length, Z / z / ±HH[[:]MM].
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2})(?::?(\d{2}))?)$/;

/** Parses an RFC 3339 date-time with a zone; undefined when it is not one. */
export function parseInstant(text: string): Instant | undefined {
  const m = INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  const sign = m[8] === '-' ? -1 : 1;
  const offsetMinutes = m[8] ? sign * (Number(m[9]) * 60 + Number(m[10] ?? 0)) : 0;
  const ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59));
  if (Number.isNaN(ms) || new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined;
  return { epochSeconds: ms / 1000 - offsetMinutes * 60, leap: second === 60, fraction: (m[7] ?? '').replace(/0+$/, '') };
}

/**
 * `parseInstant` with a bounded memo: a projection compares each event's instant with the
 * document's stored latest one, the same text again and again. Parsing is pure, so the memo
 * changes no answer; it is emptied when full.
 */
const PARSED = new Map<string, Instant | null>();
function parsedInstant(text: string): Instant | undefined {
  let parsed = PARSED.get(text);
  if (parsed === undefined) {
    if (PARSED.size >= 4096) PARSED.clear();
    parsed = parseInstant(text) ?? null;
    PARSED.set(text, parsed);
  }
  return parsed ?? undefined;
}

/**
 * Orders two instants in time: negative when `a` is earlier, 0 when they are the same
 * instant (however written), positive when later. Text that is not an instant sorts before
 * every instant (so that a real instant always wins a "latest"), and among itself as text.
 */
export function compareInstants(a: string, b: string): number {
  if (a === b) return 0; // the same text is the same instant (or the same non-instant)
  const x = parsedInstant(a);
  const y = parsedInstant(b);
  if (!x || !y) return x ? 1 : y ? -1 : a < b ? -1 : a > b ? 1 : 0;
  if (x.epochSeconds !== y.epochSeconds) return x.epochSeconds - y.epochSeconds;
  if (x.leap !== y.leap) return x.leap ? 1 : -1;
  const width = Math.max(x.fraction.length, y.fraction.length);
  const fx = x.fraction.padEnd(width, '0');
  const fy = y.fraction.padEnd(width, '0');
  return fx < fy ? -1 : fx > fy ? 1 : 0;
}

/** The later of two instants, as written; `current` wins a tie, and an undefined `current` loses. */
export function laterInstant(current: string | undefined, candidate: string): string {
  return current === undefined || compareInstants(candidate, current) > 0 ? candidate : current;
}

/** The day (YYYY-MM-DD) in Norway of an instant: what "the day of occurredAt" means. Undefined for text that is not an instant. */
export function osloDateOf(instant: string): string | undefined {
  const parsed = parsedInstant(instant);
  if (!parsed) return undefined;
  // Since 1895 Norway's offset from UTC is a whole number of hours: every instant of one UTC
  // hour has the same Norwegian day, so Intl's formatting (microseconds a call) runs once per
  // hour seen. Earlier instants (local mean time) are formatted one by one.
  if (parsed.epochSeconds < 0) return OSLO_DATE.format(new Date(parsed.epochSeconds * 1000 + (parsed.leap ? 999 : 0)));
  const hour = Math.floor(parsed.epochSeconds / 3600);
  let day = OSLO_DAY_OF_HOUR.get(hour);
  if (day === undefined) {
    if (OSLO_DAY_OF_HOUR.size >= 4096) OSLO_DAY_OF_HOUR.clear();
    day = OSLO_DATE.format(new Date(hour * 3600 * 1000));
    OSLO_DAY_OF_HOUR.set(hour, day);
  }
  return day;
}
const OSLO_DAY_OF_HOUR = new Map<number, string>();
