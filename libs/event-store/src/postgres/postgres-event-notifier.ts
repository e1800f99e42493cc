import pg from 'pg';
import type { WaitOptions } from '../event-store.port.js';

export const EVENTS_CHANNEL = 'fpi_events';
/** Cross-process wake-ups are coalesced to one NOTIFY per tenant per interval. */
export const NOTIFY_INTERVAL_MS = 10;

type Waiter = (result: 'notified') => void;

/**
 * One LISTEN connection per process, shared by every waiter. A notification is only a
 * wake-up hint; readers still read from their checkpoint, and waiters time out into a
 * poll, so a lost notification (reconnect, restart) delays but never loses an event.
 */
export class PostgresEventNotifier {
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closed = false;
  /** Tenants with a NOTIFY in flight, and those that need one more after it. */
  private readonly notifying = new Set<string>();
  private readonly notifyAgain = new Set<string>();

  constructor(
    private readonly pool: Pick<pg.Pool, 'query'>,
    private readonly connection?: string | pg.ClientConfig,
  ) {}

  async wait(tenant: string, options: WaitOptions): Promise<'notified' | 'timeout' | 'aborted'> {
    if (options.signal?.aborted) return 'aborted';
    await this.ensureListening().catch(() => undefined); // falls back to the timeout
    if (options.signal?.aborted) return 'aborted';
    return new Promise((resolve) => {
      let set = this.waiters.get(tenant);
      if (!set) this.waiters.set(tenant, (set = new Set()));
      const done = (result: 'notified' | 'timeout' | 'aborted') => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        set!.delete(waiter);
        resolve(result);
      };
      const waiter: Waiter = () => done('notified');
      const onAbort = () => done('aborted');
      const timer = setTimeout(() => done('timeout'), options.timeoutMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      set.add(waiter);
    });
  }

  /**
   * Tells waiters that the tenant has new committed events: this process's waiters at once,
   * other processes through NOTIFY, at most one per tenant per `NOTIFY_INTERVAL_MS` (the
   * first after a quiet spell goes out at once). NOTIFY is kept out of the append
   * transaction because PostgreSQL serialises the commits of notifying transactions,
   * which would cap concurrent append throughput.
   */
  announce(tenant: string): void {
    this.wake(tenant);
    this.notifyOtherProcesses(tenant);
  }

  private notifyOtherProcesses(tenant: string): void {
    if (this.notifying.has(tenant)) {
      this.notifyAgain.add(tenant);
      return;
    }
    this.notifying.add(tenant);
    this.pool
      .query({ name: 'fpi_notify', text: 'SELECT pg_notify($1, $2)', values: [EVENTS_CHANNEL, tenant] })
      .catch(() => undefined) // waiters elsewhere fall back to polling
      .finally(() => {
        setTimeout(() => {
          this.notifying.delete(tenant);
          if (this.notifyAgain.delete(tenant) && !this.closed) this.notifyOtherProcesses(tenant);
        }, NOTIFY_INTERVAL_MS).unref();
      });
  }

  private wake(tenant: string): void {
    for (const waiter of [...(this.waiters.get(tenant) ?? [])]) waiter('notified');
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private ensureListening(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<void> {
    if (!this.connection) throw new Error('no connection settings to LISTEN with');
    const client = new pg.Client(typeof this.connection === 'string' ? { connectionString: this.connection } : this.connection);
    client.on('notification', (msg) => {
      if (msg.channel === EVENTS_CHANNEL && msg.payload) this.wake(msg.payload);
    });
    const drop = () => {
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
    };
    client.on('error', drop);
    client.on('end', drop);
    await client.connect();
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
  }
}
