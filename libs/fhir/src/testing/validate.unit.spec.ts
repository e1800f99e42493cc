import { toEpisodeOfCare } from '../episode-of-care.js';
import { OKT_EPISODE_OF_CARE_PROFILE, WEEKLY_EXTENT_EXTENSION } from '../constants.js';
import { overviewEntry, PATIENT, TENANT } from './fixtures.js';
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
    const statement = {
      resourceType: 'CapabilityStatement',
      status: 'active',
      date: '2025-03-01',
      kind: 'instance',
      implementation: { description: 'x' },
      fhirVersion: '4.0.1',
      format: ['json'],
      rest: [{ mode: 'server' }],
    };
    expect(validateR4Resource(statement)).toEqual({ valid: true, errors: [] });
    expect(validateR4Resource({ ...statement, fhirVersion: '4.0.2' }).valid).toBe(false);
  });

  it('rejects non-objects', () => {
    expect(validateR4Resource(undefined).valid).toBe(false);
    expect(validateR4Resource([valid]).valid).toBe(false);
  });

  it('reports base invariants (Medplum evaluates the FHIRPath constraints): a CapabilityStatement without rest, messaging or document', () => {
    const statement = { resourceType: 'CapabilityStatement', status: 'active', date: '2025-03-01', kind: 'instance', implementation: { description: 'x' }, fhirVersion: '4.0.1', format: ['json'] };
    expect(validateR4Resource(statement).errors.join('\n')).toMatch(/cpb-1/);
  });

  it("validates the resources inside a Bundle, and a searchset entry's search mode (bdl invariants)", () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: 1,
      entry: [{ fullUrl: 'http://x/fhir/EpisodeOfCare/a', resource: { ...valid, period: { start: 'yesterday' } }, search: { mode: 'match' } }],
    };
    expect(validateR4Resource(bundle).errors.join('\n')).toMatch(/entry.*period\.start/i);
    const history = { resourceType: 'Bundle', type: 'document', entry: [{ resource: valid }] };
    expect(validateR4Resource(history).valid).toBe(false); // bdl-9..11: a document needs identifier, timestamp and a Composition first
  });

  it.each([
    ['per-1: a period that ends before it starts', { ...valid, period: { start: '2025-02-01', end: '2025-01-01' } }, /period: \[R4 error\] Constraint per-1/],
    ['per-1 in statusHistory', { ...valid, statusHistory: [{ status: 'onhold', period: { start: '2025-02-01', end: '2025-01-01' } }] }, /statusHistory.*per-1/],
    [
      'qty-3 and rat-1: a ratio with a unit code but no system, and no denominator',
      { ...valid, extension: [{ url: 'http://example.org/x', valueRatio: { numerator: { value: 1, code: 'h' } } }] },
      /rat-1[\s\S]*qty-3|qty-3[\s\S]*rat-1/,
    ],
    [
      'cpt-2: a phone number without a system, in a contained resource',
      { ...valid, contained: [{ resourceType: 'Organization', id: 'p', name: 'x', contact: [{ telecom: [{ value: '99999999' }] }] }] },
      /contained.*cpt-2/,
    ],
    ['ref-1: a reference to a contained resource that is not there', { ...valid, managingOrganization: { reference: '#nowhere' } }, /ref-1/],
  ])("reports data-type invariants Medplum's validator skips: %s", (_label, resource, pattern) => {
    expect(validateR4Resource(resource).errors.join('\n')).toMatch(pattern);
  });

  it('fails on Medplum warnings too: a reference to the wrong resource type', () => {
    const result = validateR4Resource({ ...valid, managingOrganization: { reference: 'Patient/1' } });
    expect(result.errors.join('\n')).toMatch(/\[R4 warning\] Invalid reference/);
  });

  describe('the OKT profile (OktEpisodeOfCare), for resources that claim it', () => {
    const okt = () =>
      JSON.parse(
        JSON.stringify(
          toEpisodeOfCare(
            overviewEntry({
              weeklyHours: 6,
              description: 'Morgen',
              stayType: 'korttidsopphold',
              service: { ...overviewEntry().service, code: '18', display: 'Tidsbegrenset opphold - utredning/behandling' },
            }),
            PATIENT,
            { tenant: TENANT },
          ),
        ),
      ) as Record<string, any>;

    it('accepts what the mapping makes', () => {
      const resource = okt();
      expect(resource.meta.profile).toEqual([OKT_EPISODE_OF_CARE_PROFILE]);
      expect(validateR4Resource(resource)).toEqual({ valid: true, errors: [] });
    });

    it.each([
      ['no period (period 1..)', (r: any) => delete r.period, /OktEpisodeOfCare error\] Missing required property/],
      ['no period.start', (r: any) => (r.period = { end: '2026-01-01' }), /okt-period/],
      ['an inactive 9151 code (required binding)', (r: any) => (r.type[0].coding[0].code = '10'), /okt-iplos-binding/],
      ["a 9151 display that is not the code's", (r: any) => (r.type[0].coding[0].display = 'Hjemmehjelp'), /okt-iplos-binding/],
      ['two 9151 codings', (r: any) => r.type.push({ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9151', code: '15' }] }), /okt-iplos-1/],
      ['a type from another code system (closed slicing)', (r: any) => r.type.push({ coding: [{ system: 'http://snomed.info/sct', code: '1' }] }), /okt-type-slices/],
      ['weekly extent in minutes', (r: any) => (r.extension.find((e: any) => e.url === WEEKLY_EXTENT_EXTENSION).valueRatio.numerator.code = 'min'), /okt-weekly-extent/],
      ['weekly extent per 2 weeks', (r: any) => (r.extension.find((e: any) => e.url === WEEKLY_EXTENT_EXTENSION).valueRatio.denominator.value = 2), /okt-weekly-extent/],
      ['weekly extent over 168 h', (r: any) => (r.extension.find((e: any) => e.url === WEEKLY_EXTENT_EXTENSION).valueRatio.numerator.value = 169), /okt-weekly-extent/],
      ['weekly extent as a Quantity', (r: any) => (r.extension = [{ url: WEEKLY_EXTENT_EXTENSION, valueQuantity: { value: 6, system: 'http://unitsofmeasure.org', code: 'h' } }]), /okt-weekly-extent/],
      ['an unknown extension', (r: any) => r.extension.push({ url: 'http://example.org/x', valueString: 'x' }), /okt-extensions/],
    ])('reports %s', (_label, change, pattern) => {
      const resource = okt();
      change(resource);
      const result = validateR4Resource(resource);
      expect(result.valid).toBe(false);
      expect(result.errors.join('\n')).toMatch(pattern);
    });

    it('checks the profile in Bundle entries', () => {
      const entry = okt();
      entry.period = { end: '2026-01-01' };
      const bundle = { resourceType: 'Bundle', type: 'searchset', total: 1, entry: [{ fullUrl: `http://x/fhir/EpisodeOfCare/${entry.id}`, resource: entry, search: { mode: 'match' } }] };
      expect(validateR4Resource(bundle).errors.join('\n')).toMatch(/entry\[0\]\.resource\..*okt-period/);
    });

    it('leaves resources that do not claim the profile to the base rules', () => {
      const { meta: _meta, ...plain } = okt();
      plain.period = { end: '2026-01-01' };
      expect(validateR4Resource(plain)).toEqual({ valid: true, errors: [] });
    });
  });
});
