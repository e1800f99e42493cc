import { fodselsnummerCheckDigits, syntheticFodselsnummer, type ServiceOverviewEntry } from '#libs/domain';
import { episodeOfCareId } from './episode-of-care-id.js';
import {
  DEFAULT_COUNT,
  dateRange,
  fhirStatus,
  matchesSearch,
  parseEpisodeOfCareSearch,
  periodMatchesDate,
  searchPage,
  searchQueryString,
  type DatePrefix,
  type EpisodeOfCareQuery,
  type SearchIssue,
  type SearchParams,
} from './search-params.js';
import { PID, overviewEntry } from './testing/fixtures.js';
import { mergeSearchParams } from './search-params.js';

const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const DNR = 'urn:oid:2.16.578.1.12.4.1.4.2';
const FHN = 'urn:oid:2.16.578.1.12.4.1.4.3';
const S9151 = 'urn:oid:2.16.578.1.12.4.1.1.9151';
const STAY = 'http://hl7.no/fhir/ig/okt/CodeSystem/OktStayTypeCs';
/** A synthetic D-number and a made-up felles hjelpenummer. */
const DNR_PID = syntheticFodselsnummer({ birthDate: { year: 1999, month: 12, day: 19 }, offset: 65, individual: 123, dNumber: true })!;
const FHN_PID = '812345678' + fodselsnummerCheckDigits('812345678')!;
const PATIENT_PARAM = { 'patient.identifier': `${FNR}|${PID}` };

function parse(params: SearchParams): EpisodeOfCareQuery {
  const result = parseEpisodeOfCareSearch(params);
  if (!result.ok) throw new Error(`unexpected issues: ${JSON.stringify(result.issues)}`);
  return result.query;
}

function issuesOf(params: SearchParams): SearchIssue[] {
  const result = parseEpisodeOfCareSearch(params);
  if (result.ok) throw new Error('expected issues');
  return result.issues;
}

function expectIssue(params: SearchParams, expected: { code?: string; expression: string; diagnostics?: RegExp }) {
  const issues = issuesOf(params);
  expect(issues).toContainEqual(
    expect.objectContaining({
      ...(expected.code ? { code: expected.code } : {}),
      expression: [expected.expression],
      ...(expected.diagnostics ? { diagnostics: expect.stringMatching(expected.diagnostics) } : {}),
    }),
  );
}

describe('parseEpisodeOfCareSearch: patient', () => {
  it('takes patient.identifier and applies defaults', () => {
    expect(parse(PATIENT_PARAM)).toEqual({ patient: { system: FNR, value: PID }, count: DEFAULT_COUNT });
    expect(DEFAULT_COUNT).toBe(20);
  });

  it('takes the patient:identifier modifier form too', () => {
    expect(parse({ 'patient:identifier': `${FNR}|${PID}` }).patient).toEqual({ system: FNR, value: PID });
  });

  it.each([
    [FNR, PID],
    [DNR, DNR_PID],
    [FHN, FHN_PID],
  ])('accepts the person identifier system %s with a number of its kind', (system, value) => {
    expect(parse({ 'patient.identifier': `${system}|${value}` }).patient).toEqual({ system, value });
  });

  it('requires the patient (an empty value counts as missing)', () => {
    expect(issuesOf({})).toEqual([{ code: 'required', diagnostics: expect.stringContaining('required'), expression: ['patient.identifier'] }]);
    expect(issuesOf({ 'patient.identifier': '' })[0]?.code).toBe('required');
    expect(issuesOf({ status: 'active' }).map((i) => i.code)).toEqual(['required']);
  });

  it('takes exactly one identifier', () => {
    expectIssue({ 'patient.identifier': [`${FNR}|${PID}`, `${FNR}|${PID}`] }, { code: 'invalid', expression: 'patient.identifier', diagnostics: /exactly one/ });
    expect(issuesOf({ 'patient.identifier': `${FNR}|${PID}`, 'patient:identifier': `${FNR}|${PID}` })[0]?.expression).toEqual(['patient.identifier', 'patient:identifier']);
    expectIssue({ 'patient.identifier': `${FNR}|${PID},${FNR}|${PID}` }, { code: 'invalid', expression: 'patient.identifier', diagnostics: /not a list/ });
  });

  it.each([
    ['no system', PID, /system\|value/],
    ['an organisation number system', `urn:oid:2.16.578.1.12.4.1.4.101|${PID}`, /system must be one of/],
    ['the non-preferred FNR URI', `http://hl7.no/fhir/NamingSystem/FNR|${PID}`, /system must be one of/],
    ['10 digits', `${FNR}|${PID.slice(1)}`, /11 digits/],
    ['letters', `${FNR}|1371740408X`, /11 digits/],
    ['an empty value', `${FNR}|`, /11 digits/],
    ['a padded value', `${FNR}| ${PID}`, /not-canonical/],
    ['a percent-encoded space before the value', `${FNR}|%20${PID}`, /not-canonical/],
    ['a fødselsnummer under the D-number system', `${DNR}|${PID}`, /fnr-expected/],
    ['a D-number under the fødselsnummer system', `${FNR}|${DNR_PID}`, /dnr-expected/],
    ['a fødselsnummer under the FHN system', `${FHN}|${PID}`, /fhn-first-digit/],
  ])('rejects %s without echoing the identifier', (_label, value, diagnostics) => {
    const issues = issuesOf({ 'patient.identifier': value });
    expect(issues).toContainEqual({ code: 'invalid', diagnostics: expect.stringMatching(diagnostics), expression: ['patient.identifier'] });
    for (const issue of issues) expect(issue.diagnostics).not.toContain('1371740408');
  });

  it('rejects a plain patient reference with a hint to use the identifier', () => {
    expectIssue({ ...PATIENT_PARAM, patient: PID }, { code: 'not-supported', expression: 'patient', diagnostics: /patient\.identifier=system\|value/ });
    expectIssue({ ...PATIENT_PARAM, 'patient.name': 'x' }, { code: 'not-supported', expression: 'patient.name', diagnostics: /patient\.identifier/ });
  });
});

