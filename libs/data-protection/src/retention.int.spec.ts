import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { ServiceOverviewEraser, serviceOverviewDefinition } from '#libs/content';
import { decisionStreamId } from '#libs/domain';
import { PostgresEventStore, START, type RecordedEvent } from '#libs/event-store';
import { DeadLetterEraser, DEFAULT_ENGINE_OPTIONS, ProjectionEngine, type EngineOptions } from '#libs/projections';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';
import { createTestStore, syntheticPid, type TestDatabase } from '#libs/testing';
import { AccessLogEraser } from './access-log.eraser.js';
import { DataProtection, RETENTION_CHUNK } from './data-protection.js';
import { RetentionJob } from './retention-job.js';

const TENANT = tenantId('313231593');
const FNR = 'urn:oid:2.16.578.1.12.4.1.4.1';
const FAST: EngineOptions = { ...DEFAULT_ENGINE_OPTIONS, batchSize: 5, pollMs: 50, lockRetryMs: 50, superviseMs: 50, dropRetiredAfterMs: 600_000 };
const RUNS = Number(process.env.FPI_RETENTION_PROPERTY_RUNS ?? 12);
const OSLO = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Oslo' });
const pad = (n: number) => String(n).padStart(2, '0');
const dayText = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;

/** One generated decision: still a service, ended on a day, or entered in error at an instant (with its zone). */
type Plan = { kind: 'active' } | { kind: 'ended'; endDate: string } | { kind: 'eie'; at: string };

/** The rule, independently: whole months from the day it left to today, in Norway (Intl as the clock). */
function shouldGo(plan: Plan, months: number, now: Date): boolean {
  if (plan.kind === 'active') return false;
  const left = plan.kind === 'ended' ? plan.endDate : OSLO.format(new Date(plan.at));
  const [ly, lm, ld] = left.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = OSLO.format(now).split('-').map(Number) as [number, number, number];
  const whole = ty * 12 + tm - (ly * 12 + lm);
  return whole !== months ? whole > months : td > Math.min(ld, new Date(Date.UTC(ty, tm, 0)).getUTCDate());
}

const when = fc.date({ min: new Date('2024-01-01T00:00:00Z'), max: new Date('2027-12-31T00:00:00Z'), noInvalidDate: true });
const plan: fc.Arbitrary<Plan> = fc.oneof(
  fc.constant({ kind: 'active' as const }),
  when.map((d) => ({ kind: 'ended' as const, endDate: dayText(d) })),
  fc.tuple(when, fc.constantFrom('Z', '+01:00', '+02:00')).map(([d, zone]) => {
    const local = new Date(d.getTime() + (zone === 'Z' ? 0 : Number(zone.slice(2, 3)) * 3_600_000));
    return { kind: 'eie' as const, at: `${dayText(local)}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:00${zone}` };
  }),
);

