import { asDecisionEvent, decisionCommand, decisionDecider, DecisionRuleError, eventRecordedBy, type DecisionCommand, type DecisionEvent, type DecisionState } from '#libs/domain';
import type { RecordedEvent } from '#libs/event-store';
import { planBatch, type BatchItem, type PlanBinding } from './batch-plan.js';

// Pure: the decision decider and plain histories, no store.
const binding: PlanBinding<DecisionState, DecisionCommand, DecisionEvent> = {
  decider: decisionDecider,
  fromStored: asDecisionEvent,
  toStored: (events, command) => events.map((e) => ({ eventId: command.metadata.eventId, type: e.type, data: e.data as unknown as Record<string, unknown> })),
  eventIdOf: (command) => command.metadata.eventId,
  recordedBy: eventRecordedBy,
};

const patient = { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' };
const on = (decisionId: string) => ({ decisionId, sourceSystem: 'epj-a', patient, occurredAt: '2026-03-01T08:00:00Z' });
const grant = (decisionId: string): DecisionEvent => ({ type: 'ServiceDecisionGranted', data: { ...on(decisionId), serviceCode: '6', period: { start: '2026-03-01' } } });
const pause = (decisionId: string, pausedFrom = '2026-04-01'): DecisionEvent => ({ type: 'ServicePaused', data: { ...on(decisionId), pausedFrom } });
const stream = (decisionId: string) => `Decision/epj-a/${decisionId}`;
const item = (eventId: string, event: DecisionEvent): BatchItem<DecisionCommand> => ({
  streamId: stream(event.data.decisionId),
  command: decisionCommand(event, { eventId, actor: { clientId: 'epj-a', mayActForAnySource: false } }),
});
const stored = (eventId: string, event: DecisionEvent, streamPosition: number): RecordedEvent => ({
  tenant: '313231593' as RecordedEvent['tenant'],
  streamId: stream(event.data.decisionId),
  streamPosition,
  globalPosition: streamPosition,
  checkpoint: { transactionId: 1n, globalPosition: streamPosition },
  eventId,
  type: event.type,
  schemaVersion: 1,
  storedSchemaVersion: 1,
  data: event.data as unknown as Record<string, unknown>,
  metadata: {},
  recordedAt: new Date('2026-03-01T08:00:01Z'),
});
const histories = (entries: [string, RecordedEvent[]][]) => new Map(entries);

describe('planBatch', () => {
  it('lets an item build on an earlier item of the batch: a grant, then a pause of it, appended to one new stream in order', () => {
    const plan = planBatch([item('e1', grant('V-1')), item('e2', pause('V-1'))], histories([[stream('V-1'), []]]), binding);
    expect(plan.outcomes).toEqual([{ kind: 'append' }, { kind: 'append' }]);
    expect(plan.appends).toEqual([
      {
        streamId: stream('V-1'),
        expectedVersion: 0,
        events: [expect.objectContaining({ eventId: 'e1', type: 'ServiceDecisionGranted' }), expect.objectContaining({ eventId: 'e2', type: 'ServicePaused' })],
        items: [0, 1],
      },
    ]);
  });

  it('appends to a stored decision at the version read', () => {
    const plan = planBatch([item('e2', pause('V-1'))], histories([[stream('V-1'), [stored('e1', grant('V-1'), 1)]]]), binding);
    expect(plan.appends).toEqual([expect.objectContaining({ streamId: stream('V-1'), expectedVersion: 1, items: [0] })]);
  });

  it('answers a retry of a stored event with the stored event, and refuses its id for another event', () => {
    const first = stored('e1', grant('V-1'), 1);
    const plan = planBatch([item('e1', grant('V-1')), item('e1', pause('V-1'))], histories([[stream('V-1'), [first]]]), binding);
    expect(plan.outcomes).toEqual([
      { kind: 'duplicate', stored: first },
      { kind: 'id-conflict', eventId: 'e1' },
    ]);
    expect(plan.appends).toEqual([]);
  });

  it('answers a repeat inside the batch with the earlier item, and refuses the id for another event', () => {
    const plan = planBatch(
      [item('e1', grant('V-1')), item('e1', grant('V-1')), item('e1', grant('V-2'))],
      histories([
        [stream('V-1'), []],
        [stream('V-2'), []],
      ]),
      binding,
    );
    expect(plan.outcomes).toEqual([{ kind: 'append' }, { kind: 'repeat', of: 0 }, { kind: 'id-conflict', eventId: 'e1' }]);
    expect(plan.appends.map((a) => a.items)).toEqual([[0]]);
  });

  it('rejects what the decider refuses, and decides later items without it', () => {
    const plan = planBatch([item('e1', pause('V-1')), item('e2', grant('V-1')), item('e3', pause('V-1', '2026-01-01')), item('e4', pause('V-1'))], histories([[stream('V-1'), []]]), binding);
    expect(plan.outcomes[0]).toEqual({ kind: 'rejected', error: expect.any(DecisionRuleError) });
    expect((plan.outcomes[0] as { error: DecisionRuleError }).error.violation).toMatchObject({ rule: 'decision-not-found', status: 409 });
    expect((plan.outcomes[2] as { error: DecisionRuleError }).error.violation).toMatchObject({ rule: 'pause-before-start', status: 422 });
    expect(plan.outcomes[3]).toEqual({ kind: 'append' });
    expect(plan.appends).toEqual([expect.objectContaining({ expectedVersion: 0, items: [1, 3] })]);
  });

  it('keeps items that were no command as such, and appends per stream in the order of first appearance', () => {
    const plan = planBatch(
      [item('e1', grant('V-2')), undefined, item('e2', grant('V-1'))],
      histories([
        [stream('V-2'), []],
        [stream('V-1'), []],
      ]),
      binding,
    );
    expect(plan.outcomes[1]).toEqual({ kind: 'invalid' });
    expect(plan.appends.map((a) => a.streamId)).toEqual([stream('V-2'), stream('V-1')]);
  });

  it('reads a stream missing from the histories as empty', () => {
    const plan = planBatch([item('e1', grant('V-9'))], new Map(), binding);
    expect(plan.appends).toEqual([expect.objectContaining({ streamId: stream('V-9'), expectedVersion: 0 })]);
  });
});