describe('parseEpisodeOfCareSearch: strictness', () => {
  it.each(['foo', '_sort', 'identifier', 'organization', '_include'])('rejects the unknown parameter %s', (name) => {
    expectIssue({ ...PATIENT_PARAM, [name]: 'x' }, { code: 'not-supported', expression: name, diagnostics: new RegExp(`Unknown search parameter '${name}'`) });
  });

  it.each(['status:not', 'type:text', 'date:missing'])('rejects the modifier %s', (name) => {
    expectIssue({ ...PATIENT_PARAM, [name]: 'x' }, { code: 'not-supported', expression: name, diagnostics: /not supported/ });
  });

  it('lists every problem at once', () => {
    const issues = issuesOf({ foo: '1', status: 'on-hold', _count: '101', date: 'ne2025' });
    expect(issues.map((i) => i.expression[0]).sort()).toEqual(['_count', 'date', 'foo', 'patient.identifier', 'status']);
  });

  // Found by Schemathesis: `date=x%0Ay` answered 500 (a `.` in the date pattern matched no newline,
  // and the missing match was dereferenced). Every parameter, every line or control character:
  // an issue naming the parameter, never a throw.
  // `_format` is no search criterion: content negotiation answers it (406, formats.spec.ts).
  const PARAMETERS = ['patient.identifier', 'patient:identifier', 'status', 'type', 'date', '_count', '_cursor', '_summary'];
  const AWKWARD = ['x\ny', '\n', 'ge2025\n', '2025-01-01\r\n', 'eq\u20282025', '\u0000', '\t', '\u0085'];
  it.each(PARAMETERS.flatMap((name) => AWKWARD.map((value) => [name, value] as const)))('refuses %s=%j with an issue, never a throw', (name, value) => {
    const params = { ...(name.startsWith('patient') ? {} : PATIENT_PARAM), [name]: value };
    const result = parseEpisodeOfCareSearch(params);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.expression[0])).toContain(name);
  });

  it('ignores empty values of optional parameters and undefined entries', () => {
    expect(parse({ ...PATIENT_PARAM, status: '', type: [], date: '', _count: '', other: undefined } as SearchParams)).toEqual(parse(PATIENT_PARAM));
  });
});

describe('parseEpisodeOfCareSearch: status', () => {
  it('takes one code, a comma list (OR) and repeats (AND)', () => {
    expect(parse({ ...PATIENT_PARAM, status: 'active' }).status).toEqual([['active']]);
    expect(parse({ ...PATIENT_PARAM, status: 'active,onhold,active' }).status).toEqual([['active', 'onhold']]);
    expect(parse({ ...PATIENT_PARAM, status: ['active,onhold', 'onhold'] }).status).toEqual([['active', 'onhold'], ['onhold']]);
  });

  it.each(['planned', 'waitlist', 'active', 'onhold', 'finished', 'cancelled', 'entered-in-error'])('accepts the R4 code %s', (code) => {
    expect(parse({ ...PATIENT_PARAM, status: code }).status).toEqual([[code]]);
  });

  it("rejects 'on-hold' with a pointer to 'onhold'", () => {
    expectIssue({ ...PATIENT_PARAM, status: 'active,on-hold' }, { code: 'invalid', expression: 'status', diagnostics: /'onhold'/ });
  });

  it.each(['paused', 'ended', 'ACTIVE', ' active'])('rejects the non-R4 code %j', (code) => {
    expectIssue({ ...PATIENT_PARAM, status: code }, { code: 'invalid', expression: 'status', diagnostics: /Unknown status/ });
  });
});

