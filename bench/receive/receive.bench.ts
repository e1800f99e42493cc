/**
 * bench/receive: the receive service over HTTP (the built all-in-one platform, and the
 * receive-service deployable with no projection in its process, each in a child process,
 * loaded by autocannon from this process) next to the limit server (bench/limit: the same
 * parse, token check, schema and one INSERT, nothing else) in alternating rounds, and next
 * to raw `pg` inserts of the same events from this process, on the same embedded
 * PostgreSQL, in the same run. Each server writes to a database of its own in the cluster,
 * so the all-in-one's projection sees only its own events.
 *   npm run bench:receive          (BENCH_SECONDS per case and server, default 6)
 */
import autocannon from 'autocannon';
import { createServer } from 'node:http';
import type pg from 'pg';
import { DEFAULT_TRACES_RATIO } from '#libs/telemetry';
import { PostgresEventStore } from '#libs/event-store';
import { tenantId } from '#libs/tenancy';
import { benchGrant, benchPatients, markdownTable, round, runConcurrent, startBenchServer, startPlatform, waitForProjections, writeResult, type BenchPlatform } from '../lib.js';
import { alternate, benchDatabase, postgresCpu, startLimitServer, versusLimit, type HttpServer, type Load, type Measured } from '../limit/limit.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CONNECTIONS = 16;
const BATCH = 500;
const BATCH_CONNECTIONS = 2;
const TENANT = '313231593';

const pids = benchPatients(2000, 7);

let sequence = 0;
/** A new decision each time: a grant of home nursing for a synthetic person. */
function grant() {
  sequence += 1;
  return benchGrant(`B-${sequence}-${process.pid}`, pids[sequence % pids.length]!);
}

/** What the service stores for a grant: the raw baseline inserts the same rows. */
function storedRow(g: ReturnType<typeof grant>) {
  const { type: _t, eventId: _e, extent: _x, service: _s, ...rest } = g;
  return { streamId: `Decision/${g.sourceSystem}/${g.decisionId}`, eventId: g.eventId, data: JSON.stringify({ ...rest, serviceCode: '15', weeklyHours: 6 }) };
}
const META = JSON.stringify({ sourceSystem: 'epj-bench', clientId: 'dev-client' });

const RAW_ONE = `INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
  VALUES ($1, $2, 1, $3, 'ServiceDecisionGranted', 1, $4, $5)`;
const RAW_MANY = `INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
  SELECT $1, s, 1, i, 'ServiceDecisionGranted', 1, d, $5 FROM unnest($2::text[], $3::uuid[], $4::jsonb[]) AS x(s, i, d)`;

async function raw(pool: pg.Pool, connections: number, seconds: number, perRequest: number) {
  const r = await runConcurrent(connections, seconds * 1000, async () => {
    const rows = Array.from({ length: perRequest }, () => storedRow(grant()));
    if (perRequest === 1) await pool.query({ name: 'raw_one', text: RAW_ONE, values: [TENANT, rows[0]!.streamId, rows[0]!.eventId, rows[0]!.data, META] });
    else await pool.query({ name: 'raw_many', text: RAW_MANY, values: [TENANT, rows.map((x) => x.streamId), rows.map((x) => x.eventId), rows.map((x) => x.data), META] });
  });
  const sorted = [...r.latencies].sort((a, b) => a - b);
  return { rps: r.ops / r.seconds, p99: sorted[Math.floor(sorted.length * 0.99)] ?? NaN };
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const singleLoad = (authorization: string): Load => ({
  path: '/api/v1/decision-events',
  connections: CONNECTIONS,
  requests: [{ method: 'POST', headers: { 'content-type': 'application/json', authorization }, setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify(grant()) }) }],
});
const batchLoad = (authorization: string): Load => ({
  path: '/api/v1/decision-events/batch',
  connections: BATCH_CONNECTIONS,
  perRequest: BATCH,
  requests: [
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify({ events: Array.from({ length: BATCH }, grant) }) }),
    },
  ],
});

