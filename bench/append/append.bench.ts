/**
 * bench/append: the event-store port against a raw `pg` baseline doing the same inserts,
 * in the same run, on the same server.
 *   npm run bench:append            (BENCH_SECONDS, BENCH_TABLE_SIZES to tune)
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { PostgresEventStore } from '#libs/event-store';
import { PostgresTenantRegistry, tenantId, type TenantId } from '#libs/tenancy';
import { alternateAppends, markdownTable, percentile, rawAppend, round, startBenchServer, writeResult } from '../lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = 6;
const TABLE_SIZES = (process.env.BENCH_TABLE_SIZES ?? '0,1000000,5000000').split(',').map(Number);
const LEVELS = [1, 8, 32];
const BATCH = 100;

const payload = () => ({
  decisionId: randomUUID(),
  patient: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' },
  serviceCode: '15',
  period: { start: '2026-01-01' },
  weeklyHours: 6,
  performer: { orgnr: '974760673', name: 'Hjemmesykepleien sone vest', phone: '+4799999999' },
});
const metadata = { sourceSystem: 'bench', correlationId: 'bench' };

async function main() {
  const bench = await startBenchServer();
  const machine = await bench.describe();
  const setup = bench.pool(2);
  const tenants = new PostgresTenantRegistry(setup);
  const portTenant = tenantId('313231593');
  const rawTenant = tenantId('974760673');
  await tenants.add({ id: portTenant, name: 'Bench port', environment: 'test' });
  await tenants.add({ id: rawTenant, name: 'Bench raw', environment: 'test' });

  let run = 0;
  const throughput: { case: string; writers: number; port: number; raw: number; ratio: number }[] = [];
  const measure = async (label: string, writers: number, eventsPerAppend: number) => {
    run += 1;
    const pool = bench.pool(writers + 1);
    const store = new PostgresEventStore(pool);
    const rates = await alternateAppends({
      writers,
      perAppend: eventsPerAppend,
      seconds: SECONDS,
      rounds: ROUNDS,
      run,
      first: (stream, at) => rawAppend(pool, rawTenant, stream, at, eventsPerAppend, payload, metadata),
      second: (stream, at) =>
        store.append(
          portTenant,
          stream,
          Array.from({ length: eventsPerAppend }, () => ({ eventId: randomUUID(), type: 'ServiceDecisionGranted', data: payload(), metadata })),
          at,
        ),
    });
    await store.close();
    const row = { case: label, writers, port: round(rates.second, 0), raw: round(rates.first, 0), ratio: 0 };
    row.ratio = round(row.port / row.raw);
    throughput.push(row);
    console.log(`${label.padEnd(22)} writers=${String(writers).padEnd(3)} port ${row.port} ev/s   raw ${row.raw} ev/s   ratio ${row.ratio}`);
  };

  console.log('machine', machine);
  for (const writers of LEVELS) await measure('single-event append', writers, 1);
  for (const writers of [1, 8]) await measure(`${BATCH}-event batch append`, writers, BATCH);

  // Append latency as the table grows: bulk-load filler events, then time single appends.
  const latency: { eventsInTable: number; p50ms: number; p99ms: number }[] = [];
  const store = new PostgresEventStore(bench.pool(1));
  const { rows } = await setup.query(`SELECT count(*)::int AS n FROM events`);
  let inTable = rows[0].n as number;
  for (const size of TABLE_SIZES) {
    if (size > inTable) {
      const started = performance.now();
      await fill(setup, portTenant, inTable, size - inTable);
      console.log(`filled table to ${size} events in ${round((performance.now() - started) / 1000, 1)} s`);
      inTable = size;
    }
    const samples: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      await store.append(portTenant, `latency-${size}-${i % 50}`, [{ eventId: randomUUID(), type: 'ServiceDecisionGranted', data: payload(), metadata }], 'any');
      samples.push(performance.now() - t);
    }
    const row = { eventsInTable: size, p50ms: round(percentile(samples, 50), 3), p99ms: round(percentile(samples, 99), 3) };
    latency.push(row);
    console.log(`latency after ${size} events: p50 ${row.p50ms} ms, p99 ${row.p99ms} ms`);
  }
  await store.close();
  const p50Spread = round(Math.max(...latency.map((l) => l.p50ms)) / Math.min(...latency.map((l) => l.p50ms)));
  const p99Spread = round(Math.max(...latency.map((l) => l.p99ms)) / Math.min(...latency.map((l) => l.p99ms)));

  const markdown = [
    '# bench/append',
    '',
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, ` +
      `fsync=${machine.fsync}, synchronous_commit=${machine.synchronous_commit}, ${SECONDS}s per case.`,
    '',
    markdownTable(
      ['case', 'writers', 'port events/s', 'raw pg events/s', 'port / raw'],
      throughput.map((t) => [t.case, t.writers, t.port, t.raw, t.ratio]),
    ),
    '',
    markdownTable(
      ['events in table', 'append p50 ms', 'append p99 ms'],
      latency.map((l) => [l.eventsInTable, l.p50ms, l.p99ms]),
    ),
    '',
    `Latency spread (max/min): p50 ${p50Spread}×, p99 ${p99Spread}×.`,
  ].join('\n');
  const dir = await writeResult('append-latest', { machine, seconds: SECONDS, throughput, latency, p50Spread, p99Spread }, markdown);
  console.log('\n' + markdown + `\n\nwritten to ${dir}/append-latest.{json,md}`);
  await bench.stop();
}

/** Bulk filler: `count` events in 10k-stream chunks, one statement per 250k rows. */
async function fill(pool: pg.Pool, tenant: TenantId, offset: number, count: number) {
  const chunk = 250_000;
  for (let done = 0; done < count; done += chunk) {
    const n = Math.min(chunk, count - done);
    await pool.query(
      `INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
       SELECT $1, 'filler-' || ((g - 1) / 10), ((g - 1) % 10) + 1, gen_random_uuid(), 'ServiceDecisionGranted', 1, $2::jsonb, '{}'
         FROM generate_series($3::bigint + 1, $3::bigint + $4) g`,
      [tenant, JSON.stringify(payload()), offset + done, n],
    );
  }
  await pool.query('ANALYZE events');
}

await main();
