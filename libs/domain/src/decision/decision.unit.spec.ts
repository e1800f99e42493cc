import { deciderSpecification } from '../../../testing/src/decider-specification.js';
import type { DecisionEvent } from './decision-events.js';
import { decide, decisionCommand, decisionDecider, DecisionRuleError, foldDecision, initialDecisionState, type Actor, type DecisionCommand, type RuleViolation } from './decision.js';

const patient = { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' };
const base = { decisionId: 'V-1', sourceSystem: 'epj-a', patient, occurredAt: '2026-03-01T08:00:00Z' };
const granted: DecisionEvent = {
  type: 'ServiceDecisionGranted',
  data: { ...base, serviceCode: '15', period: { start: '2026-03-01' }, weeklyHours: 6, performer: { orgnr: '974760673', name: 'Hjemmesykepleien', phone: '+4799999999' } },
};
const changed: DecisionEvent = { type: 'ServiceDecisionChanged', data: { ...base, weeklyHours: 8 } };
const paused: DecisionEvent = { type: 'ServicePaused', data: { ...base, pausedFrom: '2026-04-01', reason: 'Innlagt på sykehus' } };
const resumed: DecisionEvent = { type: 'ServiceResumed', data: { ...base, resumedFrom: '2026-04-10' } };
const ended: DecisionEvent = { type: 'ServiceEnded', data: { ...base, endDate: '2026-06-30' } };
const inError: DecisionEvent = { type: 'DecisionEnteredInError', data: { ...base, reason: 'Feil pasient' } };

/** The EPJ that granted the decisions above (its token's client_id is the source system). */
const OWNER: Actor = { clientId: 'epj-a', mayActForAnySource: false };
/** The command asking to record `event`, as `actor` (the decider's commands are requests; the events, facts). */
const ask = (event: DecisionEvent, actor: Actor = OWNER): DecisionCommand => decisionCommand(event, { eventId: '0b7c5f6e-4d1a-4c8e-9f0a-1b2c3d4e5f60', actor });
/** Given events, when the command that asks for `event` (as the owner unless told), then events. */
const specAs = (actor: Actor) => {
  const s = deciderSpecification(decisionDecider);
  return { given: (events: DecisionEvent[]) => ({ when: (event: DecisionEvent) => s.given(events).when(ask(event, actor)) }) };
};
const spec = specAs(OWNER);
const violation = (rule: string, status: number) => (e: DecisionRuleError) => {
  expect(e).toBeInstanceOf(DecisionRuleError);
  expect(e.violation).toMatchObject<Partial<RuleViolation>>({ rule, status: status as 403 | 409 | 422 });
};

describe('decision decider', () => {
  describe('granting', () => {
    it('records a grant of a new decision', () => spec.given([]).when(granted).then([granted]));
    it('refuses to grant an existing decisionId again', () => spec.given([granted]).when(granted).thenThrows(violation('decision-exists', 409)));
    it('refuses a grant after entered-in-error too', () => spec.given([granted, inError]).when(granted).thenThrows(violation('decision-exists', 409)));
  });

  describe('events on a decision that does not exist', () => {
    it.each([changed, paused, resumed, ended, inError])('refuses $type', (e) => spec.given([]).when(e).thenThrows(violation('decision-not-found', 409)));
  });

  describe('changes', () => {
    it('records a change of an active decision', () => spec.given([granted]).when(changed).then([changed]));
    it('records a change while paused', () => spec.given([granted, paused]).when(changed).then([changed]));
    it('refuses a change of an ended decision', () => spec.given([granted, ended]).when(changed).thenThrows(violation('decision-ended', 409)));
    it('refuses a change of a decision entered in error', () => spec.given([granted, inError]).when(changed).thenThrows(violation('decision-entered-in-error', 409)));
    it('refuses a new end before the start', () =>
      spec
        .given([granted])
        .when({ type: 'ServiceDecisionChanged', data: { ...base, period: { start: '2026-03-01', end: '2026-02-01' } } })
        .thenThrows(violation('period-order', 422)));
    it("applies the performer rules of the decision's service code", () =>
      spec
        .given([granted])
        .when({ type: 'ServiceDecisionChanged', data: { ...base, performer: { name: 'Uten orgnr' } } })
        .thenThrows(violation('performer-orgnr-required', 422)));
    it('refuses a change for another patient', () =>
      spec
        .given([granted])
        .when({ type: 'ServiceDecisionChanged', data: { ...base, patient: { ...patient, value: '22750884907' }, weeklyHours: 1 } })
        .thenThrows(violation('patient-mismatch', 422)));
  });

  describe('pause and resume', () => {
    it('pauses an active service', () => spec.given([granted]).when(paused).then([paused]));
    it('refuses to pause twice', () => spec.given([granted, paused]).when(paused).thenThrows(violation('already-paused', 409)));
    it('refuses to pause an ended service', () => spec.given([granted, ended]).when(paused).thenThrows(violation('decision-ended', 409)));
    it('refuses a pause before the service starts', () =>
      spec
        .given([granted])
        .when({ type: 'ServicePaused', data: { ...base, pausedFrom: '2026-01-01' } })
        .thenThrows(violation('pause-before-start', 422)));
    it('resumes a paused service', () => spec.given([granted, paused]).when(resumed).then([resumed]));
    it('refuses to resume what is not paused', () => spec.given([granted]).when(resumed).thenThrows(violation('not-paused', 409)));
    it('refuses to resume before the pause began', () =>
      spec
        .given([granted, paused])
        .when({ type: 'ServiceResumed', data: { ...base, resumedFrom: '2026-03-15' } })
        .thenThrows(violation('resume-before-pause', 422)));
    it('allows a second pause after a resume', () => spec.given([granted, paused, resumed]).when(paused).then([paused]));
  });

  describe('ending', () => {
    it('ends an active service', () => spec.given([granted]).when(ended).then([ended]));
    it('ends a paused service', () => spec.given([granted, paused]).when(ended).then([ended]));
    it('refuses to end twice', () => spec.given([granted, ended]).when(ended).thenThrows(violation('decision-ended', 409)));
    it('refuses an end before the start', () =>
      spec
        .given([granted])
        .when({ type: 'ServiceEnded', data: { ...base, endDate: '2026-02-28' } })
        .thenThrows(violation('period-order', 422)));
  });

  describe('entered in error', () => {
    it.each([
      ['active', [granted]],
      ['paused', [granted, paused]],
      ['ended', [granted, ended]],
      ['changed', [granted, changed]],
    ] as const)('is allowed from %s', (_, given) =>
      spec
        .given([...given])
        .when(inError)
        .then([inError]),
    );
    it('is refused when already entered in error', () => spec.given([granted, inError]).when(inError).thenThrows(violation('decision-entered-in-error', 409)));
  });

  describe('ownership: a decision belongs to the source system that granted it', () => {
    const OTHER: Actor = { clientId: 'epj-b', mayActForAnySource: false };
    const OPERATOR: Actor = { clientId: 'fpi-replay', mayActForAnySource: true };
    const as = specAs;

    it.each([changed, paused, ended, inError])("refuses $type of epj-a's decision by another EPJ client (403)", (e) =>
      as(OTHER).given([granted]).when(e).thenThrows(violation('decision-owned-by-other-source', 403)),
    );
    it('refuses a resume by another EPJ client (403)', () => as(OTHER).given([granted, paused]).when(resumed).thenThrows(violation('decision-owned-by-other-source', 403)));
    it('refuses a grant whose sourceSystem names another client than the actor (403)', () => as(OTHER).given([]).when(granted).thenThrows(violation('decision-owned-by-other-source', 403)));
    it("answers 403 before the lifecycle, so a stranger learns nothing of another source's decisions", () =>
      as(OTHER).given([]).when(ended).thenThrows(violation('decision-owned-by-other-source', 403)));
    it('points at /sourceSystem', () => {
      expect(() => decide(ask(granted, OTHER), initialDecisionState)).toThrow(expect.objectContaining({ violation: expect.objectContaining({ pointer: '/sourceSystem' }) }));
    });
    it('lets an actor with the cross-source scope grant and end for another source', () => {
      as(OPERATOR).given([]).when(granted).then([granted]);
      as(OPERATOR).given([granted]).when(ended).then([ended]);
    });
    it('lets the owner act on its own decision', () => as(OWNER).given([granted]).when(ended).then([ended]));
  });

  describe('commands are requests of their own', () => {
    it("records the event of the command's type with the command's data", () => {
      const command = ask(paused);
      expect(command.type).toBe('RecordPause');
      expect(decide(command, foldDecision([granted]))).toEqual([paused]);
    });
    it('applies the performer rule only when the command requires an organisation number (not for OKT snapshots)', () => {
      const noOrgnr: DecisionEvent = { type: 'ServiceDecisionChanged', data: { ...base, performer: { name: 'Sone nord' } } };
      const okt = decisionCommand(noOrgnr, { eventId: 'a', actor: OWNER, performerOrgnrRequired: false });
      expect(decide(okt, foldDecision([granted]))).toEqual([noOrgnr]);
      expect(() => decide(ask(noOrgnr), foldDecision([granted]))).toThrow(DecisionRuleError);
    });
  });

  describe('evolve', () => {
    it('folds a history into the current decision', () => {
      const state = foldDecision([granted, changed, paused, resumed]);
      expect(state.status).toBe('granted');
      if (state.status === 'none') throw new Error('unreachable');
      expect(state.decision).toMatchObject({ serviceCode: '15', weeklyHours: 8, period: { start: '2026-03-01' } });
      expect(state.decision.pausedFrom).toBeUndefined();
      const endedState = foldDecision([granted, paused, ended]);
      expect(endedState).toMatchObject({ status: 'ended', decision: { period: { start: '2026-03-01', end: '2026-06-30' } } });
      expect(foldDecision([granted, inError]).status).toBe('entered-in-error');
    });
  });
});
