/**
 * The event-store contract, written once and run against every adapter (PostgreSQL now,
 * KurrentDB when KURRENTDB_URL is set). Each adapter spec supplies a harness.
 */
import { randomUUID } from 'node:crypto';
import { compareCheckpoints, formatCheckpoint, START, type Checkpoint } from '../checkpoint.js';
import { AppendManyConflictError, IdempotencyConflictError, InvalidAppendError, UnknownTenantError, WrongExpectedVersionError } from '../errors.js';
import type { EventStore, NewEvent, RecordedEvent } from '../event-store.port.js';
import { tenantId, type TenantId } from '#libs/tenancy';
import type { UpcasterRegistry } from '../upcasting.js';

export interface HeldAppend {
  /** Resolves once the append has taken its global position but not yet committed. */
  positioned: Promise<void>;
  commit(): Promise<void>;
}

export interface EventStoreHarness {
  store: EventStore;
  /** Registers a tenant so that it can be written to. */
  addTenant(id: TenantId): Promise<void>;
  /** A store over the same data with the given upcasters. */
  withUpcasters(upcasters: UpcasterRegistry): EventStore;
  /**
   * Starts an append that takes its global position and then waits, uncommitted, until
   * `commit()`: the late-commit scenario. Required for adapters whose positions are
   * assigned before commit (PostgreSQL).
   */
  holdAppend(tenant: TenantId, streamId: string, events: NewEvent[]): HeldAppend;
  teardown(): Promise<void>;
}

let tenantCounter = 0;
/** A fresh 9-digit tenant id per test so tests never see each other's events. */
function freshTenant(): TenantId {
  tenantCounter += 1;
  return tenantId(String(900_000_000 + process.pid * 1000 + tenantCounter).slice(-9));
}

export const event = (type = 'ServiceDecisionGranted', data: Record<string, unknown> = { n: 1 }): NewEvent => ({
  eventId: randomUUID(),
  type,
  data,
  metadata: { correlationId: randomUUID(), sourceSystem: 'contract-test' },
});

async function readAllEvents(store: EventStore, tenant: TenantId, from: Checkpoint = START, batch = 1000): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  let checkpoint = from;
  for (;;) {
    const page = await store.readAll(tenant, checkpoint, batch);
    out.push(...page.events);
    if (page.events.length < batch) return out;
    checkpoint = page.checkpoint;
  }
}

