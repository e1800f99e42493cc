import type { DecisionEvent } from '../decision/decision-events.js';
import fc from 'fast-check';
import { emptyOverview, evolveOverview, evolveOverviewDecision, overviewOfDecisions, viewOverview, type OverviewDecision, type OverviewDocument, type OverviewEvent } from './service-overview.js';

const patient = { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' };
const TODAY = '2026-05-15';
const base = (decisionId = 'V-1', sourceSystem = 'epj-a', occurredAt = '2026-03-01T08:00:00Z') => ({ decisionId, sourceSystem, patient, occurredAt });

let position = 0;
const at = (event: DecisionEvent, streamPosition = ++position, recordedAt = '2026-05-01T10:00:00Z'): OverviewEvent => ({ event, streamPosition, recordedAt });
const granted = (over: Partial<Extract<DecisionEvent, { type: 'ServiceDecisionGranted' }>['data']> = {}): DecisionEvent => ({
  type: 'ServiceDecisionGranted',
  data: { ...base(), serviceCode: '15', period: { start: '2026-03-01' }, weeklyHours: 6, performer: { orgnr: '974760673', name: 'Hjemmesykepleien', phone: '+4799999999' }, ...over },
});
const changed = (data: Record<string, unknown>): DecisionEvent => ({ type: 'ServiceDecisionChanged', data: { ...base(), ...data } });
const paused = (from = '2026-04-01'): DecisionEvent => ({ type: 'ServicePaused', data: { ...base(), pausedFrom: from, reason: 'Innlagt' } });
const resumed = (from = '2026-04-10'): DecisionEvent => ({ type: 'ServiceResumed', data: { ...base(), resumedFrom: from } });
const ended = (endDate = '2026-05-01', occurredAt = '2026-05-01T08:00:00Z'): DecisionEvent => ({ type: 'ServiceEnded', data: { ...base('V-1', 'epj-a', occurredAt), endDate } });
const inError = (): DecisionEvent => ({ type: 'DecisionEnteredInError', data: { ...base() } });

/** Given these events (in order, each at the next stream position), then the overview on TODAY. */
function given(...events: DecisionEvent[]) {
  position = 0;
  const doc = events.map((e) => at(e)).reduce(evolveOverview, emptyOverview(patient));
  return {
    doc,
    statuses: (includeEnded = true) => viewOverview(doc, { today: TODAY, includeEnded }).services.map((s) => s.status),
    only: () => viewOverview(doc, { today: TODAY, includeEnded: true }).services[0]!,
  };
}

describe('service overview projection', () => {
  it('shows a granted service as active, with its code display, extent and unit', () => {
    const { only } = given(granted());
    expect(only()).toMatchObject({ status: 'active', service: { code: '15', display: 'Helsetjenester i hjemmet' }, weeklyHours: 6, performer: { phone: '+4799999999' } });
  });

  it('shows a future start as planned, and a past end as ended', () => {
    expect(given(granted({ period: { start: '2026-06-01' } })).statuses()).toEqual(['planned']);
    expect(given(granted({ period: { start: '2026-01-01', end: '2026-02-01' } })).statuses()).toEqual(['ended']);
  });

  it('applies a change, also while paused', () => {
    const g = given(granted(), paused(), changed({ weeklyHours: 9, performer: { name: 'Sone nord', phone: '+4711111111' } }));
    expect(g.only()).toMatchObject({ status: 'paused', weeklyHours: 9, performer: { name: 'Sone nord' }, pausedFrom: '2026-04-01' });
  });

  it('pause then resume returns to active and forgets the pause', () => {
    const { only } = given(granted(), paused(), resumed());
    expect(only().status).toBe('active');
    expect(only().pausedFrom).toBeUndefined();
  });

  it('pause then end: ended (hidden unless asked), with the end date as period end', () => {
    const g = given(granted(), paused(), ended());
    expect(g.statuses(false)).toEqual([]);
    expect(g.only()).toMatchObject({ status: 'ended', period: { start: '2026-03-01', end: '2026-05-01' } });
  });

  it('an end decided for a later day keeps the service active until then', () => {
    expect(given(granted(), ended('2026-06-30')).statuses()).toEqual(['active']);
  });

  it('ended before it started is cancelled', () => {
    const g = given(granted({ period: { start: '2026-04-01' } }), ended('2026-04-01', '2026-03-15T08:00:00Z'));
    expect(g.statuses()).toEqual(['cancelled']);
  });

  it.each([
    ['active', [granted()]],
    ['paused', [granted(), paused()]],
    ['ended', [granted(), ended()]],
    ['changed', [granted(), changed({ weeklyHours: 2 })]],
  ] as const)('entered in error from %s: gone from the overview', (_, history) => {
    const g = given(...history, inError());
    expect(g.statuses()).toEqual([]);
    expect(g.doc.decisions['epj-a/V-1']!.lifecycle).toBe('entered-in-error');
  });

  it('an event delivered twice changes nothing', () => {
    position = 0;
    const events = [at(granted()), at(paused()), at(changed({ weeklyHours: 3 }))];
    const once = events.reduce(evolveOverview, emptyOverview(patient));
    const twice = [...events, ...events].reduce(evolveOverview, emptyOverview(patient));
    const replayOld = evolveOverview(once, events[1]!);
    expect(twice).toEqual(once);
    expect(replayOld).toBe(once);
  });

  it('keeps decisions of several source systems apart and tells when each last reported', () => {
    position = 0;
    let doc: OverviewDocument = emptyOverview(patient);
    doc = evolveOverview(doc, at(granted(), 1, '2026-05-01T10:00:00Z'));
    doc = evolveOverview(
      doc,
      at({ type: 'ServiceDecisionGranted', data: { ...base('A-9', 'epj-b', '2026-05-02T07:00:00Z'), serviceCode: '6', period: { start: '2026-05-02' } } }, 1, '2026-05-02T07:00:05Z'),
    );
    const view = viewOverview(doc, { today: TODAY });
    expect(view.services.map((s) => [s.sourceSystem, s.decisionId, s.service.code])).toEqual([
      ['epj-a', 'V-1', '15'],
      ['epj-b', 'A-9', '6'],
    ]);
    expect(view.sources).toEqual([
      { sourceSystem: 'epj-a', lastRecordedAt: '2026-05-01T10:00:00Z', lastOccurredAt: '2026-03-01T08:00:00Z' },
      { sourceSystem: 'epj-b', lastRecordedAt: '2026-05-02T07:00:05Z', lastOccurredAt: '2026-05-02T07:00:00Z' },
    ]);
  });

  it.each(['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf'])('a source system called %s is a source like any other (own keys only), also after a JSON round trip', (source) => {
    position = 0;
    // The projection stores the document as JSON and reads it back before the next event.
    const roundTrip = (d: OverviewDocument) => JSON.parse(JSON.stringify(d)) as OverviewDocument;
    let doc = evolveOverview(
      emptyOverview(patient),
      at({ type: 'ServiceDecisionGranted', data: { ...base('K-1', source, '2026-03-01T08:00:00Z'), serviceCode: '6', period: { start: '2026-03-01' } } }, 1, '2026-05-01T10:00:00Z'),
    );
    doc = roundTrip(doc);
    expect(Object.getPrototypeOf(doc.sources)).toBe(Object.prototype);
    doc = evolveOverview(doc, at({ type: 'ServicePaused', data: { ...base('K-1', source, '2026-05-03T08:00:00Z'), pausedFrom: '2026-05-03' } }, 2, '2026-05-03T08:00:01Z'));
    doc = roundTrip(doc);
    const view = viewOverview(doc, { today: TODAY });
    expect(view.services.map((s) => [s.sourceSystem, s.decisionId, s.status])).toEqual([[source, 'K-1', 'paused']]);
    expect(view.sources).toEqual([{ sourceSystem: source, lastRecordedAt: '2026-05-03T08:00:01Z', lastOccurredAt: '2026-05-03T08:00:00Z' }]);
  });

  it('orders active and paused services first, then planned, then ended', () => {
    position = 0;
    let doc: OverviewDocument = emptyOverview(patient);
    const add = (id: string, data: Record<string, unknown>, ...more: DecisionEvent[]) => {
      const g = { type: 'ServiceDecisionGranted', data: { ...base(id), serviceCode: '15', period: { start: '2026-03-01' }, ...data } } as DecisionEvent;
      [g, ...more].forEach((e, i) => (doc = evolveOverview(doc, at(e, i + 1))));
    };
    add('P', { period: { start: '2026-09-01' } });
    add('E', { period: { start: '2026-01-01', end: '2026-02-01' } });
    add('A', {});
    add('Z', {}, { type: 'ServicePaused', data: { ...base('Z'), pausedFrom: '2026-04-01' } });
    expect(viewOverview(doc, { today: TODAY, includeEnded: true }).services.map((s) => `${s.decisionId}:${s.status}`)).toEqual(['A:active', 'Z:paused', 'P:planned', 'E:ended']);
    expect(viewOverview(doc, { today: TODAY, includeEnded: true, since: '2026-03-01' }).services.map((s) => s.decisionId)).toEqual(['A', 'Z', 'P']);
  });

  it('keeps the later instant as lastOccurredAt of a source and a decision, whatever the offsets', () => {
    position = 0;
    const doc = [
      at(granted({ occurredAt: '2026-03-01T10:00:00+02:00' })),
      at(changed({ description: 'Kveld', occurredAt: '2026-03-01T09:00:00Z' })), // an hour later in real time
      at(changed({ description: 'Morgen', occurredAt: '2026-03-01T09:30:00+02:00' })), // 07:30Z: earlier than both
    ].reduce(evolveOverview, emptyOverview(patient));
    const view = viewOverview(doc, { today: TODAY });
    expect(view.sources).toEqual([expect.objectContaining({ sourceSystem: 'epj-a', lastOccurredAt: '2026-03-01T09:00:00Z' })]);
    expect(view.services[0]).toMatchObject({ lastChangedAt: '2026-03-01T09:00:00Z', description: 'Morgen' });
  });

  it('tells a cancellation by the Norwegian day of the end report, not the text before the T', () => {
    // Reported at 23:30Z on the day before the start: 00:30 on the start day in Norway, so an end, not a withdrawal.
    const { statuses } = given(granted({ period: { start: '2026-03-02' } }), ended('2026-03-02', '2026-03-01T23:30:00Z'));
    expect(statuses()).toEqual(['ended']);
    const early = given(granted({ period: { start: '2026-03-02' } }), ended('2026-03-02', '2026-03-01T21:30:00Z'));
    expect(early.statuses()).toEqual(['cancelled']);
  });

  describe('a row per decision (the read model from version 2 on)', () => {
    /** The rows a per-decision read model keeps: each decision folded alone, in the order its events come. */
    const rowsOf = (events: OverviewEvent[]) => {
      const rows = new Map<string, OverviewDecision | undefined>();
      for (const e of events) {
        const k = `${e.event.data.sourceSystem}/${e.event.data.decisionId}`;
        rows.set(k, evolveOverviewDecision(rows.get(k), e));
      }
      return [...rows.values()].filter((d): d is OverviewDecision => d !== undefined);
    };

    it('assembles the same document as folding the events into one, sources included, for any order of decisions, sources and redeliveries', () => {
      const kinds = ['granted', 'changed', 'paused', 'resumed', 'ended', 'inError'] as const;
      const step = fc.record({
        decision: fc.constantFrom('V-1', 'V-2', '__proto__'),
        source: fc.constantFrom('epj-a', 'epj-b', 'toString'),
        kind: fc.constantFrom(...kinds),
        // Distinct instants, in several offsets: the latest is the same instant whichever way it is spelled.
        minutes: fc.integer({ min: 0, max: 100_000 }),
        offset: fc.constantFrom('Z', '+01:00', '+02:00'),
        redeliver: fc.boolean(),
      });
      fc.assert(
        fc.property(fc.array(step, { maxLength: 25 }), fc.uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 25, maxLength: 25 }), (steps, recorded) => {
          const positions = new Map<string, number>();
          const events: OverviewEvent[] = [];
          steps.forEach((x, i) => {
            const utc = new Date(Date.UTC(2026, 0, 1) + x.minutes * 60_000 + i); // distinct per event
            const shift = x.offset === 'Z' ? 0 : Number(x.offset.slice(1, 3));
            const local = new Date(utc.getTime() + shift * 3_600_000).toISOString().slice(0, 23);
            const data = { decisionId: x.decision, sourceSystem: x.source, patient, occurredAt: `${local}${x.offset}` };
            const event: DecisionEvent =
              x.kind === 'granted'
                ? { type: 'ServiceDecisionGranted', data: { ...data, serviceCode: '15', period: { start: '2026-03-01' } } }
                : x.kind === 'changed'
                  ? { type: 'ServiceDecisionChanged', data: { ...data, weeklyHours: i } }
                  : x.kind === 'paused'
                    ? { type: 'ServicePaused', data: { ...data, pausedFrom: '2026-04-01' } }
                    : x.kind === 'resumed'
                      ? { type: 'ServiceResumed', data: { ...data, resumedFrom: '2026-04-10' } }
                      : x.kind === 'ended'
                        ? { type: 'ServiceEnded', data: { ...data, endDate: '2026-05-01' } }
                        : { type: 'DecisionEnteredInError', data };
            const k = `${x.source}/${x.decision}`;
            const streamPosition = (positions.get(k) ?? 0) + 1;
            positions.set(k, streamPosition);
            const e = { event, streamPosition, recordedAt: new Date(Date.UTC(2026, 5, 1) + recorded[i]! * 1000).toISOString() };
            events.push(e);
            if (x.redeliver) events.push(e);
          });
          const folded = events.reduce(evolveOverview, emptyOverview(patient));
          const assembled = overviewOfDecisions(patient, rowsOf(events));
          if (Object.keys(folded.decisions).length === 0) return assembled === undefined;
          expect(assembled).toEqual(folded);
          expect(viewOverview(assembled!, { today: TODAY, includeEnded: true })).toEqual(viewOverview(folded, { today: TODAY, includeEnded: true }));
          return true;
        }),
        { numRuns: Number(process.env.FPI_PROPERTY_RUNS ?? 300) },
      );
    });

    it('gives the same entry back for a redelivered or stale event, and none for a change before any grant', () => {
      position = 0;
      const grant = at(granted());
      const first = evolveOverviewDecision(undefined, grant)!;
      expect(first).toMatchObject({ decisionId: 'V-1', lifecycle: 'granted', position: 1 });
      expect(evolveOverviewDecision(first, grant)).toBe(first);
      expect(evolveOverviewDecision(undefined, at(changed({ weeklyHours: 9 }), 2))).toBeUndefined();
      expect(overviewOfDecisions(patient, [])).toBeUndefined();
    });
  });
});
