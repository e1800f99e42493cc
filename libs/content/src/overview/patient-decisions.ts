import { Inject, Injectable } from '@nestjs/common';
import { decisionStreamId, type PatientRef } from '#libs/domain';
import { compareCheckpoints, EVENT_STORE, START, type Checkpoint, type EventStore } from '#libs/event-store';
import { TenantDatabases, type TenantId } from '#libs/tenancy';
import { liveVersionOf, PostgresCheckpointStore } from '#libs/projections';
import { overviewReads, SERVICE_OVERVIEW } from './service-overview.projection.js';

const PAGE = 1000;
/** How long the tail read waits for `$all` to pass events committed before the lookup. */
const HEAD_WAIT_MS = 5_000;

/**
 * A patient's decisions, for the OKT snapshot diff (a write, so it must be current): the
 * service-overview read model at its checkpoint, plus the tenant's events after that
 * checkpoint that name the patient (what the projection has not applied yet). Needs no
 * projection running in this process (the receive service runs none); with no overview
 * yet it reads the whole `$all` of the tenant. The tail is read up to the tenant's head as of
 * the call: PostgreSQL's `$all` withholds committed events while an older transaction is open
 * (its late-commit guard), and a retry after a concurrent writer must see that writer's events.
 */
@Injectable()
export class PatientDecisions {
  constructor(
    private readonly tenants: TenantDatabases,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  /** Stream ids (`Decision/<sourceSystem>/<decisionId>`) of the patient's decisions, sorted. */
  async streamIdsOf(tenant: TenantId, personId: string): Promise<string[]> {
    const streams = new Set<string>();
    const head = await this.store.head(tenant);
    const started = Date.now();
    let from: Checkpoint = START;
    const pool = (await this.tenants.of(tenant)).db.pool;
    const version = await liveVersionOf(pool, SERVICE_OVERVIEW);
    if (version !== undefined) {
      const projection = `${SERVICE_OVERVIEW}_v${version}`;
      const reads = overviewReads(version);
      const read = await new PostgresCheckpointStore(pool).readWithCheckpoint<unknown>(projection, tenant, reads.documentSql, [personId]);
      for (const d of Object.values(reads.documentOf(read.value, personId)?.decisions ?? {})) streams.add(decisionStreamId(d.sourceSystem, d.decisionId));
      from = read.checkpoint;
    }
    for (;;) {
      const page = await this.store.readAll(tenant, from, PAGE);
      for (const e of page.events) {
        if ((e.data.patient as PatientRef | undefined)?.value === personId && typeof e.data.sourceSystem === 'string' && typeof e.data.decisionId === 'string') {
          streams.add(decisionStreamId(e.data.sourceSystem, e.data.decisionId));
        }
      }
      from = page.checkpoint;
      if (compareCheckpoints(from, head) >= 0) break;
      if (page.events.length === 0) {
        // Held back by an open older transaction: wait for it (bounded; the append's
        // expected versions still guard the write if the wait runs out).
        if (Date.now() - started > HEAD_WAIT_MS) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    return [...streams].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
