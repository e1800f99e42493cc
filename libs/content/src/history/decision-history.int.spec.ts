import { randomUUID } from 'node:crypto';
import { decisionStreamId } from '#libs/domain';
import { PostgresEventStore, START } from '#libs/event-store';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';
import { DEFAULT_ENGINE_OPTIONS, ProjectionEngine, type EngineOptions } from '#libs/projections';
import { useTestStore, DNR, FNR, syntheticPid, type TestDatabase } from '#libs/testing';
import { DECISION_HISTORY, DecisionHistoryProjection, decisionHistoryDefinition, historyResourceOf } from './decision-history.projection.js';

const TENANT = tenantId('313231593');
const FAST: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS, batchSize: 50, pollMs: 50, lockRetryMs: 50, superviseMs: 50, dropRetiredAfterMs: 60_000 };

/** The table as releases before the resources were rendered at read created it (with `resource`). */
const earlierReleaseTable = (table: string) => `CREATE TABLE ${table} (
  tenant_id text NOT NULL, resource_id text NOT NULL, version integer NOT NULL, patient_id text NOT NULL, stream_id text NOT NULL,
  event_type text NOT NULL, recorded_at timestamptz NOT NULL, method text NOT NULL, url text NOT NULL, decision jsonb NOT NULL,
  resource jsonb NOT NULL, PRIMARY KEY (tenant_id, resource_id, version))`;

describe('decision history read model on PostgreSQL: each version rendered when read', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  const engines = useTestStore<ProjectionEngine>(TENANT, (s) => ({ db, store } = s));

  /** A decision's whole life for an FNR patient, and a grant entered in error for a D-number patient. */
  const lifecycles = async () => {
    const fnr = { system: FNR, value: syntheticPid() };
    const dnr = { system: DNR, value: syntheticPid({ dNumber: true }) };
    const base = (decisionId: string, patient: { system: string; value: string }, occurredAt: string) => ({ decisionId, sourceSystem: 'epj-a', patient, occurredAt });
    const a = [
      {
        type: 'ServiceDecisionGranted',
        data: { ...base('V-1', fnr, '2026-01-05T08:00:00Z'), serviceCode: '15', period: { start: '2026-01-05' }, weeklyHours: 6, performer: { orgnr: '974760673', name: 'Hjemmesykepleien' } },
      },
      { type: 'ServiceDecisionChanged', data: { ...base('V-1', fnr, '2026-02-01T09:00:00+01:00'), weeklyHours: 8, description: 'Økt behov' } },
      { type: 'ServicePaused', data: { ...base('V-1', fnr, '2026-03-01T08:00:00Z'), pausedFrom: '2026-03-02', reason: 'Innlagt' } },
      { type: 'ServiceResumed', data: { ...base('V-1', fnr, '2026-03-10T08:00:00Z'), resumedFrom: '2026-03-10' } },
      { type: 'ServiceEnded', data: { ...base('V-1', fnr, '2026-04-01T08:00:00Z'), endDate: '2026-04-30' } },
    ];
    const b = [
      { type: 'ServiceDecisionGranted', data: { ...base('V-2', dnr, '2026-01-05T08:00:00Z'), serviceCode: '6', period: { start: '2026-01-05' } } },
      { type: 'DecisionEnteredInError', data: { ...base('V-2', dnr, '2026-01-06T08:00:00Z'), reason: 'Feil pasient' } },
    ];
    for (const [id, events] of [
      ['V-1', a],
      ['V-2', b],
    ] as const) {
      await store.append(
        TENANT,
        decisionStreamId('epj-a', id),
        events.map((e) => ({ eventId: randomUUID(), ...e })),
        'no_stream',
      );
    }
  };

  const rows = async (table: string) => (await db.pool.query(`SELECT * FROM ${table} ORDER BY resource_id, version`)).rows as Record<string, unknown>[];

  it('renders at read the EpisodeOfCare an earlier release stored for each version; a table of that release keeps being written with it', async () => {
    await lifecycles();
    const { events } = await store.readAll(TENANT, START, 100);
    // An earlier release's version 1 (with `resource`), and a version built now.
    await db.pool.query(earlierReleaseTable('decision_history_v1'));
    const earlier = new DecisionHistoryProjection(1);
    const now = new DecisionHistoryProjection(2);
    for (const p of [earlier, now]) {
      await p.setup(db.pool);
      await p.apply(db.pool, TENANT, events);
    }
    const stored = await rows('decision_history_v1');
    const built = await rows('decision_history_v2');
    expect(built).toHaveLength(7);
    expect(built.every((r) => !('resource' in r))).toBe(true);
    expect(stored.map(({ resource: _r, ...r }) => r)).toEqual(built);
    // Every status the lifecycle passes through, for an FNR and a D-number patient.
    expect(stored.map((r) => (r.resource as fhir4.EpisodeOfCare).status)).toEqual(['active', 'active', 'onhold', 'active', 'finished', 'active', 'entered-in-error']);
    for (const [i, row] of built.entries()) expect(historyResourceOf(row.decision as never, row.patient_id as string, TENANT)).toEqual(stored[i]!.resource);
  });

  it('a store on an earlier release builds version 2 beside its version 1 at start, which then serves the same versions', async () => {
    await lifecycles();
    await db.pool.query(earlierReleaseTable('decision_history_v1'));
    const start = async (definition: typeof decisionHistoryDefinition) => {
      const engine = new ProjectionEngine(db.pool, store, new PostgresTenantRegistry(db.pool), [definition], FAST);
      engines.push(engine);
      await engine.start();
      return engine;
    };
    // The earlier release: version 1 is its initial version, with the stored resources.
    const first = await start({ ...decisionHistoryDefinition, initialVersion: 1 });
    expect(await first.waitFor('decision_history_v1', TENANT, await store.head(TENANT), 5000)).toBe(true);
    await first.stop();
    const upgraded = await start(decisionHistoryDefinition);
    for (let i = 0; (await upgraded.liveVersion(DECISION_HISTORY)) !== 2; i++) {
      if (i > 100) throw new Error('decision_history_v2 did not go live');
      await new Promise((r) => setTimeout(r, 50));
    }
    const stored = await rows('decision_history_v1');
    expect(stored.filter((r) => r.resource)).toHaveLength(7);
    expect(stored.map(({ resource: _r, ...r }) => r)).toEqual(await rows('decision_history_v2'));
  });
});
