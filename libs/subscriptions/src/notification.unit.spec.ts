import { BACKPORT, DECISION_CHANGES_TOPIC } from '#libs/fhir';
import { validateR4Resource } from '../../fhir/src/testing/validate.js';
import { notificationBundle, statusBundle, type StatusInput } from './notification.js';
import { retryDelayMs } from './delivery-worker.js';

const base = 'https://fpi.example.no/fhir';
const input: StatusInput = { base, subscriptionId: 'abc', status: 'active', type: 'event-notification', eventsSinceStart: 7, content: 'id-only' };
const events = [
  { eventNumber: 6, timestamp: '2026-04-01T08:00:00.000Z', focusId: 'epj.4v-1', eventType: 'ServiceDecisionGranted' },
  { eventNumber: 7, timestamp: '2026-04-02T08:00:00.000Z', focusId: 'epj.4v-1', eventType: 'ServicePaused' },
];
const valid = (r: unknown) => expect(validateR4Resource(r)).toEqual({ valid: true, errors: [] });

describe('notification Bundles (backport-subscription-notification-r4)', () => {
  it('handshake and heartbeat: a history Bundle whose first entry is the SubscriptionStatus, no events', () => {
    for (const type of ['handshake', 'heartbeat'] as const) {
      const b = notificationBundle({ ...input, type, eventsSinceStart: 0, status: type === 'handshake' ? 'requested' : 'active' });
      valid(b);
      expect(b.type).toBe('history');
      expect(b.meta?.profile).toEqual([BACKPORT.notificationProfile]);
      expect(b.entry).toHaveLength(1);
      const status = b.entry![0]!.resource as fhir4.Parameters;
      expect(status.meta?.profile).toEqual([BACKPORT.statusProfile]);
      expect(status.parameter!.map((p) => p.name)).toEqual(['subscription', 'topic', 'status', 'type', 'events-since-subscription-start']);
      expect(b.entry![0]).toMatchObject({ fullUrl: `urn:uuid:${status.id}`, request: { method: 'GET', url: 'Subscription/abc/$status' }, response: { status: '200' } });
    }
  });

  it('id-only: event numbers as strings, focus references and one entry per event without the resource', () => {
    const b = notificationBundle({ ...input, events });
    valid(b);
    const params = (b.entry![0]!.resource as fhir4.Parameters).parameter!;
    expect(params.find((p) => p.name === 'topic')?.valueCanonical).toBe(DECISION_CHANGES_TOPIC);
    expect(params.find((p) => p.name === 'events-since-subscription-start')?.valueString).toBe('7');
    expect(params.filter((p) => p.name === 'notification-event').map((p) => p.part)).toEqual([
      [
        { name: 'event-number', valueString: '6' },
        { name: 'timestamp', valueInstant: '2026-04-01T08:00:00.000Z' },
        { name: 'focus', valueReference: { reference: `${base}/EpisodeOfCare/epj.4v-1` } },
      ],
      [
        { name: 'event-number', valueString: '7' },
        { name: 'timestamp', valueInstant: '2026-04-02T08:00:00.000Z' },
        { name: 'focus', valueReference: { reference: `${base}/EpisodeOfCare/epj.4v-1` } },
      ],
    ]);
    expect(b.entry!.slice(1)).toEqual([
      { fullUrl: `${base}/EpisodeOfCare/epj.4v-1`, request: { method: 'POST', url: 'EpisodeOfCare' }, response: { status: '201' } },
      { fullUrl: `${base}/EpisodeOfCare/epj.4v-1`, request: { method: 'PUT', url: 'EpisodeOfCare/epj.4v-1' }, response: { status: '200' } },
    ]);
  });

  it('empty: no topic, no focus, no entries beyond the status', () => {
    const b = notificationBundle({ ...input, content: 'empty', events });
    valid(b);
    expect(b.entry).toHaveLength(1);
    expect(JSON.stringify(b)).not.toContain('EpisodeOfCare');
    expect(JSON.stringify(b)).not.toContain(DECISION_CHANGES_TOPIC);
  });

  it('$status: a searchset of SubscriptionStatus, with the error of a subscription in error', () => {
    const b = statusBundle([{ ...input, status: 'error', error: 'the endpoint answered 500' }], `${base}/Subscription/abc/$status`);
    valid(b);
    const params = (b.entry![0]!.resource as fhir4.Parameters).parameter!;
    expect(params.find((p) => p.name === 'type')?.valueCode).toBe('query-status');
    expect(params.find((p) => p.name === 'error')?.valueCodeableConcept).toEqual({ text: 'the endpoint answered 500' });
    valid(statusBundle([], `${base}/Subscription/$status`));
  });
});

describe('retryDelayMs', () => {
  it('doubles from the first delay up to the cap', () => {
    const backoff = { initialMs: 1000, maxMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map((a) => retryDelayMs(a, backoff))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });
});
