/**
 * bench/peer: our event-store port against Emmett's PostgreSQL event store
 * (@event-driven-io/emmett-postgresql, a dev dependency of the bench only), appending the
 * same events with the same expected versions, alternating in rounds, on one embedded server
 * (each store in its own database). Target: ours ≥ 1.5× Emmett.
 *   npm run bench:peer
 */
import { randomUUID } from 'node:crypto';
import { alternateAppends, markdownTable, round, startBenchServer, writeResult } from '../lib.js';
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
      first: (stream, at) =>
        emmett.appendToStream(
          stream,
          Array.from({ length: perAppend }, () => ({ type: 'ServiceDecisionGranted', data: payload() })),
          at === 0 ? { expectedStreamVersion: 'STREAM_DOES_NOT_EXIST' as never } : { expectedStreamVersion: BigInt(at) },
        ),
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
  const markdown = [
    '# bench/peer: appends, ours vs Emmett (@event-driven-io/emmett-postgresql 0.42.0)',
    '',
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, fsync=${machine.fsync}, synchronous_commit=${machine.synchronous_commit}, ${SECONDS}s per case.`,
    '',
    markdownTable(
      ['case', 'writers', 'ours events/s', 'Emmett events/s', 'ours / Emmett'],
      rows.map((r) => [r.case, r.writers, r.ours, r.emmett, r.ratio]),
    ),
  ].join('\n');
  const dir = await writeResult('peer-latest', { machine, seconds: SECONDS, rows }, markdown);
  console.log('\n' + markdown + `\n\nwritten to ${dir}/peer-latest.{json,md}`);
  await stores.close();
  await bench.stop();
}

await main();