describe('parseEpisodeOfCareSearch: type', () => {
  it.each([
    ['15', [[{ system: S9151, code: '15' }]]],
    ['015', [[{ system: S9151, code: '15' }]]],
    [`${S9151}|05`, [[{ system: S9151, code: '5' }]]],
    ['https://finnkode.helsedirektoratet.no/adm/collections/9151|6', [[{ system: S9151, code: '6' }]]],
    [`${STAY}|korttidsopphold`, [[{ system: STAY, code: 'korttidsopphold' }]]],
    ['dagopphold', [[{ system: STAY, code: 'dagopphold' }]]],
    [
      `15,${S9151}|17`,
      [
        [
          { system: S9151, code: '15' },
          { system: S9151, code: '17' },
        ],
      ],
    ],
  ])('canonicalises %s', (value, expected) => {
    expect(parse({ ...PATIENT_PARAM, type: value }).type).toEqual(expected);
  });

  it('keeps repeated parameters as AND groups', () => {
    expect(parse({ ...PATIENT_PARAM, type: ['17', 'dagopphold'] }).type).toEqual([[{ system: S9151, code: '17' }], [{ system: STAY, code: 'dagopphold' }]]);
  });

  it.each([
    ['an unknown 9151 code', '10', /unknown service type code/],
    ['an unknown 9151 code with system', `${S9151}|30`, /unknown service type code/],
    ['a code without system', '|15', /without a system/],
    ['a missing code', `${S9151}|`, /code is missing/],
    ['another system', 'urn:oid:2.16.578.1.12.4.1.1.8655|15', /unsupported system/],
    ['an unknown stay type', `${STAY}|helgeopphold`, /unknown stay type/],
    ['free text', 'hjemmesykepleie', /unknown service type code/],
  ])('rejects %s', (_label, value, diagnostics) => {
    expectIssue({ ...PATIENT_PARAM, type: value }, { code: 'invalid', expression: 'type', diagnostics });
  });
});

describe('parseEpisodeOfCareSearch: date', () => {
  it('defaults the prefix to eq', () => {
    expect(parse({ ...PATIENT_PARAM, date: '2025-03-01' }).date).toEqual([{ prefix: 'eq', value: '2025-03-01', low: '2025-03-01', high: '2025-03-01' }]);
  });

  it.each(['eq', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'])('takes the prefix %s', (prefix) => {
    expect(parse({ ...PATIENT_PARAM, date: `${prefix}2025-03-01` }).date?.[0]?.prefix).toBe(prefix);
  });

  it('takes two values (AND)', () => {
    expect(parse({ ...PATIENT_PARAM, date: ['ge2025-01-01', 'le2025-12-31'] }).date?.map((d) => d.prefix)).toEqual(['ge', 'le']);
  });

  it('expands year and month precision to day ranges (leap years included)', () => {
    expect(dateRange('2025')).toEqual({ low: '2025-01-01', high: '2025-12-31' });
    expect(dateRange('2024-02')).toEqual({ low: '2024-02-01', high: '2024-02-29' });
    expect(dateRange('2025-02')).toEqual({ low: '2025-02-01', high: '2025-02-28' });
    expect(dateRange('2024-02-29')).toEqual({ low: '2024-02-29', high: '2024-02-29' });
  });

  it.each([
    ['three values', ['ge2025', 'le2026', 'ne2025'], 'invalid', /at most twice/],
    ['a list', 'ge2025-01-01,le2025-12-31', 'not-supported', /list of dates/],
    ['the prefix ne', 'ne2025-01-01', 'not-supported', /'ne' is not supported/],
    ['the prefix ap', 'ap2025-01-01', 'not-supported', /'ap' is not supported/],
    ['an unknown prefix', 'xx2025-01-01', 'invalid', /unknown prefix 'xx'/],
    ['a time', 'ge2025-01-01T10:00:00Z', 'not-supported', /times are not supported/],
    ['February 30', '2025-02-30', 'invalid', /not a valid date/],
    ['a 2025 that is not a leap year', '2025-02-29', 'invalid', /not a valid date/],
    ['month 13', '2025-13', 'invalid', /not a valid date/],
    ['a two-digit year', '25-01-01', 'invalid', /not a valid date/],
    ['a Norwegian date', '01.03.2025', 'invalid', /not a valid date/],
  ])('rejects %s', (_label, value, code, diagnostics) => {
    expectIssue({ ...PATIENT_PARAM, date: value }, { code, expression: 'date', diagnostics });
  });
});

