import type { ServiceStatus } from '#libs/domain';
import { EPISODE_OF_CARE_STATUSES, fhirStatus, toEpisodeOfCare } from './episode-of-care.js';
import { parseEpisodeOfCareId } from './episode-of-care-id.js';
import { ORGNR, PATIENT, TENANT, overviewEntry } from './testing/fixtures.js';
import { validateR4Resource } from './testing/validate.js';

const OPTIONS = { tenant: TENANT };
const PROFILE = 'http://hl7.no/fhir/ig/okt/StructureDefinition/OktEpisodeOfCare';

function expectValid(resource: unknown) {
  const result = validateR4Resource(resource);
  expect(result.errors).toEqual([]);
  expect(result.valid).toBe(true);
}

describe('fhirStatus', () => {
  it.each([
    ['active', 'active'],
    ['paused', 'onhold'],
    ['planned', 'planned'],
    ['ended', 'finished'],
    ['cancelled', 'cancelled'],
  ] as const)('maps %s to the R4 code %s', (status, code) => {
    expect(fhirStatus(status)).toBe(code);
    expect(EPISODE_OF_CARE_STATUSES).toContain(code);
  });

  it('never produces the IG table spelling on-hold', () => {
    expect(EPISODE_OF_CARE_STATUSES).not.toContain('on-hold');
  });
});

