/**
 * Deployables as real child processes, a bounded load generator and the "nothing lost,
 * nothing doubled" check: shared by the fault suite and the scale-out tests.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
// The file itself, not the lib's index: that would load every Nest module into each test file.
import { spawnDeployable, type Deployable, type DeployableProcess } from '#libs/service';
import { asDecisionEvent, emptyOverview, evolveOverview, overviewOfDecisions, type OverviewDecision, type OverviewDocument, type PatientRef } from '#libs/domain';
import { FNR, syntheticPid } from './synthetic.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type ServiceProcess = DeployableProcess;

/** A built deployable as its own process, quiet and without a rate limit (the load would meet it). */
export const spawnService = (app: Deployable, env: NodeJS.ProcessEnv, port?: number): Promise<ServiceProcess> =>
  spawnDeployable(app, { LOG_LEVEL: 'silent', FPI_RATE_LIMIT_PER_MINUTE: '0', ...env }, { port });

/**
 * The built platform as its own process, its log lines (stdout and stderr) collected as an
 * operator sees them: `output()` is everything it has written so far. For the log tests.
 */
export async function spawnPlatformWithLogs(env: NodeJS.ProcessEnv): Promise<ServiceProcess & { output(): string }> {
  let output = '';
  const platform = await spawnDeployable('platform', env, { onOutput: (chunk) => (output += chunk) });
  return { ...platform, output: () => output };
}

export interface Load {
  acknowledged: Set<string>;
  /** Statuses of the valid grants. */
  statuses: Map<number | string, number>;
  /** Statuses of the bad requests (`badInput`): NUL, lone surrogates, bodies that are not UTF-8. */
  rejected: Map<number | string, number>;
  retryAfterOn503: boolean;
  slowest: number;
  stop(): Promise<void>;
}

/** One instant, 2026-03-01 08:00 UTC, in the offsets EPJ systems write: the load's occurredAt values. */
const MIXED_OFFSETS = ['2026-03-01T08:00:00Z', '2026-03-01T09:00:00+01:00', '2026-03-01T10:00:00+02:00', '2026-03-01T03:00:00-05:00', '2026-03-01t08:00:00.000z'];

/** Bad requests interleaved with the load: each must be refused with a 4xx (or 503 while the database is down). */
const BAD_REQUESTS: ((grant: Record<string, unknown>) => { contentType: string; body: string | Buffer })[] = [
  (g) => ({ contentType: 'application/json', body: JSON.stringify({ ...g, description: 'a\u0000b' }) }),
  (g) => ({ contentType: 'application/json', body: JSON.stringify({ ...g, description: 'lone \uD800' }) }),
  (g) => ({ contentType: 'application/json', body: Buffer.from(JSON.stringify({ ...g, description: 'Sone s\xF8r' }), 'latin1') }),
  (g) => ({ contentType: 'application/json; charset=iso-8859-1', body: Buffer.from(JSON.stringify({ ...g, description: 'Sone s\xF8r' }), 'latin1') }),
  (g) => ({ contentType: 'application/json', body: JSON.stringify({ ...g, occurredAt: '2026-03-01T08:00:00+24:00' }) }),
];

/**
 * Bounded load: `writers` loops posting grants (with occurredAt in mixed offsets) until
 * stopped; each request times out after 5 s. With `badInput`, every fourth request is a bad
 * one instead (see BAD_REQUESTS), counted in `rejected`.
 */
