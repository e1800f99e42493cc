/**
 * bench/subscriptions: FHIR topic-based subscriptions under load. The built platform runs in a
 * child process; a notification receiver on loopback runs in this one.
 *
 * 1. Latency: 100 subscriptions (100 clients of one home-care unit, each by organisation, so
 *    every event below is one notification to each of the 100), events posted one at a time;
 *    per notification the time from the event's 201 to its arrival at the receiver.
 * 2. Cost to appends: grants of that unit posted by autocannon, in alternating rounds: all
 *    subscriptions `off` (no matching, no delivery); 100 subscriptions each to one patient
 *    (another 100 clients; of the 500 synthetic patients the load cycles through, each of the
 *    first 100 has one); the 100 by organisation
 *    (every event goes to all 100). Events per second of each, and the ratios to `off`.
 *   npm run bench:subscriptions   (BENCH_SECONDS, BENCH_EVENTS, BENCH_SUBSCRIPTIONS to tune)
 */
import autocannon from 'autocannon';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIssuer } from '#libs/security';
import { spawnDeployable } from '#libs/service';
import { BACKPORT, DECISION_CHANGES_TOPIC } from '#libs/subscriptions';
import { benchGrant, benchPatients, markdownTable, percentile, round, startBenchServer, writeResult } from '../lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 200);
const SUBSCRIPTIONS = Number(process.env.BENCH_SUBSCRIPTIONS ?? 100);
const ROUNDS = 2;
const CONNECTIONS = 16;
const TENANT = '313231593';
const UNIT = '974760673';
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';

const pids = benchPatients(500, 11);

let sequence = 0;
function grant() {
  sequence += 1;
  return benchGrant(`S-${sequence}-${process.pid}`, pids[sequence % pids.length]!, { extent: undefined, performer: { orgnr: UNIT, name: 'Hjemmesykepleien' } });
}

const server = await startBenchServer();
const machine = await server.describe();
const dataDir = await mkdtemp(join(tmpdir(), 'fpi-bench-subscriptions-'));
const issuer = await DevIssuer.open(dataDir);
const writer = `Bearer ${await issuer.issue({ tenant: TENANT, scopes: ['write', 'write-any-source'], clientId: 'bench-epj', ttlSeconds: 3600 })}`;
const platform = await spawnDeployable('platform', { DATABASE_URL: server.url, FPI_DATA_DIR: dataDir, FPI_RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'warn' });
const pool = server.pool(2);

// The receiver: for each arriving notification, the event numbers it carries, and when.
const arrivals: { number: number; at: number }[] = []; // of the subscriptions by organisation (path /org)
let notifications = 0;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = performance.now();
    notifications += 1;
    const bundle = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { entry: { resource: { parameter: { name: string; part?: { name: string; valueString?: string }[] }[] } }[] };
    for (const p of bundle.entry[0]!.resource.parameter) {
      if (p.name === 'notification-event' && req.url === '/org') arrivals.push({ number: Number(p.part!.find((x) => x.name === 'event-number')!.valueString), at });
    }
    res.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

const post = async (path: string, body: unknown, authorization: string, contentType = 'application/json') => {
  const r = await fetch(platform.url + path, { method: 'POST', headers: { 'content-type': contentType, authorization }, body: JSON.stringify(body) });
  if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r;
};

