import { fhirPathOf, parseEpisodeOfCareInput } from './episode-of-care-input.js';
import { parseRequestBundle } from './request-bundle.js';
import { parseEpisodeOfCareHistory } from './history-params.js';
import { parseVersionETag, versionETag } from './episode-of-care-version.js';

const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
/** The OKT guide's example (prototype, patient 19779998080), with a contained organisation. */
const example = (changes: Record<string, unknown> = {}) => ({
  resourceType: 'EpisodeOfCare',
  contained: [
    {
      resourceType: 'Organization',
      id: 'org',
      identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '974760673' }],
      name: 'Sone Vest, Kjeller',
      contact: [{ telecom: [{ system: 'phone', value: '23101675' }] }],
    },
  ],
  extension: [
    {
      url: 'http://hl7.no/fhir/ig/okt/StructureDefinition/WeeklyExtentRatio',
      valueRatio: { numerator: { value: 15, unit: 'h', system: 'http://unitsofmeasure.org', code: 'h' }, denominator: { value: 1, unit: 'wk', system: 'http://unitsofmeasure.org', code: 'wk' } },
    },
    { url: 'http://hl7.no/fhir/ig/okt/StructureDefinition/ServiceDescriptionMarkdown', valueMarkdown: 'Dette er en utfyllende beskrivelse av tjenesten' },
  ],
  identifier: [{ system: 'urn:fpi:decision-id:epj', value: 'V-1' }],
  status: 'active',
  type: [{ coding: [{ system: 'http://hl7.no/fhir/ig/okt/CodeSystem/OktStayTypeCs', code: 'dagopphold' }] }, { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9151', code: '2' }] }],
  patient: { identifier: { system: FNR, value: '19779998080' } },
  managingOrganization: { reference: '#org' },
  period: { start: '2020-06-22' },
  ...changes,
});

