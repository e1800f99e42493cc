import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { ServiceOverviewEraser, serviceOverviewDefinition } from '#libs/content';
import { decisionStreamId, parsePersonIdentifier, type PersonId } from '#libs/domain';
import { compareCheckpoints, formatCheckpoint, PostgresEventStore, START, STREAMS_ERASED, type Checkpoint, type RecordedEvent } from '#libs/event-store';
import { DeadLetterEraser, DeadLetters, DEFAULT_ENGINE_OPTIONS, PostgresCheckpointStore, ProjectionEngine, type EngineOptions } from '#libs/projections';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';
import { useTestStore, syntheticPid, type TestDatabase } from '#libs/testing';
import { AccessLogEraser } from './access-log.eraser.js';
import { DataProtection, ErasureUnavailableError } from './data-protection.js';
import { unavailableWith } from './data-protection.module.js';
import { loadConfig } from '#libs/config';

const run = promisify(execFile);
const TENANT = tenantId('313231593');
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const FAST: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS, batchSize: 7, pollMs: 50, lockRetryMs: 50, superviseMs: 50, dropRetiredAfterMs: 600_000 };
const CLI = new URL('../../../dist/apps/cli/src/main.js', import.meta.url).pathname;
const erasers = () => [new ServiceOverviewEraser(), new DeadLetterEraser(), new AccessLogEraser()];
const person = (pid: string): PersonId => {
  const parsed = parsePersonIdentifier(pid);
  if (!parsed.ok) throw new Error('not a person id');
  return parsed.id;
};
/** Free text unique to one patient: what an erasure must leave nowhere. */
const freeText = (label: string) => `${label} ${randomBytes(6).toString('hex')}`;

