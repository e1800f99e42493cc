/**
 * bench/peer (rebuild): the service-overview read model rebuilt from the same events by our
 * projection engine and by Emmett's (@event-driven-io/emmett-postgresql, a dev dependency of
 * the bench only: `rebuildPostgreSQLProjections` with a Pongo multi-stream projection keyed by
 * patient), both folding with the same pure `evolveOverview`, on one embedded server, each
 * store in its own database. Rounds alternate which one goes first. Target: ours ≥ 2× Emmett.
 *   npm run bench:peer     (BENCH_REBUILD_PATIENTS to tune; default 10,000 patients = 50,000 events: Emmett folds about 1k events/s here)
 */
import { randomUUID } from 'node:crypto';
import { pongoMultiStreamProjection, rebuildPostgreSQLProjections } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import { overviewReads, ServiceOverviewProjection } from '#libs/content';
import { asDecisionEvent, emptyOverview, evolveOverview, syntheticFodselsnummer, type OverviewDocument, type PatientRef } from '#libs/domain';
import { PostgresEventStore } from '#libs/event-store';
import { PostgresTenantRegistry } from '#libs/tenancy';
import { DEFAULT_ENGINE_OPTIONS, PostgresCheckpointStore, ProjectionEngine } from '#libs/projections';
import { markdownTable, round, startBenchServer, writeResult } from '../lib.js';
import { openPeerStores, TENANT } from './peer-stores.js';

const PATIENTS = Number(process.env.BENCH_REBUILD_PATIENTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_REBUILD_ROUNDS ?? 2);
const BATCH = 2000;
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';

/** Per patient: home nursing granted, changed, paused, resumed; a safety alarm granted (5 events, 2 streams). */
function streamsOf(i: number, pid: string): { streamId: string; events: { type: string; data: Record<string, unknown> }[] }[] {
  const common = (decisionId: string) => ({ decisionId, sourceSystem: 'bench', patient: { system: FNR, value: pid }, occurredAt: '2026-01-05T08:00:00Z' });
  return [
    {
      streamId: `Decision/bench/HS-${i}`,
      events: [
        {
          type: 'ServiceDecisionGranted',
          data: { ...common(`HS-${i}`), serviceCode: '15', period: { start: '2026-01-05' }, weeklyHours: 6, performer: { orgnr: '974760673', name: 'Hjemmesykepleien', phone: '+4799999999' } },
        },
        { type: 'ServiceDecisionChanged', data: { ...common(`HS-${i}`), weeklyHours: 8 } },
        { type: 'ServicePaused', data: { ...common(`HS-${i}`), pausedFrom: '2026-03-01', reason: 'Innlagt' } },
        { type: 'ServiceResumed', data: { ...common(`HS-${i}`), resumedFrom: '2026-03-10' } },
      ],
    },
    {
      streamId: `Decision/bench/TA-${i}`,
      events: [{ type: 'ServiceDecisionGranted', data: { ...common(`TA-${i}`), serviceCode: '6', period: { start: '2026-02-01' }, performer: { name: 'Alarmsentralen' } } }],
    },
  ];
}

const PIDS: string[] = [];
for (let n = 0; PIDS.length < PATIENTS; n++) {
  const pid = syntheticFodselsnummer({
    birthDate: { year: 1930 + (Math.floor(n / 336) % 90), month: 1 + (Math.floor(n / 28) % 12), day: 1 + (n % 28) },
    offset: 65,
    individual: Math.floor(n / 30240) % 1000,
  });
  if (pid) PIDS.push(pid);
}

