/**
 * Given/when/then for pure deciders: given past events, when a command, then the new
 * events, or then a thrown error matching a predicate.
 */
export interface Decider<Command, Event, State> {
  decide(state: State, command: Command): Event[];
  evolve(state: State, event: Event): State;
  initialState: State;
}

export function deciderSpecification<C, E, S>(decider: Decider<C, E, S>) {
  return {
    given(events: E[]) {
      const state = events.reduce(decider.evolve, decider.initialState);
      return {
        when(command: C) {
          const run = () => decider.decide(state, command);
          return {
            then(expected: E[]) {
              expect(run()).toEqual(expected);
            },
            thenThrows<T extends Error>(check: (error: T) => void) {
              let thrown: unknown;
              try {
                run();
              } catch (error) {
                thrown = error;
              }
              expect(thrown).toBeInstanceOf(Error);
              check(thrown as T);
            },
          };
        },
      };
    },
  };
}
