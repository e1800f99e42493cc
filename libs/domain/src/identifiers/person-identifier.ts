/**
 * Norwegian person identifiers: fødselsnummer (FNR), D-nummer (DNR) and felles
 * hjelpenummer (FHN). Pure functions, no framework imports.
 *
 * Sources (HL7 Norway no-basis NamingSystems, github.com/HL7Norway/basisprofiler-r4, and):
 * - Layout `DDMMYY III K1 K2`; K1 weights 3,7,6,1,8,9,4,5,2 over digits 1–9 and K2
 *   weights 5,4,3,2,7,6,5,4,3,2 over digits 1–10 (ehelse "Identifikatorer for personer",
 *   Skatteetaten's reference code, navikt/fnrvalidator).
 * - From 1 January 2032 Folkeregisteret issues numbers whose K1 remainder may be 0, 1, 2
 *   or 3; systems must accept both rules in parallel. K2 is unchanged (remainder 0).
 * - D-nummer: first digit + 4 (day 41–71).
 * - Synthetic numbers: month + 65 (NHN SyntPop reserved persons, 66–77) and month + 80
 *   (Skatteetaten Test-Norge / Tenor, 81–92). Month + 40 (41–52) is used both by NAV
 *   Dolly (synthetic) and by health-sector H-numbers; it cannot be told apart from the
 *   number alone, so we classify it as synthetic (it is never a real FNR either way).
 * - FHN: 11 digits, first digit 8 or 9, the rest random, two mod-11 check digits.
 *
 * Validation messages never echo the identifier itself (it is personal data).
 */

/** FHIR `identifier.system` values (HL7 Norway no-basis NamingSystems). */
export const PERSON_ID_SYSTEMS = {
  fnr: 'urn:oid:2.16.578.1.12.4.1.4.1',
  dnr: 'urn:oid:2.16.578.1.12.4.1.4.2',
  fhn: 'urn:oid:2.16.578.1.12.4.1.4.3',
} as const;

export type PersonIdKind = keyof typeof PERSON_ID_SYSTEMS;
export type PersonIdSystem = (typeof PERSON_ID_SYSTEMS)[PersonIdKind];

/** Which check-digit rule a number satisfied. 'legacy' numbers are also valid under 2032. */
export type CheckDigitRule = 'legacy' | '2032';

/** Month offsets: 0 = ordinary, 40 = H-number / NAV Dolly, 65 = SyntPop, 80 = Test-Norge. */
export type MonthOffset = 0 | 40 | 65 | 80;

export type PersonIdRule =
  | 'unknown-system'
  | 'format'
  | 'check-digits'
  | 'date'
  /** An FNR system was given a D-number (day 41–71): use the DNR system. */
  | 'dnr-expected'
  /** A DNR system was given an ordinary fødselsnummer (day 01–31): use the FNR system. */
  | 'fnr-expected'
  /** An FNR or DNR system was given a felles hjelpenummer (first digit 8 or 9): use the FHN system. */
  | 'fhn-expected'
  | 'fhn-first-digit';

export type PersonIdValidation = { ok: true; kind: PersonIdKind; synthetic: boolean; checkRule: CheckDigitRule } | { ok: false; rule: PersonIdRule; message: string };

export type CheckDigitsResult = { ok: true; checkRule: CheckDigitRule } | { ok: false; reason: 'format' | 'k1' | 'k2' };

export interface PersonIdDatePart {
  /** Calendar day 1–31 (D-number offset removed). */
  day: number;
  /** Calendar month 1–12 (synthetic offset removed). */
  month: number;
  /** Two-digit year 0–99; the century is not derivable in general. */
  year2: number;
  dNumber: boolean;
  monthOffset: MonthOffset;
}

const K1_WEIGHTS = [3, 7, 6, 1, 8, 9, 4, 5, 2] as const;
const K2_WEIGHTS = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2] as const;
/** K1 remainders accepted by the 2032 rule (the legacy rule accepts only 0). */
const K1_REMAINDERS_2032 = [0, 1, 2, 3] as const;
const ELEVEN_DIGITS = /^\d{11}$/;

