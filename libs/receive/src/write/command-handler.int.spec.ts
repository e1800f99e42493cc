import { randomUUID } from 'node:crypto';
import { decisionCommand, DecisionRuleError, type DecisionEvent } from '#libs/domain';
import { IdempotencyConflictError, PostgresEventStore, type ExpectedVersion, type NewEvent } from '#libs/event-store';
import { PostgresTenantRegistry, tenantId, type TenantId } from '#libs/tenancy';
import { createTestDatabase, type TestDatabase } from '#libs/testing';
import { decisionStream } from '../record-decision/record-decision.handler.js';
import { ConcurrencyRetriesExhaustedError, handleBatch, handleCommand, MAX_CONCURRENCY_ATTEMPTS } from './command-handler.js';

const TENANT = tenantId('313231593');
const patient = { system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13717404089' };
// Each test works on a decision of its own.
let base = { decisionId: '', sourceSystem: 'epj-a', patient, occurredAt: '2026-03-01T08:00:00Z' };
let STREAM = '';
let granted: DecisionEvent;
const ask = (event: DecisionEvent, eventId: string = randomUUID()) => decisionCommand(event, { eventId, actor: { clientId: 'epj-a', mayActForAnySource: false } });
const stored = (event: DecisionEvent, eventId: string = randomUUID()): NewEvent => ({ eventId, type: event.type, data: event.data as unknown as Record<string, unknown> });

/**
 * The real store, with a real concurrent writer: before each of the handler's appends,
 * `before()` may append to the stream through the same database.
 */
class RacedStore extends PostgresEventStore {
  reads = 0;
  streamsReads = 0;
  override async readStreams(...args: Parameters<PostgresEventStore['readStreams']>) {
    this.streamsReads += 1;
    return super.readStreams(...args);
  }
  before: () => Promise<void> = async () => undefined;
  override async readStream(...args: Parameters<PostgresEventStore['readStream']>) {
    this.reads += 1;
    return super.readStream(...args);
  }
  override async append(tenant: TenantId, streamId: string, events: NewEvent[], expected: ExpectedVersion) {
    if (expected !== 'any') await this.before();
    return super.append(tenant, streamId, events, expected);
  }
}

describe('handleCommand against PostgreSQL', () => {
  let db: TestDatabase;
  let store: RacedStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    await new PostgresTenantRegistry(db.pool).add({ id: TENANT, name: 'Test kommune', environment: 'test' });
  });
  beforeEach(() => {
    base = { ...base, decisionId: `V-${randomUUID()}` };
    STREAM = `Decision/epj-a/${base.decisionId}`;
    granted = { type: 'ServiceDecisionGranted', data: { ...base, serviceCode: '6', period: { start: '2026-03-01' } } };
    store = new RacedStore(db.pool);
  });
  afterAll(async () => {
    await db.drop();
  });

  const history = async () => (await new PostgresEventStore(db.pool).readStream(TENANT, STREAM)).map((e) => e.type);

  it('decides again on what a concurrent writer stored, and appends after it', async () => {
    await store.append(TENANT, STREAM, [stored(granted)], 'any');
    let raced = false;
    store.before = async () => {
      if (raced) return;
      raced = true;
      await store.append(TENANT, STREAM, [stored({ type: 'ServicePaused', data: { ...base, pausedFrom: '2026-04-01' } })], 'any');
    };
    const result = await handleCommand(store, TENANT, STREAM, ask({ type: 'ServiceDecisionChanged', data: { ...base, weeklyHours: 8 } }), decisionStream);
    expect(result).toMatchObject({ outcome: 'appended', positions: [{ streamPosition: 3 }] });
    expect(await history()).toEqual(['ServiceDecisionGranted', 'ServicePaused', 'ServiceDecisionChanged']);
    expect(store.reads).toBe(2);
  });

  it(`gives up after ${MAX_CONCURRENCY_ATTEMPTS} attempts on a stream that keeps changing, storing nothing of the command`, async () => {
    await store.append(TENANT, STREAM, [stored(granted)], 'any');
    store.before = async () => void (await store.append(TENANT, STREAM, [stored({ type: 'ServiceDecisionChanged', data: { ...base, weeklyHours: 2 } })], 'any'));
    const command = ask({ type: 'ServiceEnded', data: { ...base, endDate: '2026-06-30' } });
    await expect(handleCommand(store, TENANT, STREAM, command, decisionStream)).rejects.toEqual(expect.any(ConcurrencyRetriesExhaustedError));
    expect(store.reads).toBe(MAX_CONCURRENCY_ATTEMPTS);
    expect(await history()).not.toContain('ServiceEnded');
  });

  it('answers a retry with the stored positions, and refuses the id for another event', async () => {
    const id = randomUUID();
    const first = await handleCommand(store, TENANT, STREAM, ask(granted, id), decisionStream);
    await handleCommand(store, TENANT, STREAM, ask({ type: 'ServicePaused', data: { ...base, pausedFrom: '2026-04-01' } }), decisionStream);
    const again = await handleCommand(store, TENANT, STREAM, ask(granted, id), decisionStream);
    expect(again).toMatchObject({ outcome: 'duplicate', positions: [{ eventId: id, streamPosition: 1 }], checkpoint: first.checkpoint });
    await expect(handleCommand(store, TENANT, STREAM, ask({ type: 'ServiceEnded', data: { ...base, endDate: '2026-06-30' } }, id), decisionStream)).rejects.toEqual(
      expect.any(IdempotencyConflictError),
    );
    expect(await history()).toEqual(['ServiceDecisionGranted', 'ServicePaused']);
  });

  it('judges a grant of a stored decision on its history after the one-round-trip attempt fails', async () => {
    await handleCommand(store, TENANT, STREAM, ask(granted), decisionStream);
    const error = await handleCommand(store, TENANT, STREAM, ask(granted), decisionStream).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecisionRuleError);
    expect((error as DecisionRuleError).violation).toMatchObject({ rule: 'decision-exists', status: 409 });
  });

  describe('a batch of new grants (tried as one append before any read)', () => {
    const grantOf = (decisionId: string): DecisionEvent => ({ type: 'ServiceDecisionGranted', data: { ...base, decisionId, serviceCode: '6', period: { start: '2026-03-01' } } });
    const itemsOf = (ids: string[], eventIds = ids.map(() => randomUUID())) => ids.map((id, i) => ({ streamId: `Decision/epj-a/${id}`, command: ask(grantOf(id), eventIds[i]) }));
    const stored3 = async (ids: string[]) => Promise.all(ids.map(async (id) => (await new PostgresEventStore(db.pool).readStream(TENANT, `Decision/epj-a/${id}`)).length));

    it('stores new grants in one append without reading their streams', async () => {
      const ids = [0, 1, 2].map((i) => `B-${i}-${randomUUID()}`);
      const outcomes = await handleBatch(store, TENANT, itemsOf(ids), decisionStream);
      expect(outcomes.map((o) => o.outcome)).toEqual(['appended', 'appended', 'appended']);
      expect(store.streamsReads).toBe(0);
      expect(await stored3(ids)).toEqual([1, 1, 1]);
    });

    it('answers a retry of the same batch with duplicates, storing nothing twice', async () => {
      const ids = [0, 1].map((i) => `R-${i}-${randomUUID()}`);
      const eventIds = ids.map(() => randomUUID());
      await handleBatch(store, TENANT, itemsOf(ids, eventIds), decisionStream);
      const again = await handleBatch(store, TENANT, itemsOf(ids, eventIds), decisionStream);
      expect(again.map((o) => o.outcome)).toEqual(['duplicate', 'duplicate']);
      expect(await stored3(ids)).toEqual([1, 1]);
    });

    it('judges each item on what is stored when one grant names a decision that exists: the others are stored, that one refused', async () => {
      const ids = [0, 1, 2].map((i) => `C-${i}-${randomUUID()}`);
      await handleBatch(store, TENANT, itemsOf([ids[1]!]), decisionStream);
      const outcomes = await handleBatch(store, TENANT, itemsOf(ids), decisionStream);
      expect(outcomes.map((o) => o.outcome)).toEqual(['appended', 'rejected', 'appended']);
      expect(((outcomes[1] as { error: unknown }).error as DecisionRuleError).violation).toMatchObject({ rule: 'decision-exists' });
      expect(store.streamsReads).toBe(1); // the optimistic append failed, then one read
      expect(await stored3(ids)).toEqual([1, 1, 1]);
    });

    it('refuses only the item whose event id another stored event holds', async () => {
      const ids = [0, 1].map((i) => `I-${i}-${randomUUID()}`);
      const taken = randomUUID();
      await store.append(TENANT, `Decision/epj-a/other-${randomUUID()}`, [stored(granted, taken)], 'no_stream');
      const outcomes = await handleBatch(store, TENANT, itemsOf(ids, [randomUUID(), taken]), decisionStream);
      expect(outcomes.map((o) => o.outcome)).toEqual(['appended', 'rejected']);
      expect((outcomes[1] as { error: unknown }).error).toBeInstanceOf(IdempotencyConflictError);
      expect(await stored3(ids)).toEqual([1, 0]);
    });
  });
});
