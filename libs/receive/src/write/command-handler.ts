/**
 * The one command handler of the write side: read the stream, fold it with the decider,
 * decide, append at the version it was decided on, and on a version conflict do it all
 * again (at most `MAX_CONCURRENCY_ATTEMPTS` times). Every write entry runs through here:
 * the single and batch endpoints, the OKT snapshot endpoint and the CLI's seed and replay.
 * Framework-free: the Nest command handlers of this library call it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Decider } from '#libs/domain';
import { AppendManyConflictError, IdempotencyConflictError, WrongExpectedVersionError, type AppendResult, type EventStore, type NewEvent, type RecordedEvent } from '#libs/event-store';
import { type TenantId } from '#libs/tenancy';
import { isDataException } from '#libs/http';
import { inSpan, inSpanSync } from '#libs/telemetry';
import { planBatch, type BatchItem, type BatchPlan, type PlanBinding } from './batch-plan.js';

/** Version conflicts on one stream are retried this many times in all. */
export const MAX_CONCURRENCY_ATTEMPTS = 5;

/**
 * How a decider's stream is stored: its events as the store's events and back, and how a
 * retried command is recognised.
 */
export interface StreamBinding<State, Command, Event> extends PlanBinding<State, Command, Event> {
  decider: Decider<State, Command, Event>;
  /** A stored event as the decider's event. */
  fromStored(event: RecordedEvent): Event;
  /** The decided events as the store's new events (ids and metadata from the command). */
  toStored(events: Event[], command: Command): NewEvent[];
  /** The event id that makes a command idempotent: the same id again is a retry. */
  eventIdOf(command: Command): string;
  /** The event the command records when accepted, to compare a stored event of the same id with. */
  recordedBy(command: Command): { type: string; data: unknown };
  /** True for commands that start their stream: tried first as one `no_stream` append, without a read. */
  startsStream?(command: Command): boolean;
}

/** A stream conflicted `attempts` times in a row: the caller may retry later. */
export class ConcurrencyRetriesExhaustedError extends Error {
  constructor(
    readonly streamId: string,
    readonly attempts: number,
  ) {
    super(`stream ${streamId} kept changing (${attempts} attempts)`);
  }
}

/**
 * Whether a stored event with the command's id answers the command: `undefined` when the
 * id is not stored, the stored event when it records the same event (a retry), and
 * `IdempotencyConflictError` when the id holds another event.
 */
export function storedRetry<S, C, E>(binding: StreamBinding<S, C, E>, command: C, stored: RecordedEvent | undefined): RecordedEvent | undefined {
  if (!stored) return undefined;
  const recorded = binding.recordedBy(command);
  if (stored.type !== recorded.type || !isDeepStrictEqual(stored.data, recorded.data)) throw new IdempotencyConflictError([stored.eventId]);
  return stored;
}

/** The answer to a retry: the stored event's positions, as an append would have given them. */
export const duplicateResult = (stored: RecordedEvent): AppendResult => ({
  outcome: 'duplicate',
  streamVersion: stored.streamPosition,
  positions: [{ eventId: stored.eventId, streamPosition: stored.streamPosition, globalPosition: stored.globalPosition }],
  checkpoint: stored.checkpoint,
});

/**
 * Handles one command on one stream: read → fold → decide → append at the read version,
 * retried on a version conflict. A retry of a stored command answers `duplicate` with the
 * stored positions. Errors: what `decide` throws; `IdempotencyConflictError` (the event id
 * holds another event); `ConcurrencyRetriesExhaustedError`; the store's own.
 */