describe('erasure of a person (issue 22): every trace, nothing else, projections and order intact', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const engines = useTestStore<ProjectionEngine>(TENANT, (s) => ({ db, store } = s));

  const engine = async () => {
    const e = new ProjectionEngine(db.pool, store, new PostgresTenantRegistry(db.pool), [serviceOverviewDefinition], FAST);
    engines.push(e);
    await e.start();
    return e;
  };
  /** A decision's whole history: granted with a description, paused with a reason, ended with a reason. */
  const history = async (pid: string, decisionId: string, texts: { description: string; pause: string; end: string }, sourceSystem = 'epj-a'): Promise<Checkpoint> => {
    const base = { decisionId, sourceSystem, patient: { system: FNR, value: pid } };
    const stream = decisionStreamId(sourceSystem, decisionId);
    await store.append(
      TENANT,
      stream,
      [
        {
          eventId: randomUUID(),
          type: 'ServiceDecisionGranted',
          data: { ...base, serviceCode: '15', period: { start: '2026-01-05' }, description: texts.description, occurredAt: '2026-01-05T08:00:00Z' },
        },
      ],
      'no_stream',
    );
    await store.append(
      TENANT,
      stream,
      [{ eventId: randomUUID(), type: 'ServicePaused', data: { ...base, pausedFrom: '2026-02-01', reason: texts.pause, occurredAt: '2026-02-01T08:00:00+01:00' } }],
      1,
    );
    return (await store.append(TENANT, stream, [{ eventId: randomUUID(), type: 'ServiceEnded', data: { ...base, endDate: '2026-03-01', reason: texts.end, occurredAt: '2026-03-01T08:00:00Z' } }], 2))
      .checkpoint;
  };
  const texts = (who: string) => ({ description: freeText(`Hjemmesykepleie ${who}`), pause: freeText(`Innlagt ${who}`), end: freeText(`Flyttet ${who}`) });
  const everything = async (): Promise<RecordedEvent[]> => {
    const out: RecordedEvent[] = [];
    for (let from = START; ;) {
      const page = await store.readAll(TENANT, from, 1000);
      out.push(...page.events);
      if (page.events.length === 0) return out;
      from = page.checkpoint;
    }
  };
  /** Each patient's decisions in an overview version (a row per decision), by EpisodeOfCare id. */
  const documents = async (version = 2) =>
    Object.fromEntries(
      (
        await db.pool.query<{ patient_id: string; decisions: unknown }>(
          `SELECT patient_id, jsonb_object_agg(resource_id, decision) AS decisions FROM service_overview_v${version} WHERE tenant_id = $1 GROUP BY patient_id ORDER BY patient_id`,
          [TENANT],
        )
      ).rows.map((r) => [r.patient_id, r.decisions]),
    );
  const decisionIndex = async (version = 2) => (await db.pool.query(`SELECT tenant_id, resource_id, patient_id, decision FROM service_overview_v${version} ORDER BY resource_id`)).rows;
  /** Every table of the database (information_schema), each row as text: where a needle still is. */
  const tracesOf = async (needles: string[]): Promise<string[]> => {
    const { rows: tables } = await db.pool.query<{ table_name: string }>(
      `SELECT DISTINCT c.table_name FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' ORDER BY 1`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['events_313231593', 'service_overview_v2', 'access_log', 'projection_dead_letters', 'erasures']));
    const found: string[] = [];
    for (const { table_name } of tables)
      for (const needle of needles) {
        const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${table_name}" x WHERE strpos(x::text, $1) > 0`, [needle]);
        if (Number(rows[0]!.n) > 0) found.push(`${table_name}: ${rows[0]!.n} rows hold ${needle === needles[0] ? 'the number' : 'free text'}`);
      }
    return found;
  };
  const cli = (args: string[]) => run(process.execPath, [CLI, ...args], { env: { ...process.env, DATABASE_URL: db.url, FPI_DEV_TENANT: '' } });

  it('removes the person from events, overview, decision index, dead letters and export; pseudonymises the access log; others, the order and a rebuild are untouched', async () => {
    const [p, q, r] = [syntheticPid(), syntheticPid(), syntheticPid()];
    const [pt, pt2, qt, rt] = [texts('p'), texts('p2'), texts('q'), texts('r')];
    await history(p, 'V-P1', pt);
    await history(q, 'V-Q1', qt);
    await history(p, 'V-P2', pt2, 'epj-b');
    const last = await history(r, 'V-R1', rt);
    const e = await engine();
    expect(await e.waitFor('service_overview_v2', TENANT, last, 10_000)).toBe(true);
    // A read of P's overview in the access log, and a dead letter of P's event that paused the overview.
    await db.pool.query(
      `INSERT INTO access_log (tenant_id, action, outcome, patient_id, client_id, client_name, orgnr_parent, purpose_of_use, returned, detail)
       VALUES ($1, 'service-overview.read', 'success', $2, 'legevakt-app', 'Legevakt', '313231593', 'TREAT', '{"count": 2}', $3), ($1, 'service-overview.read', 'success', $4, 'legevakt-app', 'Legevakt', '313231593', 'TREAT', '{"count": 1}', NULL)`,
      [TENANT, p, `looked up ${p}`, q],
    );
    const pEvent = (await everything()).find((x) => (x.data.patient as { value: string }).value === p && x.type === 'ServicePaused')!;
    const checkpoints = new PostgresCheckpointStore(db.pool);
    await new DeadLetters(db.pool, checkpoints).record(db.pool, 'service_overview_v2', TENANT, pEvent, new Error(`cannot apply: ${pt.pause}`), 4);
    expect((await checkpoints.read('service_overview_v2', TENANT))!.status).toBe('paused');

    const before = await everything();
    const docsBefore = await documents();
    const needles = [p, ...Object.values(pt), ...Object.values(pt2)];
    expect((await tracesOf(needles)).length).toBeGreaterThan(0); // the scan finds what is there

    const { stdout, stderr } = await cli(['erase', '--tenant', TENANT, '--person', p, '--reason', 'posted to the wrong municipality (case 2026/114)', '--requested-by', 'personvernombud', '--json']);
    const report = JSON.parse(stdout) as { reference: string; events: number; streams: number; patients: number; counts: Record<string, number> };
    expect(report).toMatchObject({ events: 6, streams: 2, patients: 1, counts: { events: 6, service_overview: 1, projection_dead_letters: 1, access_log: 1 } });
    expect(`${stdout}${stderr}`).not.toContain(p);

    // No trace anywhere: every table of the database, and an export.
    expect(await tracesOf(needles)).toEqual([]);
    const exported = await cli(['export', '--tenant', TENANT]);
    for (const needle of needles) expect(exported.stdout).not.toContain(needle);
    expect(exported.stdout).toContain(q);
    expect(exported.stdout).toContain(rt.description);

    // The access log keeps both records; P's under the erasure's pseudonym, Q's as it was.
    const { rows: log } = await db.pool.query(`SELECT patient_id, client_id, returned, detail FROM access_log ORDER BY id`);
    expect(log).toEqual([
      { patient_id: `erased:${report.reference}`, client_id: 'legevakt-app', returned: { count: 2 }, detail: `looked up erased:${report.reference}` },
      { patient_id: q, client_id: 'legevakt-app', returned: { count: 1 }, detail: null },
    ]);
    // The erasure record: who, why, how many; no number.
    const { rows: record } = await db.pool.query(`SELECT kind, requested_by, reason, events_removed, streams_removed, patients FROM erasures`);
    expect(record).toEqual([{ kind: 'erasure', requested_by: 'personvernombud', reason: 'posted to the wrong municipality (case 2026/114)', events_removed: 6, streams_removed: 2, patients: 1 }]);

    // The global order: the others' events kept with the same checkpoints, then the tombstone event.
    const after = await everything();
    const kept = before.filter((x) => (x.data.patient as { value: string }).value !== p);
    expect(after.slice(0, -1).map((x) => [x.eventId, formatCheckpoint(x.checkpoint)])).toEqual(kept.map((x) => [x.eventId, formatCheckpoint(x.checkpoint)]));
    expect(after.at(-1)).toMatchObject({ type: STREAMS_ERASED, data: { reference: report.reference, kind: 'erasure', streamIds: ['Decision/epj-a/V-P1', 'Decision/epj-b/V-P2'] } });

    // Others' overviews untouched; P has none. The paused projection runs again and reaches a new event.
    const docsAfter = await documents();
    expect(docsAfter).toEqual({ [q]: docsBefore[q], [r]: docsBefore[r] });
    expect((await checkpoints.read('service_overview_v2', TENANT))!.status).toBe('running');
    const next = await history(q, 'V-Q2', texts('q2'));
    expect(await e.waitFor('service_overview_v2', TENANT, next, 10_000)).toBe(true);

    // A rebuild from scratch equals the live read model.
    await e.requestVersion('service_overview');
    const deadline = Date.now() + 15_000;
    while ((await e.liveVersion('service_overview')) !== 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(await e.liveVersion('service_overview')).toBe(3);
    expect(await documents(3)).toEqual(await documents(2));
    expect(await decisionIndex(3)).toEqual(await decisionIndex(2));

    // A dry run of the same erasure finds nothing more and records nothing.
    const dry = await cli(['erase', '--tenant', TENANT, '--person', p, '--reason', 'check', '--dry-run', '--json']);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, events: 0, streams: 0 });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM erasures')).rows[0].n).toBe(1);
  });

  it('refuses a reason holding a person number, and an invalid person id, before it changes anything', async () => {
    const p = syntheticPid();
    await history(p, 'V-1', texts('p'));
    const protection = new DataProtection(async () => db.pool, erasers());
    await expect(protection.erasePerson({ tenant: TENANT, person: person(p), reason: `erase ${p}`, requestedBy: 'x' })).rejects.toThrow(/must not hold an 11-digit number/);
    const bad = cli(['erase', '--tenant', TENANT, '--person', p.slice(0, 10), '--reason', 'x']);
    await expect(bad).rejects.toMatchObject({ stderr: expect.stringMatching(/--person: .*rule/) });
    // With the events in KurrentDB the PostgreSQL tables are not the store: refused, not a silent "0 events".
    const kurrent = new DataProtection(async () => db.pool, erasers(), undefined, unavailableWith(loadConfig({ FPI_EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb://127.0.0.1:2113' })));
    await expect(kurrent.erasePerson({ tenant: TENANT, person: person(p), reason: 'x', requestedBy: 'x' })).rejects.toBeInstanceOf(ErasureUnavailableError);
    expect((await everything()).length).toBe(3);
  });

  it('erases while the platform takes writes: every acknowledged append of others is stored exactly once, and the live overview equals a rebuild', async () => {
    const p = syntheticPid();
    for (let i = 0; i < 5; i++) await history(p, `V-P${i}`, texts(`p${i}`));
    const e = await engine();
    const acknowledged: string[] = [];
    const others: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const pid = syntheticPid();
        others.push(pid);
        const eventId = randomUUID();
        await store.append(
          TENANT,
          decisionStreamId('epj-c', `W${w}-${i}`),
          [
            {
              eventId,
              type: 'ServiceDecisionGranted',
              data: { decisionId: `W${w}-${i}`, sourceSystem: 'epj-c', patient: { system: FNR, value: pid }, serviceCode: '15', period: { start: '2026-01-05' }, occurredAt: '2026-01-05T08:00:00Z' },
            },
          ],
          'no_stream',
        );
        acknowledged.push(eventId);
      }
    };
    const writers = [0, 1, 2].map(writer);
    await new Promise((res) => setTimeout(res, 300));
    const protection = new DataProtection(async () => db.pool, erasers());
    const report = await protection.erasePerson({ tenant: TENANT, person: person(p), reason: 'wrong municipality', requestedBy: 'test' });
    await new Promise((res) => setTimeout(res, 300));
    stop = true;
    await Promise.all(writers);
    expect(report.events).toBe(15);

    const all = await everything();
    const ids = all.map((x) => x.eventId);
    expect(new Set(ids).size).toBe(ids.length); // none twice
    expect(ids).toEqual(expect.arrayContaining(acknowledged)); // none lost
    expect(all.filter((x) => (x.data.patient as { value?: string } | undefined)?.value === p)).toEqual([]);
    for (let i = 1; i < all.length; i++) expect(compareCheckpoints(all[i - 1]!.checkpoint, all[i]!.checkpoint)).toBeLessThan(0);

    expect(await e.waitFor('service_overview_v2', TENANT, all.at(-1)!.checkpoint, 15_000)).toBe(true);
    const live = await documents();
    expect(Object.keys(live)).not.toContain(p);
    expect(Object.keys(live).sort()).toEqual([...others].sort());
    await e.requestVersion('service_overview');
    const deadline = Date.now() + 15_000;
    while ((await e.liveVersion('service_overview')) !== 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(await documents(3)).toEqual(live);
  });
});
