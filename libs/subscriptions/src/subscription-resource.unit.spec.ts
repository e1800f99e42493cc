import { BACKPORT, DECISION_CHANGES_TOPIC } from '#libs/fhir';
import { validateR4Resource } from '../../fhir/src/testing/validate.js';
import { endpointProblem, parseSubscription, toSubscriptionResource, type StoredSubscription } from './subscription-resource.js';

const OWN = '974760673';
const dev = { allowLoopbackHttp: true };
const production = { allowLoopbackHttp: false };
const body = (channel: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Subscription',
  reason: 'test',
  criteria: DECISION_CHANGES_TOPIC,
  _criteria: { extension: [{ url: BACKPORT.filterCriteria, valueString: `organization.identifier=${OWN}` }] },
  channel: {
    type: 'rest-hook',
    endpoint: 'https://app.example.com/hook',
    payload: 'application/fhir+json',
    _payload: { extension: [{ url: BACKPORT.payloadContent, valueCode: 'id-only' }] },
    ...channel,
  },
  ...extra,
});
const issues = (b: unknown, policy = dev) => {
  const r = parseSubscription(b, [OWN], policy);
  return r.ok ? [] : r.issues.map((i) => `${i.expression.join(',')}: ${i.diagnostics}`);
};

describe('endpointProblem', () => {
  it('takes https anywhere public, and http only to loopback where the policy allows it', () => {
    expect(endpointProblem('https://app.example.com/hook', production)).toBeUndefined();
    expect(endpointProblem('http://127.0.0.1:8080/hook', dev)).toBeUndefined();
    expect(endpointProblem('http://localhost/hook', dev)).toBeUndefined();
    expect(endpointProblem('http://127.0.0.1:8080/hook', production)).toContain('endpoint-https');
    expect(endpointProblem('http://app.example.com/hook', dev)).toContain('endpoint-https');
  });

  it('refuses internal addresses in production, credentials in the URL, fragments and non-URLs', () => {
    for (const url of ['https://127.0.0.1/x', 'https://10.1.2.3/x', 'https://192.168.0.1/x', 'https://169.254.169.254/latest', 'https://[::1]/x', 'https://[fd00::1]/x', 'https://localhost/x']) {
      expect([url, endpointProblem(url, production)]).toEqual([url, expect.stringContaining('endpoint-public')]);
    }
    expect(endpointProblem('https://user:pw@app.example.com/x', production)).toContain('endpoint-credentials');
    expect(endpointProblem('https://app.example.com/x#y', production)).toContain('endpoint-url');
    expect(endpointProblem('not a url', production)).toContain('endpoint-url');
    expect(endpointProblem('ftp://app.example.com/x', production)).toContain('endpoint-https');
    expect(endpointProblem(`https://app.example.com/${'a'.repeat(2100)}`, production)).toContain('endpoint-length');
  });
});

