import { maskPersonIds, serializeRequest } from './log-redaction.js';

describe('access-log redaction', () => {
  it('masks 11-digit person identifiers in paths, not shorter or longer numbers', () => {
    expect(maskPersonIds('/okt-events/13717404089')).toBe('/okt-events/***********');
    expect(maskPersonIds('/okt-status/13717404089/x')).toBe('/okt-status/***********/x');
    expect(maskPersonIds('/orgs/974760673')).toBe('/orgs/974760673');
    expect(maskPersonIds('/x/123456789012')).toBe('/x/123456789012');
  });

  it('drops the query string, which may carry a FHIR patient search', () => {
    const out = serializeRequest({ method: 'GET', url: '/fhir/EpisodeOfCare?patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|13717404089' });
    expect(out.url).toBe('/fhir/EpisodeOfCare');
    expect(JSON.stringify(out)).not.toContain('13717404089');
  });
});
