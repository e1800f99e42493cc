import { createTestDatabase, expectKeyProbes, queryPlan, type TestDatabase } from '#libs/testing';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';
import { decisionsByResourceIdSql, ServiceOverviewProjection } from './overview/service-overview.projection.js';
import { DecisionHistoryProjection, lastVersionsSql } from './history/decision-history.projection.js';

const TENANT = tenantId('974760673');
const ROWS = 20_000;
/** A batch's keys: 130 of them, as a projection batch spaced 60 ms apart carries under load. */
const keys = Array.from({ length: 130 }, (_, i) => `r${1 + i * 97}`);

/**
 * Each projection batch loads the rows of its decisions by key. On a table filled faster than
 * autovacuum analyses it (a new install, a version built beside the live one), PostgreSQL guessed
 * that `tenant_id = $1` matches a few hundred rows and, for `resource_id = ANY ($2)`, scanned the
 * tenant's whole patient index once per batch (250 µs of PostgreSQL time per event under load).
 */
describe("the read models' batch loads probe their primary keys on never-analysed tables (PostgreSQL)", () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await new PostgresTenantRegistry(db.pool).add({ id: TENANT, name: 'Rask kommune', environment: 'test' });
    await new ServiceOverviewProjection(2).setup(db.pool);
    await new DecisionHistoryProjection(2).setup(db.pool);
    await db.pool.query(`INSERT INTO service_overview_v2 (tenant_id, resource_id, patient_id, decision) SELECT $1, 'r' || i, 'p' || (i % 2000), '{}' FROM generate_series(1, ${ROWS}) AS i`, [TENANT]);
    await db.pool.query(
      `INSERT INTO decision_history_v2 (tenant_id, resource_id, version, patient_id, stream_id, event_type, recorded_at, method, url, decision)
       SELECT $1, 'r' || i, v, 'p' || (i % 2000), 's' || i, 'ServiceDecisionGranted', now(), 'POST', 'EpisodeOfCare', jsonb_build_object('v', v)
         FROM generate_series(1, ${ROWS}) AS i, generate_series(1, 2) AS v`,
      [TENANT],
    );
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("the fixture reproduces the fault: the overview's earlier `resource_id = ANY ($2)` scans the tenant's patient index", async () => {
    const before = await queryPlan(db.pool, `SELECT resource_id, patient_id, decision FROM service_overview_v2 WHERE tenant_id = $1 AND resource_id = ANY ($2::text[])`, [TENANT, keys]);
    expect(before).toMatch(/Bitmap Heap Scan on service_overview_v2[\s\S]*Bitmap Index Scan on service_overview_v2_patient/);
  });

  it("the overview's rows of a batch's decisions", async () => {
    await expectKeyProbes(db.pool, 'service_overview_v2', 'service_overview_v2_pkey', decisionsByResourceIdSql('service_overview_v2'), [TENANT, keys]);
    const { rows } = await db.pool.query(decisionsByResourceIdSql('service_overview_v2'), [TENANT, [...keys, 'r-none']]);
    expect(rows.map((r) => r.resource_id).sort()).toEqual([...keys].sort());
  });

  it("the history's last version of each decision", async () => {
    await expectKeyProbes(db.pool, 'decision_history_v2', 'decision_history_v2_pkey', lastVersionsSql('decision_history_v2'), [TENANT, keys]);
    const { rows } = await db.pool.query(lastVersionsSql('decision_history_v2'), [TENANT, keys]);
    expect(rows).toHaveLength(keys.length);
    expect(rows.every((r) => r.version === 2 && r.decision.v === 2)).toBe(true);
  });
});
