import { randomUUID } from 'node:crypto';
import { decisionStreamId, parsePersonIdentifier } from '#libs/domain';
import { PostgresEventStore, type RecordedEvent } from '#libs/event-store';
import { DEFAULT_ENGINE_OPTIONS, fixedVersion, ProjectionEngine, type EngineOptions, type Projection, type ProjectionSession } from '#libs/projections';
import { PostgresTenantRegistry, tenantId, type TenantId } from '#libs/tenancy';
import { createTestStore, syntheticPid, type TestDatabase } from '#libs/testing';
import { DataProtection } from './data-protection.js';
import type { ErasureSession, PersonDataEraser, RemovedHistory } from './person-data-eraser.port.js';

const TENANT = tenantId('313231593');
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const FAST: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS, batchSize: 100, pollMs: 50, lockRetryMs: 50, superviseMs: 50, retryDelaysMs: [20, 20] };

/** A read model that copies each event's patient into `race_copy`, and can be held inside `apply` (its batch read, not yet written). */
class GatedCopy implements Projection {
  readonly name = 'race_copy';
  readonly version = 1;
  gate: Promise<void> | undefined;
  entered: (() => void) | undefined;
  handles = () => true;
  async setup(db: ProjectionSession) {
    await db.query('CREATE TABLE IF NOT EXISTS race_copy (tenant_id text, patient_id text, event_id uuid)');
  }
  async apply(db: ProjectionSession, tenant: TenantId, events: RecordedEvent[]) {
    this.entered?.();
    await this.gate;
    for (const e of events) await db.query('INSERT INTO race_copy VALUES ($1, $2, $3)', [tenant, (e.data.patient as { value?: string } | undefined)?.value ?? null, e.eventId]);
  }
  async drop() {}
}

/** Its eraser: what is in the table about the removed patients goes. */
const copyEraser: PersonDataEraser = {
  name: 'race_copy',
  erase: async ({ db }: ErasureSession, removed: RemovedHistory) =>
    (await db.query('DELETE FROM race_copy WHERE tenant_id = $1 AND patient_id = ANY ($2::text[])', [removed.tenant, removed.patients])).rowCount ?? 0,
};

describe('erasure against a projection batch in flight (ADR 0010: the checkpoint generation)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let close: () => Promise<void>;

  beforeEach(async () => {
    ({ db, store, close } = await createTestStore(TENANT));
  });
  afterEach(async () => {
    await close();
  });

  it('a batch read before the erasure, written after it, rolls back and is read again without the erased events', async () => {
    const copy = new GatedCopy();
    const engine = new ProjectionEngine(db.pool, store, new PostgresTenantRegistry(db.pool), [fixedVersion(copy)], FAST);
    const [p, q] = [syntheticPid(), syntheticPid()];
    const grant = (pid: string, id: string) =>
      store.append(
        TENANT,
        decisionStreamId('epj-a', id),
        [
          {
            eventId: randomUUID(),
            type: 'ServiceDecisionGranted',
            data: { decisionId: id, sourceSystem: 'epj-a', patient: { system: FNR, value: pid }, serviceCode: '15', period: { start: '2026-01-05' }, occurredAt: '2026-01-05T08:00:00Z' },
          },
        ],
        'no_stream',
      );
    let release!: () => void;
    copy.gate = new Promise((r) => (release = r));
    const entered = new Promise<void>((r) => (copy.entered = r));
    await grant(p, 'P-1');
    await grant(q, 'Q-1');
    await engine.start();
    try {
      await entered; // the runner holds P's and Q's events, not yet written
      const parsed = parsePersonIdentifier(p);
      if (!parsed.ok) throw new Error('not a person id');
      const report = await new DataProtection(async () => db.pool, [copyEraser]).erasePerson({ tenant: TENANT, person: parsed.id, reason: 'race', requestedBy: 'test' });
      expect(report.events).toBe(1);
      copy.entered = undefined;
      release(); // the stale batch writes P's copy now; its compare-and-set must fail
      const last = await store.head(TENANT);
      expect(await engine.waitFor('race_copy_v1', TENANT, last, 10_000)).toBe(true);
      const { rows } = await db.pool.query<{ patient_id: string | null }>('SELECT patient_id FROM race_copy ORDER BY patient_id');
      expect(rows.map((r) => r.patient_id)).toEqual([q, null].sort((a, b) => String(a).localeCompare(String(b)))); // Q's grant and the tombstone event
      expect(rows.some((r) => r.patient_id === p)).toBe(false);
    } finally {
      release();
      await engine.stop();
    }
  });
});