describe('parseEpisodeOfCareSearch: _count, _cursor, _summary, _format', () => {
  it.each([
    ['1', 1],
    ['100', 100],
    ['020', 20],
  ])('takes _count=%s', (value, count) => {
    expect(parse({ ...PATIENT_PARAM, _count: value }).count).toBe(count);
  });

  it.each(['101', 'abc', '1.5', '-1', '1e2'])('rejects _count=%s', (value) => {
    expectIssue({ ...PATIENT_PARAM, _count: value }, { code: 'invalid', expression: '_count', diagnostics: /0 to 100/ });
  });

  it('takes _count=0: a page without entries, the total of all matches, no next cursor', () => {
    const query = parse({ ...PATIENT_PARAM, _count: '0' });
    expect(query.count).toBe(0);
    const page = searchPage([overviewEntry({ decisionId: 'A' }), overviewEntry({ decisionId: 'B' })], query);
    expect(page).toEqual({ entries: [], total: 2 });
  });

  it('rejects a repeated _count', () => {
    expectIssue({ ...PATIENT_PARAM, _count: ['10', '20'] }, { code: 'invalid', expression: '_count', diagnostics: /only once/ });
  });

  it('takes a cursor (an id, lower-cased) and rejects anything else', () => {
    expect(parse({ ...PATIENT_PARAM, _cursor: 'Gerica.0V-1' }).cursor).toBe('gerica.0v-1');
    expectIssue({ ...PATIENT_PARAM, _cursor: 'a_b' }, { code: 'invalid', expression: '_cursor' });
    expectIssue({ ...PATIENT_PARAM, _cursor: 'a'.repeat(65) }, { code: 'invalid', expression: '_cursor' });
  });

  it('takes _summary=count and _summary=false, nothing else', () => {
    expect(parse({ ...PATIENT_PARAM, _summary: 'count' }).summary).toBe('count');
    expect(parse({ ...PATIENT_PARAM, _summary: 'false' }).summary).toBeUndefined();
    expectIssue({ ...PATIENT_PARAM, _summary: 'true' }, { code: 'not-supported', expression: '_summary' });
    expectIssue({ ...PATIENT_PARAM, _summary: 'data' }, { code: 'not-supported', expression: '_summary' });
  });

  it('leaves _format to content negotiation (fhirFormatOutcome): it is no search criterion', () => {
    for (const f of ['json', 'application/json', 'application/fhir+json', 'xml']) expect(parse({ ...PATIENT_PARAM, _format: f })).toEqual(parse(PATIENT_PARAM));
  });
});

