import { BACKWARDS, END, KurrentDBClient, START as KURRENT_START, streamNameFilter, type AllStreamResolvedEvent, type AllStreamSubscription, type ReadPosition } from '@kurrent/kurrentdb-client';
import { type WaitOptions } from '#libs/event-store';
import { type TenantId } from '#libs/tenancy';
import { KurrentDbStreamNames } from './stream-names.js';

export type Waiter = () => void;

/**
 * One `$all` subscription per store, filtered server-side to the namespace's event streams,
 * shared by every waiter and routed by tenant. It starts from the position of the last
 * record in `$all` when it was opened (read first), not from "end", so an event committed
 * after the first `waitForEvents` resolved is never missed while the subscription connects.
 * A wake-up is only a hint: readers read from their checkpoint. If the subscription drops,
 * every waiter is woken (events may have been missed) and the next wait opens a new one.
 */
export class KurrentDbEventNotifier {
  private subscription: AllStreamSubscription | undefined;
  private starting: Promise<void> | undefined;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closed = false;

  constructor(
    private readonly client: KurrentDBClient,
    private readonly names: KurrentDbStreamNames,
  ) {}

  async wait(tenant: TenantId, options: WaitOptions): Promise<'notified' | 'timeout' | 'aborted'> {
    const { signal } = options;
    if (signal?.aborted) return 'aborted';
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    await Promise.race([this.ensureSubscribed().catch(() => undefined), aborted]); // failing: falls back to the timeout
    signal?.removeEventListener('abort', onAbort!);
    if (signal?.aborted) return 'aborted';
    return new Promise((resolve) => {
      let set = this.waiters.get(tenant);
      if (!set) this.waiters.set(tenant, (set = new Set()));
      const done = (result: 'notified' | 'timeout' | 'aborted') => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        set!.delete(waiter);
        if (set!.size === 0 && this.waiters.get(tenant) === set) this.waiters.delete(tenant);
        resolve(result);
      };
      const waiter: Waiter = () => done('notified');
      const abort = () => done('aborted');
      const timer = setTimeout(() => done('timeout'), options.timeoutMs);
      signal?.addEventListener('abort', abort, { once: true });
      set.add(waiter);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    const subscription = this.subscription;
    this.subscription = undefined;
    await subscription?.unsubscribe().catch(() => undefined);
  }

  private wake(tenant: string): void {
    for (const waiter of [...(this.waiters.get(tenant) ?? [])]) waiter();
  }

  private wakeAll(): void {
    for (const tenant of [...this.waiters.keys()]) this.wake(tenant);
  }

  private ensureSubscribed(): Promise<void> {
    if (this.subscription || this.closed) return Promise.resolve();
    this.starting ??= this.subscribe().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async subscribe(): Promise<void> {
    const head = await this.headPosition();
    if (this.closed) return;
    const subscription = this.client.subscribeToAll({
      fromPosition: head,
      filter: streamNameFilter({ regex: this.names.eventStreamsRegex(), checkpointInterval: 1000 }),
    });
    subscription.on('data', (resolved: AllStreamResolvedEvent) => {
      const tenant = resolved.event ? this.names.tenantOfEventStream(resolved.event.streamId) : undefined;
      if (tenant) this.wake(tenant);
    });
    const drop = () => {
      if (this.subscription !== subscription) return;
      this.subscription = undefined;
      subscription.unsubscribe().catch(() => undefined);
      this.wakeAll();
    };
    subscription.on('error', drop);
    subscription.on('end', drop);
    subscription.on('close', drop);
    this.subscription = subscription;
    // Correctness rests on the start position; the confirmation only makes the first
    // wait return once the server has the subscription (bounded, in case it never comes).
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      timer.unref();
      subscription.once('confirmation', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The position of the last record in `$all`, or START for an empty database. */
  private async headPosition(): Promise<ReadPosition> {
    let head: ReadPosition = KURRENT_START;
    for await (const resolved of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1, requiresLeader: true })) {
      const position = resolved.event?.position ?? resolved.link?.position;
      if (position) head = { commit: BigInt(position.commit), prepare: BigInt(position.prepare) };
    }
    return head;
  }
}