describe('parseSubscription', () => {
  it('refuses text that cannot be stored (an unpaired surrogate, a NUL) at its element, rather than storing it altered', () => {
    expect(issues(body({}, { reason: 'x\uD800' }))).toEqual([expect.stringMatching(/^Subscription\.reason: unpaired-surrogate: /)]);
    expect(issues(body({ endpoint: 'https://app.example.com/h\u0000' }))).toEqual([expect.stringMatching(/^Subscription\.channel\.endpoint: no-control-characters: /)]);
  });
  it('reads the backport profile: topic, filters, endpoint, headers, content, heartbeat, timeout and max count', () => {
    const r = parseSubscription(
      body({
        header: ['Authorization: Bearer x'],
        extension: [
          { url: BACKPORT.heartbeatPeriod, valueUnsignedInt: 60 },
          { url: BACKPORT.timeout, valueUnsignedInt: 5 },
          { url: BACKPORT.maxCount, valuePositiveInt: 3 },
        ],
      }),
      [OWN],
      production,
    );
    expect(r).toEqual({
      ok: true,
      request: {
        reason: 'test',
        criteria: [`organization.identifier=${OWN}`],
        filters: { organization: OWN },
        endpoint: 'https://app.example.com/hook',
        headers: ['Authorization: Bearer x'],
        content: 'id-only',
        heartbeatSeconds: 60,
        timeoutSeconds: 5,
        maxCount: 3,
      },
    });
  });

  it('names each element that breaks a rule', () => {
    expect(issues({ resourceType: 'Patient' })[0]).toContain('Subscription resource');
    expect(issues(body({}, { criteria: 'Observation?code=x' })).join()).toContain('Subscription.criteria');
    expect(issues(body({ type: 'websocket' })).join()).toContain('Subscription.channel.type');
    expect(issues(body({ payload: 'application/fhir+xml' })).join()).toContain('Subscription.channel.payload');
    expect(issues(body({ _payload: undefined })).join()).toContain('backport-payload-content');
    expect(issues(body({ header: ['Host: evil'] })).join()).toContain('set by the server');
    expect(issues(body({ header: ['X: a\r\nY: b'] })).join()).toContain('Subscription.channel.header[0]');
    expect(issues(body({ extension: [{ url: BACKPORT.timeout, valueUnsignedInt: 3600 }] })).join()).toContain('backport-timeout');
    expect(issues(body({}, { reason: undefined })).join()).toContain('Subscription.reason');
    expect(issues(body({}, { end: '2026-13-01' })).join()).toContain('Subscription.end');
    // Instants as instants: 00:30+02:00 is 22:30Z the day before.
    const now = new Date('2026-06-01T22:00:00Z');
    expect(parseSubscription(body({}, { end: '2026-06-02T00:30:00+02:00' }), [OWN], dev, now)).toMatchObject({ ok: true, request: { end: '2026-06-01T22:30:00.000Z' } });
    expect(parseSubscription(body({}, { end: '2026-06-01T23:30:00+02:00' }), [OWN], dev, now)).toMatchObject({ ok: false });
    expect(issues(body({}, { status: 'off' })).join()).toContain('Subscription.status');
    expect(issues(body({}, { id: {} })).join()).toContain('Subscription.id');
    expect(issues(body({}, { id: 'given-by-client' }))).toEqual([]);
    expect(issues(body({ endpoint: 'http://app.example.com/' }), production).join()).toContain('endpoint-https');
  });
});

describe('toSubscriptionResource', () => {
  const stored: StoredSubscription = {
    tenant: '313231593',
    id: '2b7e1d2c-4c1e-4c4f-9a59-2f1f5a3e8b11',
    clientId: 'app',
    status: 'error',
    lastError: 'the endpoint answered 500',
    reason: 'test',
    criteria: [`organization.identifier=${OWN}`],
    filters: { organization: OWN },
    endpoint: 'https://app.example.com/hook',
    headers: ['Authorization: Bearer secret'],
    content: 'full-resource',
    heartbeatSeconds: 60,
    timeoutSeconds: 10,
    maxCount: 20,
    end: '2999-01-01T00:00:00.000Z',
    eventsSinceStart: 3,
    deliveredThrough: 1,
  };

  it('is a valid R4 Subscription in the backport profile, without the header secrets', () => {
    const resource = toSubscriptionResource(stored);
    expect(validateR4Resource(resource)).toEqual({ valid: true, errors: [] });
    expect(resource.channel.header).toEqual(['Authorization: ***']);
    expect(resource.error).toBe('the endpoint answered 500');
    expect(resource.meta?.profile).toEqual([BACKPORT.subscriptionProfile]);
  });

  it('reads back what it writes (the same filters and channel)', () => {
    const resource = toSubscriptionResource({ ...stored, headers: [] }) as unknown as Record<string, unknown>;
    const again = parseSubscription({ ...resource, status: 'requested' }, [OWN], production);
    expect(again).toMatchObject({
      ok: true,
      request: { criteria: stored.criteria, filters: stored.filters, endpoint: stored.endpoint, content: 'full-resource', heartbeatSeconds: 60, end: stored.end },
    });
  });
});
