import type { Checkpoint } from './checkpoint.js';
import type {
  AppendResult,
  EventStore,
  Lag,
  ExpectedVersion,
  NewEvent,
  ReadAllResult,
  ReadStreamOptions,
  RecordedEvent,
  StreamAppend,
  StreamWithValue,
  StreamWithValueSql,
  WaitOptions,
} from './event-store.port.js';
import type { TenantId } from '#libs/tenancy';

/**
 * An event store over several stores, one per database: each call goes to the store of
 * the tenant it names (database per municipality). Every call names one tenant, so nothing
 * ever spans two databases.
 */
export class TenantRoutedEventStore implements EventStore {
  constructor(private readonly storeOf: (tenant: TenantId) => Promise<EventStore>) {}

  async append(tenant: TenantId, streamId: string, events: NewEvent[], expectedVersion: ExpectedVersion): Promise<AppendResult> {
    return (await this.storeOf(tenant)).append(tenant, streamId, events, expectedVersion);
  }
  async appendMany(tenant: TenantId, appends: StreamAppend[]): Promise<AppendResult[]> {
    return (await this.storeOf(tenant)).appendMany(tenant, appends);
  }
  async readStream(tenant: TenantId, streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return (await this.storeOf(tenant)).readStream(tenant, streamId, options);
  }
  /** The tenant's store's `readStreamWith` (every store this routes to is a PostgreSQL adapter, which has it). */
  async readStreamWith(tenant: TenantId, streamId: string, value: StreamWithValueSql): Promise<StreamWithValue> {
    const store = await this.storeOf(tenant);
    if (!store.readStreamWith) throw new Error(`the event store of tenant ${tenant} cannot read a stream with a value`);
    return store.readStreamWith(tenant, streamId, value);
  }
  async readStreams(tenant: TenantId, streamIds: string[]): Promise<Map<string, RecordedEvent[]>> {
    return (await this.storeOf(tenant)).readStreams(tenant, streamIds);
  }
  async readAll(tenant: TenantId, from: Checkpoint, limit: number): Promise<ReadAllResult> {
    return (await this.storeOf(tenant)).readAll(tenant, from, limit);
  }
  async head(tenant: TenantId): Promise<Checkpoint> {
    return (await this.storeOf(tenant)).head(tenant);
  }
  async lag(tenant: TenantId, from: Checkpoint): Promise<Lag> {
    return (await this.storeOf(tenant)).lag(tenant, from);
  }
  async waitForEvents(tenant: TenantId, options: WaitOptions): Promise<'notified' | 'timeout' | 'aborted'> {
    return (await this.storeOf(tenant)).waitForEvents(tenant, options);
  }
}