export function eventStoreContract(adapterName: string, createHarness: () => Promise<EventStoreHarness>): void {
  describe(`EventStore contract: ${adapterName}`, () => {
    let h: EventStoreHarness;
    let store: EventStore;
    let tenant: TenantId;

    beforeAll(async () => {
      h = await createHarness();
      store = h.store;
    });
    afterAll(async () => {
      await h?.teardown();
    });
    beforeEach(async () => {
      tenant = freshTenant();
      await h.addTenant(tenant);
    });

    describe('append and readStream', () => {
      it('stores events at consecutive stream positions with their data and metadata', async () => {
        const events = [event('A', { a: 1 }), event('B', { b: [1, 2] }), event('C', { c: 'æøå' })];
        const result = await store.append(tenant, 's-1', events, 'no_stream');
        expect(result.outcome).toBe('appended');
        expect(result.streamVersion).toBe(3);
        expect(result.positions.map((p) => p.streamPosition)).toEqual([1, 2, 3]);
        const read = await store.readStream(tenant, 's-1');
        expect(read.map((e) => [e.eventId, e.type, e.data, e.streamPosition])).toEqual(events.map((e, i) => [e.eventId, e.type, e.data, i + 1]));
        expect(read[0]!.metadata).toMatchObject({ sourceSystem: 'contract-test', correlationId: events[0]!.metadata!.correlationId });
        expect(read[0]!.schemaVersion).toBe(1);
        expect(read[0]!.recordedAt).toBeInstanceOf(Date);
        expect(Math.abs(read[0]!.recordedAt.getTime() - Date.now())).toBeLessThan(60_000);
        expect(formatCheckpoint(read[2]!.checkpoint)).toBe(formatCheckpoint(result.checkpoint));
      });

      it('keeps awkward text exactly: quotes, backslashes, braces, control characters and unicode, in data, metadata and keys', async () => {
        const awkward = {
          quote: 'say "hi"',
          backslash: 'C:\\dir\\"x"\\',
          literal: '{"a":[1,2]} NULL null , } ] \\u0041',
          control: 'tab\tnew\nline\r\u0001\u001f',
          unicode: 'Bjørnøya – 𝄞 漢字 ÅÆØ \u2028',
          'key "with" \\ {quotes}': ['"', '\\', '', ' '],
          nested: { '': 0, deep: { list: [null, true, -1.5e-7, 'æ'] } },
        };
        const one = event('One', awkward);
        const two = [event('A', awkward), event('B', { ...awkward, n: 2 })];
        const many = [event('M1', awkward), event('M2', { x: awkward })];
        await store.append(tenant, 'one', [{ ...one, metadata: { note: awkward.literal } }], 'no_stream');
        await store.append(tenant, 'two', two, 'any');
        await store.appendMany(tenant, [{ streamId: 'many', events: many, expectedVersion: 0 }]);
        const read = await store.readStreams(tenant, ['one', 'two', 'many']);
        expect(read.get('one')!.map((e) => e.data)).toEqual([awkward]);
        expect(read.get('one')![0]!.metadata).toMatchObject({ note: awkward.literal });
        expect(read.get('two')!.map((e) => e.data)).toEqual(two.map((e) => e.data));
        expect(read.get('many')!.map((e) => e.data)).toEqual(many.map((e) => e.data));
        // A retry compares the stored data with the sent one: the same awkward text is the same event.
        expect((await store.append(tenant, 'two', two, 'any')).outcome).toBe('duplicate');
        await expect(store.append(tenant, 'two', [two[0]!, { ...two[1]!, data: { ...awkward, n: 3 } }], 'any')).rejects.toBeInstanceOf(IdempotencyConflictError);
      });

      it('reads a stream from a position with a limit', async () => {
        await store.append(tenant, 's', [event(), event(), event(), event()], 'no_stream');
        const read = await store.readStream(tenant, 's', { fromPosition: 2, limit: 2 });
        expect(read.map((e) => e.streamPosition)).toEqual([2, 3]);
        expect(await store.readStream(tenant, 'missing')).toEqual([]);
      });

      it('rejects malformed appends before touching storage', async () => {
        await expect(store.append(tenant, 's', [], 'any')).rejects.toBeInstanceOf(InvalidAppendError);
        await expect(store.append(tenant, 's', [{ ...event(), eventId: 'not-a-uuid' }], 'any')).rejects.toBeInstanceOf(InvalidAppendError);
        const e = event();
        await expect(store.append(tenant, 's', [e, { ...e }], 'any')).rejects.toBeInstanceOf(InvalidAppendError);
        await expect(store.append(tenant, '', [event()], 'any')).rejects.toBeInstanceOf(InvalidAppendError);
        await expect(store.append(tenant, 's', [event()], -1)).rejects.toBeInstanceOf(InvalidAppendError);
        expect(await store.readStream(tenant, 's')).toEqual([]);
      });
    });

    describe('expected version', () => {
      it('no_stream: creates, then refuses an existing stream', async () => {
        await store.append(tenant, 's', [event()], 'no_stream');
        const error = await store.append(tenant, 's', [event()], 'no_stream').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect((error as WrongExpectedVersionError).actual).toBe(1);
      });

      it('a number: appends only at that version; 0 means no stream', async () => {
        await store.append(tenant, 's', [event()], 0);
        await store.append(tenant, 's', [event(), event()], 1);
        const error = await store.append(tenant, 's', [event()], 1).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect((error as WrongExpectedVersionError).actual).toBe(3);
        await expect(store.append(tenant, 's', [event()], 0)).rejects.toBeInstanceOf(WrongExpectedVersionError);
        const missing = await store.append(tenant, 'other', [event()], 5).catch((e: unknown) => e);
        expect((missing as WrongExpectedVersionError).actual).toBe('no_stream');
        // Ahead of the stream: refused, no gap left.
        const ahead = await store.append(tenant, 's', [event()], 9).catch((e: unknown) => e);
        expect(ahead).toBeInstanceOf(WrongExpectedVersionError);
        expect((ahead as WrongExpectedVersionError).actual).toBe(3);
        expect((await store.append(tenant, 's', [event()], 3)).streamVersion).toBe(4);
        expect((await store.readStream(tenant, 's')).map((e) => e.streamPosition)).toEqual([1, 2, 3, 4]);
      });

      it('stream_exists: refuses a missing stream, appends to an existing one', async () => {
        await expect(store.append(tenant, 's', [event()], 'stream_exists')).rejects.toBeInstanceOf(WrongExpectedVersionError);
        await store.append(tenant, 's', [event()], 'no_stream');
        expect((await store.append(tenant, 's', [event()], 'stream_exists')).streamVersion).toBe(2);
      });

      it('any: creates or appends without a check', async () => {
        expect((await store.append(tenant, 's', [event()], 'any')).streamVersion).toBe(1);
        expect((await store.append(tenant, 's', [event(), event()], 'any')).streamVersion).toBe(3);
      });

      it('a refused append leaves nothing behind, not even an empty stream', async () => {
        await expect(store.append(tenant, 's', [event()], 'stream_exists')).rejects.toBeInstanceOf(WrongExpectedVersionError);
        await expect(store.append(tenant, 's', [event()], 7)).rejects.toBeInstanceOf(WrongExpectedVersionError);
        expect(await store.readStream(tenant, 's')).toEqual([]);
        expect((await store.append(tenant, 's', [event()], 'no_stream')).streamVersion).toBe(1);
        expect(await readAllEvents(store, tenant)).toHaveLength(1);
      });

      it('32 concurrent writers at the same version: exactly one wins, the rest conflict', async () => {
        await store.append(tenant, 's', [event()], 'no_stream');
        const results = await Promise.allSettled(Array.from({ length: 32 }, () => store.append(tenant, 's', [event()], 1)));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results.filter((x) => x.status === 'rejected')) {
          expect((r as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
        }
        expect(await store.readStream(tenant, 's')).toHaveLength(2);
      });
    });

    describe('appendMany', () => {
      it('appends to several streams at once and reads them back together', async () => {
        await store.append(tenant, 'b', [event()], 'no_stream');
        const results = await store.appendMany(tenant, [
          { streamId: 'a', events: [event('A1'), event('A2')], expectedVersion: 0 },
          { streamId: 'b', events: [event('B2')], expectedVersion: 1 },
        ]);
        expect(results.map((r) => [r.outcome, r.streamVersion, r.positions.map((p) => p.streamPosition)])).toEqual([
          ['appended', 2, [1, 2]],
          ['appended', 2, [2]],
        ]);
        const streams = await store.readStreams(tenant, ['a', 'b', 'none']);
        expect(streams.get('a')!.map((e) => e.type)).toEqual(['A1', 'A2']);
        expect(streams.get('b')!.map((e) => e.streamPosition)).toEqual([1, 2]);
        expect(streams.get('none')).toEqual([]);
      });

      it.each([
        [
          'a wrong expected version',
          (stored: NewEvent) => [
            { streamId: 's', events: [event()], expectedVersion: 5 },
            { streamId: 'n', events: [stored], expectedVersion: 0 },
          ],
          'version',
        ],
        [
          'a taken position',
          () => [
            { streamId: 'n', events: [event()], expectedVersion: 0 },
            { streamId: 's', events: [event()], expectedVersion: 0 },
          ],
          'version',
        ],
        [
          'an event id stored already',
          (stored: NewEvent) => [
            { streamId: 'n', events: [event()], expectedVersion: 0 },
            { streamId: 'm', events: [stored], expectedVersion: 0 },
          ],
          'duplicate_id',
        ],
      ] as const)('writes nothing when one part has %s', async (_, parts, reason) => {
        const stored = event();
        await store.append(tenant, 's', [stored], 'no_stream');
        const error = await store.appendMany(tenant, parts(stored) as never).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AppendManyConflictError);
        expect((error as AppendManyConflictError).reason).toBe(reason);
        expect((await readAllEvents(store, tenant)).map((e) => e.eventId)).toEqual([stored.eventId]);
      });
    });

    describe('idempotency', () => {
      it('a retry of a stored append returns the original positions and writes nothing', async () => {
        await store.append(tenant, 's', [event()], 'no_stream');
        const batch = [event('X', { x: 1 }), event('Y', { y: 2 })];
        const first = await store.append(tenant, 's', batch, 1);
        await store.append(tenant, 's', [event()], 3);
        // The retry's expected version is stale, its metadata new: still a duplicate.
        const retry = await store.append(
          tenant,
          's',
          batch.map((e) => ({ ...e, metadata: { correlationId: 'retry' } })),
          1,
        );
        expect(retry.outcome).toBe('duplicate');
        expect(retry.positions).toEqual(first.positions);
        expect(formatCheckpoint(retry.checkpoint)).toBe(formatCheckpoint(first.checkpoint));
        expect(retry.streamVersion).toBe(3);
        expect(await store.readStream(tenant, 's')).toHaveLength(4);
      });

      it('is case-insensitive on the event id', async () => {
        const e = event();
        await store.append(tenant, 's', [e], 'any');
        const retry = await store.append(tenant, 's', [{ ...e, eventId: e.eventId.toUpperCase() }], 'any');
        expect(retry.outcome).toBe('duplicate');
      });

      it('the same id with another payload, type or stream is a conflict and changes nothing', async () => {
        const e = event('A', { v: 1 });
        await store.append(tenant, 's', [e], 'no_stream');
        await expect(store.append(tenant, 's', [{ ...e, data: { v: 2 } }], 'any')).rejects.toBeInstanceOf(IdempotencyConflictError);
        await expect(store.append(tenant, 's', [{ ...e, type: 'B' }], 'any')).rejects.toBeInstanceOf(IdempotencyConflictError);
        await expect(store.append(tenant, 's', [{ ...e, schemaVersion: 2 }], 'any')).rejects.toBeInstanceOf(IdempotencyConflictError);
        await expect(store.append(tenant, 'other', [e], 'any')).rejects.toBeInstanceOf(IdempotencyConflictError);
        const conflict = await store.append(tenant, 's', [{ ...e, data: { v: 2 } }], 'any').catch((x: unknown) => x);
        expect((conflict as IdempotencyConflictError).eventIds).toEqual([e.eventId]);
        const all = await readAllEvents(store, tenant);
        expect(all.map((x) => [x.eventId, x.data])).toEqual([[e.eventId, { v: 1 }]]);
      });

      it('a batch that is only partly stored is a conflict and writes none of it', async () => {
        const stored = event();
        await store.append(tenant, 's', [stored], 'no_stream');
        const fresh = event();
        await expect(store.append(tenant, 's', [stored, fresh], 'any')).rejects.toBeInstanceOf(IdempotencyConflictError);
        expect((await store.readStream(tenant, 's')).map((e) => e.eventId)).toEqual([stored.eventId]);
      });

      it.each(['no_stream', 'any', 'stream_exists', 'numeric'] as const)('32 concurrent identical retries (%s) store the event exactly once', async (mode) => {
        if (mode !== 'no_stream') await store.append(tenant, 's', [event()], 'no_stream');
        const batch = [event('Granted', { k: 1 }), event('Changed', { k: 2 })];
        const expected = mode === 'numeric' ? 1 : mode;
        const results = await Promise.all(Array.from({ length: 32 }, () => store.append(tenant, 's', batch, expected)));
        expect(results.filter((r) => r.outcome === 'appended')).toHaveLength(1);
        expect(results.filter((r) => r.outcome === 'duplicate')).toHaveLength(31);
        for (const r of results) expect(r.positions).toEqual(results[0]!.positions);
        const ids = (await readAllEvents(store, tenant)).map((e) => e.eventId);
        expect(ids.filter((id) => id === batch[0]!.eventId)).toHaveLength(1);
        expect(ids.filter((id) => id === batch[1]!.eventId)).toHaveLength(1);
      });

      it('32 concurrent writers of one id with different payloads: one stored, the rest conflict', async () => {
        const id = randomUUID();
        const results = await Promise.allSettled(Array.from({ length: 32 }, (_, i) => store.append(tenant, `s-${i % 4}`, [{ eventId: id, type: 'T', data: { i } }], 'any')));
        const ok = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ outcome: string }>[];
        expect(ok.filter((r) => r.value.outcome === 'appended')).toHaveLength(1);
        for (const r of results.filter((x) => x.status === 'rejected')) {
          expect((r as PromiseRejectedResult).reason).toBeInstanceOf(IdempotencyConflictError);
        }
        expect((await readAllEvents(store, tenant)).filter((e) => e.eventId === id)).toHaveLength(1);
      });
    });

    describe('tenancy', () => {
      it('keeps tenants apart: reads see only their own tenant, event ids are unique per tenant', async () => {
        const other = freshTenant();
        await h.addTenant(other);
        const e = event('A', { secret: 'tenant-a' });
        await store.append(tenant, 's', [e], 'no_stream');
        expect(await store.readStream(other, 's')).toEqual([]);
        expect((await store.readAll(other, START, 100)).events).toEqual([]);
        // The same sender event id in another municipality is another event.
        const inOther = await store.append(other, 's', [{ ...e, data: { secret: 'tenant-b' } }], 'no_stream');
        expect(inOther.outcome).toBe('appended');
        expect((await store.readStream(tenant, 's'))[0]!.data).toEqual({ secret: 'tenant-a' });
        expect((await store.readStream(other, 's'))[0]!.data).toEqual({ secret: 'tenant-b' });
      });

      it('refuses to write to a tenant that is not registered', async () => {
        await expect(store.append(tenantId('999999999'), 's', [event()], 'any')).rejects.toBeInstanceOf(UnknownTenantError);
      });
    });

    describe('$all', () => {
      it('returns every event of the tenant once, in order, resumable from any checkpoint', async () => {
        const appended: string[] = [];
        for (let i = 0; i < 25; i++) {
          const batch = [event(), event()];
          await store.append(tenant, `s-${i % 5}`, batch, 'any');
          appended.push(...batch.map((e) => e.eventId));
        }
        const all = await readAllEvents(store, tenant, START, 7);
        expect(all.map((e) => e.eventId)).toEqual(appended);
        for (let i = 1; i < all.length; i++) expect(compareCheckpoints(all[i - 1]!.checkpoint, all[i]!.checkpoint)).toBeLessThan(0);
        const rest = await readAllEvents(store, tenant, all[19]!.checkpoint);
        expect(rest.map((e) => e.eventId)).toEqual(appended.slice(20));
        const empty = await store.readAll(tenant, all[all.length - 1]!.checkpoint, 10);
        expect(empty.events).toEqual([]);
        expect(formatCheckpoint(empty.checkpoint)).toBe(formatCheckpoint(all[all.length - 1]!.checkpoint));
      });

      it('head: the checkpoint of the newest event, per tenant', async () => {
        expect(await store.head(tenant)).toEqual(START);
        await store.append(tenant, 'head-1', [event()], 'no_stream');
        const last = await store.append(tenant, 'head-2', [event(), event()], 'no_stream');
        expect(formatCheckpoint(await store.head(tenant))).toBe(formatCheckpoint(last.checkpoint));
        const other = freshTenant();
        await h.addTenant(other);
        expect(await store.head(other)).toEqual(START);
      });

      it('lag: counts the events after a checkpoint and dates the first of them', async () => {
        expect(await store.lag(tenant, START)).toEqual({ events: 0, oldestRecordedAt: null });
        for (let i = 0; i < 5; i++) await store.append(tenant, `lag-${i}`, [event()], 'no_stream');
        const all = await readAllEvents(store, tenant);
        expect((await store.lag(tenant, START)).events).toBe(5);
        const behind = await store.lag(tenant, all[1]!.checkpoint);
        expect(behind.events).toBe(3);
        expect(behind.oldestRecordedAt?.getTime()).toBe(all[2]!.recordedAt.getTime());
        expect(await store.lag(tenant, all[4]!.checkpoint)).toEqual({ events: 0, oldestRecordedAt: null });
      });

      it('late commit: an event that took an earlier position but committed later is still delivered', async () => {
        const slow = event('Slow');
        const held = h.holdAppend(tenant, 'slow-stream', [slow]);
        await held.positioned;
        const fast = event('Fast');
        const fastResult = await store.append(tenant, 'fast-stream', [fast], 'no_stream');
        // The slow event has the smaller global position, yet commits after the fast one.
        const seen: RecordedEvent[] = [];
        let checkpoint = START;
        const poll = async () => {
          const page = await store.readAll(tenant, checkpoint, 100);
          seen.push(...page.events);
          checkpoint = page.checkpoint;
        };
        await poll();
        await held.commit();
        await poll();
        await poll();
        expect(seen.map((e) => e.type).sort()).toEqual(['Fast', 'Slow']);
        const slowRecorded = seen.find((e) => e.type === 'Slow')!;
        expect(slowRecorded.globalPosition).toBeLessThan(fastResult.positions[0]!.globalPosition);
        // And a consumer whose checkpoint passed the fast event was not handed it before the slow one committed.
        expect(seen.filter((e) => e.type === 'Fast')).toHaveLength(1);
      });

      it('concurrent writers and a tailing reader: every committed event is read exactly once', async () => {
        const writers = 16;
        const perWriter = 15;
        const written = new Set<string>();
        const seen: string[] = [];
        let checkpoint = START;
        let writing = true;
        const reader = (async () => {
          while (writing || seen.length < written.size) {
            const page = await store.readAll(tenant, checkpoint, 50);
            seen.push(...page.events.map((e) => e.eventId));
            checkpoint = page.checkpoint;
            if (page.events.length === 0) await new Promise((r) => setTimeout(r, 2));
          }
        })();
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            for (let i = 0; i < perWriter; i++) {
              const e = event();
              await store.append(tenant, `w-${w}-${i % 3}`, [e], 'any');
              written.add(e.eventId);
            }
          }),
        );
        writing = false;
        await reader;
        expect(seen).toHaveLength(writers * perWriter);
        expect(new Set(seen)).toEqual(written);
      });
    });

    describe('waiting for new events', () => {
      it('wakes a waiter when its tenant gets an event, not for other tenants', async () => {
        const other = freshTenant();
        await h.addTenant(other);
        await store.waitForEvents(tenant, { timeoutMs: 1 }); // connects the listener
        const started = Date.now();
        const waiting = store.waitForEvents(tenant, { timeoutMs: 5_000 });
        const otherWaiting = store.waitForEvents(other, { timeoutMs: 300 });
        await store.append(tenant, 's', [event()], 'any');
        expect(await waiting).toBe('notified');
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(await otherWaiting).toBe('timeout');
      });

      it('can be aborted', async () => {
        const controller = new AbortController();
        const waiting = store.waitForEvents(tenant, { timeoutMs: 10_000, signal: controller.signal });
        controller.abort();
        expect(await waiting).toBe('aborted');
      });
    });

    describe('upcasting', () => {
      it('reads stored v1 events in the newest registered shape, leaving storage as it was', async () => {
        const { UpcasterRegistry } = await import('../upcasting.js');
        await store.append(tenant, 's', [{ eventId: randomUUID(), type: 'Extent', schemaVersion: 1, data: { hoursPerWeek: 6 } }], 'no_stream');
        const upcasting = h.withUpcasters(
          new UpcasterRegistry([
            { type: 'Extent', fromVersion: 1, upcast: (d) => ({ extent: { value: d.hoursPerWeek, unit: 'h/wk' } }) },
            { type: 'Extent', fromVersion: 2, upcast: (d) => ({ ...d, source: 'upcast' }) },
          ]),
        );
        const [read] = await upcasting.readStream(tenant, 's');
        expect(read!.schemaVersion).toBe(3);
        expect(read!.storedSchemaVersion).toBe(1);
        expect(read!.data).toEqual({ extent: { value: 6, unit: 'h/wk' }, source: 'upcast' });
        const [raw] = await store.readStream(tenant, 's');
        expect(raw!.data).toEqual({ hoursPerWeek: 6 });
        const [viaAll] = (await upcasting.readAll(tenant, START, 10)).events;
        expect(viaAll!.schemaVersion).toBe(3);
      });
    });
  });
}
