import { randomUUID } from 'node:crypto';
import { asDecisionEvent, decisionStreamId, emptyOverview, evolveOverview, type OverviewDecision, type OverviewDocument } from '#libs/domain';
import { PostgresEventStore, START, type Checkpoint } from '#libs/event-store';
import { PostgresTenantRegistry, tenantId, type TenantDatabases } from '#libs/tenancy';
import { episodeOfCareId, isHashedEpisodeOfCareId } from '#libs/fhir';
import { DEFAULT_ENGINE_OPTIONS, PostgresCheckpointStore, ProjectionEngine, type EngineOptions } from '#libs/projections';
import { useTestStore, syntheticPid, type TestDatabase } from '#libs/testing';
import { PatientDecisions } from './patient-decisions.js';
import { overviewReads, SERVICE_OVERVIEW, ServiceOverviewV1Projection, serviceOverviewDefinition } from './service-overview.projection.js';

const TENANT = tenantId('313231593');
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const FAST: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS, batchSize: 50, pollMs: 50, lockRetryMs: 50, superviseMs: 50, dropRetiredAfterMs: 60_000 };
const LONG_ID = `V-${'x'.repeat(70)}`; // too long for a reversible EpisodeOfCare id: hashed

describe('service-overview read model on PostgreSQL: a row per decision, version 1 of earlier releases, and the patient → decisions lookup', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const engines = useTestStore<ProjectionEngine>(TENANT, (s) => ({ db, store } = s));
  const tenants = () => ({ of: async () => ({ db: { pool: db.pool } }) }) as unknown as TenantDatabases;

  const engine = () => {
    const e = new ProjectionEngine(db.pool, store, new PostgresTenantRegistry(db.pool), [serviceOverviewDefinition], FAST);
    engines.push(e);
    return e;
  };
  const grant = async (pid: string, decisionId: string, sourceSystem = 'epj-a'): Promise<Checkpoint> =>
    (
      await store.append(
        TENANT,
        decisionStreamId(sourceSystem, decisionId),
        [
          {
            eventId: randomUUID(),
            type: 'ServiceDecisionGranted',
            data: { decisionId, sourceSystem, patient: { system: FNR, value: pid }, serviceCode: '15', period: { start: '2026-01-05' }, occurredAt: '2026-01-05T08:00:00Z' },
          },
        ],
        'no_stream',
      )
    ).checkpoint;
  /** Version 1's decision index. */
  const index = async (version = 1) => (await db.pool.query(`SELECT resource_id, patient_id, source_system, decision_id FROM service_overview_v${version}_decisions ORDER BY resource_id`)).rows;
  /** A version's rows (version 2 on) as the index's columns: each decision's key and patient. */
  const keys = async (version: number) =>
    (await db.pool.query(`SELECT resource_id, patient_id, decision->>'sourceSystem' AS source_system, decision->>'decisionId' AS decision_id FROM service_overview_v${version} ORDER BY resource_id`))
      .rows;
  /** Every patient's overview in a version, as its readers assemble it (`overviewReads`). */
  const overviews = async (version: number) => {
    const reads = overviewReads(version);
    const { rows } = await db.pool.query<{ patient_id: string }>(`SELECT DISTINCT patient_id FROM service_overview_v${version} ORDER BY patient_id`);
    const docs = new Map<string, OverviewDocument>();
    for (const { patient_id } of rows) {
      const { value } = await new PostgresCheckpointStore(db.pool).readWithCheckpoint(`service_overview_v${version}`, TENANT, reads.documentSql, [patient_id]);
      docs.set(patient_id, reads.documentOf(value, patient_id)!);
    }
    return docs;
  };

  it('keys every decision by its EpisodeOfCare id, hashed ones included, with its patient; a rebuilt version has the same ids', async () => {
    const [a, b] = [syntheticPid(), syntheticPid()];
    await grant(a, 'V-1');
    await grant(a, LONG_ID, 'epj-b');
    const last = await grant(b, 'V-2');
    const e = engine();
    await e.start();
    expect(await e.waitFor('service_overview_v2', TENANT, last, 5000)).toBe(true);
    const v2 = await keys(2);
    expect(v2).toEqual(
      [
        { resource_id: episodeOfCareId('epj-a', 'V-1'), patient_id: a, source_system: 'epj-a', decision_id: 'V-1' },
        { resource_id: episodeOfCareId('epj-b', LONG_ID), patient_id: a, source_system: 'epj-b', decision_id: LONG_ID },
        { resource_id: episodeOfCareId('epj-a', 'V-2'), patient_id: b, source_system: 'epj-a', decision_id: 'V-2' },
      ].sort((x, y) => (x.resource_id < y.resource_id ? -1 : 1)),
    );
    expect(v2.filter((r) => isHashedEpisodeOfCareId(r.resource_id))).toHaveLength(1);

    await e.requestVersion('service_overview');
    const deadline = Date.now() + 10_000;
    while ((await e.liveVersion('service_overview')) !== 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await e.liveVersion('service_overview')).toBe(3);
    expect(await keys(3)).toEqual(v2);
  });

  it('stores what folding the events gives, across batches and redeliveries, with awkward text kept exactly', async () => {
    const awkward = 'Sone "vest" \\ C:\\x {a,b} NULL, tab\tny\nlinje 𝄞 漢字 ÆØÅ \u2028 \\u0041';
    const [a, b] = [syntheticPid(), syntheticPid()];
    const data = (decisionId: string, pid: string, sourceSystem = 'epj-a') => ({ decisionId, sourceSystem, patient: { system: FNR, value: pid }, occurredAt: '2026-01-05T08:00:00Z' });
    const grantOf = (decisionId: string, pid: string, sourceSystem = 'epj-a') => ({
      ...data(decisionId, pid, sourceSystem),
      serviceCode: '15',
      period: { start: '2026-01-05' },
      weeklyHours: 6,
      performer: { orgnr: '974760673', name: awkward },
      description: awkward,
    });
    const put = (sourceSystem: string, decisionId: string, events: { type: string; data: Record<string, unknown> }[], at: number) =>
      store.append(
        TENANT,
        decisionStreamId(sourceSystem, decisionId),
        events.map((e) => ({ eventId: randomUUID(), ...e })),
        at,
      );
    // 3 decisions of a, 1 of b, in 13 events: over several batches of 5 (the rows are read back and written again).
    await put('epj-a', 'V-1', [{ type: 'ServiceDecisionGranted', data: grantOf('V-1', a) }], 0);
    await put('epj-b', 'V-1', [{ type: 'ServiceDecisionGranted', data: grantOf('V-1', a, 'epj-b') }], 0);
    await put('epj-a', 'V-2', [{ type: 'ServiceDecisionGranted', data: grantOf('V-2', b) }], 0);
    for (let i = 0; i < 4; i++) {
      await put('epj-a', 'V-1', [{ type: 'ServiceDecisionChanged', data: { ...data('V-1', a), weeklyHours: 7 + i, description: `${awkward} ${i}` } }], 1 + i);
      await put('epj-a', 'V-2', [{ type: i % 2 ? 'ServiceResumed' : 'ServicePaused', data: { ...data('V-2', b), pausedFrom: '2026-03-01', resumedFrom: '2026-03-09', reason: awkward } }], 1 + i);
    }
    await put(
      'epj-a',
      LONG_ID,
      [
        { type: 'ServiceDecisionGranted', data: grantOf(LONG_ID, a) },
        { type: 'ServiceEnded', data: { ...data(LONG_ID, a), endDate: '2026-06-30' } },
      ],
      0,
    );
    const e = new ProjectionEngine(db.pool, store, new PostgresTenantRegistry(db.pool), [serviceOverviewDefinition], { ...FAST, batchSize: 5 });
    engines.push(e);
    await e.start();
    expect(await e.waitFor('service_overview_v2', TENANT, await store.head(TENANT), 5000)).toBe(true);

    const folded = new Map<string, OverviewDocument>();
    for (const ev of (await store.readAll(TENANT, START, 1000)).events) {
      const pid = (ev.data.patient as { value: string }).value;
      const doc = folded.get(pid) ?? emptyOverview(ev.data.patient as OverviewDocument['patient']);
      // Every event twice: a redelivery changes nothing.
      const once = evolveOverview(doc, { event: asDecisionEvent(ev), streamPosition: ev.streamPosition, recordedAt: ev.recordedAt.toISOString() });
      folded.set(pid, evolveOverview(once, { event: asDecisionEvent(ev), streamPosition: ev.streamPosition, recordedAt: ev.recordedAt.toISOString() }));
    }
    const docs = await overviews(2);
    expect(docs).toEqual(folded);
    expect(docs.get(b)!.decisions['epj-a/V-2']).toMatchObject({ lifecycle: 'granted', performer: { name: awkward }, description: awkward });
    expect((await keys(2)).map((r) => [r.resource_id, r.patient_id])).toEqual(
      [
        [episodeOfCareId('epj-a', 'V-1'), a],
        [episodeOfCareId('epj-b', 'V-1'), a],
        [episodeOfCareId('epj-a', LONG_ID), a],
        [episodeOfCareId('epj-a', 'V-2'), b],
      ].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)),
    );
    // An event rewrites its own decision's row only: b's events left a's rows as they were.
    const updated = async () => new Map((await db.pool.query(`SELECT resource_id, updated_at FROM service_overview_v2`)).rows.map((r) => [r.resource_id, r.updated_at.getTime()]));
    const before = await updated();
    await put('epj-a', 'V-2', [{ type: 'ServiceEnded', data: { ...data('V-2', b), endDate: '2026-06-30' } }], 5);
    expect(await e.waitFor('service_overview_v2', TENANT, await store.head(TENANT), 5000)).toBe(true);
    const after = await updated();
    expect([...after].filter(([id, at]) => at !== before.get(id)).map(([id]) => id)).toEqual([episodeOfCareId('epj-a', 'V-2')]);
  });

  /** Starts an engine on the overview with `initialVersion` (1: as an earlier release did). */
  const startAt = async (initialVersion: number) => {
    const e = new ProjectionEngine(db.pool, store, new PostgresTenantRegistry(db.pool), [{ ...serviceOverviewDefinition, initialVersion }], FAST);
    engines.push(e);
    await e.start();
    return e;
  };

  it('a store on version 1 (a document per patient) builds version 2 beside it at start, which then serves the same overviews', async () => {
    const [a, b] = [syntheticPid(), syntheticPid()];
    await grant(a, 'V-1');
    await grant(a, LONG_ID, 'epj-b');
    await grant(b, 'V-2');
    const first = await startAt(1);
    expect(await first.waitFor('service_overview_v1', TENANT, await store.head(TENANT), 5000)).toBe(true);
    await first.stop();
    const upgraded = await startAt(serviceOverviewDefinition.initialVersion);
    for (let i = 0; (await upgraded.liveVersion(SERVICE_OVERVIEW)) !== 2; i++) {
      if (i > 100) throw new Error('service_overview_v2 did not go live');
      await new Promise((r) => setTimeout(r, 50));
    }
    const v1 = new Map((await db.pool.query<{ patient_id: string; document: OverviewDocument }>('SELECT patient_id, document FROM service_overview_v1')).rows.map((r) => [r.patient_id, r.document]));
    expect(v1.size).toBe(2);
    expect(await overviews(2)).toEqual(v1);
    // FHIR read by id: every id version 1 indexed finds its decision in version 2.
    for (const { resource_id } of await index(1)) {
      const found = (
        await new PostgresCheckpointStore(db.pool).readWithCheckpoint<{ patientId: string; decision: OverviewDecision }>('service_overview_v2', TENANT, overviewReads(2).byResourceIdSql, [resource_id])
      ).value!;
      expect(found).toEqual({ patientId: expect.any(String), decision: v1.get(found.patientId)!.decisions[`${found.decision.sourceSystem}/${found.decision.decisionId}`] });
    }
  });

  it('a version 1 built before the index existed fills it from its documents at setup, and drops the older hashed-only table', async () => {
    const pid = syntheticPid();
    await grant(pid, 'V-1');
    const last = await grant(pid, LONG_ID);
    const e = await startAt(1);
    expect(await e.waitFor('service_overview_v1', TENANT, last, 5000)).toBe(true);
    const built = await index();
    await e.stop();
    // As an older release left it: the documents, and `_ids` with the hashed ids only.
    await db.pool.query('DROP TABLE service_overview_v1_decisions');
    await db.pool.query('CREATE TABLE service_overview_v1_ids (tenant_id text, resource_id text, patient_id text, source_system text, decision_id text)');
    await new ServiceOverviewV1Projection().setup(db.pool);
    expect(await index()).toEqual(built);
    expect((await db.pool.query(`SELECT to_regclass('service_overview_v1_ids') IS NULL AS gone`)).rows[0].gone).toBe(true);
  });

  it('version 1: a batch of patients with large documents is applied in chunks: the same documents and index as in one statement, and a bounded share of them held at a time', async () => {
    const pids = Array.from({ length: 12 }, () => syntheticPid());
    for (const [i, pid] of pids.entries()) for (let d = 0; d <= i % 3; d++) await grant(pid, `V-${i}-${d}`);
    const { events } = await store.readAll(TENANT, START, 1000);
    /** Applies the page in one transaction as the engine does; counts the document writes. */
    const applied = async (projection: ServiceOverviewV1Projection) => {
      await projection.drop(db.pool);
      await projection.setup(db.pool);
      const client = await db.pool.connect();
      let writes = 0;
      const session = { query: ((q: { name?: string }, v?: unknown[]) => ((writes += q.name === `${projection.table}_write` ? 1 : 0), client.query(q as never, v))) as typeof client.query };
      try {
        await client.query('BEGIN');
        // Twice: the second page sizes its chunks on the documents the first one wrote.
        await projection.apply(session, TENANT, events.slice(0, 12));
        await projection.apply(session, TENANT, events.slice(12));
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      const docs = (await db.pool.query(`SELECT patient_id, document FROM ${projection.table} ORDER BY patient_id`)).rows;
      return { writes, docs, index: (await index(projection.version)).map(({ resource_id, patient_id }) => [resource_id, patient_id]) };
    };
    const whole = await applied(new ServiceOverviewV1Projection());
    // A budget below one document: a chunk per patient.
    const chunked = await applied(new ServiceOverviewV1Projection(1));
    expect(chunked.docs).toEqual(whole.docs);
    expect(chunked.index).toEqual(whole.index);
    expect(whole.docs).toHaveLength(12);
    expect(whole.writes).toBe(2);
    const patients = (page: typeof events) => new Set(page.map((e) => (e.data.patient as { value: string }).value)).size;
    expect(chunked.writes).toBe(patients(events.slice(0, 12)) + patients(events.slice(12)));
  });

  it("finds a patient's decisions in the read model and in the events it has not applied yet, or in $all before there is one", async () => {
    const decisions = new PatientDecisions(tenants(), store);
    const pid = syntheticPid();
    const other = syntheticPid();
    await grant(pid, 'V-1');
    await grant(other, 'V-9');
    // No read model yet: the tenant's $all.
    expect(await decisions.streamIdsOf(TENANT, pid)).toEqual(['Decision/epj-a/V-1']);
    const e = engine();
    await e.start();
    expect(await e.waitFor('service_overview_v2', TENANT, await grant(pid, 'V-2', 'epj-b'), 5000)).toBe(true);
    await e.stop();
    // Appended while no projection runs: only in the tail after the read model's checkpoint.
    await grant(pid, 'V-3');
    expect(await decisions.streamIdsOf(TENANT, pid)).toEqual(['Decision/epj-a/V-1', 'Decision/epj-a/V-3', 'Decision/epj-b/V-2']);
    expect(await decisions.streamIdsOf(TENANT, syntheticPid())).toEqual([]);
  });
});
