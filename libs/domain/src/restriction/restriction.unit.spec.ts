import { deciderSpecification } from '../../../testing/src/decider-specification.js';
import {
  restrictionDecider,
  restrictionReadDecision,
  RestrictionRuleError,
  restrictionStreamId,
  type ReadPurpose,
  type RestrictionCommand,
  type RestrictionEvent,
  type RestrictionScope,
  type RestrictionState,
} from './restriction.js';

const patient = { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' };
const citizen = { kind: 'citizen' as const };
const caseHandler = { kind: 'case-handler' as const, clientId: 'saksbehandling', orgnr: '313231593' };
const set = (scope: RestrictionScope, requestedBy: RestrictionEvent['data']['requestedBy'] = citizen): RestrictionEvent => ({
  type: 'PatientRestrictionSet',
  data: { patient, scope, requestedBy, requestedAt: '2026-11-30T10:00:00Z' },
});
const lifted: RestrictionEvent = { type: 'PatientRestrictionLifted', data: { patient, requestedBy: caseHandler, requestedAt: '2026-11-30T11:00:00Z' } };
const ask = (event: RestrictionEvent): RestrictionCommand =>
  event.type === 'PatientRestrictionSet' ? { type: 'SetRestriction', eventId: 'e1', data: event.data } : { type: 'LiftRestriction', eventId: 'e2', data: event.data };
const spec = deciderSpecification(restrictionDecider);
const refused = (rule: string) => (e: RestrictionRuleError) => {
  expect(e).toBeInstanceOf(RestrictionRuleError);
  expect([e.status, e.rule]).toEqual([409, rule]);
};

describe('patient restriction decider', () => {
  it('records a restriction of a patient without one', () =>
    spec
      .given([])
      .when(ask(set('all')))
      .then([set('all')]));
  it('records a change of scope', () =>
    spec
      .given([set('all')])
      .when(ask(set('all-but-emergency', caseHandler)))
      .then([set('all-but-emergency', caseHandler)]));
  it('refuses the same scope again (409 restriction-unchanged)', () =>
    spec
      .given([set('all')])
      .when(ask(set('all')))
      .thenThrows(refused('restriction-unchanged')));
  it('records the lifting of a restriction in force', () =>
    spec
      .given([set('all')])
      .when(ask(lifted))
      .then([lifted]));
  it('refuses to lift when none is in force (409 no-restriction)', () => spec.given([]).when(ask(lifted)).thenThrows(refused('no-restriction')));
  it('refuses to lift twice', () =>
    spec
      .given([set('all'), lifted])
      .when(ask(lifted))
      .thenThrows(refused('no-restriction')));
  it('restricts again after a lifting', () =>
    spec
      .given([set('all'), lifted])
      .when(ask(set('all')))
      .then([set('all')]));
});

describe('restrictionReadDecision: the one rule of every read path', () => {
  const state = (events: RestrictionEvent[]): RestrictionState => events.reduce(restrictionDecider.evolve, restrictionDecider.initialState());
  const purposes: (ReadPurpose | undefined)[] = ['TREAT', 'ETREAT', 'COC', 'BTG', undefined];
  it.each(purposes)('no restriction: %s reads', (purpose) => expect(restrictionReadDecision(state([]), purpose)).toBe('allowed'));
  it.each(purposes)('lifted: %s reads again', (purpose) => expect(restrictionReadDecision(state([set('all'), lifted]), purpose)).toBe('allowed'));
  it.each([
    ['all', 'TREAT', 'restricted'],
    ['all', 'ETREAT', 'restricted'],
    ['all', 'COC', 'restricted'],
    ['all', undefined, 'restricted'],
    ['all', 'BTG', 'break-the-glass'],
    ['all-but-emergency', 'TREAT', 'restricted'],
    ['all-but-emergency', 'COC', 'restricted'],
    ['all-but-emergency', 'ETREAT', 'allowed'],
    ['all-but-emergency', 'BTG', 'break-the-glass'],
  ] as const)('scope %s, purpose %s: %s', (scope, purpose, expected) => expect(restrictionReadDecision(state([set(scope)]), purpose)).toBe(expected));
});

describe('restrictionStreamId', () => {
  const pid = '15857099814'; // synthetic (+80)
  it('names the patient by a pseudonym: the stream id (a Kafka key, kept in an erasure tombstone) holds no form of the number', () => {
    const id = restrictionStreamId('313231593', pid);
    expect(id).toMatch(/^PatientRestriction\/[0-9a-f]{32}$/);
    expect(id).not.toContain(pid);
    expect(id).not.toContain(Buffer.from(pid).toString('base64'));
    expect(id).not.toContain(Buffer.from(pid).toString('hex'));
  });
  it('is the same for the same patient and municipality, and differs between municipalities and patients', () => {
    expect(restrictionStreamId('313231593', pid)).toBe(restrictionStreamId('313231593', pid));
    expect(restrictionStreamId('313231593', pid)).not.toBe(restrictionStreamId('974760673', pid));
    expect(restrictionStreamId('313231593', pid)).not.toBe(restrictionStreamId('313231593', '15857099822'));
  });
});
