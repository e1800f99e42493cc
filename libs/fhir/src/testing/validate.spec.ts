import { validateR4Resource } from './validate.js';

const valid = {
  resourceType: 'EpisodeOfCare',
  id: 'gerica.0.v-1',
  status: 'active',
  patient: { identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' } },
  period: { start: '2025-01-01' },
};

describe('validateR4Resource (the validator itself)', () => {
  it('accepts a minimal valid EpisodeOfCare', () => {
    expect(validateR4Resource(valid)).toEqual({ valid: true, errors: [] });
  });

  it.each([
    ['status on-hold (the IG spelling; R4 has onhold)', { ...valid, status: 'on-hold' }, /status/],
    ['an unknown property', { ...valid, onHold: true }, /additional properties/],
    ['an id with an underscore', { ...valid, id: 'a_b' }, /id/],
    ['an id of 65 characters', { ...valid, id: 'a'.repeat(65) }, /id/],
    ['a month 13', { ...valid, period: { start: '2025-13-01' } }, /period/],
    ['a missing patient', { resourceType: 'EpisodeOfCare', status: 'active' }, /patient/],
    ['an empty array', { ...valid, type: [] }, /type: arrays must not be empty/],
    ['a null', { ...valid, managingOrganization: null }, /managingOrganization: null/],
    ['an empty string', { ...valid, identifier: [{ value: '' }] }, /identifier\[0\]\.value: strings must not be empty/],
    ['an unknown resource type', { ...valid, resourceType: 'OktEpisode' }, /Invalid resourceType/],
  ])('reports %s', (_label, resource, pattern) => {
    const result = validateR4Resource(resource);
    expect(result.valid).toBe(false);
    expect(result.errors.join('\n')).toMatch(pattern);
  });

  it('knows FHIR version 4.0.1 (patched into the 4.0.0-generated schema) but no made-up versions', () => {
    const statement = { resourceType: 'CapabilityStatement', status: 'active', date: '2025-03-01', kind: 'instance', implementation: { description: 'x' }, fhirVersion: '4.0.1', format: ['json'] };
    expect(validateR4Resource(statement)).toEqual({ valid: true, errors: [] });
    expect(validateR4Resource({ ...statement, fhirVersion: '4.0.2' }).valid).toBe(false);
  });

  it('rejects non-objects', () => {
    expect(validateR4Resource(undefined).valid).toBe(false);
    expect(validateR4Resource([valid]).valid).toBe(false);
  });
});
