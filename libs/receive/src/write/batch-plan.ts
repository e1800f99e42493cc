/**
 * The batch planner: which commands of a batch to append where, decided on the histories
 * read for the batch. Pure (no store, no framework): the command handler reads, plans with
 * this, and appends.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Decider } from '#libs/domain';
import type { NewEvent, RecordedEvent } from '#libs/event-store';

/** What the planner needs to know of a stream binding (see `StreamBinding`). */
export interface PlanBinding<State, Command, Event> {
  decider: Decider<State, Command, Event>;
  fromStored(event: RecordedEvent): Event;
  toStored(events: Event[], command: Command): NewEvent[];
  eventIdOf(command: Command): string;
  recordedBy(command: Command): { type: string; data: unknown };
}

/** One command of a batch, on the stream it belongs to. */
export interface BatchItem<Command> {
  streamId: string;
  command: Command;
}

/**
 * The planned answer for one item:
 * - `append`: decided; appended with its stream's `StreamPlan`;
 * - `duplicate`: its event id is stored with the same event (a retry): `stored` answers it;
 * - `repeat`: an earlier item `of` of this batch has the same event id and event;
 * - `id-conflict`: its event id is stored, or used earlier in the batch, for another event;
 * - `rejected`: the decider refused it (`error` is what `decide` threw);
 * - `invalid`: the item was no command (it failed before planning).
 */
export type PlannedOutcome =
  | { kind: 'append' }
  | { kind: 'duplicate'; stored: RecordedEvent }
  | { kind: 'repeat'; of: number }
  | { kind: 'id-conflict'; eventId: string }
  | { kind: 'rejected'; error: unknown }
  | { kind: 'invalid' };

/** One stream's append: its events in batch order, at the version read, and the items they answer. */
export interface StreamPlan {
  streamId: string;
  expectedVersion: number;
  events: NewEvent[];
  /** Batch index of the item each event records (same order as `events`). */
  items: number[];
}

export interface BatchPlan {
  /** One per item, in batch order. */
  outcomes: PlannedOutcome[];
  /** Streams with something to append, in order of their first item. */
  appends: StreamPlan[];
}

const sameEvent = (a: { type: string; data: unknown }, b: { type: string; data: unknown }) => a.type === b.type && isDeepStrictEqual(a.data, b.data);

/**
 * Plans `items` (in order; `undefined` for an item that is no command) against `histories`
 * (every item's stream, [] when it has no events): each command is decided on its stream's
 * state after the history and the batch's earlier accepted commands on that stream. Throws
 * nothing: a refusal is the item's outcome. Each accepted command records the events
 * `decide` returns.
 */
export function planBatch<S, C, E>(items: readonly (BatchItem<C> | undefined)[], histories: ReadonlyMap<string, readonly RecordedEvent[]>, binding: PlanBinding<S, C, E>): BatchPlan {
  const { decider } = binding;
  const streams = new Map<string, { state: S; stored: Map<string, RecordedEvent>; plan: StreamPlan }>();
  const stream = (streamId: string) => {
    let s = streams.get(streamId);
    if (!s) {
      const history = histories.get(streamId) ?? [];
      s = {
        state: history.map(binding.fromStored).reduce(decider.evolve, decider.initialState()),
        stored: new Map(history.map((e) => [e.eventId, e])),
        plan: { streamId, expectedVersion: history.length, events: [], items: [] },
      };
      streams.set(streamId, s);
    }
    return s;
  };
  const planned = new Map<string, { index: number; streamId: string; recorded: { type: string; data: unknown } }>();
  const outcomes = items.map((item, index): PlannedOutcome => {
    if (!item) return { kind: 'invalid' };
    const s = stream(item.streamId);
    const eventId = binding.eventIdOf(item.command);
    const recorded = binding.recordedBy(item.command);
    const stored = s.stored.get(eventId);
    if (stored) return sameEvent(stored, recorded) ? { kind: 'duplicate', stored } : { kind: 'id-conflict', eventId };
    const earlier = planned.get(eventId);
    if (earlier) return earlier.streamId === item.streamId && sameEvent(earlier.recorded, recorded) ? { kind: 'repeat', of: earlier.index } : { kind: 'id-conflict', eventId };
    let events: E[];
    try {
      events = decider.decide(item.command, s.state);
    } catch (error) {
      return { kind: 'rejected', error };
    }
    s.state = events.reduce(decider.evolve, s.state);
    for (const event of binding.toStored(events, item.command)) {
      s.plan.events.push(event);
      s.plan.items.push(index);
    }
    planned.set(eventId, { index, streamId: item.streamId, recorded });
    return { kind: 'append' };
  });
  return { outcomes, appends: [...streams.values()].map((s) => s.plan).filter((p) => p.events.length > 0) };
}
