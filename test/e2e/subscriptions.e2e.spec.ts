/**
 * FHIR topic-based subscriptions (HL7 Subscriptions R5 Backport IG) end to end: a small
 * receiver on loopback gets the notifications a real app would; every resource the API
 * answers and every notification it sends passes the FHIR validator.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { Client } from 'fhir-kit-client';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { organisationNumberCheckDigit } from '#libs/domain';
import { AgreementRegister } from '#libs/security';
import { episodeOfCareId } from '#libs/fhir';
import { BACKPORT, DECISION_CHANGES_TOPIC } from '#libs/subscriptions';
import { FNR, syntheticGrant, syntheticPid, startTestPlatform, type TestPlatform } from '#libs/testing';
import { expectValidFhir } from '../../libs/fhir/src/testing/validate.js';

const HOME_CARE_ORG = '974760673';
/** Another unit of the municipality (a valid organisation number that is not the home care's). */
const OTHER_ORG = (() => {
  for (let n = 99887766; ; n++) {
    const digit = organisationNumberCheckDigit(String(n));
    if (digit !== undefined) return `${n}${digit}`;
  }
})();

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: fhir4.Bundle;
  at: number;
}

/** A notification receiver on loopback: records every POST; `answer` decides the status (and a delay) per path. */
class Receiver {
  readonly received: Received[] = [];
  answer: (path: string) => { status: number; delayMs?: number } = () => ({ status: 200 });
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        this.received.push({ path, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as fhir4.Bundle, at: Date.now() });
        const { status, delayMs } = this.answer(path);
        setTimeout(() => res.writeHead(status).end(), delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  on(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Waits until `predicate` holds of the notifications to `path` (polls every 10 ms). */
  async waitFor(path: string, predicate: (r: Received[]) => boolean, timeoutMs = 10_000): Promise<Received[]> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (predicate(this.on(path))) return this.on(path);
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no such notification to ${path} within ${timeoutMs} ms; got ${JSON.stringify(this.on(path).map((r) => statusOf(r.body)))}`);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The SubscriptionStatus of a notification (its first entry) as plain values. */
function statusOf(bundle: fhir4.Bundle) {
  const params = (bundle.entry?.[0]?.resource as fhir4.Parameters | undefined)?.parameter ?? [];
  const one = (name: string) => params.find((p) => p.name === name);
  return {
    type: one('type')?.valueCode,
    status: one('status')?.valueCode,
    eventsSinceStart: one('events-since-subscription-start')?.valueString,
    subscription: one('subscription')?.valueReference?.reference,
    events: params
      .filter((p) => p.name === 'notification-event')
      .map((p) => ({
        number: Number(p.part!.find((x) => x.name === 'event-number')!.valueString),
        focus: p.part!.find((x) => x.name === 'focus')?.valueReference?.reference,
      })),
  };
}

const subscription = (endpoint: string, filters: string[], options: { content?: string; heartbeat?: number; header?: string[]; maxCount?: number } = {}) => ({
  resourceType: 'Subscription',
  status: 'requested',
  reason: 'e2e: home care follows its patients',
  criteria: DECISION_CHANGES_TOPIC,
  ...(filters.length > 0 ? { _criteria: { extension: filters.map((f) => ({ url: BACKPORT.filterCriteria, valueString: f })) } } : {}),
  channel: {
    extension: [
      ...(options.heartbeat ? [{ url: BACKPORT.heartbeatPeriod, valueUnsignedInt: options.heartbeat }] : []),
      { url: BACKPORT.timeout, valueUnsignedInt: 5 },
      ...(options.maxCount ? [{ url: BACKPORT.maxCount, valuePositiveInt: options.maxCount }] : []),
    ],
    type: 'rest-hook',
    endpoint,
    ...(options.header ? { header: options.header } : {}),
    payload: 'application/fhir+json',
    _payload: { extension: [{ url: BACKPORT.payloadContent, valueCode: options.content ?? 'id-only' }] },
  },
});

describe('FHIR topic-based subscriptions (R4, Subscriptions R5 Backport IG)', () => {
  let p: TestPlatform;
  let app: NestFastifyApplication;
  const receiver = new Receiver();
  const env = { retry: process.env.FPI_SUBSCRIPTION_RETRY_MS, attempts: process.env.FPI_SUBSCRIPTION_MAX_ATTEMPTS };
  let homeCare: () => Promise<ReturnType<typeof request.agent>>;
  let homeCareToken: string;

  const post = async (body: Record<string, unknown>) => {
    const r = await p.http().post('/api/v1/decision-events').send(body);
    expect([200, 201]).toContain(r.status);
    return r;
  };
  const grant = (patient: string, orgnr: string) =>
    syntheticGrant({ sourceSystem: 'epj-subs', patient: { system: FNR, value: patient }, performer: { orgnr, name: orgnr === HOME_CARE_ORG ? 'Hjemmesykepleien' : 'Annen enhet' } });
  const pause = (g: Record<string, unknown>, from = '2026-04-01') => ({
    type: 'ServicePaused',
    eventId: randomUUID(),
    decisionId: g.decisionId,
    occurredAt: `${from}T08:00:00Z`,
    sourceSystem: 'epj-subs',
    patient: g.patient,
    pausedFrom: from,
  });
  const resume = (g: Record<string, unknown>, from: string) => ({
    type: 'ServiceResumed',
    eventId: randomUUID(),
    decisionId: g.decisionId,
    occurredAt: `${from}T08:00:00Z`,
    sourceSystem: 'epj-subs',
    patient: g.patient,
    resumedFrom: from,
  });

  beforeAll(async () => {
    // Quick retries so that giving up takes a second, not minutes.
    process.env.FPI_SUBSCRIPTION_RETRY_MS = '100';
    process.env.FPI_SUBSCRIPTION_MAX_ATTEMPTS = '3';
    await receiver.start();
    p = await startTestPlatform({ listen: true });
    app = p.app;
    homeCareToken = await p.token({ scopes: ['read'], purpose: 'TREAT', clientId: 'home-care-app', orgChild: HOME_CARE_ORG });
    homeCare = async () => request.agent(app.getHttpServer()).set('authorization', `Bearer ${homeCareToken}`);
  }, 120_000);
  afterAll(async () => {
    await receiver.close();
    if (env.retry === undefined) delete process.env.FPI_SUBSCRIPTION_RETRY_MS;
    else process.env.FPI_SUBSCRIPTION_RETRY_MS = env.retry;
    if (env.attempts === undefined) delete process.env.FPI_SUBSCRIPTION_MAX_ATTEMPTS;
    else process.env.FPI_SUBSCRIPTION_MAX_ATTEMPTS = env.attempts;
    if (app !== p.app) {
      // The restart test replaced the platform: close the new one, then what startTestPlatform made.
      await app.close();
      delete process.env.DATABASE_URL;
      await p.db.drop();
      await rm(p.dataDir, { recursive: true, force: true });
    } else await p?.close();
  });

  it('lists the topic and the operations in the CapabilityStatement', async () => {
    const cs = (await request(app.getHttpServer()).get('/fhir/metadata').expect(200)).body as fhir4.CapabilityStatement;
    expectValidFhir(cs);
    const sub = cs.rest![0]!.resource!.find((r) => r.type === 'Subscription')!;
    expect(sub.extension).toEqual([{ url: BACKPORT.topicCanonical, valueCanonical: DECISION_CHANGES_TOPIC }]);
    expect(sub.supportedProfile).toEqual([BACKPORT.subscriptionProfile]);
    expect(sub.operation!.map((o) => [o.name, o.definition])).toEqual([
      ['status', BACKPORT.statusOperation],
      ['events', BACKPORT.eventsOperation],
    ]);
  });

  it('a subscription by organisation gets a handshake, then a notification for a pause of one of its patients within a second, none for another organisation’s', async () => {
    const created = await (
      await homeCare()
    )
      .post('/fhir/Subscription')
      .set('content-type', 'application/fhir+json')
      .send(
        JSON.stringify(
          subscription(`${receiver.url}/org`, [`EpisodeOfCare?organization.identifier=urn:oid:2.16.578.1.12.4.1.4.101|${HOME_CARE_ORG}`, 'event=granted,paused,ended'], {
            header: ['Authorization: Bearer receiver-secret'],
          }),
        ),
      )
      .expect(201);
    const s = created.body as fhir4.Subscription;
    expectValidFhir(s);
    expect(s.status).toBe('requested');
    expect(s.channel.header).toEqual(['Authorization: ***']); // the secret is not handed back
    // The handshake (IG notifications.html#handshake): status requested, type handshake, no events.
    const [handshake] = await receiver.waitFor('/org', (r) => r.length >= 1);
    expectValidFhir(handshake!.body);
    expect(handshake!.body.type).toBe('history');
    expect(handshake!.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(handshake!.headers.authorization).toBe('Bearer receiver-secret');
    expect(statusOf(handshake!.body)).toMatchObject({ type: 'handshake', status: 'requested', eventsSinceStart: '0', events: [] });
    expect(statusOf(handshake!.body).subscription).toMatch(new RegExp(`/fhir/Subscription/${s.id}$`));
    const activeBy = Date.now() + 2000;
    while (((await (await homeCare()).get(`/fhir/Subscription/${s.id}`)).body as fhir4.Subscription).status !== 'active' && Date.now() < activeBy) await new Promise((r) => setTimeout(r, 20));
    expect(((await (await homeCare()).get(`/fhir/Subscription/${s.id}`)).body as fhir4.Subscription).status).toBe('active');

    const ours = grant(syntheticPid(), HOME_CARE_ORG);
    const theirs = grant(syntheticPid(), OTHER_ORG);
    await post(theirs);
    await post(ours);
    await receiver.waitFor('/org', (r) => r.some((n) => statusOf(n.body).events.length > 0));
    await post(pause(theirs));
    const sent = Date.now();
    await post(pause(ours));
    const all = await receiver.waitFor('/org', (r) => r.flatMap((n) => statusOf(n.body).events).length >= 2, 1000);
    const pausedAt = all.find((n) => statusOf(n.body).events.some((e) => e.number === 2))!.at;
    expect(pausedAt - sent).toBeLessThan(1000);
    const events = all.flatMap((n) => statusOf(n.body).events);
    expect(events.map((e) => e.number)).toEqual([1, 2]);
    const oursId = events[0]!.focus!.split('/').pop();
    expect(events.every((e) => e.focus!.endsWith(`/EpisodeOfCare/${oursId}`))).toBe(true);
    // The id-only entries: fullUrl, request and response, no resource.
    const notification = all.find((n) => statusOf(n.body).events.some((e) => e.number === 2))!.body;
    expectValidFhir(notification);
    expect(notification.entry!.slice(1)).toEqual([
      { fullUrl: expect.stringMatching(new RegExp(`/fhir/EpisodeOfCare/${oursId}$`)), request: { method: 'PUT', url: `EpisodeOfCare/${oursId}` }, response: { status: '200' } },
    ]);
    // Nothing about the other organisation's patient, even a moment later.
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.on('/org').flatMap((n) => statusOf(n.body).events)).toHaveLength(2);
    // The id hands out a readable resource.
    await (await homeCare()).get(`/fhir/EpisodeOfCare/${oursId}`).expect(200);
  });

  it('one subscriber’s slow endpoint delays no one else’s notification', async () => {
    receiver.answer = (path) => ({ status: 200, delayMs: path === '/slow' ? 4000 : 0 });
    const patient = syntheticPid();
    for (const path of ['/slow', '/fast']) {
      await (
        await homeCare()
      )
        .post('/fhir/Subscription')
        .send(subscription(`${receiver.url}${path}`, [`patient.identifier=${FNR}|${patient}`]))
        .expect(201);
    }
    await receiver.waitFor('/fast', (r) => r.length >= 1);
    await receiver.waitFor('/slow', (r) => r.length >= 1); // its handshake is being answered, slowly
    const g = grant(patient, HOME_CARE_ORG);
    const sent = Date.now();
    await post(g);
    const [, fast] = await receiver.waitFor('/fast', (r) => r.length >= 2, 1000);
    expect(fast!.at - sent).toBeLessThan(1000);
    // The overview (another projection) is current too, while the slow endpoint still holds its notification.
    await p
      .http()
      .get('/api/v1/service-overview')
      .set('person-id', patient)
      .expect(200)
      .expect((r) => expect((r.body as { services: unknown[] }).services).toHaveLength(1));
    receiver.answer = () => ({ status: 200 });
  });

  it('sends heartbeats every heartbeat period while nothing else is sent', async () => {
    const created = await (
      await homeCare()
    )
      .post('/fhir/Subscription')
      .send(subscription(`${receiver.url}/heartbeat`, [`patient.identifier=${FNR}|${syntheticPid()}`], { heartbeat: 1 }))
      .expect(201);
    const beats = await receiver.waitFor('/heartbeat', (r) => r.filter((n) => statusOf(n.body).type === 'heartbeat').length >= 2, 5000);
    for (const b of beats) expectValidFhir(b.body);
    const heartbeats = beats.filter((n) => statusOf(n.body).type === 'heartbeat');
    expect(statusOf(heartbeats[0]!.body)).toMatchObject({ type: 'heartbeat', status: 'active', eventsSinceStart: '0', events: [] });
    expect(heartbeats[1]!.at - heartbeats[0]!.at).toBeGreaterThanOrEqual(900);
    await (await homeCare()).delete(`/fhir/Subscription/${(created.body as fhir4.Subscription).id}`).expect(204);
  });

  it('full-resource: the notification carries the EpisodeOfCare, and the patient’s access log records it like a read', async () => {
    const patient = syntheticPid();
    await (
      await homeCare()
    )
      .post('/fhir/Subscription')
      .send(subscription(`${receiver.url}/full`, [`patient.identifier=${FNR}|${patient}`], { content: 'full-resource' }))
      .expect(201);
    await receiver.waitFor('/full', (r) => r.length >= 1);
    const g = grant(patient, HOME_CARE_ORG);
    await post(g);
    const [, notification] = await receiver.waitFor('/full', (r) => r.length >= 2);
    expectValidFhir(notification!.body);
    const episode = notification!.body.entry![1]!.resource as fhir4.EpisodeOfCare;
    expect(episode.resourceType).toBe('EpisodeOfCare');
    expect(episode.patient.identifier).toEqual({ system: FNR, value: patient });
    expect(notification!.body.entry![1]!.request).toEqual({ method: 'POST', url: 'EpisodeOfCare' });
    // $events with the resources: logged as a read by whoever asks (here another user of the same app).
    const subscriptionId = statusOf(notification!.body).subscription!.split('/').pop();
    const nurse = await p.as({ scopes: ['read'], purpose: 'TREAT', clientId: 'home-care-app', orgChild: HOME_CARE_ORG, hpr: '9144889' });
    const events = (await nurse.get(`/fhir/Subscription/${subscriptionId}/$events?content=full-resource`).expect(200)).body as fhir4.Bundle;
    expectValidFhir(events);
    expect((events.entry![1]!.resource as fhir4.EpisodeOfCare).id).toBe(episode.id);
    const log = (await p.http().get('/api/v1/access-log').set('person-id', patient).expect(200)).body as {
      entries: { action: string; clientId: string; hprNumber: string | null; returned: unknown }[];
    };
    expect(log.entries.filter((e) => e.action === 'fhir.subscription.events').map((e) => e.hprNumber)).toEqual(['9144889']);
    expect(log.entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'fhir.subscription.notify', clientId: 'home-care-app', returned: { decisionIds: [`epj-subs/${g.decisionId as string}`] } }),
        expect.objectContaining({ action: 'fhir.subscription.create', clientId: 'home-care-app' }),
      ]),
    );
  });

  it('a receiver that answers 500 gets retries, then the subscription shows error, and $events returns what it missed', async () => {
    let failing = false;
    receiver.answer = (path) => ({ status: path === '/flaky' && failing ? 500 : 200 });
    const patient = syntheticPid();
    const client = new Client({ baseUrl: `${p.url}/fhir`, customHeaders: { authorization: `Bearer ${homeCareToken}` } });
    const s = (await client.create({ resourceType: 'Subscription', body: subscription(`${receiver.url}/flaky`, [`patient.identifier=${FNR}|${patient}`]) as never })) as unknown as fhir4.Subscription;
    await receiver.waitFor('/flaky', (r) => r.length >= 1);
    failing = true;
    const g = grant(patient, OTHER_ORG);
    await post(g);
    // Three attempts (FPI_SUBSCRIPTION_MAX_ATTEMPTS) of the same notification, then error.
    const attempts = await receiver.waitFor('/flaky', (r) => r.length >= 4, 5000);
    expect(attempts.slice(1).map((a) => statusOf(a.body).events.map((e) => e.number))).toEqual([[1], [1], [1]]);
    const until = Date.now() + 5000;
    let read = (await client.read({ resourceType: 'Subscription', id: s.id! })) as unknown as fhir4.Subscription;
    while (read.status !== 'error' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      read = (await client.read({ resourceType: 'Subscription', id: s.id! })) as unknown as fhir4.Subscription;
    }
    // What happens while it is in error is numbered too (and sent at the next probe).
    await post(pause(g));
    const numbered = Date.now() + 5000;
    while (Date.now() < numbered) {
      const { rows } = await p.db.pool.query<{ n: number }>('SELECT events_since_start::int AS n FROM fhir_subscriptions WHERE id = $1', [s.id]);
      if (rows[0]!.n === 2) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(read.status).toBe('error');
    expect(read.error).toBe('the endpoint answered 500');
    expectValidFhir(read);
    const status = (await client.operation({ name: 'status', resourceType: 'Subscription', id: s.id!, method: 'GET' })) as unknown as fhir4.Bundle;
    expectValidFhir(status);
    expect(status.type).toBe('searchset');
    expect(statusOf({ resourceType: 'Bundle', type: 'history', entry: status.entry })).toMatchObject({ type: 'query-status', status: 'error', eventsSinceStart: '2' });
    const missed = (await client.operation({ name: 'events', resourceType: 'Subscription', id: s.id!, method: 'GET', input: { eventsSinceNumber: '1' } })) as unknown as fhir4.Bundle;
    expectValidFhir(missed);
    expect(missed.type).toBe('history');
    expect(statusOf(missed)).toMatchObject({ type: 'query-event', status: 'error', eventsSinceStart: '2', events: [{ number: 1 }, { number: 2 }] });
    expect(missed.entry!.slice(1).map((e) => e.request!.method)).toEqual(['POST', 'PUT']);
    const { rows } = await p.db.pool.query('SELECT kind, first_event, last_event, attempts FROM fhir_subscription_dead_letters WHERE subscription_id = $1', [s.id]);
    expect(rows).toEqual([{ kind: 'event-notification', first_event: 1, last_event: 1, attempts: 3 }]);
    // Only the second event, by number.
    const second = (await client.operation({
      name: 'events',
      resourceType: 'Subscription',
      id: s.id!,
      method: 'GET',
      input: { eventsSinceNumber: '2', eventsUntilNumber: '2' },
    })) as unknown as fhir4.Bundle;
    expect(statusOf(second).events.map((e) => e.number)).toEqual([2]);
    receiver.answer = () => ({ status: 200 });
  });

  it('keeps subscriptions to their client and municipality, and refuses filters that reach further', async () => {
    const patient = syntheticPid();
    const created = await (
      await homeCare()
    )
      .post('/fhir/Subscription')
      .send(subscription(`${receiver.url}/own`, [`patient.identifier=${FNR}|${patient}`]))
      .expect(201);
    const id = (created.body as fhir4.Subscription).id!;
    const other = await p.as({ scopes: ['read'], purpose: 'TREAT', clientId: 'another-app', orgChild: HOME_CARE_ORG });
    for (const path of [`/fhir/Subscription/${id}`, `/fhir/Subscription/${id}/$status`, `/fhir/Subscription/${id}/$events`]) {
      const r = await other.get(path).expect(404);
      expectValidFhir(r.body);
    }
    await other.delete(`/fhir/Subscription/${id}`).expect(404);
    expect(((await other.get('/fhir/Subscription').expect(200)).body as fhir4.Bundle).total).toBe(0);
    // Another organisation's unit: 403, naming the rule.
    const foreign = await (
      await homeCare()
    )
      .post('/fhir/Subscription')
      .send(subscription(`${receiver.url}/x`, [`organization.identifier=${OTHER_ORG}`]))
      .expect(403);
    expectValidFhir(foreign.body);
    expect(JSON.stringify(foreign.body)).toContain('own-organisation');
    // No patient or organisation filter: the whole municipality is not a subscription.
    const everything = await (
      await homeCare()
    )
      .post('/fhir/Subscription')
      .send(subscription(`${receiver.url}/x`, ['event=paused']))
      .expect(400);
    expect(JSON.stringify(everything.body)).toContain('filter-required');
    // Outbound HTTP only to https, or http on loopback here.
    const plain = await (
      await homeCare()
    )
      .post('/fhir/Subscription')
      .send(subscription('http://example.org/notify', [`patient.identifier=${FNR}|${patient}`]))
      .expect(400);
    expect(JSON.stringify(plain.body)).toContain('endpoint-https');
    expectValidFhir(plain.body);
    // A bad person identifier: named, never echoed.
    const bad = await (
      await homeCare()
    )
      .post('/fhir/Subscription')
      .send(subscription(`${receiver.url}/x`, [`patient.identifier=${FNR}|12345678901`]))
      .expect(400);
    expect(JSON.stringify(bad.body)).not.toContain('12345678901');
    // Break-the-glass may not hold a standing full-resource subscription.
    const btg = await p.as({ scopes: ['read'], purpose: 'BTG', clientId: 'home-care-app', orgChild: HOME_CARE_ORG });
    await btg
      .post('/fhir/Subscription')
      .send(subscription(`${receiver.url}/x`, [`patient.identifier=${FNR}|${patient}`], { content: 'full-resource' }))
      .expect(403);
    // An organisation reading under an agreement (a GP practice) reads overviews, and may not subscribe.
    await app.get(AgreementRegister).add({
      tenant: '313231593',
      partnerOrgnr: '315000017',
      partnerName: 'Legesenteret',
      kind: 'driftsavtale',
      purposes: ['TREAT'],
      validFrom: '2026-01-01',
      registeredBy: 'e2e',
      reason: 'e2e',
    });
    const gp = await p.as({ org: '315000017', scopes: ['read'], purpose: 'TREAT', clientId: 'gp-epj' });
    const refused = await gp
      .post('/fhir/Subscription')
      .set('fpi-municipality', '313231593')
      .send(subscription(`${receiver.url}/x`, [`patient.identifier=${FNR}|${patient}`]))
      .expect(403);
    expectValidFhir(refused.body);
    expect(JSON.stringify(refused.body)).toContain('may not subscribe');
    await gp.get('/fhir/Subscription').set('fpi-municipality', '313231593').expect(403);
    await (await homeCare()).get(`/fhir/Subscription/${id}/$events?eventsSinceNumber=x`).expect(400);
    await (await homeCare()).get(`/fhir/Subscription/${id}/$events?nonsense=1`).expect(400);
    const statuses = (await (await homeCare()).get('/fhir/Subscription/$status').expect(200)).body as fhir4.Bundle;
    expectValidFhir(statuses);
    expect(statuses.entry!.map((e) => (e.resource as fhir4.Parameters).parameter![0]!.valueReference!.reference)).toContainEqual(expect.stringMatching(new RegExp(`/Subscription/${id}$`)));
    const list = (await (await homeCare()).get('/fhir/Subscription?status=active,requested').expect(200)).body as fhir4.Bundle;
    expectValidFhir(list);
    expect(list.entry!.map((e) => e.resource!.id)).toContain(id);
    await (await homeCare()).delete(`/fhir/Subscription/${id}`).expect(204);
    await (await homeCare()).get(`/fhir/Subscription/${id}`).expect(404);
  });

  it('another municipality’s events never reach a subscription, even for the same unit and client', async () => {
    const { TENANT_REGISTRY, tenantId } = await import('#libs/tenancy');
    const other = '912159523';
    await app.get(TENANT_REGISTRY).add({ id: tenantId(other), name: 'Annen kommune', environment: 'test' });
    const inOther = await p.as({ tenant: other, scopes: ['read'], purpose: 'TREAT', clientId: 'home-care-app', orgChild: HOME_CARE_ORG });
    const created = await inOther
      .post('/fhir/Subscription')
      .send(subscription(`${receiver.url}/other-municipality`, [`organization.identifier=${HOME_CARE_ORG}`]))
      .expect(201);
    await receiver.waitFor('/other-municipality', (r) => r.length >= 1);
    // The same client in the first municipality does not see it.
    await (await homeCare()).get(`/fhir/Subscription/${(created.body as fhir4.Subscription).id}`).expect(404);
    // An event of the same unit in the first municipality: not for this subscription.
    await post(grant(syntheticPid(), HOME_CARE_ORG));
    // One in its own municipality is (the matcher picks the new municipality up by itself).
    const writeOther = await p.as({ tenant: other, scopes: ['write'], clientId: 'epj-subs' });
    const own = grant(syntheticPid(), HOME_CARE_ORG);
    await writeOther.post('/api/v1/decision-events').send(own).expect(201);
    const got = await receiver.waitFor('/other-municipality', (r) => r.some((n) => statusOf(n.body).events.length > 0), 10_000);
    const events = got.flatMap((n) => statusOf(n.body).events);
    expect(events.map((e) => e.number)).toEqual([1]);
    expect(got.flatMap((n) => n.body.entry!.slice(1).map((e) => e.fullUrl!.split('/fhir/')[1]))).toEqual([`EpisodeOfCare/${episodeOfCareId('epj-subs', own.decisionId as string)}`]);
  }, 30_000);

  it('a restart of the platform during delivery loses nothing and sends again only what was not acknowledged', async () => {
    // A slow receiver: each notification takes 150 ms to acknowledge, one event per notification.
    receiver.answer = (path) => ({ status: 200, delayMs: path === '/restart' ? 150 : 0 });
    const patient = syntheticPid();
    await (
      await homeCare()
    )
      .post('/fhir/Subscription')
      .send(subscription(`${receiver.url}/restart`, [`patient.identifier=${FNR}|${patient}`], { maxCount: 1 }))
      .expect(201);
    await receiver.waitFor('/restart', (r) => r.length >= 1);
    const g = grant(patient, HOME_CARE_ORG);
    await post(g);
    for (let day = 2; day <= 20; day++) await post(day % 2 === 0 ? pause(g, `2026-04-${String(day).padStart(2, '0')}`) : resume(g, `2026-04-${String(day).padStart(2, '0')}`));
    const total = 20;
    await receiver.waitFor('/restart', (r) => r.flatMap((n) => statusOf(n.body).events).length >= 3);
    // Stop mid-delivery and start the platform again on the same database.
    await app.close();
    const createPlatformApp = globalThis.__fpiCreatePlatformApp!;
    process.env.DATABASE_URL = p.db.url;
    process.env.FPI_DATA_DIR = p.dataDir;
    app = await createPlatformApp({ logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    const got = await receiver.waitFor('/restart', (r) => new Set(r.flatMap((n) => statusOf(n.body).events.map((e) => e.number))).size >= total, 30_000);
    const numbers = got.flatMap((n) => statusOf(n.body).events.map((e) => e.number));
    expect([...new Set(numbers)].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // At least once: only the notification in flight at the stop may come twice, and order holds.
    expect(numbers.length - new Set(numbers).size).toBeLessThanOrEqual(1);
    numbers.forEach((n, i) => expect(n).toBeGreaterThanOrEqual(i === 0 ? 1 : numbers[i - 1]!));
    for (const n of got) expectValidFhir(n.body);
  }, 60_000);
});