export async function handleCommand<S, C, E>(store: EventStore, tenant: TenantId, streamId: string, command: C, binding: StreamBinding<S, C, E>): Promise<AppendResult> {
  const { decider } = binding;
  if (binding.startsStream?.(command)) {
    // A new stream in one round trip; if it exists, the read below finds a retry or a conflict.
    const events = binding.toStored(
      inSpanSync('decide', { 'fpi.stream': streamId }, () => decider.decide(command, decider.initialState())),
      command,
    );
    try {
      return await inSpan('append', { 'fpi.stream': streamId, 'fpi.events': events.length }, () => store.append(tenant, streamId, events, 'no_stream'));
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
  }
  for (let attempt = 1; ; attempt++) {
    const history = await store.readStream(tenant, streamId);
    const eventId = binding.eventIdOf(command);
    const retry = storedRetry(
      binding,
      command,
      history.find((e) => e.eventId === eventId),
    );
    if (retry) return duplicateResult(retry);
    const state = history.map(binding.fromStored).reduce(decider.evolve, decider.initialState());
    const events = binding.toStored(
      inSpanSync('decide', { 'fpi.stream': streamId }, () => decider.decide(command, state)),
      command,
    );
    try {
      return await inSpan('append', { 'fpi.stream': streamId, 'fpi.events': events.length }, () => store.append(tenant, streamId, events, history.length));
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      if (attempt >= MAX_CONCURRENCY_ATTEMPTS) throw new ConcurrencyRetriesExhaustedError(streamId, attempt);
    }
  }
}

export type BatchOutcome = { outcome: 'appended' | 'duplicate'; result: AppendResult } | { outcome: 'rejected'; error: unknown };

/**
 * Handles commands on many streams in order, each judged on its own (a command may build on
 * an earlier one of the batch): one read of all streams, the pure `planBatch`, and one
 * multi-stream append at the versions read. When that append meets a concurrent writer, or
 * a value the database refuses, the planned commands are handled one by one with
 * `handleCommand`, so each gets its own answer. Items that failed before (parsing) pass
 * through as `rejected`.
 *
 * A batch whose every stream starts with a command that starts its stream (`startsStream`:
 * new grants, the common case of an EPJ's bulk send) is first tried without the read, as
 * one append at `no_stream` for every stream: when every item plans to be appended on
 * empty streams and the store takes it, that is the answer; when anything differs (a stream
 * or an event id exists: a retry, a conflict), nothing was stored and the batch is handled
 * as above, from the read.
 */
export async function handleBatch<S, C, E>(store: EventStore, tenant: TenantId, items: (BatchItem<C> | { error: unknown })[], binding: StreamBinding<S, C, E>): Promise<BatchOutcome[]> {
  const commands = items.filter((i): i is BatchItem<C> => !('error' in i));
  const planOn = (histories: ReadonlyMap<string, readonly RecordedEvent[]>) =>
    inSpanSync('decide', { 'fpi.commands': commands.length }, () =>
      planBatch(
        items.map((i) => ('error' in i ? undefined : i)),
        histories,
        binding,
      ),
    );
  if (commands.length > 0 && startsEveryStream(commands, binding)) {
    // Planned on empty streams: what the grants would do if nothing of theirs is stored.
    const plan = planOn(new Map());
    if (plan.outcomes.every((o) => o.kind === 'append' || o.kind === 'invalid' || o.kind === 'repeat')) {
      const appended = await appendPlanned(store, tenant, items, plan).catch((error: unknown) => {
        if (error instanceof AppendManyConflictError || error instanceof IdempotencyConflictError || isDataException(error)) return undefined;
        throw error;
      });
      if (appended) return appended;
    }
  }
  const plan = planOn(await store.readStreams(tenant, [...new Set(commands.map((c) => c.streamId))]));
  try {
    return await appendPlanned(store, tenant, items, plan);
  } catch (error) {
    if (!(error instanceof AppendManyConflictError) && !isDataException(error)) throw error;
    const outcomes = settled(items, plan);
    for (const append of plan.appends) {
      for (const index of new Set(append.items)) {
        const item = items[index] as BatchItem<C>;
        outcomes[index] = await handleCommand(store, tenant, item.streamId, item.command, binding).then(
          (result): BatchOutcome => ({ outcome: result.outcome, result }),
          (e: unknown): BatchOutcome => ({ outcome: 'rejected', error: e }),
        );
      }
    }
    return withRepeats(plan, outcomes);
  }
}

/** Whether the first command of every stream in `commands` starts its stream (see `handleBatch`). */
function startsEveryStream<S, C, E>(commands: BatchItem<C>[], binding: StreamBinding<S, C, E>): boolean {
  if (!binding.startsStream) return false;
  const seen = new Set<string>();
  for (const { streamId, command } of commands) {
    if (seen.has(streamId)) continue;
    if (!binding.startsStream(command)) return false;
    seen.add(streamId);
  }
  return true;
}

/** The outcomes a plan settles without appending (refusals, retries); `append` items are left to fill. */
function settled<C>(items: (BatchItem<C> | { error: unknown })[], plan: BatchPlan): BatchOutcome[] {
  const outcomes: BatchOutcome[] = new Array(items.length);
  plan.outcomes.forEach((planned, index) => {
    if (planned.kind === 'rejected') outcomes[index] = { outcome: 'rejected', error: planned.error };
    else if (planned.kind === 'invalid') outcomes[index] = { outcome: 'rejected', error: (items[index] as { error: unknown }).error };
    else if (planned.kind === 'id-conflict') outcomes[index] = { outcome: 'rejected', error: new IdempotencyConflictError([planned.eventId]) };
    else if (planned.kind === 'duplicate') outcomes[index] = { outcome: 'duplicate', result: duplicateResult(planned.stored) };
  });
  return outcomes;
}

/** A repeat of an earlier item of the batch gets that item's answer, as a duplicate. */
function withRepeats(plan: BatchPlan, outcomes: BatchOutcome[]): BatchOutcome[] {
  plan.outcomes.forEach((planned, index) => {
    if (planned.kind !== 'repeat') return;
    const first = outcomes[planned.of]!;
    outcomes[index] = first.outcome === 'rejected' ? first : { outcome: 'duplicate', result: { ...first.result, outcome: 'duplicate' } };
  });
  return outcomes;
}

/**
 * The plan's one multi-stream append: the result of each item it appended, by batch index.
 * Throws what `appendMany` throws (nothing is stored then).
 */
async function appendPlan(store: EventStore, tenant: TenantId, plan: BatchPlan): Promise<Map<number, AppendResult>> {
  const results = await inSpan('append', { 'fpi.streams': plan.appends.length }, () =>
    store.appendMany(
      tenant,
      plan.appends.map(({ streamId, expectedVersion, events }) => ({ streamId, expectedVersion, events })),
    ),
  );
  const appended = new Map<number, AppendResult>();
  plan.appends.forEach((append, i) => {
    const result = results[i]!;
    append.items.forEach((index, j) => {
      const position = result.positions[j]!;
      appended.set(index, { outcome: 'appended', streamVersion: position.streamPosition, positions: [position], checkpoint: result.checkpoint });
    });
  });
  return appended;
}

/** The plan's one multi-stream append (`appendPlan`), and every item's outcome. Throws what `appendMany` throws. */
async function appendPlanned<C>(store: EventStore, tenant: TenantId, items: (BatchItem<C> | { error: unknown })[], plan: BatchPlan): Promise<BatchOutcome[]> {
  const outcomes = settled(items, plan);
  for (const [index, result] of await appendPlan(store, tenant, plan)) outcomes[index] = { outcome: 'appended', result };
  return withRepeats(plan, outcomes);
}

/** The answer to one command handled with `handleAllOrNothing`. */
export interface HandledCommand<Command> {
  item: BatchItem<Command>;
  result: AppendResult;
}

/**
 * Handles commands on several streams all or nothing: read the streams `streamIds()` names
 * → `commandsFor(histories)` derives the commands (in order) from what is stored → fold and
 * decide each (`planBatch`) → one multi-stream append at the versions read; on a conflict,
 * again from the read (at most `MAX_CONCURRENCY_ATTEMPTS` times in all). A command the
 * decider refuses throws what `decide` threw (or what `refused` makes of it), and nothing
 * is appended. Used for a snapshot
 * (OKT), whose commands depend on the state of all the sender's decisions.
 *
 * An id conflict (found by the planner or reported by the store) is judged once more on a
 * fresh read: derived ids are name-based over the prior state, so a concurrent request that made
 * the same transition first (with another `occurredAt`) stored that id; read again, the
 * transition is already made and nothing is left to append. A real conflict is found again
 * on that read and thrown.
 */
export async function handleAllOrNothing<S, C, E>(
  store: EventStore,
  tenant: TenantId,
  binding: StreamBinding<S, C, E>,
  streamIds: () => Promise<string[]>,
  commandsFor: (histories: ReadonlyMap<string, readonly RecordedEvent[]>) => BatchItem<C>[],
  /** The error to throw when `item` is refused (default: the error itself). */
  refused: (item: BatchItem<C>, error: unknown) => unknown = (_, error) => error,
): Promise<HandledCommand<C>[]> {
  let idConflictRejudged = false;
  for (let attempt = 1; ; attempt++) {
    const histories = await store.readStreams(tenant, await streamIds());
    const items = commandsFor(histories);
    // Streams the commands start may exist without being named (another person's decision
    // of the same id): read them too, so that the decider judges on what is stored.
    const unread = [...new Set(items.map((i) => i.streamId))].filter((id) => !histories.has(id));
    const all = unread.length === 0 ? histories : new Map([...histories, ...(await store.readStreams(tenant, unread))]);
    const plan = inSpanSync('decide', { 'fpi.commands': items.length }, () => planBatch(items, all, binding));
    if (!idConflictRejudged && plan.outcomes.some((planned) => planned.kind === 'id-conflict')) {
      idConflictRejudged = true;
      continue;
    }
    plan.outcomes.forEach((planned, index) => {
      if (planned.kind === 'rejected') throw refused(items[index]!, planned.error);
      if (planned.kind === 'id-conflict') throw refused(items[index]!, new IdempotencyConflictError([planned.eventId]));
    });
    let answers: Map<number, AppendResult>;
    try {
      answers = await appendPlan(store, tenant, plan);
    } catch (error) {
      if (error instanceof IdempotencyConflictError && !idConflictRejudged) {
        idConflictRejudged = true;
        continue;
      }
      if (!(error instanceof AppendManyConflictError)) throw error;
      if (attempt >= MAX_CONCURRENCY_ATTEMPTS) throw new ConcurrencyRetriesExhaustedError(plan.appends.map((a) => a.streamId).join(', '), attempt);
      continue;
    }
    return items.map((item, index) => {
      const planned = plan.outcomes[index]!;
      if (planned.kind === 'duplicate') return { item, result: duplicateResult(planned.stored) };
      if (planned.kind === 'repeat') return { item, result: { ...answers.get(planned.of)!, outcome: 'duplicate' } };
      return { item, result: answers.get(index)! };
    });
  }
}
