import type pg from 'pg';
import type { RecordedEvent } from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';

/** A database session the engine gives a projection: inside the batch's transaction. */
export type ProjectionSession = Pick<pg.ClientBase, 'query'>;

/**
 * An async projection from a tenant's `$all` stream into a versioned read model
 * (`<name>_v<version>`). The engine runs `apply` and the checkpoint update in one
 * transaction, so a batch is applied exactly once or not at all.
 */
export interface Projection {
  /** Read-model name shared by all versions, e.g. `service_overview`. */
  readonly name: string;
  readonly version: number;
  /**
   * Whether a batch's commit may return before its WAL is flushed (`synchronous_commit =
   * off` for that transaction). A crash of PostgreSQL may then lose the last batches, always
   * together with their checkpoint (a transaction is kept whole or not at all), and the runner
   * applies them again. For read models rebuilt from the event store anyway; a projection
   * with effects outside the database (the event forwarder) leaves it unset.
   */
  readonly asyncCommit?: boolean;
  handles(eventType: string): boolean;
  /** Creates the read model's tables for this version (idempotent). */
  setup(db: ProjectionSession): Promise<void>;
  /**
   * Applies a batch of events of one tenant, in `$all` order. Throwing rolls the batch back.
   * `signal` aborts when the runner stops: a projection that waits on something outside the
   * database (the event forwarder during a broker outage) ends its wait then; a failure after the
   * abort counts as stopping, never towards a dead letter.
   */
  apply(db: ProjectionSession, tenant: TenantId, events: RecordedEvent[], signal?: AbortSignal): Promise<void>;
  /** Removes this version's tables once another version serves. */
  drop(db: ProjectionSession): Promise<void>;
}

export const projectionId = (p: Pick<Projection, 'name' | 'version'>) => `${p.name}_v${p.version}`;
