import { countBundle, episodeOfCareUrl, searchsetBundle } from './bundle.js';
import { toEpisodeOfCare } from './episode-of-care.js';
import { PATIENT, TENANT, overviewEntry } from './testing/fixtures.js';
import { validateR4Resource } from './testing/validate.js';

const BASE = 'https://fpi.example.no/fhir';
const resources = ['a', 'b'].map((decisionId) => toEpisodeOfCare(overviewEntry({ decisionId, performer: { name: 'Sone vest', phone: '22000000' } }), PATIENT, { tenant: TENANT }));

describe('searchsetBundle', () => {
  it('wraps the page as match entries with full URLs, total and links', () => {
    const bundle = searchsetBundle({ entries: resources, total: 7, baseUrl: `${BASE}/`, selfUrl: `${BASE}/EpisodeOfCare?_count=2`, nextUrl: `${BASE}/EpisodeOfCare?_count=2&_cursor=gerica.0b` });
    expect(bundle).toEqual({
      resourceType: 'Bundle',
      type: 'searchset',
      total: 7,
      link: [
        { relation: 'self', url: `${BASE}/EpisodeOfCare?_count=2` },
        { relation: 'next', url: `${BASE}/EpisodeOfCare?_count=2&_cursor=gerica.0b` },
      ],
      entry: [
        { fullUrl: `${BASE}/EpisodeOfCare/gerica.0a`, resource: resources[0], search: { mode: 'match' } },
        { fullUrl: `${BASE}/EpisodeOfCare/gerica.0b`, resource: resources[1], search: { mode: 'match' } },
      ],
    });
    expect(validateR4Resource(bundle)).toEqual({ valid: true, errors: [] });
  });

  it('has no next link on the last page and no entry array when empty', () => {
    const bundle = searchsetBundle({ entries: [], total: 0, baseUrl: BASE, selfUrl: `${BASE}/EpisodeOfCare`, timestamp: '2025-03-01T12:00:00Z' });
    expect(bundle.link).toEqual([{ relation: 'self', url: `${BASE}/EpisodeOfCare` }]);
    expect(bundle.entry).toBeUndefined();
    expect(bundle.timestamp).toBe('2025-03-01T12:00:00Z');
    expect(validateR4Resource(bundle)).toEqual({ valid: true, errors: [] });
  });

  it('builds resource URLs from the base', () => {
    expect(episodeOfCareUrl(`${BASE}//`, 'x.0y')).toBe(`${BASE}/EpisodeOfCare/x.0y`);
  });
});

describe('countBundle', () => {
  it('answers _summary=count with the total only', () => {
    expect(countBundle(3)).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 3 });
    expect(countBundle(0, `${BASE}/EpisodeOfCare?_summary=count`).link).toEqual([{ relation: 'self', url: `${BASE}/EpisodeOfCare?_summary=count` }]);
    expect(validateR4Resource(countBundle(3)).valid).toBe(true);
    expect(validateR4Resource(countBundle(0, `${BASE}/EpisodeOfCare?_summary=count`)).valid).toBe(true);
  });

  it('is invalid with a made-up bundle type (the validator checks Bundle too)', () => {
    expect(validateR4Resource({ ...countBundle(3), type: 'search-set' }).valid).toBe(false);
  });
});