describe('periodMatchesDate (R4 prefix semantics for a Period)', () => {
  const PERIODS = {
    closed: { start: '2025-01-01', end: '2025-06-30' },
    open: { start: '2025-01-01' },
    oneDay: { start: '2025-03-01', end: '2025-03-01' },
    endsOnTheDay: { start: '2024-06-01', end: '2025-03-01' },
    startsLaterOpen: { start: '2025-07-01' },
    before: { start: '2024-01-01', end: '2024-12-31' },
  } as const;
  type Name = keyof typeof PERIODS;
  const at = (prefix: DatePrefix, value: string) => ({ prefix, ...dateRange(value)! });

  // Which periods each prefix selects for the day 2025-03-01.
  const DAY: Record<DatePrefix, Name[]> = {
    eq: ['oneDay'],
    gt: ['closed', 'open', 'startsLaterOpen'],
    lt: ['closed', 'open', 'endsOnTheDay', 'before'],
    ge: ['closed', 'open', 'oneDay', 'startsLaterOpen'],
    le: ['closed', 'open', 'oneDay', 'endsOnTheDay', 'before'],
    sa: ['startsLaterOpen'],
    eb: ['before'],
  };

  it.each(Object.entries(DAY) as [DatePrefix, Name[]][])('%s2025-03-01 selects %j', (prefix, expected) => {
    const selected = (Object.keys(PERIODS) as Name[]).filter((name) => periodMatchesDate(PERIODS[name], at(prefix, '2025-03-01')));
    expect(selected).toEqual(expected);
  });

  it('uses the whole month or year for coarser precision', () => {
    const select = (prefix: DatePrefix, value: string) => (Object.keys(PERIODS) as Name[]).filter((name) => periodMatchesDate(PERIODS[name], at(prefix, value)));
    expect(select('eq', '2025-03')).toEqual(['oneDay']);
    expect(select('eq', '2025')).toEqual(['closed', 'oneDay']);
    expect(select('gt', '2025')).toEqual(['open', 'startsLaterOpen']);
    expect(select('sa', '2024')).toEqual(['closed', 'open', 'oneDay', 'startsLaterOpen']);
    expect(select('eb', '2025')).toEqual(['before']);
    expect(select('sa', '2025')).toEqual([]);
  });

  it('treats an open end as ongoing and a missing start as unbounded', () => {
    expect(periodMatchesDate({ start: '2020-01-01' }, at('gt', '2999-12-31'))).toBe(true);
    expect(periodMatchesDate({ start: '2020-01-01' }, at('eb', '2999-12-31'))).toBe(false);
    expect(periodMatchesDate({ end: '2020-01-01' }, at('lt', '1900-01-01'))).toBe(true);
    expect(periodMatchesDate({ end: '2020-01-01' }, at('sa', '1900'))).toBe(false);
    expect(periodMatchesDate({}, at('eq', '2025'))).toBe(false);
  });

  it('compares at day precision when the period carries times', () => {
    expect(periodMatchesDate({ start: '2025-03-01T10:00:00Z', end: '2025-03-01T12:00:00Z' }, at('eq', '2025-03-01'))).toBe(true);
  });
});

describe('matchesSearch', () => {
  const active = overviewEntry({ decisionId: 'a', status: 'active' });
  const paused = overviewEntry({ decisionId: 'p', status: 'paused', pausedFrom: '2025-02-01' });
  const stay = overviewEntry({
    decisionId: 's',
    status: 'planned',
    service: { ...overviewEntry().service, code: '18', display: 'Tidsbegrenset opphold - utredning/behandling' },
    stayType: 'korttidsopphold',
    period: { start: '2030-01-01', end: '2030-01-14' },
  });
  const all = [active, paused, stay];
  const select = (params: SearchParams) => all.filter((e) => matchesSearch(e, parse({ ...PATIENT_PARAM, ...params }))).map((e) => e.decisionId);

  it('matches everything without criteria', () => {
    expect(select({})).toEqual(['a', 'p', 's']);
  });

  it('matches status by the FHIR code (OR within, AND across parameters)', () => {
    expect(select({ status: 'onhold' })).toEqual(['p']);
    expect(select({ status: 'active,planned' })).toEqual(['a', 's']);
    expect(select({ status: ['active,onhold', 'onhold'] })).toEqual(['p']);
    expect(select({ status: ['active', 'onhold'] })).toEqual([]);
    expect(fhirStatus(paused.status)).toBe('onhold');
  });

  it('matches type by 9151 code (padding ignored) and by stay type', () => {
    expect(select({ type: '015' })).toEqual(['a', 'p']);
    expect(select({ type: `${S9151}|18` })).toEqual(['s']);
    expect(select({ type: 'korttidsopphold' })).toEqual(['s']);
    expect(select({ type: ['18', `${STAY}|korttidsopphold`] })).toEqual(['s']);
    expect(select({ type: ['15', 'korttidsopphold'] })).toEqual([]);
  });

  it('matches dates against the period and combines all criteria', () => {
    expect(select({ date: 'sa2029' })).toEqual(['s']);
    expect(select({ date: ['ge2025-06-01', 'le2025-06-30'] })).toEqual(['a', 'p']);
    expect(select({ date: 'eq2030-01', status: 'planned', type: '18' })).toEqual(['s']);
  });

  it('matches the period as the resource shows it (an end before the start is dropped)', () => {
    const withdrawn = overviewEntry({ status: 'cancelled', period: { start: '2030-01-01', end: '2029-12-01' } });
    expect(matchesSearch(withdrawn, parse({ ...PATIENT_PARAM, date: 'gt2031' }))).toBe(true);
  });
});

