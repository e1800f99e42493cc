import { acceptsFhirJson, fhirFormatOutcome } from './formats.js';

describe('FHIR content negotiation: JSON only, _format before Accept', () => {
  it('serves JSON when nothing is asked for, or JSON is acceptable', () => {
    expect(fhirFormatOutcome([], undefined)).toBeUndefined();
    for (const accept of [
      'application/fhir+json',
      'application/json',
      '*/*',
      'application/*',
      'application/fhir+xml, application/fhir+json;q=0.5',
      'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'application/fhir+json; fhirVersion=4.0',
    ]) {
      expect(fhirFormatOutcome([], accept)).toBeUndefined();
    }
  });

  it('answers 406 when only XML (or anything but JSON) is acceptable', () => {
    for (const accept of ['application/fhir+xml', 'application/xml', 'text/xml', 'application/fhir+json;q=0, application/fhir+xml', 'text/turtle']) {
      expect(acceptsFhirJson(accept)).toBe(false);
      expect(fhirFormatOutcome([], accept)).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-supported', expression: ['Accept'] }] });
    }
  });

  it('lets _format decide over Accept, both ways', () => {
    for (const f of ['json', 'application/json', 'application/fhir+json', 'APPLICATION/FHIR+JSON', 'application/fhir json', 'application/fhir+json;fhirVersion=4.0']) {
      expect(fhirFormatOutcome([f], 'application/fhir+xml')).toBeUndefined();
    }
    for (const f of ['xml', 'application/fhir+xml', 'text/xml', 'ttl', 'html', '!x']) {
      expect(fhirFormatOutcome([f], 'application/fhir+json')).toMatchObject({ issue: [{ code: 'not-supported', expression: ['_format'] }] });
    }
  });

  it('refuses when any of several _format values is not JSON', () => {
    expect(fhirFormatOutcome(['json', 'xml'], undefined)).toBeDefined();
    expect(fhirFormatOutcome(['json', 'application/fhir+json'], undefined)).toBeUndefined();
  });

  it.each(['x\ny', '\n', 'ge2025\n', '2025-01-01\r\n', 'eq\u20282025', '\u0000', '\t', '\u0085'])('answers _format=%j with a 406 outcome, never a throw', (f) => {
    expect(fhirFormatOutcome([f], undefined)).toMatchObject({ issue: [{ code: 'not-supported', expression: ['_format'] }] });
  });
});