describe('toEpisodeOfCare', () => {
  it('maps a minimal active decision to a valid OktEpisodeOfCare', () => {
    const resource = toEpisodeOfCare(overviewEntry(), PATIENT, OPTIONS);
    expect(resource).toEqual({
      resourceType: 'EpisodeOfCare',
      id: 'gerica.0.v-2025-0001',
      meta: { profile: [PROFILE], versionId: '1', lastUpdated: '2025-01-02T08:00:01.000Z', source: 'urn:fpi:source-system:gerica' },
      identifier: [
        {
          system: 'urn:fpi:decision-id:gerica',
          value: 'V-2025-0001',
          assigner: { identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: TENANT } },
        },
      ],
      status: 'active',
      type: [{ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9151', code: '15', display: 'Helsetjenester i hjemmet' }] }],
      patient: { identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' } },
      period: { start: '2025-01-01' },
    });
    expectValid(resource);
  });

  it('derives an id that parses back to the decision', () => {
    const resource = toEpisodeOfCare(overviewEntry({ sourceSystem: 'Profil', decisionId: 'VED/2025:17' }), PATIENT, OPTIONS);
    expect(parseEpisodeOfCareId(resource.id!)).toEqual({ sourceSystem: 'Profil', decisionId: 'VED/2025:17' });
  });

  it('uses lastUpdated from the options when given', () => {
    const resource = toEpisodeOfCare(overviewEntry(), PATIENT, { tenant: TENANT, lastUpdated: '2025-02-03T04:05:06Z' });
    expect(resource.meta?.lastUpdated).toBe('2025-02-03T04:05:06Z');
    expectValid(resource);
  });

  it.each<[ServiceStatus, string, Partial<Parameters<typeof overviewEntry>[0]>]>([
    ['active', 'active', {}],
    ['paused', 'onhold', { pausedFrom: '2025-03-01', pauseReason: 'Sykehusinnleggelse' }],
    ['planned', 'planned', { period: { start: '2030-01-01' } }],
    ['ended', 'finished', { period: { start: '2025-01-01', end: '2025-06-30' } }],
    ['cancelled', 'cancelled', { period: { start: '2030-01-01', end: '2030-01-01' } }],
  ])('maps status %s to %s and stays valid', (status, code, overrides) => {
    const resource = toEpisodeOfCare(overviewEntry({ status, ...overrides }), PATIENT, OPTIONS);
    expect(resource.status).toBe(code);
    expectValid(resource);
  });

  it('records a pause in statusHistory (open while paused) and leaves out the free-text reason', () => {
    const resource = toEpisodeOfCare(overviewEntry({ status: 'paused', pausedFrom: '2025-03-01', pauseReason: 'Sykehusinnleggelse' }), PATIENT, OPTIONS);
    expect(resource.statusHistory).toEqual([{ status: 'onhold', period: { start: '2025-03-01' } }]);
    expect(JSON.stringify(resource)).not.toContain('Sykehusinnleggelse');
  });

  it('closes the pause with the period when a paused decision has ended', () => {
    const resource = toEpisodeOfCare(overviewEntry({ status: 'ended', pausedFrom: '2025-03-01', period: { start: '2025-01-01', end: '2025-04-30' } }), PATIENT, OPTIONS);
    expect(resource.status).toBe('finished');
    expect(resource.statusHistory).toEqual([{ status: 'onhold', period: { start: '2025-03-01', end: '2025-04-30' } }]);
    expectValid(resource);
  });

  it('has no statusHistory without a pause', () => {
    expect(toEpisodeOfCare(overviewEntry(), PATIENT, OPTIONS).statusHistory).toBeUndefined();
  });

  it('drops an end that lies before the start (a withdrawn decision), keeping the period valid (per-1)', () => {
    const resource = toEpisodeOfCare(overviewEntry({ status: 'cancelled', period: { start: '2030-01-01', end: '2029-12-01' } }), PATIENT, OPTIONS);
    expect(resource.period).toEqual({ start: '2030-01-01' });
    expectValid(resource);
  });

  it('maps the period with and without an end', () => {
    expect(toEpisodeOfCare(overviewEntry(), PATIENT, OPTIONS).period).toEqual({ start: '2025-01-01' });
    expect(toEpisodeOfCare(overviewEntry({ period: { start: '2025-01-01', end: '2025-12-31' } }), PATIENT, OPTIONS).period).toEqual({
      start: '2025-01-01',
      end: '2025-12-31',
    });
  });

  it('adds the stay type as a second type (OktStayTypeCs), with the IG display when it has one', () => {
    const short = toEpisodeOfCare(
      overviewEntry({ service: { ...overviewEntry().service, code: '18', display: 'Tidsbegrenset opphold - utredning/behandling' }, stayType: 'korttidsopphold' }),
      PATIENT,
      OPTIONS,
    );
    expect(short.type).toEqual([
      { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9151', code: '18', display: 'Tidsbegrenset opphold - utredning/behandling' }] },
      { coding: [{ system: 'http://hl7.no/fhir/ig/okt/CodeSystem/OktStayTypeCs', code: 'korttidsopphold', display: 'Korttidsopphold i institusjon' }] },
    ]);
    expectValid(short);
    const night = toEpisodeOfCare(overviewEntry({ stayType: 'nattopphold' }), PATIENT, OPTIONS);
    expect(night.type?.[1]).toEqual({ coding: [{ system: 'http://hl7.no/fhir/ig/okt/CodeSystem/OktStayTypeCs', code: 'nattopphold' }] });
  });

  it('adds the weekly extent as a Ratio of h per 1 wk (UCUM)', () => {
    const resource = toEpisodeOfCare(overviewEntry({ weeklyHours: 7.5 }), PATIENT, OPTIONS);
    expect(resource.extension).toEqual([
      {
        url: 'http://hl7.no/fhir/ig/okt/StructureDefinition/WeeklyExtentRatio',
        valueRatio: {
          numerator: { value: 7.5, unit: 'h', system: 'http://unitsofmeasure.org', code: 'h' },
          denominator: { value: 1, unit: 'wk', system: 'http://unitsofmeasure.org', code: 'wk' },
        },
      },
    ]);
    expectValid(resource);
  });

  it('keeps an extent of zero hours', () => {
    const resource = toEpisodeOfCare(overviewEntry({ weeklyHours: 0 }), PATIENT, OPTIONS);
    expect(resource.extension?.[0]?.valueRatio?.numerator?.value).toBe(0);
    expectValid(resource);
  });

  it('adds the description as the markdown extension', () => {
    const resource = toEpisodeOfCare(overviewEntry({ weeklyHours: 2, description: 'Hjelp med **morgenstell**' }), PATIENT, OPTIONS);
    expect(resource.extension).toContainEqual({
      url: 'http://hl7.no/fhir/ig/okt/StructureDefinition/ServiceDescriptionMarkdown',
      valueMarkdown: 'Hjelp med **morgenstell**',
    });
    expect(resource.extension).toHaveLength(2);
    expectValid(resource);
  });

  it('has no extension without extent and description', () => {
    expect(toEpisodeOfCare(overviewEntry(), PATIENT, OPTIONS).extension).toBeUndefined();
  });

  it('contains the performer with orgnr and phone and references it from managingOrganization', () => {
    const resource = toEpisodeOfCare(overviewEntry({ performer: { orgnr: ORGNR, name: 'Hjemmesykepleien sone vest', phone: '+47 22 00 00 00' } }), PATIENT, OPTIONS);
    expect(resource.contained).toEqual([
      {
        resourceType: 'Organization',
        id: 'performer',
        identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: ORGNR }],
        name: 'Hjemmesykepleien sone vest',
        contact: [{ telecom: [{ system: 'phone', value: '+47 22 00 00 00', use: 'work' }] }],
      },
    ]);
    expect(resource.managingOrganization).toEqual({
      reference: '#performer',
      identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: ORGNR },
      display: 'Hjemmesykepleien sone vest',
    });
    expectValid(resource);
  });

  it('contains a performer without orgnr or phone by name only', () => {
    const resource = toEpisodeOfCare(overviewEntry({ performer: { name: 'Trygghetsalarm-sentralen' } }), PATIENT, OPTIONS);
    expect(resource.contained).toEqual([{ resourceType: 'Organization', id: 'performer', name: 'Trygghetsalarm-sentralen' }]);
    expect(resource.managingOrganization).toEqual({ reference: '#performer', display: 'Trygghetsalarm-sentralen' });
    expectValid(resource);
  });

  it('omits contained and managingOrganization without a performer', () => {
    const resource = toEpisodeOfCare(overviewEntry(), PATIENT, OPTIONS);
    expect(resource.contained).toBeUndefined();
    expect(resource.managingOrganization).toBeUndefined();
  });

  it('maps a fully populated decision to a valid resource', () => {
    const resource = toEpisodeOfCare(
      overviewEntry({
        status: 'paused',
        service: { ...overviewEntry().service, code: '17', display: 'Dagopphold i institusjon' },
        stayType: 'dagopphold',
        weeklyHours: 12,
        description: 'Tre dager i uken',
        performer: { orgnr: ORGNR, name: 'Dagsenteret', phone: '22000000' },
        pausedFrom: '2025-02-01',
        period: { start: '2025-01-01', end: '2025-12-31' },
      }),
      PATIENT,
      OPTIONS,
    );
    expectValid(resource);
  });

  it('is reported invalid when broken on purpose (the validator is not a no-op)', () => {
    const resource = { ...toEpisodeOfCare(overviewEntry({ status: 'paused', pausedFrom: '2025-03-01' }), PATIENT, OPTIONS), status: 'on-hold' };
    const result = validateR4Resource(resource);
    expect(result.valid).toBe(false);
    expect(result.errors.join('\n')).toMatch(/status/);
  });
});
