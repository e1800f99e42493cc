import type { Checkpoint } from './checkpoint.js';
import { EventStoreError } from './errors.js';
import type { AppendResult, EventStore, ExpectedVersion, Lag, NewEvent, ReadAllResult, ReadStreamOptions, RecordedEvent, StreamAppend, WaitOptions } from './event-store.port.js';
import type { TenantId } from '#libs/tenancy';

/** What the instrumentation needs of a metrics backend (prom-client in the app). */
export interface AppendMetrics {
  appends: { inc(labels: { outcome: string }): void };
  appendedEvents: { inc(value: number): void };
  appendSeconds: { observe(seconds: number): void };
}

/** Decorates any event-store adapter with append counts, latency and conflict metrics. */
export class InstrumentedEventStore implements EventStore {
  /** The inner store's, when it has one (a store on PostgreSQL): passed through unchanged. */
  readonly readStreamWith?: EventStore['readStreamWith'];

  constructor(
    private readonly inner: EventStore,
    private readonly metrics: AppendMetrics,
  ) {
    if (inner.readStreamWith) this.readStreamWith = inner.readStreamWith.bind(inner);
  }

  async append(tenant: TenantId, streamId: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    const started = process.hrtime.bigint();
    try {
      const result = await this.inner.append(tenant, streamId, events, expected);
      this.metrics.appends.inc({ outcome: result.outcome });
      if (result.outcome === 'appended') this.metrics.appendedEvents.inc(events.length);
      return result;
    } catch (error) {
      const conflict = error instanceof EventStoreError && /conflict|expected_version/.test(error.code);
      this.metrics.appends.inc({ outcome: conflict ? 'conflict' : 'error' });
      throw error;
    } finally {
      this.metrics.appendSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  async appendMany(tenant: TenantId, appends: StreamAppend[]): Promise<AppendResult[]> {
    const started = process.hrtime.bigint();
    try {
      const results = await this.inner.appendMany(tenant, appends);
      this.metrics.appends.inc({ outcome: 'appended' });
      this.metrics.appendedEvents.inc(appends.reduce((n, a) => n + a.events.length, 0));
      return results;
    } catch (error) {
      this.metrics.appends.inc({ outcome: error instanceof EventStoreError ? 'conflict' : 'error' });
      throw error;
    } finally {
      this.metrics.appendSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  readStreams(tenant: TenantId, streamIds: string[]): Promise<Map<string, RecordedEvent[]>> {
    return this.inner.readStreams(tenant, streamIds);
  }

  readStream(tenant: TenantId, streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.inner.readStream(tenant, streamId, options);
  }

  readAll(tenant: TenantId, from: Checkpoint, limit: number): Promise<ReadAllResult> {
    return this.inner.readAll(tenant, from, limit);
  }

  head(tenant: TenantId): Promise<Checkpoint> {
    return this.inner.head(tenant);
  }

  lag(tenant: TenantId, from: Checkpoint): Promise<Lag> {
    return this.inner.lag(tenant, from);
  }

  waitForEvents(tenant: TenantId, options: WaitOptions): Promise<'notified' | 'timeout' | 'aborted'> {
    return this.inner.waitForEvents(tenant, options);
  }
}