const row = (label: string, connections: number, unit: string, c: ReturnType<typeof versusLimit>) => [
  label,
  connections,
  `${c.ours.perSecond} ${unit}`,
  `${c.limit.perSecond} ${unit}`,
  c.throughputRatio,
  `${c.ours.p50ms} / ${c.ours.p99ms}`,
  `${c.limit.p50ms} / ${c.limit.p99ms}`,
  c.p99Ratio,
  `${c.ours.serverCpuMsPerRequest} / ${c.limit.serverCpuMsPerRequest}`,
  `${c.ours.postgresCpuMsPerRequest} / ${c.limit.postgresCpuMsPerRequest}`,
  `${c.ours.peakRssMiB} / ${c.limit.peakRssMiB}`,
];

async function compare(ours: HttpServer, limit: HttpServer, load: (authorization: string) => Load, authorization: string, pgCpu: () => Promise<number>) {
  const l = load(authorization);
  // Warm-up (JIT, prepared statements, pool connections), not measured.
  await alternate([ours, limit], l, { rounds: 1, secondsPerRound: 1, pgCpu });
  const [o, lim] = (await alternate([ours, limit], l, { rounds: ROUNDS, secondsPerRound: SECONDS / ROUNDS, pgCpu })) as [Measured, Measured];
  if (o.errors || lim.errors) console.warn(`${ours.name} vs limit on ${l.path}: errors/non-2xx ${o.errors} / ${lim.errors}`);
  return versusLimit(o, lim);
}

