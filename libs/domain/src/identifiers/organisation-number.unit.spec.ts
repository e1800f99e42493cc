import { isValidOrganisationNumber, ORGNR_SYSTEM, organisationNumberCheckDigit, validateOrganisationNumber } from './organisation-number.js';

// 313231593 is NHN's synthetic JFT organisation; the others are public examples
// that pass the modulus-11 rule of HL7 Norway's kodeverk NamingSystem.
const VALID = ['313231593', '912159523', '922734046', '994598759', '974760673'];
/** Prefix whose weighted sum gives check digit 10: no organisation number can start with it. */
const PREFIX_WITHOUT_CHECK_DIGIT = '31323150';

describe('ORGNR_SYSTEM', () => {
  it('is the ENH OID', () => {
    expect(ORGNR_SYSTEM).toBe('urn:oid:2.16.578.1.12.4.1.4.101');
  });
});

describe('validateOrganisationNumber', () => {
  it.each(VALID)('given the valid organisation number %s, then it is accepted', (orgnr) => {
    expect(validateOrganisationNumber(orgnr)).toEqual({ ok: true });
    expect(isValidOrganisationNumber(orgnr)).toBe(true);
  });

  it.each(VALID)('given %s with every other last digit, then the check digit fails', (orgnr) => {
    for (let d = 0; d <= 9; d++) {
      const candidate = orgnr.slice(0, 8) + d;
      if (candidate === orgnr) continue;
      expect(validateOrganisationNumber(candidate)).toMatchObject({ ok: false, rule: 'check-digit' });
    }
  });

  it('given a single changed body digit, then the check digit fails', () => {
    expect(validateOrganisationNumber('313231693')).toMatchObject({ ok: false, rule: 'check-digit' });
    expect(validateOrganisationNumber('413231593')).toMatchObject({ ok: false, rule: 'check-digit' });
  });

  it('given two swapped adjacent digits, then the check digit fails', () => {
    expect(validateOrganisationNumber('133231593')).toMatchObject({ ok: false, rule: 'check-digit' });
  });

  it('given a prefix whose check digit would be 10, then every ninth digit is rejected', () => {
    for (let d = 0; d <= 9; d++) {
      const result = validateOrganisationNumber(PREFIX_WITHOUT_CHECK_DIGIT + d);
      expect(result).toMatchObject({ ok: false, rule: 'check-digit' });
      if (!result.ok) expect(result.message).toMatch(/10/);
    }
  });

  it.each(['', '31323159', '3132315930', '31323159x', ' 313231593', '313 231 593', '313231593\n', '-31323159', '3.1323159', '３13231593'])(
    'given the malformed value %j, then it fails with format',
    (value) => {
      const result = validateOrganisationNumber(value);
      expect(result).toMatchObject({ ok: false, rule: 'format' });
      expect(isValidOrganisationNumber(value)).toBe(false);
    },
  );
});

describe('organisationNumberCheckDigit', () => {
  it('given the first eight digits of a valid number, then it returns its ninth digit', () => {
    for (const orgnr of VALID) expect(organisationNumberCheckDigit(orgnr.slice(0, 8))).toBe(Number(orgnr[8]));
  });

  it('given a prefix whose check would be 10, then it returns undefined', () => {
    expect(organisationNumberCheckDigit(PREFIX_WITHOUT_CHECK_DIGIT)).toBeUndefined();
  });

  it('given a check sum that is a multiple of 11, then the check digit is 0 (not 11)', () => {
    expect(organisationNumberCheckDigit('00000000')).toBe(0);
    expect(validateOrganisationNumber('000000000')).toEqual({ ok: true });
  });

  it('given anything but eight digits, then it throws', () => {
    expect(() => organisationNumberCheckDigit('3132315')).toThrow(RangeError);
    expect(() => organisationNumberCheckDigit('3132315a')).toThrow(RangeError);
  });
});
