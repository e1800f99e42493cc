import {
  ALL_SERVICE_CODES,
  canonicalServiceCode,
  isInstitutionalStay,
  isServiceCodeSystem,
  lookupServiceCode,
  SERVICE_CODE_SYSTEM,
  SERVICE_CODE_SYSTEM_ALIASES,
  SERVICE_CODE_TABLE_VERSION,
  validatePerformerOrgnr,
} from './service-codes.js';

const ACTIVE = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '11', '14', '15', '17', '18', '19', '20', '21', '22', '23', '24', '25', '26', '27', '28', '29'];
const REQUIRED = ['1', '2', '3', '4', '8', '15', '17', '18', '19', '20', '21', '22', '25'];
const FORBIDDEN = ['26', '29'];
const OPTIONAL = ACTIVE.filter((c) => !REQUIRED.includes(c) && !FORBIDDEN.includes(c));
const SYNTHETIC_ORGNR = '313231593';

describe('9151 code system', () => {
  it('emits the HL7 Norway OID and accepts the FinnKode URL as an alias', () => {
    expect(SERVICE_CODE_SYSTEM).toBe('urn:oid:2.16.578.1.12.4.1.1.9151');
    expect(SERVICE_CODE_SYSTEM_ALIASES).toEqual(['https://finnkode.helsedirektoratet.no/adm/collections/9151']);
    expect(isServiceCodeSystem(SERVICE_CODE_SYSTEM)).toBe(true);
    expect(isServiceCodeSystem('https://finnkode.helsedirektoratet.no/adm/collections/9151')).toBe(true);
    for (const other of ['', 'urn:oid:x.x.x.x.x.9151', 'urn:oid:2.16.578.1.12.4.1.1.8655', 'https://finnkode.helsedirektoratet.no/adm/collections/9151/']) {
      expect(isServiceCodeSystem(other)).toBe(false);
    }
  });

  it('carries an ISO date as its table version', () => {
    expect(SERVICE_CODE_TABLE_VERSION).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Number.isNaN(Date.parse(SERVICE_CODE_TABLE_VERSION))).toBe(false);
  });
});

describe('ALL_SERVICE_CODES', () => {
  it('lists the 25 active codes in order, once each', () => {
    expect(ALL_SERVICE_CODES.map((c) => c.code)).toEqual(ACTIVE);
  });

  it('gives every code a display and a group', () => {
    for (const entry of ALL_SERVICE_CODES) {
      expect(entry.display.length).toBeGreaterThan(3);
      expect(['Tjenester til hjemmeboende', 'Institusjonstjenester', 'Velferdsteknologi', 'Bruk av tvang', 'Øyeblikkelig hjelp', 'Bolig']).toContain(entry.group);
    }
  });

  it('is frozen', () => {
    expect(Object.isFrozen(ALL_SERVICE_CODES)).toBe(true);
    expect(Object.isFrozen(ALL_SERVICE_CODES[0])).toBe(true);
  });

  it('groups the codes as in the Helsedirektoratet table', () => {
    const byGroup = (group: string) => ALL_SERVICE_CODES.filter((c) => c.group === group).map((c) => c.code);
    expect(byGroup('Tjenester til hjemmeboende')).toEqual(['1', '2', '3', '4', '5', '7', '9', '11', '15']);
    expect(byGroup('Institusjonstjenester')).toEqual(['8', '17', '18', '19', '20', '21', '22']);
    expect(byGroup('Velferdsteknologi')).toEqual(['6', '26', '27', '28']);
    expect(byGroup('Bruk av tvang')).toEqual(['14', '23', '24']);
    expect(byGroup('Øyeblikkelig hjelp')).toEqual(['25']);
    expect(byGroup('Bolig')).toEqual(['29']);
  });

  it('applies the IPLOS performing-unit orgnr rule', () => {
    const byRule = (rule: string) => ALL_SERVICE_CODES.filter((c) => c.performerOrgnr === rule).map((c) => c.code);
    expect(byRule('required')).toEqual(REQUIRED);
    expect(byRule('forbidden')).toEqual(FORBIDDEN);
    expect(byRule('optional')).toEqual(['5', '6', '7', '9', '11', '14', '23', '24', '27', '28']);
  });
});

