import { capabilityStatement } from './capability-statement.js';
import { validateR4Resource } from './testing/validate.js';

const statement = capabilityStatement({ baseUrl: 'https://fpi.example.no/fhir/', softwareVersion: '0.1.0', date: '2025-03-01' });

describe('capabilityStatement', () => {
  it('is a valid R4 CapabilityStatement', () => {
    expect(validateR4Resource(statement)).toEqual({ valid: true, errors: [] });
  });

  it('describes a JSON-only FHIR 4.0.1 server instance', () => {
    expect(statement).toMatchObject({
      resourceType: 'CapabilityStatement',
      status: 'active',
      date: '2025-03-01',
      kind: 'instance',
      fhirVersion: '4.0.1',
      format: ['json'],
      software: { name: 'fpi-platform', version: '0.1.0' },
      implementation: { url: 'https://fpi.example.no/fhir' },
    });
    expect(statement.rest).toHaveLength(1);
    expect(statement.rest?.[0]?.mode).toBe('server');
  });

  it('offers EpisodeOfCare with the OKT profile: reads, versions and writes; transaction and batch', () => {
    const resource = statement.rest?.[0]?.resource;
    expect(resource?.map((r) => r.type)).toEqual(['EpisodeOfCare', 'Subscription']);
    expect(resource?.[0]?.profile).toBe('http://hl7.no/fhir/ig/okt/StructureDefinition/OktEpisodeOfCare');
    expect(resource?.[0]?.interaction?.map((i) => i.code)).toEqual(['read', 'search-type', 'vread', 'history-instance', 'history-type', 'create', 'update']);
    expect(resource?.[0]).toMatchObject({ versioning: 'versioned-update', readHistory: true, conditionalUpdate: true, conditionalCreate: true });
    expect(statement.rest?.[0]?.interaction?.map((i) => i.code)).toEqual(['transaction', 'batch']);
  });

  it('lists the search parameters with their types', () => {
    const params = statement.rest?.[0]?.resource?.[0]?.searchParam?.map((p) => [p.name, p.type]);
    expect(params).toEqual([
      ['patient', 'reference'],
      ['status', 'token'],
      ['type', 'token'],
      ['date', 'date'],
      ['_count', 'number'],
      ['_summary', 'token'],
      ['_cursor', 'string'],
    ]);
    const patient = statement.rest?.[0]?.resource?.[0]?.searchParam?.[0];
    expect(patient?.documentation).toContain('patient.identifier');
    expect(patient?.documentation).toContain('patient:identifier');
  });

  it('documents the POST _search form', () => {
    expect(statement.rest?.[0]?.documentation).toContain('POST [base]/EpisodeOfCare/_search');
  });

  it('takes the software name and security text when given', () => {
    const custom = capabilityStatement({ baseUrl: 'https://x', softwareVersion: '1', date: '2025-03-01T10:00:00+01:00', softwareName: 'fpi', securityDescription: 'DPoP-bound HelseID tokens' });
    expect(custom.software?.name).toBe('fpi');
    expect(custom.rest?.[0]?.security?.description).toBe('DPoP-bound HelseID tokens');
    expect(validateR4Resource(custom).valid).toBe(true);
  });
});