describe('retention (issue 22): removes exactly what its rule says, from the store and the read model', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let close: () => Promise<void>;
  let protection: DataProtection;

  beforeAll(async () => {
    ({ db, store, close } = await createTestStore(TENANT));
    protection = new DataProtection(async () => db.pool, [new ServiceOverviewEraser(), new DeadLetterEraser(), new AccessLogEraser()]);
  });
  afterAll(async () => {
    await close();
  });

  /** Appends a decision's history after its plan; returns its stream id. */
  const append = async (pid: string, decisionId: string, p: Plan): Promise<string> => {
    const base = { decisionId, sourceSystem: 'epj-a', patient: { system: FNR, value: pid } };
    const stream = decisionStreamId('epj-a', decisionId);
    const grant = { eventId: randomUUID(), type: 'ServiceDecisionGranted', data: { ...base, serviceCode: '15', period: { start: '2023-01-02' }, occurredAt: '2023-01-02T08:00:00Z' } };
    const last =
      p.kind === 'ended'
        ? [{ eventId: randomUUID(), type: 'ServiceEnded', data: { ...base, endDate: p.endDate, occurredAt: `${p.endDate}T12:00:00+01:00` } }]
        : p.kind === 'eie'
          ? [{ eventId: randomUUID(), type: 'DecisionEnteredInError', data: { ...base, reason: 'feil pasient', occurredAt: p.at } }]
          : [];
    await store.append(TENANT, stream, [grant, ...last], 'no_stream');
    return stream;
  };
  const remainingStreams = async (): Promise<Set<string>> => {
    const out = new Set<string>();
    for (let from = START; ;) {
      const page = await store.readAll(TENANT, from, 1000);
      page.events.forEach((e: RecordedEvent) => out.add(e.streamId));
      if (page.events.length === 0) return out;
      from = page.checkpoint;
    }
  };

  it('property: over generated histories, dates and rules, the streams that go are exactly those the rule selects; a dry run counts the same and removes nothing', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(plan, { minLength: 1, maxLength: 6 }), when, fc.integer({ min: 1, max: 30 }), async (plans, now, months) => {
        round += 1;
        // Earlier rounds' leftovers go first (a rule of 1 month at the far end removes every ended one), so this round's figures stand alone.
        await protection.applyRetention({ tenant: TENANT, rule: { months: 1 }, now: new Date('2099-01-01T00:00:00Z'), requestedBy: 'test' });
        const pid = syntheticPid();
        const streams = await Promise.all(plans.map((p, i) => append(pid, `R${round}-${i}`, p)));
        const expectedGone = streams.filter((_, i) => shouldGo(plans[i]!, months, now));
        const dry = await protection.applyRetention({ tenant: TENANT, rule: { months }, now, requestedBy: 'test', dryRun: true });
        expect(dry.streams).toBe(expectedGone.length);
        const afterDry = await remainingStreams();
        expect(streams.every((s) => afterDry.has(s))).toBe(true);
        const report = await protection.applyRetention({ tenant: TENANT, rule: { months }, now, requestedBy: 'test' });
        expect(report.streams).toBe(expectedGone.length);
        const remaining = await remainingStreams();
        for (const s of streams) expect([s, remaining.has(s)]).toEqual([s, !expectedGone.includes(s)]);
      }),
      { numRuns: RUNS },
    );
  });

  it(`goes in chunks of ${RETENTION_CHUNK} streams, one transaction and one erasure record each, and reports their sum`, async () => {
    await protection.applyRetention({ tenant: TENANT, rule: { months: 1 }, now: new Date('2099-01-01T00:00:00Z'), requestedBy: 'test' }); // earlier tests' leftovers
    const n = 2 * RETENTION_CHUNK + 7;
    const pid = syntheticPid();
    await store.appendMany(
      TENANT,
      Array.from({ length: n }, (_, i) => {
        const base = { decisionId: `CH-${i}`, sourceSystem: 'epj-a', patient: { system: FNR, value: pid } };
        return {
          streamId: decisionStreamId('epj-a', `CH-${i}`),
          expectedVersion: 0,
          events: [
            { eventId: randomUUID(), type: 'ServiceDecisionGranted', data: { ...base, serviceCode: '15', period: { start: '2023-01-02' }, occurredAt: '2023-01-02T08:00:00Z' } },
            { eventId: randomUUID(), type: 'ServiceEnded', data: { ...base, endDate: '2023-06-30', occurredAt: '2023-06-30T08:00:00Z' } },
          ],
        };
      }),
    );
    const before = (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM erasures WHERE kind = 'retention' AND streams_removed > 0`)).rows[0]!.n;
    const report = await protection.applyRetention({ tenant: TENANT, rule: { months: 24 }, now: new Date('2026-06-01T10:00:00Z'), requestedBy: 'test' });
    expect(report).toMatchObject({ streams: n, events: 2 * n, counts: { events: 2 * n } });
    const { rows } = await db.pool.query<{ streams_removed: number }>(`SELECT streams_removed FROM erasures WHERE kind = 'retention' AND streams_removed > 0 ORDER BY id OFFSET $1`, [before]);
    expect(rows.map((r) => r.streams_removed)).toEqual([RETENTION_CHUNK, RETENTION_CHUNK, 7]);
    expect([...(await remainingStreams())].filter((s) => s.startsWith('Decision/epj-a/CH-'))).toEqual([]);
  });

  it('a rule that is off removes nothing', async () => {
    const stream = await append(syntheticPid(), 'OFF-1', { kind: 'ended', endDate: '2000-01-01' });
    const report = await protection.applyRetention({ tenant: TENANT, rule: { months: null }, now: new Date('2030-01-01T00:00:00Z'), requestedBy: 'test' });
    expect(report).toMatchObject({ streams: 0, events: 0 });
    expect((await remainingStreams()).has(stream)).toBe(true);
  });

  it('the scheduled job applies each municipality its own rule, and logs no person number', async () => {
    const pid = syntheticPid();
    const old = await append(pid, 'JOB-old', { kind: 'ended', endDate: '2020-05-01' });
    const recent = await append(pid, 'JOB-recent', { kind: 'ended', endDate: '2026-05-01' });
    const lines: string[] = [];
    const job = new RetentionJob(protection, {
      intervalMs: 3_600_000,
      tenants: async () => [TENANT],
      ruleOf: () => ({ months: 24 }),
      now: () => new Date('2026-06-01T10:00:00Z'),
      log: (m) => lines.push(m),
    });
    await job.runOnce();
    await job.stop();
    const remaining = await remainingStreams();
    expect([remaining.has(old), remaining.has(recent)]).toEqual([false, true]);
    expect(lines).toEqual([expect.stringMatching(/^retention for 313231593: \d+ decisions, \d+ events removed \(erasure [0-9a-f-]{36}\)$/)]);
    expect(lines.join('\n')).not.toMatch(/[0-9]{11}/);
  });

  it("refolds a patient's overview from what remains while the projection runs and writes go on: equal to a rebuild", async () => {
    const engine = new ProjectionEngine(db.pool, store, new PostgresTenantRegistry(db.pool), [serviceOverviewDefinition], FAST);
    await engine.start();
    try {
      const pid = syntheticPid();
      const old = await append(pid, 'MIX-old', { kind: 'ended', endDate: '2024-02-01' });
      const kept = await append(pid, 'MIX-kept', { kind: 'active' });
      let stop = false;
      const writes = (async () => {
        for (let i = 0; !stop; i++) await append(syntheticPid(), `MIX-w${i}`, { kind: i % 2 ? 'active' : 'ended', endDate: '2026-01-01' } as Plan);
      })();
      await new Promise((r) => setTimeout(r, 200));
      const report = await protection.applyRetention({ tenant: TENANT, rule: { months: 12 }, now: new Date('2026-06-01T10:00:00Z'), requestedBy: 'test' });
      stop = true;
      await writes;
      expect(report.streams).toBeGreaterThanOrEqual(1);
      const remaining = await remainingStreams();
      expect(remaining.has(old)).toBe(false);
      expect(remaining.has(kept)).toBe(true);
      expect(await engine.waitFor('service_overview_v2', TENANT, await store.head(TENANT), 15_000)).toBe(true);
      const shown = (await db.pool.query(`SELECT decision->>'sourceSystem' || '/' || (decision->>'decisionId') AS k FROM service_overview_v2 WHERE tenant_id = $1 AND patient_id = $2`, [TENANT, pid]))
        .rows;
      expect(shown.map((r) => r.k)).toEqual(['epj-a/MIX-kept']);
      await engine.requestVersion('service_overview');
      const deadline = Date.now() + 20_000;
      while ((await engine.liveVersion('service_overview')) !== 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const all = async (v: number) => (await db.pool.query(`SELECT tenant_id, resource_id, patient_id, decision FROM service_overview_v${v} ORDER BY resource_id`)).rows;
      expect(await all(3)).toEqual(await all(2));
    } finally {
      await engine.stop();
    }
  });
});