async function main() {
  const bench = await startBenchServer();
  const machine = await bench.describe();
  const pgCpu = await postgresCpu(bench.url);
  console.log('machine', machine);
  const limitDb = await benchDatabase(bench.url, 'bench_limit');
  const receiveDb = await benchDatabase(bench.url, 'bench_receive_service');

  // The all-in-one platform (projection in its process) next to the limit server.
  const platform = await startPlatform(bench.url);
  const limit = await startLimitServer(limitDb, platform.jwks);
  const ours: HttpServer = { name: 'platform', url: platform.url, pid: platform.pid, stop: platform.stop };
  let idle: number, allInOne, allInOneBatch, receiveSingle, receiveBatch, single, batch, tracing, projectionLag;
  try {
    idle = (await platform.memory()).rssMiB;
    allInOne = await compare(ours, limit, singleLoad, platform.authorization, pgCpu);
    allInOneBatch = await compare(ours, limit, batchLoad, platform.authorization, pgCpu);
    // What the all-in-one's read models still had to apply when the load stopped: its rounds
    // measure the receive path, and the projections catch up (partly during the limit's rounds).
    const lagPool = bench.pool(2);
    const head = await new PostgresEventStore(lagPool).head(tenantId(TENANT));
    const { rows } = await lagPool.query<{ n: number }>(
      `SELECT max((SELECT count(*) FROM events e WHERE e.tenant_id = c.tenant_id AND (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position)))::int AS n
         FROM projection_checkpoints c WHERE c.tenant_id = $1`,
      [TENANT],
    );
    const caughtUpSeconds = await waitForProjections(lagPool, TENANT, head, ['service_overview_v2', 'decision_history_v2', 'subscription_matcher_v1']);
    projectionLag = { eventsBehind: rows[0]?.n ?? 0, caughtUpSeconds: round(caughtUpSeconds, 1) };
  } finally {
    await platform.stop();
  }
  // The receive-service deployable (no projection in its process), same dev issuer.
  const receive = await startPlatform(receiveDb, {}, 'receive-service');
  const receiveServer: HttpServer = { name: 'receive-service', url: receive.url, pid: receive.pid, stop: receive.stop };
  const receiveLimit = await startLimitServer(limitDb, receive.jwks);
  const pool = bench.pool(CONNECTIONS + 1);
  try {
    receiveSingle = await compare(receiveServer, receiveLimit, singleLoad, receive.authorization, pgCpu);
    receiveBatch = await compare(receiveServer, receiveLimit, batchLoad, receive.authorization, pgCpu);
    // The cost of tracing: the same deployable with OTEL_EXPORTER_OTLP_ENDPOINT set (spans
    // exported over OTLP/HTTP to a sink in this process) next to it without, alternating: once
    // with every trace kept, once with the default head sampling (libs/telemetry).
    const sink = createServer((req, res) => req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')));
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(sink.address() as { port: number }).port}`;
    const traced = await startPlatform(receiveDb, { FPI_DATA_DIR: receive.dataDir, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: 'parentbased_always_on' }, 'receive-service');
    const sampled = await startPlatform(receiveDb, { FPI_DATA_DIR: receive.dataDir, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }, 'receive-service');
    try {
      const l = singleLoad(receive.authorization);
      // Each traced server next to the untraced one in a comparison of its own: a server that
      // keeps every trace is still exporting its last batch when the next round starts.
      // Twice the rounds of the other cases: the figure is a few per cent.
      const versusOff = async (server: BenchPlatform, name: string) => {
        const servers: HttpServer[] = [receiveServer, { name, url: server.url, pid: server.pid, stop: server.stop }];
        // A longer warm-up than the other cases: the traced server starts cold, the other has run the cases above.
        await alternate(servers, l, { rounds: 2, secondsPerRound: SECONDS / ROUNDS, pgCpu });
        return (await alternate(servers, l, { rounds: 2 * ROUNDS, secondsPerRound: SECONDS / ROUNDS, pgCpu })) as [Measured, Measured];
      };
      const [off, onSampled] = await versusOff(sampled, 'receive-service, traced (default sampling)');
      const [offAll, on] = await versusOff(traced, 'receive-service, traced (all)');
      tracing = {
        defaultRatio: DEFAULT_TRACES_RATIO,
        off,
        onSampled,
        offAll,
        on,
        sampledThroughputRatio: round(onSampled.perSecond / off.perSecond),
        sampledServerCpuRatio: round(onSampled.serverCpuMsPerRequest / off.serverCpuMsPerRequest),
        throughputRatio: round(on.perSecond / offAll.perSecond),
        serverCpuRatio: round(on.serverCpuMsPerRequest / offAll.serverCpuMsPerRequest),
      };
    } finally {
      await Promise.all([traced.stop(), sampled.stop()]);
      sink.close();
    }
    // The raw-driver baselines (no HTTP at all), from this process.
    await raw(pool, CONNECTIONS, 1, 1);
    single = { raw: await raw(pool, CONNECTIONS, SECONDS, 1) };
    batch = { raw: await raw(pool, BATCH_CONNECTIONS, SECONDS, BATCH) };
  } finally {
    await Promise.all([receive.stop(), receiveLimit.stop(), limit.stop()]);
    await bench.stop();
  }
  const memory = { idleMiB: idle, singlePeakMiB: allInOne.ours.peakRssMiB, batchPeakMiB: allInOneBatch.ours.peakRssMiB, limitPeakMiB: allInOneBatch.limit.peakRssMiB };
  const markdown = [
    '# bench/receive',
    '',
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, ` +
      `fsync=${machine.fsync}, synchronous_commit=${machine.synchronous_commit}. ${SECONDS}s per case and server, in ${ROUNDS} alternating rounds.`,
    '',
    'Ours next to the limit server (bench/limit: the same JSON parse, token check and schema, one INSERT per',
    'request, nothing else). CPU in ms per request (server process / whole PostgreSQL cluster), from /proc.',
    '',
    markdownTable(
      [
        'case',
        'connections',
        'ours',
        'limit',
        'ours / limit',
        'ours p50 / p99 ms',
        'limit p50 / p99 ms',
        'p99 ours / limit',
        'server CPU ms ours / limit',
        'PostgreSQL CPU ms ours / limit',
        'peak RSS MiB ours / limit',
      ],
      [
        row('single-event POST, all-in-one platform', CONNECTIONS, 'ev/s', allInOne),
        row('single-event POST, receive-service', CONNECTIONS, 'ev/s', receiveSingle),
        row(`batch POST (${BATCH} events), all-in-one platform`, BATCH_CONNECTIONS, 'ev/s', allInOneBatch),
        row(`batch POST (${BATCH} events), receive-service`, BATCH_CONNECTIONS, 'ev/s', receiveBatch),
      ],
    ),
    '',
    'Raw-driver baselines (no HTTP, no token, no validation: `pg` from the bench process):',
    '',
    markdownTable(
      ['case', 'connections', 'raw pg events/s', 'raw p99 ms', 'receive-service / raw'],
      [
        ['single-event INSERT', CONNECTIONS, round(single.raw.rps, 0), round(single.raw.p99, 1), round(receiveSingle.ours.perSecond / single.raw.rps)],
        [`multi-row INSERT (${BATCH} events)`, BATCH_CONNECTIONS, round(batch.raw.rps * BATCH, 0), round(batch.raw.p99, 1), round(receiveBatch.ours.perSecond / (batch.raw.rps * BATCH))],
      ],
    ),
    '',
    `Tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set, OTLP/HTTP to a local sink) vs off, receive-service single-event POSTs in ${2 * ROUNDS} alternating rounds per comparison. ` +
      `Default head sampling (parent-based, ${100 * tracing.defaultRatio} % of the traces that start here; OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG set another): ` +
      `${tracing.onSampled.perSecond} vs ${tracing.off.perSecond} ev/s (on / off ${tracing.sampledThroughputRatio}), p99 ${tracing.onSampled.p99ms} vs ${tracing.off.p99ms} ms, ` +
      `server CPU ${tracing.onSampled.serverCpuMsPerRequest} vs ${tracing.off.serverCpuMsPerRequest} ms/request (${tracing.sampledServerCpuRatio}×). ` +
      `All traces (OTEL_TRACES_SAMPLER=parentbased_always_on), rounds of their own: ${tracing.on.perSecond} vs ${tracing.offAll.perSecond} ev/s (on / off ${tracing.throughputRatio}), ` +
      `p99 ${tracing.on.p99ms} vs ${tracing.offAll.p99ms} ms, server CPU ${tracing.on.serverCpuMsPerRequest} vs ${tracing.offAll.serverCpuMsPerRequest} ms/request (${tracing.serverCpuRatio}×).`,
    '',
    `The all-in-one platform's read models (overview, FHIR history, subscriptions' matcher) when the batch load stopped: ` +
      `${projectionLag!.eventsBehind} events behind, caught up ${projectionLag!.caughtUpSeconds} s later; the rows above measure its receive path while they apply what they can.`,
    '',
    `All-in-one platform memory (resident set from /proc; peak = VmHWM since start): idle ${memory.idleMiB} MiB, peak after single-event POSTs ${memory.singlePeakMiB} MiB, ` +
      `peak after batch POSTs ${memory.batchPeakMiB} MiB (limit server ${memory.limitPeakMiB} MiB).`,
  ].join('\n');
  const result = {
    machine,
    seconds: SECONDS,
    rounds: ROUNDS,
    allInOne,
    allInOneBatch,
    receiveSingle,
    receiveBatch,
    raw: { single: single.raw, batch: { ...batch.raw, eventsPerSecond: batch.raw.rps * BATCH } },
    tracing,
    memory,
    projectionLag,
  };
  const dir = await writeResult('receive-latest', result, markdown);
  console.log('\n' + markdown + `\n\nwritten to ${dir}/receive-latest.{json,md}`);
}

await main();
