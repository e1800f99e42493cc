import type { OverviewDecision } from '#libs/domain';
import { episodeOfCareVersion, historyBundle, responseBundle } from './episode-of-care-version.js';
import { PATIENT, TENANT } from './testing/fixtures.js';
import { validateR4Resource } from './testing/validate.js';

const BASE = 'https://fpi.example.no/fhir';
const decision = (d: Partial<OverviewDecision> = {}): OverviewDecision => ({
  decisionId: 'V-1',
  sourceSystem: 'epj',
  serviceCode: '2',
  period: { start: '2026-03-01', end: '2026-03-31' },
  weeklyHours: 15,
  performer: { orgnr: '974760673', name: 'Sone Vest', phone: '23101675' },
  lifecycle: 'granted',
  lastOccurredAt: '2026-02-20T10:00:00+01:00',
  lastRecordedAt: '2026-02-20T09:00:01.123Z',
  position: 1,
  ...d,
});

describe('episodeOfCareVersion: the EpisodeOfCare as of one version', () => {
  it('carries the version (stream position) and the instant it was recorded; valid R4 in the OKT profile', () => {
    const v = episodeOfCareVersion(decision(), PATIENT, { tenant: TENANT });
    expect(v.meta).toMatchObject({ versionId: '1', lastUpdated: '2026-02-20T09:00:01.123Z' });
    expect(validateR4Resource(v)).toEqual({ valid: true, errors: [] });
  });

  it('shows the statuses of the day it was recorded, not of today: planned before the start, then never changes', () => {
    expect(episodeOfCareVersion(decision(), PATIENT, { tenant: TENANT }).status).toBe('planned');
    // Recorded 23:30 UTC on 28 February is 1 March in Norway: the service had started.
    expect(episodeOfCareVersion(decision({ lastRecordedAt: '2026-02-28T23:30:00Z' }), PATIENT, { tenant: TENANT }).status).toBe('active');
    expect(episodeOfCareVersion(decision({ lifecycle: 'paused', pausedFrom: '2026-03-05', lastRecordedAt: '2026-03-05T08:00:00Z', position: 2 }), PATIENT, { tenant: TENANT })).toMatchObject({
      status: 'onhold',
      meta: { versionId: '2' },
      statusHistory: [{ status: 'onhold', period: { start: '2026-03-05' } }],
    });
  });

  it('a version entered in error has that status (and is still valid FHIR)', () => {
    const v = episodeOfCareVersion(decision({ lifecycle: 'entered-in-error', position: 3 }), PATIENT, { tenant: TENANT });
    expect(v.status).toBe('entered-in-error');
    expect(validateR4Resource(v)).toEqual({ valid: true, errors: [] });
  });
});

describe('history and response Bundles', () => {
  const v1 = episodeOfCareVersion(decision(), PATIENT, { tenant: TENANT });
  const v2 = episodeOfCareVersion(decision({ weeklyHours: 20, position: 2, lastRecordedAt: '2026-03-02T08:00:00Z' }), PATIENT, { tenant: TENANT });

  it('a history Bundle lists the versions as given, each with its request and response', () => {
    const bundle = historyBundle(
      [
        { resource: v2, request: { method: 'PUT', url: 'EpisodeOfCare?identifier=urn:fpi:decision-id:epj|V-1' } },
        { resource: v1, request: { method: 'POST', url: 'EpisodeOfCare' } },
      ],
      { baseUrl: BASE, selfUrl: `${BASE}/EpisodeOfCare/epj.0.v-1/_history` },
    );
    expect(bundle).toMatchObject({ type: 'history', total: 2 });
    expect(bundle.entry!.map((e) => [e.fullUrl, e.request!.method, e.response])).toEqual([
      [`${BASE}/EpisodeOfCare/epj.0.v-1`, 'PUT', { status: '200 OK', etag: 'W/"2"', lastModified: '2026-03-02T08:00:00Z' }],
      [`${BASE}/EpisodeOfCare/epj.0.v-1`, 'POST', { status: '201 Created', etag: 'W/"1"', lastModified: '2026-02-20T09:00:01.123Z' }],
    ]);
    expect(validateR4Resource(bundle)).toEqual({ valid: true, errors: [] });
  });

  it('transaction-response and batch-response Bundles answer every entry in order, an error with its outcome', () => {
    const bundle = responseBundle(
      'batch-response',
      [
        { status: '201 Created', location: 'EpisodeOfCare/epj.0.v-1/_history/1', etag: 'W/"1"', lastModified: v1.meta!.lastUpdated!, resource: v1 },
        {
          status: '422 Unprocessable Entity',
          outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'x', expression: ['Bundle.entry[1].resource.period.end'] }] },
        },
      ],
      { baseUrl: BASE, timestamp: '2026-03-02T08:00:00Z' },
    );
    expect(bundle.entry!.map((e) => e.response!.status)).toEqual(['201 Created', '422 Unprocessable Entity']);
    expect(bundle.entry![0]!.fullUrl).toBe(`${BASE}/EpisodeOfCare/epj.0.v-1`);
    expect(validateR4Resource(bundle)).toEqual({ valid: true, errors: [] });
    expect(validateR4Resource(responseBundle('transaction-response', [{ status: '200 OK', location: 'EpisodeOfCare/x/_history/2', etag: 'W/"2"' }], { baseUrl: BASE }))).toEqual({
      valid: true,
      errors: [],
    });
  });
});
