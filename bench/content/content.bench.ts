/**
 * bench/content: the service-overview projection rebuilt from 1M events (200k patients)
 * next to a raw read of the same events; overview lookups over HTTP next to a raw keyed
 * SELECT; freshness from a 201 to the event being visible in the overview.
 *   npm run bench:content     (BENCH_EVENTS, BENCH_PATIENTS, BENCH_SECONDS to tune;
 *                              BENCH_CASES=rebuild runs the rebuild alone and writes no result)
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ServiceOverviewProjection } from '#libs/content';
import { PostgresEventStore, START, type Checkpoint } from '#libs/event-store';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';
import { DEFAULT_ENGINE_OPTIONS, ProjectionEngine } from '#libs/projections';
import { syntheticFodselsnummer } from '#libs/domain';
import { markdownTable, percentile, round, runConcurrent, startBenchServer, startPlatform, waitForProjections, writeResult } from '../lib.js';
import { alternate, postgresCpu, startLimitServer, versusLimit, type Measured } from '../limit/limit.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const PATIENTS = Number(process.env.BENCH_PATIENTS ?? 200_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCH = Number(process.env.BENCH_BATCH ?? 2000);
const TENANT = tenantId('313231593');
const CONNECTIONS = 16;
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';

/** Synthetic person numbers (month +65, SyntPop range, valid check digits), made at run time. */
const PIDS: string[] = [];
for (let n = 0; PIDS.length < PATIENTS; n++) {
  const pid = syntheticFodselsnummer({
    birthDate: { year: 1930 + (Math.floor(n / 336) % 90), month: 1 + (Math.floor(n / 28) % 12), day: 1 + (n % 28) },
    offset: 65,
    individual: Math.floor(n / 30240) % 1000,
  });
  if (pid) PIDS.push(pid);
}
const pidOf = (i: number) => PIDS[i]!;

