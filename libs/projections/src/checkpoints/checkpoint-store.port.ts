import { checkpointOfColumns, compareCheckpoints, START, type Checkpoint } from '#libs/event-store';
import { type TenantId } from '#libs/tenancy';

/** A database session: a pooled client inside a batch's transaction, or the pool itself. */
export type Queryable = { query: import('pg').ClientBase['query'] };

/** What is stored for one projection version and tenant. */
export interface StoredCheckpoint {
  checkpoint: Checkpoint;
  status: 'running' | 'paused';
  /** Incremented by every erasure of the tenant (libs/data-protection): a batch read before one must not commit. */
  generation?: number;
}

/**
 * Where each projection version keeps, per tenant, how far into `$all` it has applied
 * (`projection_checkpoints` in the PostgreSQL adapter). The runner claims and moves it, the
 * engine and the readers ask whether it has reached a client's checkpoint.
 *
 * Methods that write run on the session they are given (`on(session)`), so that the
 * checkpoint moves in the same transaction as the read model it describes.
 */
export interface CheckpointStore {
  /** The same store over `session` (a batch's transaction, the runner's locked connection). */
  on(session: Queryable): CheckpointStore;
  /** The stored checkpoint and status; undefined before a runner ever claimed it. */
  read(projection: string, tenant: TenantId): Promise<StoredCheckpoint | undefined>;
  /** Whether the stored checkpoint is at or after `wanted` (read-your-writes). */
  hasReached(projection: string, tenant: TenantId, wanted: Checkpoint): Promise<boolean>;
  /** Creates the row at the start (idempotent) and records who runs it now. */
  claim(projection: string, tenant: TenantId, owner: string): Promise<void>;
  /** Shows the runner is alive while it waits for events. */
  heartbeat(projection: string, tenant: TenantId): Promise<void>;
  /**
   * Compare-and-set: moves `from` → `to` only if the stored checkpoint is still `from` and
   * the projection runs. False means another runner moved it (or it was paused). With
   * `generation`, also only if no erasure ran since the runner read it (its batch may hold
   * events that are gone).
   */
  compareAndSet(projection: string, tenant: TenantId, from: Checkpoint, to: Checkpoint, generation?: number): Promise<boolean>;
  /** Pauses at a dead-lettered event, with the reason operators see. */
  pause(projection: string, tenant: TenantId, reason: string): Promise<void>;
  /** Runs a paused projection again; `skipTo` moves the checkpoint past a skipped event. False when it was not paused. */
  resume(projection: string, tenant: TenantId, skipTo?: Checkpoint): Promise<boolean>;
  /**
   * A value and the checkpoint it reflects, read in one statement (one snapshot), so that
   * they agree. `valueSql` is a scalar subquery whose `$1` is the tenant; `params` are `$3…`.
   * `name`, when given, names the statement (one name per `valueSql`): it is then parsed and
   * planned once per connection, not on every call.
   */
  readWithCheckpoint<T>(projection: string, tenant: TenantId, valueSql: string, params: unknown[], name?: string): Promise<{ value: T | null; checkpoint: Checkpoint }>;
  /**
   * `readWithCheckpoint` as SQL, for a statement of the event store to run (its optional
   * `readStreamWith`: a stream and a read-model value in one round trip): a scalar subquery
   * giving the value and the checkpoint as one JSON array, whose `$1` is the tenant and whose
   * `valueSql` takes its parameters from `$3` (`$2` is the other statement's). Its text is read
   * by `valueWithCheckpointOf`. Throws for a projection id that is not a plain SQL identifier.
   */
  valueWithCheckpointSql(projection: string, valueSql: string): string;
  /** Every projection's checkpoints (status, lag and the CLI). */
  list(): Promise<(StoredCheckpoint & { projection: string; tenant: TenantId; pausedReason: string | null; owner: string | null; heartbeatAt: Date | null })[]>;
  /** Forgets a dropped version's checkpoints. */
  remove(projection: string): Promise<void>;
}

/** The stored columns of a checkpoint (PostgreSQL gives `xid8` and `bigint` as strings). */
export interface CheckpointColumns {
  transaction_id: string | number | bigint | null;
  global_position: string | number | null;
}

/**
 * The checkpoint of a stored row (`checkpointOfColumns`). No row, or NULL columns (a LEFT
 * JOIN that found none): `START`, since a projection that never ran has applied nothing.
 */
export function checkpointOfRow(row: CheckpointColumns | undefined): Checkpoint {
  if (!row || row.transaction_id === null || row.global_position === null) return START;
  return checkpointOfColumns(row.transaction_id, row.global_position);
}

/** Whether `stored` is at or after `wanted`; nothing stored has reached only `START`. */
export function hasReached(stored: Checkpoint | undefined, wanted: Checkpoint): boolean {
  return compareCheckpoints(stored ?? START, wanted) >= 0;
}

/** The later of two checkpoints (either may be unknown). */
export function laterOf(a: Checkpoint | undefined, b: Checkpoint | undefined): Checkpoint | undefined {
  if (!a) return b;
  if (!b) return a;
  return compareCheckpoints(a, b) >= 0 ? a : b;
}

/**
 * The value and checkpoint of a `valueWithCheckpointSql` subquery, from its text (a JSON array
 * `[value, transaction id as text, global position]`; no checkpoint row: `START`).
 */
export function valueWithCheckpointOf<T>(text: string | null): { value: T | null; checkpoint: Checkpoint } {
  if (text === null) throw new Error('a value-with-checkpoint subquery always gives a row');
  const [value, transactionId, globalPosition] = JSON.parse(text) as [T | null, string | null, number | null];
  return { value, checkpoint: checkpointOfRow({ transaction_id: transactionId, global_position: globalPosition }) };
}