describe('canonicalServiceCode', () => {
  it.each([
    ['15', '15'],
    ['015', '15'],
    ['05', '5'],
    ['5', '5'],
    ['001', '1'],
    ['29', '29'],
    ['029', '29'],
  ])('given %j, then the canonical code is %j', (input, expected) => {
    expect(canonicalServiceCode(input)).toBe(expected);
  });

  it.each(['', 'abc', '0', '00', '10', '16', '12', '13', '030', '30', '0015', ' 15', '15 ', '1.5', '-5', '+5', '1e1', '５'])('given %j, then it is rejected', (input) => {
    expect(canonicalServiceCode(input)).toBeUndefined();
  });

  it('accepts every active code, padded or not', () => {
    for (const code of ACTIVE) {
      expect(canonicalServiceCode(code)).toBe(code);
      expect(canonicalServiceCode(code.padStart(2, '0'))).toBe(code);
      expect(canonicalServiceCode(code.padStart(3, '0'))).toBe(code);
    }
  });
});

describe('lookupServiceCode', () => {
  it('given 15, then it returns home health services, required orgnr', () => {
    expect(lookupServiceCode('15')).toEqual({
      code: '15',
      display: 'Helsetjenester i hjemmet',
      group: 'Tjenester til hjemmeboende',
      performerOrgnr: 'required',
    });
  });

  it('given a zero-padded code, then it returns the canonical entry', () => {
    expect(lookupServiceCode('06')).toEqual({ code: '6', display: 'Trygghetsalarm', group: 'Velferdsteknologi', performerOrgnr: 'optional' });
  });

  it('given the displays for 14 and 23, then planned measures and emergencies are not swapped', () => {
    expect(lookupServiceCode('14')?.display).toMatch(/planlagte tiltak$/);
    expect(lookupServiceCode('23')?.display).toMatch(/nødsituasjoner$/);
  });

  it('given 29 and 26, then the orgnr is forbidden', () => {
    expect(lookupServiceCode('29')).toMatchObject({ display: 'Bolig som kommunen disponerer for helse- og omsorgsformål', performerOrgnr: 'forbidden' });
    expect(lookupServiceCode('26')).toMatchObject({ display: 'Lokaliseringsteknologi (GPS)', performerOrgnr: 'forbidden' });
  });

  it.each(['10', '12', '13', '16', '30', '', 'x'])('given the retired or unknown code %j, then it returns undefined', (code) => {
    expect(lookupServiceCode(code)).toBeUndefined();
  });
});

describe('isInstitutionalStay', () => {
  it('is true exactly for 8, 17–22 and 25', () => {
    expect(ACTIVE.filter(isInstitutionalStay)).toEqual(['8', '17', '18', '19', '20', '21', '22', '25']);
  });

  it('accepts padded codes and rejects unknown ones', () => {
    expect(isInstitutionalStay('08')).toBe(true);
    expect(isInstitutionalStay('16')).toBe(false);
    expect(isInstitutionalStay('')).toBe(false);
  });
});

describe('validatePerformerOrgnr', () => {
  it.each(REQUIRED)('given required code %s without an orgnr, then it fails with performer-orgnr-required', (code) => {
    expect(validatePerformerOrgnr(code, undefined)).toMatchObject({ ok: false, rule: 'performer-orgnr-required' });
    expect(validatePerformerOrgnr(code, SYNTHETIC_ORGNR)).toEqual({ ok: true });
  });

  it.each(FORBIDDEN)('given forbidden code %s with an orgnr, then it fails with performer-orgnr-forbidden', (code) => {
    expect(validatePerformerOrgnr(code, SYNTHETIC_ORGNR)).toMatchObject({ ok: false, rule: 'performer-orgnr-forbidden' });
    expect(validatePerformerOrgnr(code, undefined)).toEqual({ ok: true });
  });

  it.each(OPTIONAL)('given optional code %s, then an orgnr may be given or left out', (code) => {
    expect(validatePerformerOrgnr(code, SYNTHETIC_ORGNR)).toEqual({ ok: true });
    expect(validatePerformerOrgnr(code, undefined)).toEqual({ ok: true });
  });

  it('given an orgnr with a wrong check digit, then it fails with performer-orgnr-invalid', () => {
    expect(validatePerformerOrgnr('15', '313231594')).toMatchObject({ ok: false, rule: 'performer-orgnr-invalid' });
    expect(validatePerformerOrgnr('5', '31323159')).toMatchObject({ ok: false, rule: 'performer-orgnr-invalid' });
  });

  it('given an unknown service code, then it fails with unknown-service-code', () => {
    expect(validatePerformerOrgnr('16', SYNTHETIC_ORGNR)).toMatchObject({ ok: false, rule: 'unknown-service-code' });
  });

  it('given a padded code, then it applies the rule of the canonical code', () => {
    expect(validatePerformerOrgnr('01', undefined)).toMatchObject({ ok: false, rule: 'performer-orgnr-required' });
  });
});