/** 1M events: per patient a home-nursing decision (granted, changed, paused, resumed) and a safety alarm. */
async function load(pool: pg.Pool) {
  const perPatient = Math.max(1, Math.round(EVENTS / PATIENTS));
  const chunk = 20_000;
  for (let from = 0; from < PATIENTS; from += chunk) {
    const ids = Array.from({ length: Math.min(chunk, PATIENTS - from) }, (_, k) => from + k);
    await pool.query(
      `WITH p AS (SELECT i, pid FROM unnest($2::int[], $3::text[]) AS x(i, pid)),
       kinds(k, type, stream_suffix, pos, data) AS (VALUES
         (1, 'ServiceDecisionGranted', 'HS', 1, '{"serviceCode":"15","period":{"start":"2026-01-05"},"weeklyHours":6,"performer":{"orgnr":"974760673","name":"Hjemmesykepleien","phone":"+4799999999"}}'::jsonb),
         (2, 'ServiceDecisionChanged', 'HS', 2, '{"weeklyHours":8}'::jsonb),
         (3, 'ServicePaused', 'HS', 3, '{"pausedFrom":"2026-03-01","reason":"Innlagt"}'::jsonb),
         (4, 'ServiceResumed', 'HS', 4, '{"resumedFrom":"2026-03-10"}'::jsonb),
         (5, 'ServiceDecisionGranted', 'TA', 1, '{"serviceCode":"6","period":{"start":"2026-02-01"},"performer":{"name":"Alarmsentralen"}}'::jsonb))
       INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
       SELECT $1, 'Decision/bench/' || k.stream_suffix || '-' || p.i, k.pos, gen_random_uuid(), k.type, 1,
              k.data || jsonb_build_object('decisionId', k.stream_suffix || '-' || p.i, 'sourceSystem', 'bench',
                                           'patient', jsonb_build_object('system', $4::text, 'value', p.pid), 'occurredAt', '2026-01-05T08:00:00Z'),
              '{}'::jsonb
         FROM p CROSS JOIN kinds k WHERE k.k <= $5
        ORDER BY p.i, k.k`,
      [TENANT, ids, ids.map(pidOf), FNR, perPatient],
    );
  }
  await pool.query('ANALYZE events');
  return (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n;
}

async function rawRead(pool: pg.Pool, total: number) {
  const started = performance.now();
  let from: Checkpoint = START;
  let read = 0;
  const store = new PostgresEventStore(pool);
  // The same reads the projection does, through the same query, without applying anything.
  for (;;) {
    const page = await store.readAll(TENANT, from, BATCH);
    read += page.events.length;
    if (page.events.length < BATCH) break;
    from = page.checkpoint;
  }
  await store.close();
  if (read !== total) throw new Error(`raw read ${read} of ${total}`);
  return total / ((performance.now() - started) / 1000);
}

async function rebuild(pool: pg.Pool, version: number, total: number) {
  const store = new PostgresEventStore(pool);
  const engine = new ProjectionEngine(pool, store, new PostgresTenantRegistry(pool), [new ServiceOverviewProjection(version)], {
    ...DEFAULT_ENGINE_OPTIONS,
    batchSize: BATCH,
    pollMs: 50,
    superviseMs: 200,
  });
  const head = await store.head(TENANT);
  const started = performance.now();
  await engine.start();
  // The runner's checkpoint reaching the head (a keyed read at most every 100 ms): polling
  // engine.status() counted the events behind, a scan of the backlog on every poll.
  if (!(await engine.waitFor(`service_overview_v${version}`, TENANT, head, 3_600_000))) throw new Error('the rebuild did not reach the head');
  const seconds = (performance.now() - started) / 1000;
  await engine.stop();
  await store.close();
  return total / seconds;
}

async function main() {
  const bench = await startBenchServer();
  const machine = await bench.describe();
  const pool = bench.pool(20);
  console.log('machine', machine);
  await new PostgresTenantRegistry(pool).add({ id: TENANT, name: 'Bench kommune', environment: 'test' });
  let t = performance.now();
  const total = await load(pool);
  console.log(`loaded ${total} events for ${PATIENTS} patients in ${round((performance.now() - t) / 1000, 1)} s`);

  // Rebuild: raw read first (warms the cache for both), then the projection.
  const raw = await rawRead(pool, total);
  const projected = await rebuild(pool, 2, total);
  const patientsInModel = (await pool.query<{ n: number }>('SELECT count(DISTINCT patient_id)::int AS n FROM service_overview_v2')).rows[0]!.n;
  console.log(`rebuild ${round(projected, 0)} ev/s, raw read ${round(raw, 0)} ev/s, ratio ${round(projected / raw)}, ${patientsInModel} patients`);
  if (process.env.BENCH_CASES === 'rebuild') return bench.stop();

  // Lookups and freshness against the platform in its own process.
  const platform = await startPlatform(bench.url);
  try {
    // The platform's other read models start from the first event: measure once all have caught up.
    const head = await new PostgresEventStore(pool).head(TENANT);
    const waited = await waitForProjections(pool, TENANT, head, ['service_overview_v2', 'decision_history_v2', 'subscription_matcher_v1']);
    console.log(`the platform's projections caught up with ${total} events in ${round(waited, 1)} s (FHIR history and the subscriptions' matcher built from the start)`);
    const idle = await platform.memory();
    let n = 0;
    const lookupRequests = Array.from({ length: 2000 }, (_, k) => ({ method: 'GET' as const, headers: { 'person-id': pidOf((k * 7919) % PATIENTS), authorization: platform.authorization } }));
    // Ours next to the limit server (the same token check and person-id parse, then one
    // statement that reads the overview row and writes the access-log row), alternating rounds.
    const limit = await startLimitServer(bench.url, platform.jwks);
    const pgCpu = await postgresCpu(bench.url);
    const servers = [
      { name: 'platform', url: platform.url, pid: platform.pid, stop: platform.stop },
      { name: 'limit', url: limit.url, pid: limit.pid, stop: limit.stop },
    ];
    // Pre-built requests for 2,000 different patients, cycled (cheaper than rebuilding each).
    const load = { path: '/api/v1/service-overview', connections: CONNECTIONS, requests: lookupRequests };
    // Warm-up (JIT, pool connections, prepared statements), not measured.
    await alternate(servers, load, { rounds: 1, secondsPerRound: 2, pgCpu });
    const [oursLookup, limitLookup] = (await alternate(servers, load, { rounds: ROUNDS, secondsPerRound: SECONDS / ROUNDS, pgCpu })) as [Measured, Measured];
    await limit.stop();
    const versus = versusLimit(oursLookup, limitLookup);
    if (oursLookup.errors || limitLookup.errors) console.warn('lookups: errors/non-2xx', oursLookup.errors, limitLookup.errors);
    const lookups = { '2xx': oursLookup.perSecond * SECONDS, non2xx: oursLookup.errors, latency: { p99: oursLookup.p99ms } };
    const lookupMemory = await platform.memory();
    const rawLookup = await runConcurrent(CONNECTIONS, SECONDS * 1000, async () => {
      n = (n + 7919) % PATIENTS;
      await pool.query({ name: 'raw_lookup', text: 'SELECT jsonb_agg(decision) FROM service_overview_v2 WHERE tenant_id = $1 AND patient_id = $2', values: [TENANT, pidOf(n)] });
    });
    const rawRps = rawLookup.ops / rawLookup.seconds;
    const lookupRps = lookups['2xx'] / SECONDS;
    console.log(
      `lookups ${round(lookupRps, 0)} req/s p99 ${lookups.latency.p99} ms (non-2xx ${lookups.non2xx}); raw ${round(rawRps, 0)} req/s p99 ${round(percentile(rawLookup.latencies, 99), 2)} ms`,
    );

    // Freshness: a 201 from the receive service, then the overview read that waits for its checkpoint.
    const freshness: number[] = [];
    for (let i = 0; i < 200; i++) {
      const pid = '13717404089';
      const res = await fetch(`${platform.url}/api/v1/decision-events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: platform.authorization },
        body: JSON.stringify({
          type: 'ServiceDecisionGranted',
          eventId: randomUUID(),
          decisionId: `FRESH-${i}-${randomUUID().slice(0, 6)}`,
          occurredAt: '2026-03-01T08:00:00Z',
          sourceSystem: 'epj-bench',
          patient: { system: FNR, value: pid },
          service: { code: '6' },
          period: { start: '2026-03-01' },
        }),
      });
      const receipt = (await res.json()) as { checkpoint: string };
      t = performance.now();
      const read = await fetch(`${platform.url}/api/v1/service-overview`, { headers: { 'person-id': pid, 'min-checkpoint': receipt.checkpoint, authorization: platform.authorization } });
      if (read.status !== 200) throw new Error(`freshness read answered ${read.status}`);
      await read.arrayBuffer();
      freshness.push(performance.now() - t);
    }
    const result = {
      machine,
      events: total,
      patients: patientsInModel,
      rebuild: { eventsPerSecond: round(projected, 0), rawReadEventsPerSecond: round(raw, 0), ratio: round(projected / raw), batchSize: BATCH },
      lookups: {
        requestsPerSecond: round(lookupRps, 0),
        p99ms: lookups.latency.p99,
        rawRequestsPerSecond: round(rawRps, 0),
        rawP99ms: round(percentile(rawLookup.latencies, 99), 2),
        ratio: round(lookupRps / rawRps),
        connections: CONNECTIONS,
      },
      lookupsVersusLimit: versus,
      freshness: { p50ms: round(percentile(freshness, 50), 2), p99ms: round(percentile(freshness, 99), 2), samples: freshness.length },
      memory: { idleMiB: idle.rssMiB, lookupsPeakMiB: lookupMemory.peakMiB, ratio: round(lookupMemory.peakMiB / idle.rssMiB) },
    };
    const markdown = [
      '# bench/content',
      '',
      `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, ` +
        `fsync=${machine.fsync}, synchronous_commit=${machine.synchronous_commit}. ${total} events, ${patientsInModel} patients.`,
      '',
      markdownTable(
        ['case', 'ours', 'raw baseline', 'ours / raw', 'target'],
        [
          [`overview rebuild (batch ${BATCH})`, `${result.rebuild.eventsPerSecond} events/s`, `${result.rebuild.rawReadEventsPerSecond} events/s (read only)`, result.rebuild.ratio, '≥ 30k events/s'],
          [
            `overview lookups, ${CONNECTIONS} connections`,
            `${result.lookups.requestsPerSecond} req/s, p99 ${result.lookups.p99ms} ms`,
            `${result.lookups.rawRequestsPerSecond} req/s, p99 ${result.lookups.rawP99ms} ms (keyed SELECT)`,
            result.lookups.ratio,
            '≥ 5k req/s, p99 ≤ 20 ms',
          ],
          [
            `overview lookups vs the limit server (${ROUNDS} alternating rounds)`,
            `p50 ${oursLookup.p50ms} ms; CPU/request: server ${oursLookup.serverCpuMsPerRequest} ms, PostgreSQL ${oursLookup.postgresCpuMsPerRequest} ms`,
            `${limitLookup.perSecond} req/s, p50 ${limitLookup.p50ms} ms, p99 ${limitLookup.p99ms} ms; CPU/request: server ${limitLookup.serverCpuMsPerRequest} ms, PostgreSQL ${limitLookup.postgresCpuMsPerRequest} ms (limit: one read + access-log statement)`,
            `${versus.throughputRatio} (p99 ${versus.p99Ratio}×)`,
            '≥ 0.8, p99 ≤ 2×',
          ],
          ['freshness, 201 → visible', `p50 ${result.freshness.p50ms} ms, p99 ${result.freshness.p99ms} ms`, '', '', 'p99 ≤ 50 ms'],
          [`platform RSS, peak during lookups`, `${result.memory.lookupsPeakMiB} MiB`, `${result.memory.idleMiB} MiB idle after start`, result.memory.ratio, ''],
        ],
      ),
    ].join('\n');
    const dir = await writeResult('content-latest', result, markdown);
    console.log('\n' + markdown + `\n\nwritten to ${dir}/content-latest.{json,md}`);
  } finally {
    await platform.stop();
    await bench.stop();
  }
}

await main();
