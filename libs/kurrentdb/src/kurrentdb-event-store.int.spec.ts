import { randomBytes, randomUUID } from 'node:crypto';
import { ANY, KurrentDBClient, NO_STREAM, STREAM_EXISTS } from '@kurrent/kurrentdb-client';
import { compareCheckpoints, InvalidAppendError, START, validateAppendRequest, type Checkpoint, type NewEvent, type RecordedEvent } from '#libs/event-store';
import { event, eventStoreContract } from '../../event-store/src/testing/event-store.contract.js';
import { tenantId, type TenantId } from '#libs/tenancy';
import {
  KURRENT_METADATA_KEY,
  KURRENT_SCHEMA_VERSION_KEY,
  KurrentDbEventStore,
  KurrentDbStreamNames,
  KurrentDbTenantRegistry,
  canonicalJson,
  checkpointFromPosition,
  claimOf,
  contiguousRuns,
  decodeEventData,
  decodeEventMetadata,
  encodeEventMetadata,
  eventFingerprint,
  eventsAfter,
  judgeClaims,
  parseClaim,
  planAppend,
  positionFromCheckpoint,
  streamStateFor,
  versionHolds,
  versionOfRevision,
} from './adapter.js';

const KURRENTDB_URL = process.env.KURRENTDB_URL;

if (KURRENTDB_URL) {
  eventStoreContract('KurrentDB', async () => {
    // A namespace per run: the server keeps its data between runs, the tenant ids repeat.
    const namespace = `fpi-test-${randomBytes(6).toString('hex')}`;
    const client = KurrentDBClient.connectionString(KURRENTDB_URL);
    const tenants = new KurrentDbTenantRegistry(client, { namespace });
    const store = new KurrentDbEventStore(client, { namespace, tenants, ownsClient: false });
    const extra: KurrentDbEventStore[] = [];
    return {
      store,
      addTenant: async (id) => void (await tenants.add({ id, name: 'Contract kommune', environment: 'test' })),
      withUpcasters: (upcasters) => {
        const s = new KurrentDbEventStore(client, { namespace, tenants, upcasters, ownsClient: false });
        extra.push(s);
        return s;
      },
      holdAppend: (tenant: TenantId, streamId: string, events: NewEvent[]) => {
        // KurrentDB assigns `$all` positions when it commits: no append can hold a position
        // uncommitted, so the late-commit window the contract guards against does not exist
        // here. The only schedule possible is "positioned = committed": the append is done
        // when `positioned` resolves and `commit()` has nothing left to do. (Appending only
        // in `commit()` would give the slow event the later position, which the contract's
        // scenario does not describe.)
        const positioned = store.append(tenant, streamId, events, 'any').then(() => undefined);
        return { positioned, commit: () => positioned };
      },
      teardown: async () => {
        await Promise.all([store, ...extra].map((s) => s.close()));
        await client.dispose();
      },
    };
  });
} else {
  describe.skip('KurrentDB contract (set KURRENTDB_URL to run against docker/compose.scale-out.yml)', () => {
    it('runs the shared EventStore contract against a KurrentDB ≥ 25.1 server', () => undefined);
  });
}

