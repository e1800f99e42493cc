import pg from 'pg';
import type { WaitOptions } from '../event-store.port.js';

export const EVENTS_CHANNEL = 'fpi_events';

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

  constructor(private readonly pool: pg.Pool, private readonly connectionString?: string) {}

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
    const options = this.pool.options as pg.ClientConfig;
    const client = new pg.Client(this.connectionString ? { connectionString: this.connectionString } : options);
    client.on('notification', (msg) => {
      if (msg.channel !== EVENTS_CHANNEL || !msg.payload) return;
      for (const waiter of [...(this.waiters.get(msg.payload) ?? [])]) waiter('notified');
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