try {
  const subscribe = async (clientId: string, filter: string, path: string) => {
    const token = await issuer.issue({ tenant: TENANT, scopes: ['read'], purpose: 'TREAT', clientId, orgChild: UNIT, ttlSeconds: 3600 });
    await post(
      '/fhir/Subscription',
      {
        resourceType: 'Subscription',
        reason: 'bench',
        criteria: DECISION_CHANGES_TOPIC,
        _criteria: { extension: [{ url: BACKPORT.filterCriteria, valueString: filter }] },
        channel: { type: 'rest-hook', endpoint: receiverUrl + path, payload: 'application/fhir+json', _payload: { extension: [{ url: BACKPORT.payloadContent, valueCode: 'id-only' }] } },
      },
      `Bearer ${token}`,
      'application/fhir+json',
    );
  };
  const handshakes = async (n: number) => {
    const until = Date.now() + 30_000;
    while (notifications < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    if (notifications < n) throw new Error(`only ${notifications} handshakes of ${n}`);
  };
  // 100 apps of the home-care unit, each subscribing to everything its unit performs.
  for (let i = 0; i < SUBSCRIPTIONS; i++) await subscribe(`bench-org-app-${i}`, `organization.identifier=${UNIT}`, '/org');
  await handshakes(SUBSCRIPTIONS);

  // 1. Latency: one event at a time; event k is event number k of every subscription.
  const sentAt: number[] = [];
  for (let k = 1; k <= EVENTS; k++) {
    await post('/api/v1/decision-events', grant(), writer);
    sentAt[k] = performance.now();
    await new Promise((r) => setTimeout(r, 10));
  }
  const deadline = Date.now() + 60_000;
  while (arrivals.filter((a) => a.number <= EVENTS).length < EVENTS * SUBSCRIPTIONS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const measured = arrivals.filter((a) => a.number <= EVENTS);
  // A notification may arrive before the client has read its 201: counted as 0 ms.
  const latencies = measured.map((a) => Math.max(0, a.at - sentAt[a.number]!));
  const early = measured.filter((a) => a.at < sentAt[a.number]!).length;
  const latency = {
    subscriptions: SUBSCRIPTIONS,
    events: EVENTS,
    notificationsExpected: EVENTS * SUBSCRIPTIONS,
    notificationsReceived: measured.length,
    beforeThe201: early,
    p50ms: round(percentile(latencies, 50), 1),
    p99ms: round(percentile(latencies, 99), 1),
    maxMs: round(Math.max(...latencies), 1),
  };
  console.log('latency', latency);

  // 2. Append throughput: all off, 100 by patient, 100 by organisation; alternating rounds.
  const before = notifications;
  for (let i = 0; i < SUBSCRIPTIONS; i++) await subscribe(`bench-patient-app-${i}`, `patient.identifier=${FNR}|${pids[i]!}`, '/patient');
  await handshakes(before + SUBSCRIPTIONS);
  const MODES = { off: [], patient: ['bench-patient-app-%'], organisation: ['bench-org-app-%'] } as const;
  const totals = Object.fromEntries(Object.keys(MODES).map((m) => [m, { events: 0, seconds: 0 }])) as Record<keyof typeof MODES, { events: number; seconds: number }>;
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of Object.keys(MODES) as (keyof typeof MODES)[]) {
      const on = MODES[mode] as readonly string[];
      await pool.query(`UPDATE fhir_subscriptions SET status = CASE WHEN client_id LIKE ANY($1::text[]) THEN 'active' ELSE 'off' END`, [on]);
      const result = await autocannon({
        url: `${platform.url}/api/v1/decision-events`,
        connections: CONNECTIONS,
        duration: SECONDS / ROUNDS,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: writer },
        requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify(grant()) }) }],
      });
      totals[mode].events += result['2xx'];
      totals[mode].seconds += SECONDS / ROUNDS;
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`append errors: ${result.non2xx} non-2xx, ${result.errors} errors`);
    }
  }
  const backlog = (await pool.query<{ n: number }>('SELECT coalesce(sum(events_since_start - delivered_through), 0)::int AS n FROM fhir_subscriptions')).rows[0]!.n;
  const rate = (m: keyof typeof MODES) => totals[m].events / totals[m].seconds;
  const throughput = {
    withoutSubscriptions: round(rate('off'), 0),
    with100PatientSubscriptions: round(rate('patient'), 0),
    patientRatio: round(rate('patient') / rate('off'), 2),
    with100OrganisationSubscriptions: round(rate('organisation'), 0),
    organisationRatio: round(rate('organisation') / rate('off'), 2),
    undeliveredAtEnd: backlog,
  };
  console.log('throughput', throughput);

  const result = { machine, seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, latency, throughput };
  const md = [
    `# bench/subscriptions — ${new Date().toISOString()}`,
    '',
    `${machine.cores} cores, ${machine.cpu}, PostgreSQL ${machine.postgres} (synchronous_commit ${machine.synchronous_commit}); the platform in a child process, the receiver (loopback) and the load in this one.`,
    '',
    `## Notification latency: event 201 → notification received (${SUBSCRIPTIONS} subscriptions, each matching every event; ${EVENTS} events one at a time)`,
    '',
    markdownTable(
      ['notifications', 'p50 ms', 'p99 ms', 'max ms', 'before the 201'],
      [[`${latency.notificationsReceived}/${latency.notificationsExpected}`, latency.p50ms, latency.p99ms, latency.maxMs, latency.beforeThe201]],
    ),
    '',
    `## Append throughput with and without subscriptions (grants over HTTP, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS / ROUNDS} s per case)`,
    '',
    markdownTable(
      ['case', 'events/s', 'ratio to none'],
      [
        ['no subscription active', throughput.withoutSubscriptions, 1],
        [
          `${SUBSCRIPTIONS} by patient (${Math.round((100 * Math.min(SUBSCRIPTIONS, pids.length)) / pids.length)} % of the events match one)`,
          throughput.with100PatientSubscriptions,
          throughput.patientRatio,
        ],
        [`${SUBSCRIPTIONS} by organisation (every event to all ${SUBSCRIPTIONS})`, throughput.with100OrganisationSubscriptions, throughput.organisationRatio],
      ],
    ),
    '',
    `Events matched but not yet delivered when the load stopped: ${backlog} (the platform, receiver and load share the machine's cores).`,
    '',
  ].join('\n');
  console.log(`written to ${await writeResult('subscriptions-latest', result, md)}/subscriptions-latest.{json,md}`);
} finally {
  receiver.closeAllConnections();
  receiver.close();
  await platform.stop();
  await server.stop();
}
