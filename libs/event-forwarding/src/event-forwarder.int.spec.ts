import { randomUUID } from 'node:crypto';
import { formatCheckpoint, PostgresEventStore, START, type RecordedEvent } from '#libs/event-store';
import { PostgresTenantRegistry, tenantId, type TenantId } from '#libs/tenancy';
import { createTestDatabase, type TestDatabase } from '#libs/testing';
import { PermanentPublishError, type MessagePublisher, type ForwardedMessage } from './message-publisher.port.js';
import { FORWARDED_HEADERS, type ForwardedEventValue } from './forwarded-message.js';
import { DEFAULT_FORWARDER_OPTIONS, FORWARDER_PROJECTION_ID, EventForwarder, type EventForwarderHooks, type EventForwarderOptions } from './event-forwarder.js';

const A = tenantId('313231593');
const B = tenantId('974760673');
/** The runner gives up on a failing batch after 5 + 10 ms: any outage longer than that would dead-letter a plain projection. */
const FAST: EventForwarderOptions = {
  ...DEFAULT_FORWARDER_OPTIONS,
  batchSize: 10,
  pollMs: 50,
  retryDelaysMs: [5, 10],
  lockRetryMs: 50,
  superviseMs: 50,
  backoff: { initialMs: 5, maxMs: 40 },
};

interface Delivery {
  topic: string;
  message: ForwardedMessage;
}

/**
 * The broker, as a port double: `delivered` is what it stored (shared by the relays of one
 * test, like a topic outlives a process). `before` runs before storing (throw: nothing is
 * stored), `after` after storing and before the ack (throw: stored but the ack is lost;
 * never resolve: the process dies before it hears the ack).
 */
class RecordingBroker {
  readonly delivered: Delivery[] = [];
  calls = 0;
  closed = 0;
  before: (call: number, topic: string, messages: ForwardedMessage[]) => Promise<void> = async () => undefined;
  after: (call: number, topic: string, messages: ForwardedMessage[]) => Promise<void> = async () => undefined;

  publisher(): MessagePublisher {
    return {
      publish: async (topic, messages) => {
        const call = ++this.calls;
        await this.before(call, topic, messages);
        for (const message of messages) this.delivered.push({ topic, message });
        await this.after(call, topic, messages);
      },
      close: async () => void (this.closed += 1),
    };
  }

  on(topic: string): Delivery[] {
    return this.delivered.filter((d) => d.topic === topic);
  }
}

const eventIdOf = (d: Delivery) => d.message.headers[FORWARDED_HEADERS.eventId]!;

/** A consumer that deduplicates by the `event-id` header: the first copy wins. */
const dedupe = (deliveries: Delivery[]) => {
  const seen = new Set<string>();
  return deliveries.filter((d) => !seen.has(eventIdOf(d)) && seen.add(eventIdOf(d)));
};

const copies = (deliveries: Delivery[]) => {
  const n = new Map<string, number>();
  for (const d of deliveries) n.set(eventIdOf(d), (n.get(eventIdOf(d)) ?? 0) + 1);
  return n;
};

