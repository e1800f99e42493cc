/**
 * FHIR subscriptions across a crash: the platform process is killed (SIGKILL) while it
 * delivers to a slow receiver on loopback, and started again on the same database. Every
 * event reaches the receiver, in event-number order, and only the notification that was in
 * flight at the kill comes twice (at least once: the lease of the killed process runs out
 * after the subscription's timeout plus a margin, then the new one sends what was not
 * acknowledged).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIssuer } from '#libs/security';
import { BACKPORT, DECISION_CHANGES_TOPIC } from '#libs/subscriptions';
import { createTestDatabase, FNR, spawnService, syntheticGrant, syntheticPid, type ServiceProcess, type TestDatabase } from '#libs/testing';

describe('FHIR subscriptions when the platform is killed mid-delivery', () => {
  let db: TestDatabase;
  let dir: string;
  let platform: ServiceProcess | undefined;
  let receiver: Server;
  const numbers: number[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'fpi-subs-crash-'));
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const bundle = JSON.parse(Buffer.concat(chunks).toString('utf8')) as fhir4.Bundle;
        for (const p of (bundle.entry![0]!.resource as fhir4.Parameters).parameter!) {
          if (p.name === 'notification-event') numbers.push(Number(p.part!.find((x) => x.name === 'event-number')!.valueString));
        }
        setTimeout(() => res.writeHead(200).end(), 200); // a slow receiver: deliveries are in flight most of the time
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  }, 60_000);
  afterAll(async () => {
    await platform?.kill();
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('loses nothing and sends again only the notification in flight', async () => {
    const env = { DATABASE_URL: db.url, FPI_DATA_DIR: dir, LOG_LEVEL: 'silent', FPI_SUBSCRIPTION_RETRY_MS: '100' };
    platform = await spawnService('platform', env);
    const issuer = await DevIssuer.open(dir);
    const app = await issuer.issue({ tenant: '313231593', scopes: ['read'], purpose: 'TREAT', clientId: 'home-care-app' });
    const epj = await issuer.issue({ tenant: '313231593', scopes: ['write', 'write-any-source'], clientId: 'epj-crash' });
    const post = async (path: string, body: unknown, token: string) => {
      const r = await fetch(platform!.url + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    };
    const patient = syntheticPid();
    await post(
      '/fhir/Subscription',
      {
        resourceType: 'Subscription',
        reason: 'crash test',
        criteria: DECISION_CHANGES_TOPIC,
        _criteria: { extension: [{ url: BACKPORT.filterCriteria, valueString: `patient.identifier=${FNR}|${patient}` }] },
        channel: {
          extension: [
            { url: BACKPORT.timeout, valueUnsignedInt: 2 },
            { url: BACKPORT.maxCount, valuePositiveInt: 1 },
          ],
          type: 'rest-hook',
          endpoint: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/crash`,
          payload: 'application/fhir+json',
          _payload: { extension: [{ url: BACKPORT.payloadContent, valueCode: 'id-only' }] },
        },
      },
      app,
    );
    const grant = syntheticGrant({ sourceSystem: 'epj-crash', patient: { system: FNR, value: patient }, performer: { orgnr: '974760673', name: 'Hjemmesykepleien' } });
    await post('/api/v1/decision-events', grant, epj);
    const total = 15;
    for (let day = 2; day <= total; day++) {
      const date = `2026-04-${String(day).padStart(2, '0')}`;
      const common = { eventId: randomUUID(), decisionId: grant.decisionId, occurredAt: `${date}T08:00:00Z`, sourceSystem: 'epj-crash', patient: grant.patient };
      await post('/api/v1/decision-events', day % 2 === 0 ? { ...common, type: 'ServicePaused', pausedFrom: date } : { ...common, type: 'ServiceResumed', resumedFrom: date }, epj);
    }
    const waitFor = async (done: () => boolean, ms: number) => {
      const until = Date.now() + ms;
      while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    };
    await waitFor(() => numbers.length >= 3, 10_000);
    await platform.kill();
    const beforeKill = numbers.length;
    expect(beforeKill).toBeLessThan(total); // killed mid-delivery
    platform = await spawnService('platform', env);
    await waitFor(() => new Set(numbers).size >= total, 40_000);
    expect([...new Set(numbers)].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(numbers.length - new Set(numbers).size).toBeLessThanOrEqual(1);
    numbers.forEach((n, i) => expect(n).toBeGreaterThanOrEqual(i === 0 ? 1 : numbers[i - 1]!));
  }, 90_000);
});