export function startLoad(base: () => string, token: string, writers = 4, options: { badInput?: boolean } = {}): Load {
  const acknowledged = new Set<string>();
  const statuses = new Map<number | string, number>();
  const rejected = new Map<number | string, number>();
  let running = true;
  let retryAfterOn503 = true;
  let slowest = 0;
  const count = (k: number | string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
  const loops = Array.from({ length: writers }, async () => {
    for (let i = 0; running && i < 100_000; i++) {
      const eventId = randomUUID();
      const started = Date.now();
      const grant = {
        type: 'ServiceDecisionGranted',
        eventId,
        decisionId: `F-${eventId.slice(0, 13)}`,
        occurredAt: MIXED_OFFSETS[i % MIXED_OFFSETS.length],
        sourceSystem: 'epj-fault',
        patient: { system: FNR, value: syntheticPid() },
        service: { code: '6' },
        period: { start: '2026-03-01' },
      };
      const bad = options.badInput && i % 4 === 3 ? BAD_REQUESTS[(i >> 2) % BAD_REQUESTS.length]!(grant) : undefined;
      const tally = bad ? (k: number | string) => rejected.set(k, (rejected.get(k) ?? 0) + 1) : count;
      try {
        const res = await fetch(`${base()}/api/v1/decision-events`, {
          method: 'POST',
          signal: AbortSignal.timeout(5000),
          headers: { 'content-type': bad?.contentType ?? 'application/json', authorization: `Bearer ${token}` },
          body: bad?.body ?? JSON.stringify(grant),
        });
        await res.arrayBuffer();
        tally(res.status);
        if (!bad && res.status >= 200 && res.status < 300) acknowledged.add(eventId);
        if (res.status === 503 && !(Number(res.headers.get('retry-after')) > 0)) retryAfterOn503 = false;
      } catch (error) {
        tally((error as Error).name === 'TimeoutError' ? 'timeout' : 'connection-error');
        await sleep(50);
      }
      slowest = Math.max(slowest, Date.now() - started);
    }
  });
  return {
    acknowledged,
    statuses,
    rejected,
    get retryAfterOn503() {
      return retryAfterOn503;
    },
    get slowest() {
      return slowest;
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  } as Load;
}

/**
 * Every acknowledged event is stored exactly once in the database at `databaseUrl`, and once
 * the content service at `contentBase` has caught up, every overview of the tenant equals a
 * fold of the stored events.
 */
export async function expectStoredOnceAndProjected(databaseUrl: string, contentBase: string, acknowledged: Set<string>, tenant = '313231593'): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows: counts } = await db.query<{ event_id: string; n: number }>(`SELECT event_id, count(*)::int AS n FROM events WHERE event_id = ANY ($1::uuid[]) GROUP BY event_id`, [
      [...acknowledged],
    ]);
    expect(counts.length).toBe(acknowledged.size);
    expect(counts.every((c) => c.n === 1)).toBe(true);
    // Wait for the projection, then compare with a fold of what is stored.
    for (let i = 0; ; i++) {
      // Per-tenant lag is in /metrics (readiness detail needs the operator scope).
      const metrics = await (await fetch(`${contentBase}/metrics`)).text();
      const behind = [...metrics.matchAll(/^fpi_projection_events_behind\{[^}]*\} (\d+)/gm)].map((m) => Number(m[1]));
      if (behind.length > 0 && behind.every((n) => n === 0)) break;
      if (i > 200) throw new Error('projection did not catch up');
      await sleep(50);
    }
    const { rows: events } = await db.query(`SELECT * FROM events WHERE tenant_id = $1 ORDER BY transaction_id, global_position`, [tenant]);
    const folded = new Map<string, OverviewDocument>();
    for (const e of events) {
      const patient = e.data.patient as PatientRef;
      const doc = folded.get(patient.value) ?? emptyOverview(patient);
      folded.set(
        patient.value,
        evolveOverview(doc, { event: asDecisionEvent({ type: e.event_type, data: e.data }), streamPosition: Number(e.stream_position), recordedAt: (e.recorded_at as Date).toISOString() }),
      );
    }
    // The live version's rows, a row per decision (version 2 on), assembled as the readers do.
    const { rows: live } = await db.query<{ version: number }>(`SELECT version FROM read_model_versions WHERE read_model = 'service_overview' AND status = 'live'`);
    const { rows: docs } = await db.query<{ patient_id: string; decisions: OverviewDecision[] }>(
      `SELECT patient_id, jsonb_agg(decision) AS decisions FROM service_overview_v${live[0]!.version} WHERE tenant_id = $1 GROUP BY patient_id`,
      [tenant],
    );
    expect(docs.length).toBe(folded.size);
    for (const d of docs) expect(overviewOfDecisions(folded.get(d.patient_id)!.patient, d.decisions)).toEqual(folded.get(d.patient_id));
  } finally {
    await db.end();
  }
}