/** Pure parts of the adapter: these run without a server. */
describe('KurrentDB adapter mapping', () => {
  const tenant = tenantId('313231593');
  const other = tenantId('313231594');

  describe('stream names', () => {
    const names = new KurrentDbStreamNames('fpi');

    it('prefixes each tenant and kind so that a prefix selects exactly one tenant’s event streams', () => {
      expect(names.eventStream(tenant, 'Decision/a/1')).toBe('fpi.313231593.e.Decision/a/1');
      expect(names.eventStreamPrefix(tenant)).toBe('fpi.313231593.e.');
      const prefix = names.eventStreamPrefix(tenant);
      const others = [names.eventStream(other, 's'), names.claimStream(tenant, randomUUID()), names.tenantsStream(), new KurrentDbStreamNames('fpi-x').eventStream(tenant, 's')];
      for (const name of others) expect(name.startsWith(prefix)).toBe(false);
      expect(names.eventStream(tenant, '.e.x').startsWith(prefix)).toBe(true);
    });

    it('maps stream names back to stream ids and tenants', () => {
      expect(names.streamIdOf(tenant, names.eventStream(tenant, 'a.b/c'))).toBe('a.b/c');
      expect(names.streamIdOf(tenant, names.eventStream(other, 's'))).toBeUndefined();
      expect(names.streamIdOf(tenant, names.claimStream(tenant, randomUUID()))).toBeUndefined();
      expect(names.tenantOfEventStream(names.eventStream(other, 's'))).toBe(other);
      expect(names.tenantOfEventStream(names.claimStream(tenant, randomUUID()))).toBeUndefined();
      expect(names.tenantOfEventStream('fpi.tenants')).toBeUndefined();
      expect(names.tenantOfEventStream('other.313231593.e.s')).toBeUndefined();
    });

    it('has a server-side regex for every tenant’s event streams of the namespace only', () => {
      const regex = new RegExp(new KurrentDbStreamNames('fpi-test-ab12').eventStreamsRegex());
      expect(regex.test('fpi-test-ab12.313231593.e.s')).toBe(true);
      expect(regex.test('fpi-test-ab12.313231593.id.x')).toBe(false);
      expect(regex.test('fpi-test-ab12.tenants')).toBe(false);
      expect(regex.test('fpi.313231593.e.s')).toBe(false);
      expect(regex.test('fpi-test-ab12x313231593.e.s')).toBe(false);
    });

    it('claims event ids case-insensitively', () => {
      const id = randomUUID();
      expect(names.claimStream(tenant, id.toUpperCase())).toBe(`fpi.313231593.id.${id}`);
    });

    it('refuses namespaces that could collide and malformed tenant ids', () => {
      for (const bad of ['', 'a.b', 'A', '1a', 'a b', 'a$']) expect(() => new KurrentDbStreamNames(bad)).toThrow();
      expect(() => names.eventStream('12345' as TenantId, 's')).toThrow();
    });
  });

  describe('checkpoints', () => {
    it('maps commit to transactionId and prepare to globalPosition, and back', () => {
      const c = checkpointFromPosition({ commit: 9_000_000_123n, prepare: 9_000_000_001n });
      expect(c).toEqual({ transactionId: 9_000_000_123n, globalPosition: 9_000_000_001 });
      expect(positionFromCheckpoint(c)).toEqual({ commit: 9_000_000_123n, prepare: 9_000_000_001n });
      expect(checkpointFromPosition({ commit: 5, prepare: 4 })).toEqual({ transactionId: 5n, globalPosition: 4 });
    });

    it('reads from the beginning for START', () => {
      expect(positionFromCheckpoint(START)).toBe('start');
    });

    it('orders checkpoints as $all orders positions (commit, then prepare)', () => {
      const positions = [
        { commit: 100n, prepare: 100n },
        { commit: 200n, prepare: 150n },
        { commit: 200n, prepare: 180n },
        { commit: 300n, prepare: 120n },
      ];
      const checkpoints = positions.map(checkpointFromPosition);
      for (let i = 1; i < checkpoints.length; i++) expect(compareCheckpoints(checkpoints[i - 1]!, checkpoints[i]!)).toBeLessThan(0);
    });

    it('pages strictly after the checkpoint (the server read includes it)', () => {
      const at = (commit: bigint, prepare: number): RecordedEvent => ({ checkpoint: { transactionId: commit, globalPosition: prepare } }) as RecordedEvent;
      const from: Checkpoint = { transactionId: 200n, globalPosition: 150 };
      const read = [at(200n, 150), at(200n, 180), at(300n, 120), at(400n, 400)];
      expect(eventsAfter(read, from, 2).map((e) => e.checkpoint)).toEqual([read[1]!.checkpoint, read[2]!.checkpoint]);
      expect(eventsAfter(read, START, 10)).toHaveLength(4);
      expect(eventsAfter([at(200n, 150)], from, 10)).toEqual([]);
    });
  });

  describe('expected versions', () => {
    it('maps to the client’s stream states with revision = position - 1', () => {
      expect(streamStateFor('any')).toBe(ANY);
      expect(streamStateFor('no_stream')).toBe(NO_STREAM);
      expect(streamStateFor('stream_exists')).toBe(STREAM_EXISTS);
      expect(streamStateFor(0)).toBe(NO_STREAM);
      expect(streamStateFor(1)).toBe(0n);
      expect(streamStateFor(42)).toBe(41n);
      expect(versionOfRevision(0n)).toBe(1);
      expect(versionOfRevision(41n)).toBe(42);
    });

    it('plans every append at an exact revision, so claims know their positions', () => {
      expect(planAppend(3)).toEqual({ base: 3, streamState: 2n });
      expect(planAppend(0)).toEqual({ base: 0, streamState: NO_STREAM });
      expect(planAppend('no_stream')).toEqual({ base: 0, streamState: NO_STREAM });
      expect(planAppend('any', 'no_stream')).toEqual({ base: 0, streamState: NO_STREAM });
      expect(planAppend('any', 4)).toEqual({ base: 4, streamState: 3n });
      expect(planAppend('stream_exists', 4)).toEqual({ base: 4, streamState: 3n });
      expect(planAppend('stream_exists', 'no_stream')).toEqual({ refused: true });
      expect(() => planAppend('any')).toThrow();
    });

    it('tells whether an expectation holds for the actual version', () => {
      expect(versionHolds('no_stream', 'no_stream')).toBe(true);
      expect(versionHolds(0, 'no_stream')).toBe(true);
      expect(versionHolds('no_stream', 1)).toBe(false);
      expect(versionHolds(3, 3)).toBe(true);
      expect(versionHolds(3, 4)).toBe(false);
      expect(versionHolds(5, 'no_stream')).toBe(false);
      expect(versionHolds('stream_exists', 'no_stream')).toBe(false);
      expect(versionHolds('stream_exists', 2)).toBe(true);
      expect(versionHolds('any', 'no_stream')).toBe(true);
    });
  });

  describe('duplicate detection', () => {
    const e = { ...event('A', { v: 1, nested: { a: 1, b: [1, 2] } }), schemaVersion: 1 };

    it('fingerprints data regardless of key order, and by stream, type and schema version', () => {
      expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 2 }] } })).toBe('{"a":{"c":[3,{"e":2,"f":1}],"d":2},"b":1}');
      const f = eventFingerprint('s', e);
      expect(eventFingerprint('s', { ...e, data: { nested: { b: [1, 2], a: 1 }, v: 1 } })).toEqual(f);
      expect(eventFingerprint('s', { ...e, schemaVersion: undefined })).toEqual(f); // defaults to 1
      expect(eventFingerprint('s', { ...e, metadata: { correlationId: 'retry' } })).toEqual(f); // metadata is not payload
      for (const changed of [
        eventFingerprint('other', e),
        eventFingerprint('s', { ...e, type: 'B' }),
        eventFingerprint('s', { ...e, schemaVersion: 2 }),
        eventFingerprint('s', { ...e, data: { v: 2 } }),
        eventFingerprint('s', { ...e, data: { nested: { a: 1, b: [2, 1] }, v: 1 } }),
      ]) {
        expect(changed).not.toEqual(f);
      }
    });

    it('round-trips claims and ignores records that are not claims', () => {
      const claim = claimOf(e.eventId.toUpperCase(), 7, eventFingerprint('s', e));
      expect(claim.eventId).toBe(e.eventId.toLowerCase());
      expect(parseClaim(JSON.parse(JSON.stringify(claim)))).toEqual(claim);
      expect(parseClaim({ streamId: 's' })).toBeUndefined();
      expect(parseClaim(null)).toBeUndefined();
    });

    const wantedOf = (stream: string, events: NewEvent[]) => events.map((x) => ({ eventId: x.eventId, fingerprint: eventFingerprint(stream, x) }));

    it('judges a refused append by its claims: none, duplicate, conflict', () => {
      const a = event('A', { a: 1 });
      const b = event('B', { b: 1 });
      const wanted = wantedOf('s', [a, b]);
      const stored = [claimOf(a.eventId, 2, eventFingerprint('s', a)), claimOf(b.eventId, 3, eventFingerprint('s', b))];
      expect(judgeClaims(wanted, [undefined, undefined])).toEqual({ kind: 'none' });
      expect(judgeClaims(wanted, stored)).toEqual({ kind: 'duplicate', claims: stored });
      // Case-insensitive ids: the claim is found by the lower-case stream name.
      expect(judgeClaims(wantedOf('s', [{ ...a, eventId: a.eventId.toUpperCase() }]), [stored[0]])).toEqual({ kind: 'duplicate', claims: [stored[0]] });
      // Partly stored: a conflict naming the stored id.
      expect(judgeClaims(wanted, [stored[0], undefined])).toEqual({ kind: 'conflict', eventIds: [a.eventId] });
      // Another payload, type, schema version or stream: a conflict naming the clashing id.
      const clash = wantedOf('s', [{ ...a, data: { a: 2 } }, b]);
      expect(judgeClaims(clash, stored)).toEqual({ kind: 'conflict', eventIds: [a.eventId] });
      expect(judgeClaims(wantedOf('other', [a]), [stored[0]])).toEqual({ kind: 'conflict', eventIds: [a.eventId] });
      expect(judgeClaims(wantedOf('s', [{ ...a, schemaVersion: 2 }]), [stored[0]])).toEqual({ kind: 'conflict', eventIds: [a.eventId] });
    });

    it('returns duplicate claims in stream order', () => {
      const a = event();
      const b = event();
      const stored = [claimOf(a.eventId, 9, eventFingerprint('s', a)), claimOf(b.eventId, 4, eventFingerprint('s', b))];
      const verdict = judgeClaims(wantedOf('s', [a, b]), stored);
      expect(verdict.kind === 'duplicate' && verdict.claims.map((c) => c.streamPosition)).toEqual([4, 9]);
    });

    it('reads claimed positions in runs of consecutive positions', () => {
      expect(contiguousRuns([3, 1, 2, 7, 9, 8, 8])).toEqual([
        { from: 1, count: 3 },
        { from: 7, count: 3 },
      ]);
      expect(contiguousRuns([])).toEqual([]);
    });
  });

  describe('event encoding', () => {
    it('stores metadata and schema version as string values (what multi-stream appends accept)', () => {
      const encoded = encodeEventMetadata(2, { correlationId: 'c', sourceSystem: 'epj', nested: { n: 1 } });
      for (const value of Object.values(encoded)) expect(typeof value).toBe('string');
      expect(decodeEventMetadata(encoded)).toEqual({ schemaVersion: 2, metadata: { correlationId: 'c', sourceSystem: 'epj', nested: { n: 1 } } });
    });

    it('reads what the v1 API returns for protocol-v2 records, bytes, and foreign events', () => {
      const v2 = { '$schema.name': 'A', '$schema.format': 'Json', ...encodeEventMetadata(3, { clientId: 'x' }) };
      expect(decodeEventMetadata(v2)).toEqual({ schemaVersion: 3, metadata: { clientId: 'x' } });
      expect(decodeEventMetadata(new TextEncoder().encode(JSON.stringify(v2)))).toEqual({ schemaVersion: 3, metadata: { clientId: 'x' } });
      expect(decodeEventMetadata(undefined)).toEqual({ schemaVersion: 1, metadata: {} });
      expect(decodeEventMetadata({ [KURRENT_SCHEMA_VERSION_KEY]: 'x', [KURRENT_METADATA_KEY]: 'not json' })).toEqual({ schemaVersion: 1, metadata: {} });
      expect(decodeEventData(new TextEncoder().encode('{"a":1}'))).toEqual({ a: 1 });
      expect(decodeEventData([...new TextEncoder().encode('{"a":1}')])).toEqual({ a: 1 });
      expect(decodeEventData({ a: 1 })).toEqual({ a: 1 });
      expect(decodeEventData([1])).toEqual({});
    });

    it('validates appends like the PostgreSQL adapter', () => {
      const e = event();
      expect(() => validateAppendRequest('s', [e], 'any')).not.toThrow();
      for (const [streamId, events, expected] of [
        ['s', [], 'any'],
        ['', [e], 'any'],
        ['x'.repeat(201), [e], 'any'],
        ['s', [{ ...e, eventId: 'not-a-uuid' }], 'any'],
        ['s', [e, { ...e, eventId: e.eventId.toUpperCase() }], 'any'],
        ['s', [e], -1],
        ['s', [e], 1.5],
        ['s', [e], 'sometimes'],
        ['s', [{ ...e, schemaVersion: 0 }], 'any'],
        ['s', [{ ...e, data: [] as never }], 'any'],
        ['s', [{ ...e, type: '' }], 'any'],
      ] as const) {
        expect(() => validateAppendRequest(streamId, events as unknown as NewEvent[], expected as never)).toThrow(InvalidAppendError);
      }
    });
  });

  describe('without a server', () => {
    it('rejects malformed appends and answers an aborted wait without connecting', async () => {
      // Nothing listens on this port; neither call may reach the network.
      const store = KurrentDbEventStore.connect('kurrentdb://127.0.0.1:1?tls=false', { namespace: 'fpi-offline' });
      try {
        await expect(store.append(tenant, 's', [], 'any')).rejects.toBeInstanceOf(InvalidAppendError);
        const controller = new AbortController();
        controller.abort();
        expect(await store.waitForEvents(tenant, { timeoutMs: 10_000, signal: controller.signal })).toBe('aborted');
        await expect(store.appendMany(tenant, [])).resolves.toEqual([]);
      } finally {
        await store.close();
      }
    });
  });
});