const until = async (check: () => boolean | Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('event forwarder on PostgreSQL (publisher port double)', () => {
  let db: TestDatabase;
  let store: PostgresEventStore;
  let registry: PostgresTenantRegistry;
  const relays: EventForwarder[] = [];

  beforeEach(async () => {
    db = await createTestDatabase();
    store = new PostgresEventStore(db.pool);
    registry = new PostgresTenantRegistry(db.pool);
    await registry.add({ id: A, name: 'Test kommune', environment: 'test' });
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await store.close();
    await db.drop();
  });

  const relay = (broker: RecordingBroker, options = FAST, hooks: EventForwarderHooks = {}) => {
    const r = new EventForwarder(db.pool, store, registry, broker.publisher(), options, hooks);
    relays.push(r);
    return r;
  };
  const stop = async (r: EventForwarder) => {
    relays.splice(relays.indexOf(r), 1);
    await r.stop();
  };
  /** `n` single-event appends over a few streams; returns the event ids in append order. */
  const append = async (tenant: TenantId, n: number, data: Record<string, unknown> = {}) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      ids.push(id);
      await store.append(tenant, `${tenant}-s-${i % 3}`, [{ eventId: id, type: 'ServiceGranted', data: { i, ...data } }], 'any');
    }
    return ids;
  };
  const all = async (tenant: TenantId): Promise<RecordedEvent[]> => (await store.readAll(tenant, START, 10_000)).events;
  const deadLetters = async () => (await db.pool.query('SELECT * FROM projection_dead_letters')).rows;
  const checkpointRow = async (tenant: TenantId = A) =>
    (await db.pool.query('SELECT * FROM projection_checkpoints WHERE projection = $1 AND tenant_id = $2', [FORWARDER_PROJECTION_ID, tenant])).rows[0];
  const checkpointOf = async (tenant: TenantId = A) => {
    const row = await checkpointRow(tenant);
    return row ? `${row.transaction_id}-${row.global_position}` : undefined;
  };
  /** Terminates the forwarder's database session (the one holding its advisory lock), as a crash would. */
  const killRelaySession = () =>
    db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );

  it('publishes every event of each tenant to its topic in $all order, keyed by stream id, with the event in headers and value', async () => {
    const broker = new RecordingBroker();
    const r = relay(broker);
    await r.start();
    // A tenant registered after the start is picked up too.
    await registry.add({ id: B, name: 'Annen kommune', environment: 'test' });
    for (let i = 0; i < 12; i++) {
      await append(A, 1);
      await append(B, 1);
    }
    // Several events in one transaction, over two streams.
    await store.appendMany(A, [
      {
        streamId: 'multi-1',
        events: [{ eventId: randomUUID(), type: 'ServiceEnded', schemaVersion: 2, data: { why: 'done' }, metadata: { correlationId: 'corr-1', sourceSystem: 'epj' } }],
        expectedVersion: 0,
      },
      {
        streamId: 'multi-2',
        events: [
          { eventId: randomUUID(), type: 'ServiceGranted', data: {} },
          { eventId: randomUUID(), type: 'ServiceChanged', data: {} },
        ],
        expectedVersion: 0,
      },
    ]);
    // $all shows an event once no older transaction is open (ADR 0002); the forwarder's own batch
    // transaction may hold the horizon back for a moment, so wait for the last appends to show.
    await until(async () => (await all(A)).length === 15 && (await all(B)).length === 12);
    const eventsA = await all(A);
    const eventsB = await all(B);
    expect(eventsA).toHaveLength(15);
    await until(() => broker.on('fpi.events.313231593').length === 15 && broker.on('fpi.events.974760673').length === 12);

    expect(new Set(broker.delivered.map((d) => d.topic))).toEqual(new Set(['fpi.events.313231593', 'fpi.events.974760673']));
    for (const [topic, events] of [
      ['fpi.events.313231593', eventsA],
      ['fpi.events.974760673', eventsB],
    ] as const) {
      const got = broker.on(topic);
      // Exactly once when nothing fails, in the tenant's $all order.
      expect(got.map(eventIdOf)).toEqual(events.map((e) => e.eventId));
      got.forEach(({ message }, i) => {
        const e = events[i]!;
        expect(message.key).toBe(e.streamId);
        expect(message.headers).toEqual({
          'event-id': e.eventId,
          'event-type': e.type,
          'schema-version': String(e.schemaVersion),
          tenant: e.tenant,
          checkpoint: formatCheckpoint(e.checkpoint),
        });
        expect(JSON.parse(message.value!) as ForwardedEventValue).toEqual({
          eventId: e.eventId,
          tenant: e.tenant,
          streamId: e.streamId,
          streamPosition: e.streamPosition,
          type: e.type,
          schemaVersion: e.schemaVersion,
          data: e.data,
          metadata: e.metadata,
          recordedAt: e.recordedAt.toISOString(),
          checkpoint: formatCheckpoint(e.checkpoint),
        });
      });
    }
    const multi = broker.on('fpi.events.313231593').find((d) => d.message.key === 'multi-1')!;
    expect(multi.message.headers['schema-version']).toBe('2');
    expect(JSON.parse(multi.message.value!).metadata).toEqual({ correlationId: 'corr-1', sourceSystem: 'epj' });

    // The checkpoints and lag, as `npx fpi projections` shows them.
    await until(async () => (await checkpointOf(A)) === formatCheckpoint(eventsA.at(-1)!.checkpoint) && (await checkpointOf(B)) === formatCheckpoint(eventsB.at(-1)!.checkpoint));
    const status = await r.status();
    expect(status.map((s) => [s.tenant, s.status, s.eventsBehind, s.versionStatus])).toEqual([
      [A, 'running', 0, 'live'],
      [B, 'running', 0, 'live'],
    ]);
  });

  it('rides out a broker outage far longer than the runner retries: nothing lost, nothing dead-lettered, only the unacknowledged batch twice', async () => {
    const ids = await append(A, 30); // three batches of 10
    const broker = new RecordingBroker();
    const failures: number[] = [];
    const sessions: { state: string; backend_xmin: string | null }[] = [];
    // Call 2 (the second batch): the broker stores it but the ack is lost. Calls 3–9: unreachable.
    broker.after = async (call) => {
      if (call === 2) throw new Error('request timed out');
    };
    broker.before = async (call) => {
      if (call === 5) {
        // Mid-outage: the runner's batch transaction is open but has run nothing (no snapshot held).
        const { rows } = await db.pool.query(
          `SELECT state, backend_xmin::text FROM pg_stat_activity WHERE pid IN (
             SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))`,
        );
        sessions.push(...rows);
      }
      if (call >= 3 && call <= 9) throw new Error('connect ECONNREFUSED 127.0.0.1:9092');
    };
    const started = Date.now();
    let recoveredAfter = 0;
    relay(broker, FAST, { publishFailed: (_t, attempt) => failures.push(attempt), recovered: (_t, attempts) => (recoveredAfter = attempts) });
    await relays[0]!.start();
    await until(() => dedupe(broker.delivered).length === 30);
    expect(Date.now() - started).toBeGreaterThan(5 + 10); // longer than the runner's own retries

    expect(failures).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(recoveredAfter).toBe(9);
    expect(await deadLetters()).toEqual([]);
    expect(dedupe(broker.delivered).map(eventIdOf)).toEqual(ids);
    const twice = [...copies(broker.delivered)].filter(([, n]) => n > 1).map(([id]) => id);
    expect(twice).toEqual(ids.slice(10, 20)); // the batch whose ack was lost, and nothing else
    expect([...copies(broker.delivered).values()].every((n) => n <= 2)).toBe(true);
    expect(sessions).toEqual([{ state: 'idle in transaction', backend_xmin: null }]);
    await until(async () => (await checkpointRow())?.global_position === (await all(A)).at(-1)!.globalPosition);
    expect((await checkpointRow()).status).toBe('running');
  });

  it('a relay whose session dies after the ack and before the checkpoint commit publishes the batch again; a deduplicating consumer sees each event once', async () => {
    const ids = await append(A, 30);
    const broker = new RecordingBroker();
    let crashed = false;
    broker.after = async (_call, _topic, messages) => {
      if (!crashed && messages.some((m) => m.headers['event-id'] === ids[12])) {
        crashed = true;
        await killRelaySession();
      }
    };
    relay(broker);
    await relays[0]!.start();
    await until(() => dedupe(broker.delivered).length === 30);
    await until(async () => (await checkpointRow())?.global_position === (await all(A)).at(-1)!.globalPosition);
    expect(crashed).toBe(true);
    expect(dedupe(broker.delivered).map(eventIdOf)).toEqual(ids);
    const twice = [...copies(broker.delivered)].filter(([, n]) => n > 1).map(([id]) => id);
    expect(twice).toEqual(ids.slice(10, 20));
    expect(await deadLetters()).toEqual([]);
  });

  it('a relay stopped after the broker stored a batch but before the checkpoint commit: the next relay publishes it again, nothing else twice', async () => {
    const ids = await append(A, 30);
    const broker = new RecordingBroker();
    let hung = false;
    // Call 2: the broker stores the batch, then the process "dies" before it hears the ack.
    broker.after = (call) => (call === 2 ? ((hung = true), new Promise<void>(() => undefined)) : Promise.resolve());
    const first = relay(broker);
    await first.start();
    await until(() => hung);
    await stop(first); // must not hang on the publish in flight, nor dead-letter it
    expect(await deadLetters()).toEqual([]);
    expect((await checkpointRow()).status).toBe('running');
    const afterFirstBatch = (await all(A))[9]!;
    expect(await checkpointOf()).toBe(formatCheckpoint(afterFirstBatch.checkpoint));

    broker.after = async () => undefined;
    await relay(broker).start();
    await until(() => broker.delivered.length === 40);
    await until(async () => (await checkpointRow())?.global_position === (await all(A)).at(-1)!.globalPosition);
    expect(dedupe(broker.delivered).map(eventIdOf)).toEqual(ids);
    const twice = [...copies(broker.delivered)].filter(([, n]) => n > 1).map(([id]) => id);
    expect(twice).toEqual(ids.slice(10, 20));
  });

  it('stops promptly in the middle of an outage without dead-lettering or moving the checkpoint', async () => {
    await append(A, 5);
    const broker = new RecordingBroker();
    broker.before = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:9092');
    };
    const r = relay(broker);
    await r.start();
    await until(() => broker.calls >= 5);
    const t = Date.now();
    await stop(r);
    expect(Date.now() - t).toBeLessThan(2000);
    expect(await deadLetters()).toEqual([]);
    expect(await checkpointRow()).toMatchObject({ status: 'running', global_position: 0 });
    expect(broker.delivered).toEqual([]);
  });

  it('a restarted relay resumes from its checkpoint: committed batches are not published again', async () => {
    const first = await append(A, 20);
    const broker = new RecordingBroker();
    const r1 = relay(broker);
    await r1.start();
    await until(async () => (await checkpointOf()) === formatCheckpoint((await all(A)).at(-1)!.checkpoint));
    await stop(r1);
    expect(broker.delivered.map(eventIdOf)).toEqual(first);

    const later = await append(A, 7);
    const after = new RecordingBroker();
    await relay(after).start();
    await until(() => after.delivered.length >= 7);
    await until(async () => (await checkpointOf()) === formatCheckpoint((await all(A)).at(-1)!.checkpoint));
    await new Promise((r) => setTimeout(r, 200)); // a few more polls: still nothing old
    expect(after.delivered.map(eventIdOf)).toEqual(later);
  });

  it('a message the broker refuses for good pauses the forwarder at that event (dead letter), never skips it, and resumes when told', async () => {
    const before = await append(A, 4);
    const [poison] = await append(A, 1, { huge: true });
    const after = await append(A, 4);
    const broker = new RecordingBroker();
    let refuse = true;
    broker.before = async (_call, _topic, messages) => {
      if (refuse && messages.some((m) => JSON.parse(m.value ?? '{}').data.huge === true)) throw new PermanentPublishError('the broker refused the messages (MESSAGE_TOO_LARGE)');
    };
    const r = relay(broker);
    await r.start();
    await until(async () => (await checkpointRow())?.status === 'paused');
    expect((await deadLetters()).map((d) => [d.event_id, d.projection, d.error])).toEqual([
      [poison, FORWARDER_PROJECTION_ID, 'PermanentPublishError: the broker refused the messages (MESSAGE_TOO_LARGE)'],
    ]);
    expect(dedupe(broker.delivered).map(eventIdOf)).toEqual(before);
    const [status] = await r.status();
    expect(status).toMatchObject({ status: 'paused', openDeadLetters: 1, eventsBehind: 5 });

    refuse = false; // e.g. the broker's max.message.bytes was raised
    await r.resume(A);
    await until(() => dedupe(broker.delivered).length === 9);
    expect(dedupe(broker.delivered).map(eventIdOf)).toEqual([...before, poison, ...after]);
  });
});
