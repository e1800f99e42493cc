import { fhirPathOfPointer, fhirString, operationOutcome, operationOutcomeOf } from './operation-outcome.js';
import { validateR4Resource } from './testing/validate.js';

describe('operationOutcome', () => {
  it.each(['invalid', 'not-found', 'processing', 'security', 'exception', 'not-supported', 'required'] as const)('builds a valid outcome with code %s', (code) => {
    const outcome = operationOutcome('error', code, 'Something is wrong.');
    expect(outcome).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: 'Something is wrong.' }] });
    expect(validateR4Resource(outcome)).toEqual({ valid: true, errors: [] });
  });

  it('carries expressions when given (and none when empty)', () => {
    expect(operationOutcome('warning', 'invalid', 'Bad status.', ['status']).issue[0]).toEqual({
      severity: 'warning',
      code: 'invalid',
      diagnostics: 'Bad status.',
      expression: ['status'],
    });
    expect(operationOutcome('error', 'invalid', 'x', []).issue[0]?.expression).toBeUndefined();
  });

  it('collects several issues, severity error by default', () => {
    const outcome = operationOutcomeOf([
      { code: 'required', diagnostics: 'The patient is required.', expression: ['patient.identifier'] },
      { severity: 'warning', code: 'not-supported', diagnostics: 'Unknown parameter.', expression: ['foo'] },
    ]);
    expect(outcome.issue.map((i) => [i.severity, i.code])).toEqual([
      ['error', 'required'],
      ['warning', 'not-supported'],
    ]);
    expect(validateR4Resource(outcome)).toEqual({ valid: true, errors: [] });
    expect(() => operationOutcomeOf([])).toThrow(RangeError);
  });

  it('is invalid with a made-up issue code (the validator checks the binding)', () => {
    expect(validateR4Resource({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'bad-request' }] }).valid).toBe(false);
  });

  it('writes characters a FHIR string may not hold as \\uXXXX, so an outcome quoting the client stays valid', () => {
    expect(fhirString('a\u0001b\u0000c')).toBe('a\\u0001b\\u0000c');
    expect(fhirString('x\u2028y\u00A0z\uD800')).toBe('x\\u2028y\\u00A0z\\uD800');
    expect(fhirString('tab\tnew\nline\r ok')).toBe('tab\tnew\nline\r ok');
    expect(fhirString('😀 ok')).toBe('😀 ok');
    const outcome = operationOutcome('error', 'invalid', 'Invalid value "a\u0001b\u2028" of status', ['status\u0000']);
    expect(validateR4Resource(outcome)).toEqual({ valid: true, errors: [] });
  });
});

describe('fhirPathOfPointer', () => {
  it('turns a JSON pointer under a resource into its FHIRPath: array indexes in brackets, escapes undone', () => {
    expect(fhirPathOfPointer('EpisodeOfCare', '/identifier/0/value')).toBe('EpisodeOfCare.identifier[0].value');
    expect(fhirPathOfPointer('Bundle', '/entry/12/resource/extension/1/valueRatio/numerator')).toBe('Bundle.entry[12].resource.extension[1].valueRatio.numerator');
    expect(fhirPathOfPointer('Bundle', '/a~1b/c~0d')).toBe('Bundle.a/b.c~d');
    expect(fhirPathOfPointer('EpisodeOfCare', '')).toBe('EpisodeOfCare');
  });
});
