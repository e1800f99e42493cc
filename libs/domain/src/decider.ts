/**
 * The decider: the shape of a write model as pure functions (Jérémie Chassaing's pattern,
 * as in Emmett's `Decider` type and Oskar Dudycz's EventSourcing.NodeJS samples).
 *
 * - `decide(command, state)`: the events that record the command, or a thrown error when a
 *   rule refuses it; never any I/O.
 * - `evolve(state, event)`: the state after one event.
 * - `initialState()`: the state of a stream without events.
 *
 * Folding a stream's events with `evolve` from `initialState()` gives the state a command
 * is decided on. The command handler of libs/receive (read → fold → decide → append) runs
 * every decider the same way.
 */
export interface Decider<State, Command, Event> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** The state after `events`, folded from the decider's initial state. */
export const fold = <State, Command, Event>(decider: Decider<State, Command, Event>, events: readonly Event[]): State => events.reduce(decider.evolve, decider.initialState());
