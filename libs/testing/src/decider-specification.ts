/**
 * Given/when/then for pure deciders: given past events, when a command, then the new
 * events, or then a thrown error matching a predicate.
 */
import type { Decider } from '#libs/domain';

export function deciderSpecification<S, C, E>(decider: Decider<S, C, E>) {
  return {
    given(events: E[]) {
      const state = events.reduce(decider.evolve, decider.initialState());
      return {
        when(command: C) {
          const run = () => decider.decide(command, state);
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