describe('searchPage and searchQueryString', () => {
  const entries: ServiceOverviewEntry[] = ['e', 'b', 'd', 'a', 'c'].map((decisionId) => overviewEntry({ decisionId }));
  const idOf = (e: ServiceOverviewEntry) => episodeOfCareId(e.sourceSystem, e.decisionId);

  it('orders by id and pages with a cursor', () => {
    const query = parse({ ...PATIENT_PARAM, _count: '2' });
    const first = searchPage(entries, query);
    expect(first.entries.map((e) => e.decisionId)).toEqual(['a', 'b']);
    expect(first.total).toBe(5);
    expect(first.nextCursor).toBe(episodeOfCareId('gerica', 'b'));
    const second = searchPage(entries, { ...query, cursor: first.nextCursor! });
    expect(second.entries.map((e) => e.decisionId)).toEqual(['c', 'd']);
    const third = searchPage(entries, { ...query, cursor: second.nextCursor! });
    expect(third.entries.map((e) => e.decisionId)).toEqual(['e']);
    expect(third.nextCursor).toBeUndefined();
    expect(third.total).toBe(5);
  });

  it('neither repeats nor skips when decisions are added or removed between pages', () => {
    const query = parse({ ...PATIENT_PARAM, _count: '2' });
    const first = searchPage(entries, query);
    const changed = [...entries.filter((e) => e.decisionId !== 'a'), overviewEntry({ decisionId: 'aa' }), overviewEntry({ decisionId: 'f' })];
    const rest = searchPage(changed, { ...query, count: 100, cursor: first.nextCursor! });
    expect(rest.entries.map((e) => e.decisionId)).toEqual(['c', 'd', 'e', 'f']);
  });

  it('has no next cursor when everything fits, and counts only matches', () => {
    const page = searchPage([...entries, overviewEntry({ decisionId: 'z', status: 'ended' })], parse({ ...PATIENT_PARAM, status: 'active' }));
    expect(page.entries).toHaveLength(5);
    expect(page.total).toBe(5);
    expect(page.nextCursor).toBeUndefined();
    expect(searchPage([], parse(PATIENT_PARAM))).toEqual({ entries: [], total: 0 });
  });

  it('cursors are ids of the entries', () => {
    const page = searchPage(entries, parse({ ...PATIENT_PARAM, _count: '1' }));
    expect(page.nextCursor).toBe(idOf(page.entries[0]!));
  });

  it('writes the query canonically so that it parses back to the same query', () => {
    const query = parse({
      'patient:identifier': `${DNR}|${DNR_PID}`,
      status: ['active,onhold', 'onhold'],
      type: ['015', 'dagopphold'],
      date: ['ge2025', 'le2025-06'],
      _count: '5',
      _summary: 'count',
    });
    const text = searchQueryString(query, { cursor: 'gerica.0b' });
    const params: Record<string, string[]> = {};
    for (const [k, v] of new URLSearchParams(text)) (params[k] ??= []).push(v);
    expect(params['patient.identifier']).toEqual([`${DNR}|${DNR_PID}`]);
    expect(params['type']).toEqual([`${S9151}|15`, `${STAY}|dagopphold`]);
    expect(parse(params)).toEqual({ ...query, cursor: 'gerica.0b' });
    expect(searchQueryString({ ...query, cursor: 'x' }, { cursor: null })).not.toContain('_cursor');
    expect(searchQueryString({ ...query, cursor: 'x' })).toContain('_cursor=x');
  });
});

describe('mergeSearchParams: POST _search takes the URL and the body together', () => {
  it('combines a parameter given in both as if it were repeated', () => {
    const merged = mergeSearchParams({ date: 'ge2026-01-01', ...PATIENT_PARAM }, { date: 'le2026-06-30' });
    expect(merged).toEqual({ date: ['ge2026-01-01', 'le2026-06-30'], ...PATIENT_PARAM });
    expect(parse(merged).date!.map((d) => `${d.prefix}${d.value}`)).toEqual(['ge2026-01-01', 'le2026-06-30']);
  });

  it('keeps repeats of either side and names given once', () => {
    expect(mergeSearchParams({ status: ['active', 'onhold'] }, { status: 'active', _count: '5' })).toEqual({ status: ['active', 'onhold', 'active'], _count: '5' });
    expect(mergeSearchParams({}, PATIENT_PARAM)).toEqual(PATIENT_PARAM);
  });

  it('makes a single-valued parameter given in both places an error, not a silent choice', () => {
    expectIssue(mergeSearchParams({ ...PATIENT_PARAM, _count: '10' }, { _count: '20' }), { code: 'invalid', expression: '_count', diagnostics: /only once/ });
  });
});