const KIND_BY_SYSTEM: ReadonlyMap<string, PersonIdKind> = new Map((Object.entries(PERSON_ID_SYSTEMS) as [PersonIdKind, PersonIdSystem][]).map(([kind, system]) => [system, kind]));

/** The identifier kind for a FHIR system URI, or undefined for other systems. */
export function personIdKindForSystem(system: string): PersonIdKind | undefined {
  return KIND_BY_SYSTEM.get(system);
}

function digitsOf(value: string): number[] {
  return Array.from(value, (c) => c.charCodeAt(0) - 48);
}

function weightedSum(digits: readonly number[], weights: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += weights[i]! * digits[i]!;
  return sum;
}

/**
 * Checks the two mod-11 check digits of an 11-digit FNR/DNR (offsets included, as written).
 * K1 passes under the legacy rule when (Σw1·d1..9 + K1) mod 11 is 0 and under the 2032 rule
 * when it is 0–3; K2 always needs (Σw2·d1..10 + K2) mod 11 == 0.
 */
export function checkFodselsnummerDigits(value: string): CheckDigitsResult {
  if (!ELEVEN_DIGITS.test(value)) return { ok: false, reason: 'format' };
  const d = digitsOf(value);
  const k1Remainder = (weightedSum(d, K1_WEIGHTS) + d[9]!) % 11;
  if (!(K1_REMAINDERS_2032 as readonly number[]).includes(k1Remainder)) return { ok: false, reason: 'k1' };
  if ((weightedSum(d, K2_WEIGHTS) + d[10]!) % 11 !== 0) return { ok: false, reason: 'k2' };
  return { ok: true, checkRule: k1Remainder === 0 ? 'legacy' : '2032' };
}

/**
 * The check digits K1K2 for the first nine digits, or undefined when none exist
 * (a check digit would be 10). With rule 'legacy' K1 gives remainder 0. With rule '2032'
 * the result is valid *only* under the 2032 rule: the first K1 remainder of 1, 2, 3 that
 * gives digit check digits is used, so such numbers exercise the new rule.
 */
export function fodselsnummerCheckDigits(first9: string, rule: CheckDigitRule = 'legacy'): string | undefined {
  if (!/^\d{9}$/.test(first9)) throw new RangeError('Expected exactly nine digits');
  const d = digitsOf(first9);
  const s1 = weightedSum(d, K1_WEIGHTS);
  const remainders = rule === 'legacy' ? [0] : [1, 2, 3];
  for (const r of remainders) {
    const k1 = (((r - s1) % 11) + 11) % 11;
    if (k1 === 10) continue;
    const k2 = (11 - (weightedSum([...d, k1], K2_WEIGHTS) % 11)) % 11;
    if (k2 === 10) continue;
    return `${k1}${k2}`;
  }
  return undefined;
}