describe('parseEpisodeOfCareInput: an OktEpisodeOfCare as the decision it states', () => {
  it("reads the guide's example: identifier, patient, 9151 code, stay type, period, extent, description, performer", () => {
    const parsed = parseEpisodeOfCareInput(example(), 'EpisodeOfCare');
    expect(parsed).toEqual({
      ok: true,
      value: {
        stated: {
          decisionId: 'V-1',
          sourceSystem: 'epj',
          patient: { system: FNR, value: '19779998080' },
          serviceCode: '2',
          stayType: 'dagopphold',
          period: { start: '2020-06-22' },
          weeklyHours: 15,
          description: 'Dette er en utfyllende beskrivelse av tjenesten',
          performer: { name: 'Sone Vest, Kjeller', orgnr: '974760673', phone: '23101675' },
          lifecycle: 'live',
        },
        paths: expect.any(Object),
      },
    });
  });

  it('maps every status: planned/active live, onhold paused (from the open statusHistory pause), finished/cancelled ended, entered-in-error', () => {
    const lifecycle = (status: string, more: Record<string, unknown> = {}) => {
      const p = parseEpisodeOfCareInput(example({ status, ...more }), 'EpisodeOfCare');
      return p.ok ? [p.value.stated.lifecycle, p.value.stated.pausedFrom] : p.issues;
    };
    expect(lifecycle('planned')).toEqual(['live', undefined]);
    expect(lifecycle('onhold', { statusHistory: [{ status: 'onhold', period: { start: '2026-03-08' } }] })).toEqual(['paused', '2026-03-08']);
    // A dateTime: its day in Norway, not the date as written.
    expect(lifecycle('onhold', { statusHistory: [{ status: 'onhold', period: { start: '2026-11-30T23:30:00Z' } }] })).toEqual(['paused', '2026-12-01']);
    expect(lifecycle('onhold', { statusHistory: [{ status: 'onhold', period: { start: '2026-12-01T00:30:00+01:00' } }] })).toEqual(['paused', '2026-12-01']);
    expect(lifecycle('finished')).toEqual(['ended', undefined]);
    expect(lifecycle('cancelled')).toEqual(['ended', undefined]);
    expect(lifecycle('entered-in-error')).toEqual(['entered-in-error', undefined]);
    expect(lifecycle('waitlist')).toEqual([expect.objectContaining({ code: 'code-invalid', expression: ['EpisodeOfCare.status'] })]);
  });

  it('reads the IG’s WeeklyExtentQuantity too, and a performer given by display and identifier', () => {
    const p = parseEpisodeOfCareInput(
      example({
        extension: [{ url: 'http://hl7.no/fhir/ig/okt/StructureDefinition/WeeklyExtentQuantity', valueQuantity: { value: 7.5 } }],
        contained: undefined,
        managingOrganization: { display: 'Hjemmetjenesten', identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '974760673' } },
      }),
      'EpisodeOfCare',
    );
    expect(p.ok && p.value.stated).toMatchObject({ weeklyHours: 7.5, performer: { name: 'Hjemmetjenesten', orgnr: '974760673' } });
  });

  it('names every element it cannot read, under the resource path it is given', () => {
    const p = parseEpisodeOfCareInput({ resourceType: 'EpisodeOfCare', status: 'active', type: [], patient: { reference: 'Patient/Example' } }, 'Bundle.entry[3].resource');
    expect(p.ok).toBe(false);
    expect(!p.ok && p.issues.map((i) => i.expression![0])).toEqual([
      'Bundle.entry[3].resource.identifier',
      'Bundle.entry[3].resource.patient.identifier',
      'Bundle.entry[3].resource.type',
      'Bundle.entry[3].resource.period.start',
    ]);
    expect(parseEpisodeOfCareInput({ resourceType: 'Patient' }, 'EpisodeOfCare')).toEqual({ ok: false, issues: [expect.objectContaining({ expression: ['EpisodeOfCare'] })] });
    expect(parseEpisodeOfCareInput('not json object', 'EpisodeOfCare').ok).toBe(false);
  });

  it('a rule broken at a report pointer is reported at the element it came from', () => {
    const p = parseEpisodeOfCareInput(example(), 'Bundle.entry[0].resource');
    if (!p.ok) throw new Error('parse');
    const at = 'Bundle.entry[0].resource';
    expect(fhirPathOf(p.value, '/service/code', at)).toBe(`${at}.type[1].coding[0].code`);
    expect(fhirPathOf(p.value, '/extent/value', at)).toBe(`${at}.extension[0].valueRatio.numerator.value`);
    expect(fhirPathOf(p.value, '/performer/orgnr', at)).toBe(`${at}.contained[0].identifier[0].value`);
    expect(fhirPathOf(p.value, '/performer/phone', at)).toBe(`${at}.contained[0].contact[0].telecom[0].value`);
    expect(fhirPathOf(p.value, '/patient/value', at)).toBe(`${at}.patient.identifier`);
    expect(fhirPathOf(p.value, '/period/end', at)).toBe(`${at}.period.end`);
    expect(fhirPathOf(p.value, '/decisionId', at)).toBe(`${at}.identifier[0].value`);
    expect(fhirPathOf(p.value, '/unknown/pointer', at)).toBe(at);
  });
});

describe('parseRequestBundle', () => {
  const entry = (i: number) => ({ fullUrl: `urn:uuid:${i}`, resource: example(), request: { method: 'PUT', url: 'EpisodeOfCare?identifier=x|V-1', ifMatch: 'W/"2"' } });

  it('reads type, Bundle.identifier (the idempotency key) and entries with their request', () => {
    const parsed = parseRequestBundle({ resourceType: 'Bundle', type: 'transaction', identifier: { system: 'urn:ietf:rfc:3986', value: 'urn:uuid:abc' }, entry: [entry(0)] });
    expect(parsed).toEqual({
      ok: true,
      value: {
        type: 'transaction',
        key: 'urn:ietf:rfc:3986|urn:uuid:abc',
        entries: [{ resource: example(), at: 'Bundle.entry[0].resource', method: 'PUT', url: 'EpisodeOfCare?identifier=x|V-1', ifMatch: 'W/"2"', key: 'urn:uuid:0' }],
      },
    });
  });

  it('refuses what is not a transaction or batch, and names bad entries', () => {
    expect(parseRequestBundle({ resourceType: 'Bundle', type: 'searchset', entry: [entry(0)] })).toEqual({ ok: false, issues: [expect.objectContaining({ expression: ['Bundle.type'] })] });
    expect(parseRequestBundle({ resourceType: 'Bundle', type: 'batch', entry: [] })).toEqual({ ok: false, issues: [expect.objectContaining({ expression: ['Bundle.entry'] })] });
    expect(parseRequestBundle([])).toEqual({ ok: false, issues: [expect.objectContaining({ expression: ['Bundle'] })] });
    const bad = parseRequestBundle({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [entry(0), { resource: example(), request: { method: 'DELETE', url: 'EpisodeOfCare/x' } }, { request: { method: 'POST' } }],
    });
    expect(!bad.ok && bad.issues.map((i) => i.expression![0])).toEqual(['Bundle.entry[1].request.method', 'Bundle.entry[2].request.url', 'Bundle.entry[2].resource']);
  });
});

