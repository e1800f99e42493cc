/**
 * The overview read and the patient's restriction (ADR 0012) on real PostgreSQL: on the
 * primary the restriction stream and the overview come in one statement, and the verdict
 * still holds from the moment an append commits, whoever appended it; with a replica, the
 * overview comes from the replica and the restriction from the primary; a store without
 * `readStreamWith` (KurrentDB's case) reads the stream first.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Cluster } from '#libs/database';
import { decisionStreamId, restrictionStreamId, type ReadPurpose } from '#libs/domain';
import { InstrumentedEventStore, PostgresEventStore, type AppendMetrics, type EventStore } from '#libs/event-store';
import { DEFAULT_ENGINE_OPTIONS, ProjectionEngine } from '#libs/projections';
import { PatientAuditLog, type Caller } from '#libs/security';
import { PostgresTenantRegistry, tenantId, type TenantDatabases } from '#libs/tenancy';
import { createTestStore, syntheticPid, testPool, type TestStore } from '#libs/testing';
import type { ProjectionEngines } from '../projection-engines.js';
import { PatientRestrictions } from '../restriction/patient-restriction.js';
import { serviceOverviewDefinition } from './service-overview.projection.js';
import { ServiceOverviewReader } from './service-overview.reader.js';

const TENANT = tenantId('313231593');
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const FAST = { ...DEFAULT_ENGINE_OPTIONS, batchSize: 50, pollMs: 50, lockRetryMs: 50, superviseMs: 50 };
const NO_METRICS: AppendMetrics = { appends: { inc: () => undefined }, appendedEvents: { inc: () => undefined }, appendSeconds: { observe: () => undefined } };
const PROJECTION = 'service_overview_v2';

const caller = (purpose: ReadPurpose): Caller => ({
  tenant: TENANT,
  tenantEnvironment: 'test',
  clientId: 'legevakt',
  orgnrParent: TENANT,
  scopes: ['read'],
  purpose,
  scheme: 'Bearer',
});

/** The statements a pool runs, recorded as they go to the (real) database. */
function recorded(pool: pg.Pool): string[] {
  const texts: string[] = [];
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => {
    const q = args[0] as string | { text: string };
    texts.push(typeof q === 'string' ? q : q.text);
    return query(...args);
  }) as typeof pool.query;
  return texts;
}
/** Statements that read the restriction stream or the overview (not appends, not the projection's reads of `$all`). */
const lookups = (texts: string[]) => texts.filter((t) => /stream_id = \$2|service_overview_v2 WHERE/.test(t) && !/INSERT INTO/.test(t));