function daysInMonth(month: number, year2: number): number {
  // The century is unknown (and not derivable from 2032-style numbers), so 29 February is
  // accepted whenever the two-digit year is a leap year in some century: every year
  // divisible by 4, including '00' (2000).
  if (month === 2) return year2 % 4 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function monthOffsetOf(rawMonth: number): MonthOffset | undefined {
  if (rawMonth >= 1 && rawMonth <= 12) return 0;
  if (rawMonth >= 41 && rawMonth <= 52) return 40;
  if (rawMonth >= 66 && rawMonth <= 77) return 65;
  if (rawMonth >= 81 && rawMonth <= 92) return 80;
  return undefined;
}

type DatePartResult = { ok: true; part: PersonIdDatePart } | { ok: false; message: string };

function readDatePart(value: string): DatePartResult {
  if (!ELEVEN_DIGITS.test(value)) return { ok: false, message: 'Expected exactly 11 digits.' };
  const rawDay = Number(value.slice(0, 2));
  const rawMonth = Number(value.slice(2, 4));
  const year2 = Number(value.slice(4, 6));
  const firstDigit = Number(value[0]);
  if (firstDigit >= 8) {
    return { ok: false, message: 'The first digit is 8 or 9, which is not a birth day; this looks like a felles hjelpenummer (FHN).' };
  }
  const dNumber = firstDigit >= 4;
  const day = dNumber ? rawDay - 40 : rawDay;
  const monthOffset = monthOffsetOf(rawMonth);
  if (monthOffset === undefined) {
    return { ok: false, message: 'The month digits are not 01–12, nor 41–52 (+40), 66–77 (+65) or 81–92 (+80).' };
  }
  const month = rawMonth - monthOffset;
  if (day < 1 || day > daysInMonth(month, year2)) {
    return { ok: false, message: 'The day digits do not give a real calendar day for that month.' };
  }
  return { ok: true, part: { day, month, year2, dNumber, monthOffset } };
}

/**
 * The birth-date part of an FNR/DNR with D-number and month offsets removed, or undefined
 * when it is not a real calendar date. Does not look at the check digits.
 */
export function parsePersonIdDatePart(value: string): PersonIdDatePart | undefined {
  const result = readDatePart(value);
  return result.ok ? result.part : undefined;
}

/**
 * True when an 11-digit number carries a synthetic month offset (+65 SyntPop, +80
 * Test-Norge/Tenor, or the ambiguous +40 H-number/Dolly range) on a real calendar date.
 * This only classifies the date part; it does not check the check digits (use
 * validatePersonIdentifier for that) and knows nothing about FHN, whose digits are random.
 */
export function isSyntheticPersonIdentifier(value: string): boolean {
  const part = parsePersonIdDatePart(value);
  return part !== undefined && part.monthOffset !== 0;
}

function fail(rule: PersonIdRule, message: string): PersonIdValidation {
  return { ok: false, rule, message };
}

function checkDigitsMessage(reason: 'format' | 'k1' | 'k2'): string {
  return reason === 'k1' ? 'The first check digit (K1) is wrong.' : 'The second check digit (K2) is wrong.';
}

/**
 * Validates a person identifier against its FHIR identifier system.
 * - FNR/DNR: 11 digits, check digits under the legacy or 2032 rule, the kind must match
 *   the system (day 41–71 is a D-number, first digit 8–9 an FHN), and DDMMYY must be a real date after removing
 *   the D-number and synthetic month offsets.
 * - FHN: 11 digits, first digit 8 or 9, check digits under the legacy rule, no date check.
 */
export function validatePersonIdentifier(system: PersonIdSystem | string, value: string): PersonIdValidation {
  const kind = personIdKindForSystem(system);
  if (kind === undefined) {
    return fail('unknown-system', `Unknown person identifier system; expected one of ${Object.values(PERSON_ID_SYSTEMS).join(', ')}.`);
  }
  if (typeof value !== 'string' || !ELEVEN_DIGITS.test(value)) {
    return fail('format', 'A person identifier must be exactly 11 digits.');
  }

  if (kind === 'fhn') {
    if (value[0] !== '8' && value[0] !== '9') return fail('fhn-first-digit', 'A felles hjelpenummer must start with 8 or 9.');
    const check = checkFodselsnummerDigits(value);
    if (!check.ok) return fail('check-digits', checkDigitsMessage(check.reason));
    if (check.checkRule !== 'legacy') return fail('check-digits', 'The first check digit (K1) is wrong.');
    return { ok: true, kind, synthetic: false, checkRule: 'legacy' };
  }

  const check = checkFodselsnummerDigits(value);
  if (!check.ok) return fail('check-digits', checkDigitsMessage(check.reason));

  const firstDigit = Number(value[0]);
  if (firstDigit >= 8) {
    return fail('fhn-expected', `This looks like a felles hjelpenummer (first digit 8 or 9), not a ${kind === 'fnr' ? 'fødselsnummer' : 'D-number'}; use the FHN system ${PERSON_ID_SYSTEMS.fhn}.`);
  }
  if (kind === 'fnr' && firstDigit >= 4 && firstDigit <= 7) {
    return fail('dnr-expected', `This is a D-number (day digits 41–71); use the D-number system ${PERSON_ID_SYSTEMS.dnr}.`);
  }
  if (kind === 'dnr' && firstDigit <= 3) {
    return fail('fnr-expected', `This is a fødselsnummer, not a D-number (day digits 01–31); use the fødselsnummer system ${PERSON_ID_SYSTEMS.fnr}.`);
  }

  const date = readDatePart(value);
  if (!date.ok) return fail('date', date.message);
  return { ok: true, kind, synthetic: date.part.monthOffset !== 0, checkRule: check.checkRule };
}

export interface SyntheticFodselsnummerOptions {
  birthDate: { year: number; month: number; day: number };
  /** +65 (SyntPop) or +80 (Test-Norge/Tenor). Real (offset 0) numbers are never generated. */
  offset: 65 | 80;
  /** Individual number 0–999 (digits 7–9). */
  individual: number;
  /** Generate a D-number (day + 40). */
  dNumber?: boolean;
  /** 'legacy' (default) or '2032' for a number valid only under the 2032 rule. */
  rule?: CheckDigitRule;
}

function isRealDate(year: number, month: number, day: number): boolean {
  if (![year, month, day].every(Number.isInteger) || year < 1854 || year > 2099 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const max = month === 2 ? (leap ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= max;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/**
 * Deterministically builds a synthetic FNR/DNR (month + 65 or + 80). Returns undefined when
 * the individual number has no valid check digits under the requested rule. Throws a
 * RangeError for an impossible birth date (years 1854–2099), an individual number outside
 * 0–999 or an offset other than 65/80. The individual-number series is not matched to the
 * century: these numbers are synthetic and the century is not derivable after 2032 anyway.
 */
export function syntheticFodselsnummer(opts: SyntheticFodselsnummerOptions): string | undefined {
  const { birthDate, offset, individual, dNumber = false, rule = 'legacy' } = opts;
  if (offset !== 65 && offset !== 80) throw new RangeError('offset must be 65 or 80');
  if (!Number.isInteger(individual) || individual < 0 || individual > 999) throw new RangeError('individual must be an integer 0–999');
  if (!isRealDate(birthDate.year, birthDate.month, birthDate.day)) throw new RangeError('birthDate is not a real date in 1854–2099');
  const first9 = pad(birthDate.day + (dNumber ? 40 : 0), 2) + pad(birthDate.month + offset, 2) + pad(birthDate.year % 100, 2) + pad(individual, 3);
  const check = fodselsnummerCheckDigits(first9, rule);
  return check === undefined ? undefined : first9 + check;
}

/** The kind of an 11-digit number by its first digit: 0–3 FNR, 4–7 DNR (day + 40), 8–9 FHN. */
export function personIdKindOf(value: string): PersonIdKind {
  const first = value.charCodeAt(0) - 48;
  return first >= 8 ? 'fhn' : first >= 4 ? 'dnr' : 'fnr';
}

/** Rules of `parsePersonIdentifier`: those of `validatePersonIdentifier` and its own. */
export type PersonIdParseRule = PersonIdRule | 'required' | 'not-canonical';

/** The rules by which a named identifier system does not fit the number's kind. */
export const SYSTEM_MISMATCH_RULES: readonly PersonIdRule[] = Object.freeze(['dnr-expected', 'fnr-expected', 'fhn-expected', 'fhn-first-digit']);

/** A person identifier as every entry point hands it on: canonical digits and the system of their kind. */
export interface PersonId {
  system: PersonIdSystem;
  /** Exactly 11 ASCII digits. */
  value: string;
  kind: PersonIdKind;
  synthetic: boolean;
  checkRule: CheckDigitRule;
}

export type PersonIdParseResult =
  | { ok: true; id: PersonId }
  | {
      ok: false;
      rule: PersonIdParseRule;
      message: string;
      /**
       * For `not-canonical` input that, stripped of its padding, is a valid identifier, and for
       * a system that does not fit the number: the identifier the client meant. Never used to
       * answer a read; it names the patient in the patient audit log, so that a refused attempt
       * about a person is still recorded against that person.
       */
      attemptedFor?: PersonId;
    };

/** Spaces, tabs, line breaks, no-break and other Unicode spaces, zero-width and BOM characters. */
const PADDING = /^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+$/g;

/**
 * Percent-decodes repeatedly (at most three rounds, so `%2537` becomes `7`), leaving text
 * that does not decode as it is. Shared by the person-id parser and the request log's mask,
 * so both see a number through the same encodings.
 */
export function percentDecoded(text: string): string {
  let current = text;
  for (let i = 0; i < 3 && current.includes('%'); i++) {
    try {
      const next = decodeURIComponent(current);
      if (next === current) break;
      current = next;
    } catch {
      break;
    }
  }
  return current;
}

function parseCanonical(value: string, system: string | undefined): PersonIdParseResult {
  const ownSystem = PERSON_ID_SYSTEMS[personIdKindOf(value)];
  const check = validatePersonIdentifier(system ?? ownSystem, value);
  if (check.ok) return { ok: true, id: { system: PERSON_ID_SYSTEMS[check.kind], value, kind: check.kind, synthetic: check.synthetic, checkRule: check.checkRule } };
  if (system !== undefined && SYSTEM_MISMATCH_RULES.includes(check.rule)) {
    const meant = parseCanonical(value, undefined);
    return { ok: false, rule: check.rule, message: check.message, ...(meant.ok ? { attemptedFor: meant.id } : {}) };
  }
  return { ok: false, rule: check.rule, message: check.message };
}

/**
 * The one parser of person identifiers for every entry point that receives one (the REST
 * `person-id` header and `_search` body, the OKT prototype's paths, FHIR
 * `patient.identifier`, the patient audit log's endpoint and its guard, the CLI).
 *
 * Input: the value as received (a string; anything else is `required`), and the identifier
 * system when the client names one (FHIR `system|value`). Output: the identifier with the
 * system of its kind, or the first broken rule:
 * - `required`: missing or empty.
 * - `not-canonical`: anything but exactly 11 ASCII digits that becomes a valid identifier
 *   once padding (any Unicode white space, zero-width characters) and percent-encoding are
 *   removed (` 13717404089`, `%2013717404089`). Refused, never read: a lenient read would
 *   let the same patient hide behind many spellings in URLs and logs. `attemptedFor`
 *   carries the identifier, for the patient audit log only.
 * - `format`: not 11 digits in any reading.
 * - `dnr-expected`, `fnr-expected`, `fhn-expected`, `fhn-first-digit`: the named system
 *   does not fit the number's kind (first digit 0–3 fødselsnummer, 4–7 D-number, 8–9 felles
 *   hjelpenummer). The rule of docs/problems.md: a 400 that says so, never an answer
 *   labelled with the wrong system. Without a named system the kind decides the system.
 * - `unknown-system`, `check-digits`, `date`: as validatePersonIdentifier.
 *
 * Messages never echo the identifier. Source of the kinds and check digits: ehelse
 * "Identifikatorer for personer"; HL7 Norway no-basis NamingSystems for the systems.
 */
export function parsePersonIdentifier(input: unknown, options: { system?: string } = {}): PersonIdParseResult {
  if (typeof input !== 'string' || input === '') return { ok: false, rule: 'required', message: 'A person identifier (11 digits) is required.' };
  if (ELEVEN_DIGITS.test(input)) return parseCanonical(input, options.system);
  const stripped = percentDecoded(input).replace(PADDING, '');
  if (ELEVEN_DIGITS.test(stripped)) {
    const inner = parseCanonical(stripped, undefined);
    return {
      ok: false,
      rule: 'not-canonical',
      message: 'A person identifier must be exactly 11 digits, with no spaces, percent-encoding or other characters around them.',
      ...(inner.ok ? { attemptedFor: inner.id } : {}),
    };
  }
  if (stripped === '') return { ok: false, rule: 'required', message: 'A person identifier (11 digits) is required.' };
  return { ok: false, rule: 'format', message: 'A person identifier must be exactly 11 digits.' };
}

/**
 * The patient a request is about, for the patient audit log: the identifier when it parses, or the
 * one a non-canonical spelling stands for; undefined when the input names nobody.
 */
export function personIdForAuditLog(input: unknown, options: { system?: string } = {}): string | undefined {
  const parsed = parsePersonIdentifier(input, options);
  return parsed.ok ? parsed.id.value : parsed.attemptedFor?.value;
}