async function pool<T>(items: T[], workers: number, work: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Our engine: a fresh read-model version built from $all until nothing is behind. */
async function rebuildOurs(p: pg.Pool, version: number): Promise<number> {
  const store = new PostgresEventStore(p);
  const engine = new ProjectionEngine(p, store, new PostgresTenantRegistry(p), [new ServiceOverviewProjection(version)], { ...DEFAULT_ENGINE_OPTIONS, batchSize: BATCH, pollMs: 50, superviseMs: 200 });
  const head = await store.head(TENANT);
  const started = performance.now();
  await engine.start();
  // The runner's checkpoint reaching the head; engine.status() would count the backlog on every poll.
  if (!(await engine.waitFor(`service_overview_v${version}`, TENANT, head, 3_600_000))) throw new Error('the rebuild did not reach the head');
  const seconds = (performance.now() - started) / 1000;
  await engine.stop();
  await store.close();
  return seconds;
}

/** Emmett: the same fold as a Pongo multi-stream projection, rebuilt from the start (it truncates first). */
async function rebuildEmmett(connectionString: string, collectionName: string): Promise<number> {
  type AnyEvent = { type: string; data: Record<string, unknown>; metadata: { streamPosition: bigint } };
  const projection = pongoMultiStreamProjection<Record<string, unknown>, never>({
    collectionName,
    canHandle: ['ServiceDecisionGranted', 'ServiceDecisionChanged', 'ServicePaused', 'ServiceResumed', 'ServiceEnded', 'DecisionEnteredInError'] as never,
    getDocumentId: (event: unknown) => ((event as AnyEvent).data.patient as PatientRef).value,
    evolve: (doc: Record<string, unknown> | null, event: unknown) => {
      const e = event as AnyEvent;
      const patient = e.data.patient as PatientRef;
      // Emmett keeps no commit time: the event's own occurredAt stands in for recordedAt.
      return evolveOverview((doc as OverviewDocument | null) ?? emptyOverview(patient), {
        event: asDecisionEvent(e),
        streamPosition: Number(e.metadata.streamPosition),
        recordedAt: e.data.occurredAt as string,
      }) as unknown as Record<string, unknown>;
    },
  } as never);
  const consumer = rebuildPostgreSQLProjections({ connectionString, projections: [projection], pulling: { batchSize: Number(process.env.EMMETT_BATCH ?? BATCH), pullingFrequencyInMs: 50 } } as never);
  const started = performance.now();
  await consumer.start();
  const seconds = (performance.now() - started) / 1000;
  await consumer.close();
  return seconds;
}

/**
 * The same 5 events per patient appended by 16 concurrent writers into fresh databases, then
 * each read model rebuilt: how many patients does each read model hold?
 */
async function concurrentLoadCheck(adminUrl: string): Promise<{ patients: number; ours: number; emmett: number }> {
  const patients = Math.min(2000, PIDS.length);
  const streams = PIDS.slice(0, patients).flatMap((pid, i) => streamsOf(i, pid));
  const stores = await openPeerStores(adminUrl, '_concurrent', 20);
  const { oursUrl, emmettUrl, oursPool: p, ours, emmett } = stores;
  await Promise.all([
    pool(streams, 16, (s) =>
      ours.append(
        TENANT,
        s.streamId,
        s.events.map((e) => ({ eventId: randomUUID(), ...e })),
        'no_stream',
      ),
    ),
    pool(streams, 16, (s) => emmett.appendToStream(s.streamId, s.events as never)),
  ]);
  await rebuildOurs(p, 2);
  await rebuildEmmett(emmettUrl, 'service_overview_c');
  const count = async (url: string, table: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const n = (await c.query<{ n: number }>(`SELECT count(${table.endsWith('_v2') ? 'DISTINCT patient_id' : '*'})::int AS n FROM ${table}`)).rows[0]!.n;
    await c.end();
    return n;
  };
  const result = { patients, ours: await count(oursUrl, 'service_overview_v2'), emmett: await count(emmettUrl, 'service_overview_c') };
  await stores.close();
  return result;
}

async function main() {
  const bench = await startBenchServer();
  const machine = await bench.describe();
  const stores = await openPeerStores(bench.url, '_rebuild', 20);
  const { emmettUrl, oursPool, ours, emmett } = stores;

  // The same events into both stores, each through its own append API.
  let t = performance.now();
  const all = PIDS.flatMap((pid, i) => streamsOf(i, pid));
  for (let i = 0; i < all.length; i += 500) {
    await ours.appendMany(
      TENANT,
      all.slice(i, i + 500).map((s) => ({ streamId: s.streamId, expectedVersion: 0, events: s.events.map((e) => ({ eventId: randomUUID(), ...e })) })),
    );
  }
  console.log(`ours: loaded ${all.length} streams in ${round((performance.now() - t) / 1000, 1)} s`);
  t = performance.now();
  // One writer: with concurrent writers Emmett 0.42.0's rebuild loses events (measured below), which would flatter its rate.
  await pool(all, 1, (s) => emmett.appendToStream(s.streamId, s.events as never));
  console.log(`emmett: loaded ${all.length} streams in ${round((performance.now() - t) / 1000, 1)} s`);
  const events = all.reduce((n, s) => n + s.events.length, 0);

  const oursSeconds: number[] = [];
  const emmettSeconds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate who goes first, so cache warm-up favours neither.
    const order = r % 2 === 0 ? ['emmett', 'ours'] : ['ours', 'emmett'];
    for (const who of order) {
      if (who === 'ours')
        oursSeconds.push(await rebuildOurs(oursPool, r + 2)); // version 2 on: a row per decision
      else emmettSeconds.push(await rebuildEmmett(emmettUrl, `service_overview_r${r + 1}`));
      console.log(`round ${r + 1} ${who}: ${round(events / (who === 'ours' ? oursSeconds.at(-1)! : emmettSeconds.at(-1)!), 0)} ev/s`);
    }
  }
  // Both read models hold every patient with the same services (ours a row per decision, Emmett a document per patient).
  const oursDocs = (await oursPool.query<{ n: number }>(`SELECT count(DISTINCT patient_id)::int AS n FROM service_overview_v${ROUNDS + 1}`)).rows[0]!.n;
  const ep = new pg.Pool({ connectionString: emmettUrl, max: 2 });
  const emmettDocs = (await ep.query<{ n: number }>(`SELECT count(*)::int AS n FROM service_overview_r${ROUNDS}`)).rows[0]!.n;
  const sample = PIDS[Math.floor(PIDS.length / 2)]!;
  const reads = overviewReads(ROUNDS + 1);
  const { value } = await new PostgresCheckpointStore(oursPool).readWithCheckpoint(`service_overview_v${ROUNDS + 1}`, TENANT, reads.documentSql, [sample]);
  const a = reads.documentOf(value, sample)!;
  const b = (await ep.query<{ data: OverviewDocument }>(`SELECT data FROM service_overview_r${ROUNDS} WHERE _id = $1`, [sample])).rows[0]!.data;
  await ep.end();
  const same =
    JSON.stringify(Object.keys(a.decisions).sort()) === JSON.stringify(Object.keys(b.decisions).sort()) &&
    Object.keys(a.decisions).every((k) => JSON.stringify({ ...a.decisions[k], lastRecordedAt: undefined }) === JSON.stringify({ ...b.decisions[k], lastRecordedAt: undefined }));
  if (oursDocs !== PIDS.length || emmettDocs !== PIDS.length || !same) {
    throw new Error(`read models differ: ours ${oursDocs} docs, Emmett ${emmettDocs}, sample equal: ${same}`);
  }

  const concurrent = await concurrentLoadCheck(bench.url);
  console.log('after a 16-writer load:', concurrent);

  const best = (xs: number[]) => Math.min(...xs);
  const row = { events, patients: PIDS.length, ours: round(events / best(oursSeconds), 0), emmett: round(events / best(emmettSeconds), 0), ratio: 0 };
  row.ratio = round(row.ours / row.emmett);
  const markdown = [
    '# bench/peer: rebuild of the service overview, ours vs Emmett (@event-driven-io/emmett-postgresql 0.42.0)',
    '',
    `Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}. ${events} events of ${PIDS.length} patients; best of ${ROUNDS} alternating rounds; both fold with the same evolveOverview, batches of ${BATCH}.`,
    '',
    markdownTable(['case', 'events', 'ours events/s', 'Emmett events/s', 'ours / Emmett', 'target'], [['overview rebuild', events, row.ours, row.emmett, row.ratio, '≥ 2']]),
    '',
    `Correctness under concurrent appends (${concurrent.patients} patients, ${concurrent.patients * 5} events appended by 16 concurrent writers, then rebuilt): ours ${concurrent.ours} of ${concurrent.patients} patients in the read model, Emmett ${concurrent.emmett} of ${concurrent.patients}. Emmett 0.42.0 resumes its batches by global position alone while ordering by transaction id, so events of transactions that took an earlier sequence value and committed later are skipped (its PR #336 describes the fix); its rebuild rate above is therefore measured on events appended by one writer.`,
  ].join('\n');
  const dir = await writeResult('peer-rebuild-latest', { machine, rounds: ROUNDS, oursSeconds, emmettSeconds, ...row, concurrentLoad: concurrent }, markdown);
  console.log('\n' + markdown + `\n\nwritten to ${dir}/peer-rebuild-latest.{json,md}`);
  await stores.close();
  await bench.stop();
}

await main();
