import type pg from 'pg';
import type { Checkpoint, RecordedEvent } from '#libs/event-store';
import type { TenantId } from '#libs/tenancy';

/** What an erasure or a retention run removed from the event store, handed to every eraser. */
export interface RemovedHistory {
  tenant: TenantId;
  kind: 'erasure' | 'retention';
  /** The erasure's reference (`erasures.reference`): the pseudonym records that stay may carry. */
  reference: string;
  /** Streams deleted, whole. */
  streamIds: string[];
  /** The ids of every event deleted. */
  eventIds: string[];
  /** The person ids (`data.patient.value`) the deleted events named. */
  patients: string[];
  /** An erasure's person (every trace goes); undefined for retention (only the deleted events go). */
  person?: string;
}

/** The erasure's transaction, as an eraser gets it. */
export interface ErasureSession {
  /** The transaction's connection: every statement an eraser runs commits or rolls back with the erasure. */
  db: Pick<pg.ClientBase, 'query'>;
  /**
   * The events that remain (after the deletion) of the given patients, up to `upTo` inclusive,
   * in `$all` order and upcast: what a read model refolds so that its documents equal a fold of
   * what remains. `upTo` is the read model's own checkpoint: later events its runner applies.
   */
  eventsOfPatients(patients: string[], upTo: Checkpoint): Promise<RecordedEvent[]>;
}

/**
 * The port every store of personal data implements (read models, dead letters, the access
 * log, and any table added later): removes the traces of what an erasure or a retention run
 * removed from the event store, in the same transaction. Runs after the events are deleted
 * and while the tenant's projections cannot commit (their checkpoints are locked), so a read
 * model may rebuild the affected documents from `eventsOfPatients`.
 *
 * Register an implementation in `PERSON_DATA_ERASERS` (the apps' list, `personDataErasers`
 * in libs/service); the every-table scan in test/data-protection finds a table nobody registered.
 */
export interface PersonDataEraser {
  /** Shown in the erasure record's counts: the table or store it cleans. */
  readonly name: string;
  /** Returns how many rows it removed or changed. */
  erase(session: ErasureSession, removed: RemovedHistory): Promise<number>;
}

/** Nest token of the list of erasers (`PersonDataEraser[]`). */
export const PERSON_DATA_ERASERS = Symbol('PERSON_DATA_ERASERS');
