/**
 * bench/peer: our event-store port against Emmett's PostgreSQL event store
 * (@event-driven-io/emmett-postgresql, a dev dependency of the bench only), appending the
 * same events with the same expected versions, alternating in rounds, on one embedded server
 * (each store in its own database). Target: ours ≥ 1.5× Emmett.
 *   npm run bench:peer
 */
import { randomUUID } from 'node:crypto';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';
import { alternateAppends, markdownTable, rawAppend, round, startBenchServer, writeResult } from '../lib.js';
import { openPeerStores, TENANT } from './peer-stores.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const ROUNDS = 6;
const payload = () => ({ decisionId: randomUUID(), patient: { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' }, serviceCode: '15', period: { start: '2026-01-01' }, weeklyHours: 6 });

async function main() {
  const bench = await startBenchServer();
  const machine = await bench.describe();
  const stores = await openPeerStores(bench.url, '', 40);
  const { ours, emmett } = stores;
  await emmett.appendToStream('warmup', [{ type: 'Warm', data: {} }]); // creates Emmett's schema
  /** `count` events to Emmett's `stream` at version `at` (0: the stream must not exist yet). */
  const emmettAppend = (stream: string, at: number, count: number) =>
    emmett.appendToStream(
      stream,
      Array.from({ length: count }, () => ({ type: 'ServiceDecisionGranted', data: payload() })),
      at === 0 ? { expectedStreamVersion: 'STREAM_DOES_NOT_EXIST' as never } : { expectedStreamVersion: BigInt(at) },
    );

  const rows: { case: string; writers: number; ours: number; emmett: number; ratio: number }[] = [];
  let run = 0;
  for (const [label, writers, perAppend] of [
    ['single-event append', 1, 1],
    ['single-event append', 8, 1],
    ['single-event append', 32, 1],
    ['100-event batch append', 8, 100],
  ] as const) {
    run += 1;
    const rates = await alternateAppends({
      writers,
      perAppend,
      seconds: SECONDS,
      rounds: ROUNDS,
      run,
      first: (stream, at) => emmettAppend(stream, at, perAppend),
      second: (stream, at) =>
        ours.append(
          TENANT,
          stream,
          Array.from({ length: perAppend }, () => ({ eventId: randomUUID(), type: 'ServiceDecisionGranted', data: payload() })),
          at,
        ),
    });
    const row = { case: label, writers, ours: round(rates.second, 0), emmett: round(rates.first, 0), ratio: 0 };
    row.ratio = round(row.ours / row.emmett);
    rows.push(row);
    console.log(`${label.padEnd(22)} writers=${String(writers).padEnd(3)} ours ${row.ours} ev/s   emmett ${row.emmett} ev/s   ratio ${row.ratio}`);
  }
  // The ceiling of the 100-event case: the same events as one raw INSERT into our table, no
  // checks at all (rawAppend), against Emmett in rounds of their own. Our port cannot pass it.
  const rawTenant = tenantId('974760673');
  await new PostgresTenantRegistry(stores.oursPool).add({ id: rawTenant, name: 'Bench raw', environment: 'test' });
  run += 1;
  const rawRates = await alternateAppends({
    writers: 8,
    perAppend: 100,
    seconds: SECONDS,
    rounds: ROUNDS,
    run,
    first: (stream, at) => emmettAppend(stream, at, 100),
    second: (stream, at) => rawAppend(stores.oursPool, rawTenant, stream, at, 100, payload),
  });
  const ceiling = { writers: 8, raw: round(rawRates.second, 0), emmett: round(rawRates.first, 0), ratio: round(rawRates.second / rawRates.first) };
  console.log(`ceiling: raw INSERT ${ceiling.raw} ev/s   emmett ${ceiling.emmett} ev/s   ratio ${ceiling.ratio}`);
  const markdown = [
    '# bench/peer: appends, ours vs Emmett (@event-driven-io/emmett-postgresql 0.42.0)',
    '',
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, fsync=${machine.fsync}, synchronous_commit=${machine.synchronous_commit}, ${SECONDS}s per case.`,
    '',
    markdownTable(
      ['case', 'writers', 'ours events/s', 'Emmett events/s', 'ours / Emmett'],
      rows.map((r) => [r.case, r.writers, r.ours, r.emmett, r.ratio]),
    ),
    '',
    `The ceiling of the 100-event row: the same events as one raw multi-row INSERT into our table with no checks at all (no expected version, ` +
      `no validation; bench/lib.ts rawAppend), 8 writers, in rounds of its own against Emmett: ${ceiling.raw} vs ${ceiling.emmett} events/s (${ceiling.ratio}×). ` +
      `Our port does that INSERT and its checks, so it stays below this ratio.`,
  ].join('\n');
  const dir = await writeResult('peer-latest', { machine, seconds: SECONDS, rows, ceiling }, markdown);
  console.log('\n' + markdown + `\n\nwritten to ${dir}/peer-latest.{json,md}`);
  await stores.close();
  await bench.stop();
}

await main();
