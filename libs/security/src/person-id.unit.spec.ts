import { ProblemError } from '#libs/contracts';
import { patientOfRequest, requirePersonId, splitToken } from './person-id.js';

const PID = '13717404089'; // synthetic (+65 on the month)
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const DNR = 'urn:oid:2.16.578.1.12.4.1.4.2';

describe('person ids of a request', () => {
  describe('requirePersonId', () => {
    it('returns the canonical id with the system of its kind', () => {
      expect(requirePersonId({ value: PID, pointer: '/person-id' })).toMatchObject({ value: PID, system: FNR, kind: 'fnr' });
    });
    it.each([
      [` ${PID}`, undefined, 'not-canonical'],
      [`%20${PID}`, undefined, 'not-canonical'],
      [PID, DNR, 'fnr-expected'],
      [undefined, undefined, 'required'],
    ])('throws 400 invalid-person-id naming the field and the rule for %j (system %s)', (value, system, rule) => {
      let thrown: unknown;
      try {
        requirePersonId({ value, pointer: '/pid', ...(system ? { system } : {}) });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ProblemError);
      const problem = (thrown as ProblemError).problem;
      expect(problem).toMatchObject({ status: 400, type: 'urn:fpi:problem:invalid-person-id', errors: [{ pointer: '/pid', rule }] });
      expect(JSON.stringify(problem)).not.toContain(PID);
    });
  });

  describe('patientOfRequest (for the patient audit log of refused reads)', () => {
    it.each([
      ['the person-id header', { headers: { 'person-id': PID } }],
      ['a padded person-id header', { headers: { 'person-id': `\u00a0${PID}` } }],
      ['the OKT path segment, padded', { headers: {}, params: { pid: ` ${PID}` } }],
      ['a _search body, padded', { headers: {}, body: { personId: ` ${PID}` } }],
      ['a FHIR query token', { headers: {}, query: { 'patient.identifier': `${FNR}|${PID}` } }],
      ['a FHIR form body with the modifier form', { headers: {}, body: { 'patient:identifier': `${FNR}| ${PID}` } }],
      ['a FHIR token naming the wrong system', { headers: {}, query: { 'patient.identifier': `${DNR}|${PID}` } }],
    ])('finds the patient in %s', (_, request) => {
      expect(patientOfRequest(request)).toBe(PID);
    });
    it.each([
      ['nothing', { headers: {} }],
      ['repeated person-id headers', { headers: { 'person-id': [PID, PID] } }],
      ['wrong check digits', { headers: { 'person-id': '13717404088' } }],
      ['an array body', { headers: {}, body: [{ personId: PID }] }],
      ['an inherited key only', { headers: Object.create({ 'person-id': PID }) as Record<string, unknown> }],
    ])('names nobody for %s', (_, request) => {
      expect(patientOfRequest(request)).toBeUndefined();
    });
  });

  it('splits a FHIR token at the first bar', () => {
    expect(splitToken(`${FNR}|${PID}`)).toEqual({ system: FNR, value: PID });
    expect(splitToken(PID)).toEqual({ value: PID });
    expect(splitToken(['a', 'b'])).toEqual({ value: undefined });
  });
});
