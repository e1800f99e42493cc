/**
 * Norwegian organisasjonsnummer (Enhetsregisteret, Brønnøysundregistrene). Pure functions.
 *
 * 9 digits; weights 3,2,7,6,5,4,3,2 over digits 1–8; check digit = (11 − Σ mod 11) mod 11.
 * A computed check digit of 10 means the number is invalid (never issued).
 * Source: HL7 Norway kodeverk, NamingSystem for organisasjonsnummer
 * (github.com/HL7Norway/kodeverk, `input/fsh/namingsystems/`: "Er bygd opp i henhold til modulus 11").
 */

/** FHIR `identifier.system` for organisasjonsnummer (ENH). */
export const ORGNR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.101';

export type OrganisationNumberValidation = { ok: true } | { ok: false; rule: 'format' | 'check-digit'; message: string };

const WEIGHTS = [3, 2, 7, 6, 5, 4, 3, 2] as const;

/**
 * The check digit for the first eight digits, or undefined when the computed digit would be
 * 10 (no valid organisation number has that prefix). Throws a RangeError unless given
 * exactly eight digits.
 */
export function organisationNumberCheckDigit(first8: string): number | undefined {
  if (!/^\d{8}$/.test(first8)) throw new RangeError('Expected exactly eight digits');
  let sum = 0;
  for (let i = 0; i < WEIGHTS.length; i++) sum += WEIGHTS[i]! * (first8.charCodeAt(i) - 48);
  const check = (11 - (sum % 11)) % 11;
  return check === 10 ? undefined : check;
}

/** Validates a 9-digit organisasjonsnummer (format and mod-11 check digit). */
export function validateOrganisationNumber(value: string): OrganisationNumberValidation {
  if (typeof value !== 'string' || !/^\d{9}$/.test(value)) {
    return { ok: false, rule: 'format', message: 'An organisation number must be exactly 9 digits.' };
  }
  const expected = organisationNumberCheckDigit(value.slice(0, 8));
  if (expected === undefined) {
    return { ok: false, rule: 'check-digit', message: 'No valid check digit exists for these first eight digits (mod 11 gives 10).' };
  }
  if (Number(value[8]) !== expected) {
    return { ok: false, rule: 'check-digit', message: 'The check digit (digit 9) is wrong.' };
  }
  return { ok: true };
}

/** Convenience predicate for validateOrganisationNumber. */
export function isValidOrganisationNumber(value: string): boolean {
  return validateOrganisationNumber(value).ok;
}