describe('history parameters and version ETags', () => {
  it('the type-level history needs the patient; _since is an instant with its zone; unknown parameters are refused', () => {
    expect(parseEpisodeOfCareHistory({ 'patient.identifier': `${FNR}|19779998080`, _since: '2026-01-01T00:00:00+01:00' })).toEqual({
      ok: true,
      query: { patient: { system: FNR, value: '19779998080' }, since: '2026-01-01T00:00:00+01:00', count: 100 },
    });
    const bad = parseEpisodeOfCareHistory({ 'patient.identifier': `${FNR}|19779998080`, _since: '2026-01-01', _at: 'x', _count: '0' });
    expect(!bad.ok && bad.issues.map((i) => i.expression![0]).sort()).toEqual(['_at', '_count', '_since']);
    expect(parseEpisodeOfCareHistory({}).ok).toBe(false);
  });

  it('W/"n" names version n; anything else names none', () => {
    expect(versionETag(3)).toBe('W/"3"');
    expect([parseVersionETag('W/"3"'), parseVersionETag('"3"'), parseVersionETag('3')]).toEqual([3, 3, 3]);
    expect([parseVersionETag('W/"0"'), parseVersionETag('*'), parseVersionETag('W/"a"'), parseVersionETag(undefined)]).toEqual([undefined, undefined, undefined, undefined]);
  });
});

describe('text that cannot be stored is refused where it stands, before any id is derived from it', () => {
  const LONE = '\ud800';
  it('in a resource: an unpaired surrogate in the decision id, a NUL in the description, each at its FHIRPath', () => {
    const parsed = parseEpisodeOfCareInput(example({ identifier: [{ system: 'urn:fpi:decision-id:epj', value: LONE }] }), 'EpisodeOfCare');
    expect(parsed).toEqual({ ok: false, issues: [{ code: 'invalid', diagnostics: expect.stringMatching(/^unpaired-surrogate: /), expression: ['EpisodeOfCare.identifier[0].value'] }] });
    const nul = example();
    (nul.extension[1] as { valueMarkdown: string }).valueMarkdown = 'a\u0000b';
    expect(parseEpisodeOfCareInput(nul, 'Bundle.entry[2].resource')).toEqual({
      ok: false,
      issues: [{ code: 'invalid', diagnostics: expect.stringMatching(/^no-control-characters: /), expression: ['Bundle.entry[2].resource.extension[1].valueMarkdown'] }],
    });
  });
  it("in a Bundle: its identifier (the idempotency key) and an entry's resource, named from the Bundle", () => {
    const entry = { fullUrl: 'urn:uuid:1', resource: example({ identifier: [{ system: 'urn:fpi:decision-id:epj', value: LONE }] }), request: { method: 'POST', url: 'EpisodeOfCare' } };
    expect(parseRequestBundle({ resourceType: 'Bundle', type: 'transaction', identifier: { value: `k${LONE}` }, entry: [entry] })).toEqual({
      ok: false,
      issues: [expect.objectContaining({ expression: ['Bundle.identifier.value'] }), expect.objectContaining({ expression: ['Bundle.entry[0].resource.identifier[0].value'] })],
    });
  });
});
