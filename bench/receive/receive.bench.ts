/**
 * bench/receive: the receive service over HTTP (the built platform in a child process,
 * loaded by autocannon from this process) next to raw `pg` inserts of the same events
 * from this process, on the same embedded PostgreSQL, in the same run.
 *   npm run bench:receive          (BENCH_SECONDS per case, default 6)
 */
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { syntheticFodselsnummer } from '#libs/domain';
import { markdownTable, round, runConcurrent, startBenchServer, startPlatform, writeResult } from '../lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const CONNECTIONS = 16;
const BATCH = 500;
const BATCH_CONNECTIONS = 2;
const TENANT = '313231593';

const pids = Array.from({ length: 2000 }, (_, i) =>
  syntheticFodselsnummer({ birthDate: { year: 1940 + (i % 50), month: 1 + (i % 12), day: 1 + (i % 28) }, offset: 65, individual: (i * 7) % 1000 }),
).filter((p): p is string => p !== undefined);

let sequence = 0;
/** A new decision each time: a grant of home nursing for a synthetic person. */
function grant() {
  sequence += 1;
  return {
    type: 'ServiceDecisionGranted',
    eventId: randomUUID(),
    decisionId: `B-${sequence}-${process.pid}`,
    occurredAt: '2026-03-01T08:15:00Z',
    sourceSystem: 'epj-bench',
    patient: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: pids[sequence % pids.length]! },
    service: { code: '15' },
    period: { start: '2026-03-01' },
    extent: { value: 6, unit: 'hours-per-week' },
    performer: { orgnr: '974760673', name: 'Hjemmesykepleien sone vest', phone: '+4799999999' },
  };
}

/** What the service stores for a grant: the raw baseline inserts the same rows. */
function storedRow(g: ReturnType<typeof grant>) {
  const { type: _t, eventId: _e, extent: _x, service: _s, ...rest } = g;
  return { streamId: `Decision/${g.sourceSystem}/${g.decisionId}`, eventId: g.eventId, data: JSON.stringify({ ...rest, serviceCode: '15', weeklyHours: 6 }) };
}
const META = JSON.stringify({ sourceSystem: 'epj-bench', clientId: 'dev-client' });

async function http(url: string, authorization: string, path: string, connections: number, seconds: number, body: () => unknown) {
  const result = await autocannon({
    url: url + path,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify(body()) }) }],
  });
  const ok = result['2xx'];
  return { requests: ok, rps: ok / seconds, p99: result.latency.p99, errors: result.errors + result.non2xx };
}

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

async function main() {
  const bench = await startBenchServer();
  const machine = await bench.describe();
  const platform = await startPlatform(bench.url);
  const pool = bench.pool(CONNECTIONS + 1);
  console.log('machine', machine);
  try {
    const idle = await platform.memory();
    // Warm-up: JIT, prepared statements, pool connections.
    await http(platform.url, platform.authorization, '/api/v1/decision-events', CONNECTIONS, 1, grant);
    await raw(pool, CONNECTIONS, 1, 1);

    const single = { http: await http(platform.url, platform.authorization, '/api/v1/decision-events', CONNECTIONS, SECONDS, grant), raw: await raw(pool, CONNECTIONS, SECONDS, 1) };
    const afterSingle = await platform.memory();
    const batch = {
      http: await http(platform.url, platform.authorization, '/api/v1/decision-events/batch', BATCH_CONNECTIONS, SECONDS, () => ({ events: Array.from({ length: BATCH }, grant) })),
      raw: await raw(pool, BATCH_CONNECTIONS, SECONDS, BATCH),
    };
    const afterBatch = await platform.memory();
    const memory = { idleMiB: idle.rssMiB, singlePeakMiB: afterSingle.peakMiB, batchPeakMiB: afterBatch.peakMiB, afterLoadMiB: afterBatch.rssMiB };
    if (single.http.errors || batch.http.errors) console.warn('non-2xx answers:', single.http.errors, batch.http.errors);
    const rows = [
      ['single-event POST', CONNECTIONS, round(single.http.rps, 0), round(single.raw.rps, 0), round(single.http.rps / single.raw.rps), single.http.p99, round(single.raw.p99, 1)],
      [
        `batch POST (${BATCH} events)`,
        BATCH_CONNECTIONS,
        round(batch.http.rps * BATCH, 0),
        round(batch.raw.rps * BATCH, 0),
        round(batch.http.rps / batch.raw.rps),
        batch.http.p99,
        round(batch.raw.p99, 1),
      ],
    ];
    const markdown = [
      '# bench/receive',
      '',
      `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, ` +
        `fsync=${machine.fsync}, synchronous_commit=${machine.synchronous_commit}, ${SECONDS}s per case.`,
      '',
      markdownTable(['case', 'connections', 'HTTP events/s', 'raw pg events/s', 'HTTP / raw', 'HTTP p99 ms', 'raw p99 ms'], rows),
      '',
      'Platform process memory (resident set, from /proc; peak = VmHWM since start):',
      '',
      markdownTable(
        ['when', 'RSS MiB', 'vs idle'],
        [
          ['idle after start', memory.idleMiB, 1],
          ['peak during single-event POSTs', memory.singlePeakMiB, round(memory.singlePeakMiB / memory.idleMiB)],
          [`peak during batch POSTs (${BATCH} events)`, memory.batchPeakMiB, round(memory.batchPeakMiB / memory.idleMiB)],
          ['after the load', memory.afterLoadMiB, round(memory.afterLoadMiB / memory.idleMiB)],
        ],
      ),
    ].join('\n');
    const dir = await writeResult('receive-latest', { machine, seconds: SECONDS, single, batch, memory }, markdown);
    console.log('\n' + markdown + `\n\nwritten to ${dir}/receive-latest.{json,md}`);
  } finally {
    await platform.stop();
    await bench.stop();
  }
}

await main();