describe("the overview read and the patient's restriction", () => {
  const opened: TestStore[] = [];
  const engines: ProjectionEngine[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.stop()));
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  async function database() {
    const s = await createTestStore(TENANT);
    opened.push(s);
    const engine = new ProjectionEngine(s.db.pool, s.store, new PostgresTenantRegistry(s.db.pool), [serviceOverviewDefinition], FAST);
    engines.push(engine);
    await engine.start();
    return { ...s, engine };
  }
  const grant = (store: EventStore, pid: string, decisionId: string, serviceCode = '15') =>
    store.append(
      TENANT,
      decisionStreamId('epj-a', decisionId),
      [
        {
          eventId: randomUUID(),
          type: 'ServiceDecisionGranted',
          data: { decisionId, sourceSystem: 'epj-a', patient: { system: FNR, value: pid }, serviceCode, period: { start: '2026-01-05' }, occurredAt: '2026-01-05T08:00:00Z' },
        },
      ],
      'no_stream',
    );
  /** Stored as the restriction command path stores them (libs/receive: `restrictionStream`). */
  const restrict = (store: EventStore, pid: string, event: 'PatientRestrictionSet' | 'PatientRestrictionLifted' = 'PatientRestrictionSet', scope = 'all') =>
    store.append(
      TENANT,
      restrictionStreamId(TENANT, pid),
      [
        {
          eventId: randomUUID(),
          type: event,
          data: { patient: { system: FNR, value: pid }, requestedBy: { kind: 'citizen' }, ...(event === 'PatientRestrictionSet' ? { scope } : {}) },
        },
      ],
      'any',
    );
  const caughtUp = async (d: { engine: ProjectionEngine; store: EventStore }) => expect(await d.engine.waitFor(PROJECTION, TENANT, await d.store.head(TENANT), 10_000)).toBe(true);

  /** The reader as the content module builds it, on `cluster`, over `store` (the app's decorated event store). */
  function readerOn(cluster: Pick<Cluster, 'db' | 'readPool'>, engine: ProjectionEngine, store: EventStore) {
    const tenants = { of: async () => cluster } as unknown as TenantDatabases;
    const byTenant = { of: async () => engine } as unknown as ProjectionEngines;
    return new ServiceOverviewReader(byTenant, tenants, new PatientAuditLog(tenants), store, new PatientRestrictions(store));
  }
  const outcome = (reader: ServiceOverviewReader, pid: string, purpose: ReadPurpose = 'TREAT') =>
    reader.readLogged(caller(purpose), { personId: pid }, 'service-overview.read').then(
      (o) => ({ status: 200, services: o.services.map((s) => s.decisionId) }),
      (e: { problem?: { status: number; type: string } }) => ({ status: e.problem?.status, type: e.problem?.type }),
    );
  const accessLog = async (pool: pg.Pool, pid: string) =>
    (await pool.query<{ outcome: string; restriction_overridden: boolean }>('SELECT outcome, restriction_overridden FROM access_log WHERE patient_id = $1 ORDER BY id', [pid])).rows.map(
      (r) => `${r.outcome}${r.restriction_overridden ? ' (overridden)' : ''}`,
    );
  const RESTRICTED = { status: 403, type: 'urn:fpi:problem:patient-restricted' };

  it('on the primary: one statement reads the restriction and the overview; a restriction holds from its append on, whoever appended it, and its lifting too', async () => {
    const primary = await database();
    const store = new InstrumentedEventStore(primary.store, NO_METRICS);
    expect(store.readStreamWith).toBeDefined();
    const reader = readerOn({ db: { pool: primary.db.pool } as Cluster['db'], readPool: primary.db.pool }, primary.engine, store);
    const [pid, other] = [syntheticPid(), syntheticPid()];
    await grant(primary.store, pid, 'V-1');
    await grant(primary.store, other, 'V-2');
    await caughtUp(primary);

    const statements = recorded(primary.db.pool);
    expect(await outcome(reader, pid)).toEqual({ status: 200, services: ['V-1'] });
    expect(lookups(statements)).toHaveLength(1);
    expect(lookups(statements)[0]).toMatch(/FROM events WHERE tenant_id = \$1 AND stream_id = \$2[\s\S]*service_overview_v2/);

    // Restricted, then read at once: refused, logged as denied, the overview not served.
    await restrict(primary.store, pid);
    expect(await outcome(reader, pid)).toEqual(RESTRICTED);
    expect(await outcome(reader, pid, 'ETREAT')).toEqual(RESTRICTED);
    // Break the glass: served, flagged.
    expect(await outcome(reader, pid, 'BTG')).toEqual({ status: 200, services: ['V-1'] });
    // Lifted, then read at once: served.
    await restrict(primary.store, pid, 'PatientRestrictionLifted');
    expect(await outcome(reader, pid)).toEqual({ status: 200, services: ['V-1'] });
    expect(await accessLog(primary.db.pool, pid)).toEqual(['success', 'denied', 'denied', 'success (overridden)', 'success']);

    // Restricted by another instance (its own event store and pool): refused at once here too.
    const otherPool = testPool({ connectionString: primary.db.url, max: 1 });
    const otherStore = new PostgresEventStore(otherPool);
    try {
      await restrict(otherStore, other, 'PatientRestrictionSet', 'all-but-emergency');
      expect(await outcome(reader, other)).toEqual(RESTRICTED);
      expect(await outcome(reader, other, 'ETREAT')).toEqual({ status: 200, services: ['V-2'] });
      await restrict(otherStore, other, 'PatientRestrictionLifted');
      expect(await outcome(reader, other)).toEqual({ status: 200, services: ['V-2'] });
    } finally {
      await otherStore.close();
      await otherPool.end();
    }
    // Every read above was one statement (the access log's inserts aside).
    expect(lookups(statements)).toHaveLength(1 + 4 + 3);
  });

  it('a restricted patient with a min-checkpoint the overview cannot reach still gets 403, not 400 or 503', async () => {
    const primary = await database();
    const reader = readerOn({ db: { pool: primary.db.pool } as Cluster['db'], readPool: primary.db.pool }, primary.engine, primary.store);
    const pid = syntheticPid();
    await grant(primary.store, pid, 'V-1');
    await restrict(primary.store, pid);
    await caughtUp(primary);
    const refused = (minCheckpoint: string) =>
      reader.readLogged(caller('TREAT'), { personId: pid, minCheckpoint }, 'service-overview.read').catch((e: { problem?: { status: number; type: string } }) => e.problem);
    expect(await refused('not-a-checkpoint')).toMatchObject(RESTRICTED);
    expect(await accessLog(primary.db.pool, pid)).toEqual(['denied']);
  });

  it('with a replica: the overview comes from the replica, the restriction from the primary, read before the overview', async () => {
    // The "replica" is a second database with its own events and overview: what the reader
    // shows comes from it, and a restriction only it holds is not the one that counts.
    const [primary, replica] = [await database(), await database()];
    const reader = readerOn({ db: { pool: primary.db.pool } as Cluster['db'], readPool: replica.db.pool }, primary.engine, new InstrumentedEventStore(primary.store, NO_METRICS));
    const [pid, other] = [syntheticPid(), syntheticPid()];
    await grant(primary.store, pid, 'V-P');
    await grant(replica.store, pid, 'V-R');
    await grant(replica.store, other, 'V-O');
    await restrict(replica.store, other);
    await Promise.all([caughtUp(primary), caughtUp(replica)]);

    const [onPrimary, onReplica] = [recorded(primary.db.pool), recorded(replica.db.pool)];
    expect(await outcome(reader, pid)).toEqual({ status: 200, services: ['V-R'] });
    expect(await outcome(reader, other)).toEqual({ status: 200, services: ['V-O'] });
    // The primary read the restriction streams (nothing else), the replica the overviews (nothing else).
    expect(lookups(onPrimary).map((t) => /FROM events/.test(t) && !/service_overview/.test(t))).toEqual([true, true]);
    expect(lookups(onReplica).map((t) => /service_overview_v2/.test(t) && !/FROM events/.test(t))).toEqual([true, true]);

    await restrict(primary.store, pid);
    expect(await outcome(reader, pid)).toEqual(RESTRICTED);
    expect(lookups(onReplica)).toHaveLength(2);
    expect(await accessLog(primary.db.pool, pid)).toEqual(['success', 'denied']);
  });

  it('an event store without readStreamWith (KurrentDB) reads the stream first, then the overview: the same verdicts', async () => {
    const primary = await database();
    // The PostgreSQL adapter seen through the port's required methods only.
    const plain: EventStore = {
      append: (...a) => primary.store.append(...a),
      appendMany: (...a) => primary.store.appendMany(...a),
      readStream: (...a) => primary.store.readStream(...a),
      readStreams: (...a) => primary.store.readStreams(...a),
      readAll: (...a) => primary.store.readAll(...a),
      head: (...a) => primary.store.head(...a),
      lag: (...a) => primary.store.lag(...a),
      waitForEvents: (...a) => primary.store.waitForEvents(...a),
    };
    const store = new InstrumentedEventStore(plain, NO_METRICS);
    expect(store.readStreamWith).toBeUndefined();
    const reader = readerOn({ db: { pool: primary.db.pool } as Cluster['db'], readPool: primary.db.pool }, primary.engine, store);
    const pid = syntheticPid();
    await grant(primary.store, pid, 'V-1');
    await caughtUp(primary);
    const statements = recorded(primary.db.pool);
    expect(await outcome(reader, pid)).toEqual({ status: 200, services: ['V-1'] });
    expect(lookups(statements).map((t) => (/FROM events/.test(t) ? 'stream' : 'overview'))).toEqual(['stream', 'overview']);
    await restrict(primary.store, pid);
    expect(await outcome(reader, pid)).toEqual(RESTRICTED);
    expect(lookups(statements).map((t) => (/FROM events/.test(t) ? 'stream' : 'overview'))).toEqual(['stream', 'overview', 'stream']);
  });
});
