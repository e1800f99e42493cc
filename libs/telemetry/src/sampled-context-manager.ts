/**
 * A context manager that pays for AsyncLocalStorage only while a sampled trace is being
 * recorded. Loaded by `startTracing` only (it imports the SDK's context manager).
 *
 * Why: on Node 20 an AsyncLocalStorage that has been entered once installs promise hooks that
 * run on every promise of the process, traced or not, until it is disabled (Node 22's
 * AsyncContextFrame removes that cost; Node 20 does not have it). With head sampling at 1 %,
 * the other 99 % of requests paid for those hooks all the same (measured: 1.3x the server CPU of
 * tracing off, most of the cost of tracing). Here:
 * - entering a context that holds no span (the HTTP instrumentation's suppressed context for a
 *   request the head sampling turned down, the exporter's own work) while no context is active
 *   runs the function directly, and binding one leaves the function or emitter as it is: nothing of the trace machinery is needed there, because every
 *   instrumentation we start skips work outside a recorded span (pg `requireParentSpan`, the
 *   Fastify instrumentation's `ignorePaths`, our `inSpan`);
 * - any other context is entered through AsyncLocalStorage, exactly as the SDK's own
 *   `AsyncLocalStorageContextManager` does;
 * - when the last recorded span of the process has ended (`LiveSpanCounter`), the storage is
 *   disabled on the next turn of the event loop, which removes its promise hooks until a
 *   sampled trace enters a context again.
 *
 * What that changes: a context with no span loses what else it carries (the suppression flag,
 * baggage) when entered outside any context. Nothing here reads those outside a trace: outgoing
 * HTTP is not instrumented and baggage is not propagated. Work that a trace leaves running after
 * its last span has ended (none of ours) would find no active context and start no child span.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

export class SampledContextManager extends AsyncLocalStorageContextManager {
  /** Ours, not the parent's (whose storage is never entered): the parent keeps it private. */
  private readonly storage = new AsyncLocalStorage<Context>();
  private releasePending = false;
  private entered = false;

  /** Recorded spans started and not yet ended, process-wide (kept by `LiveSpanCounter`). */
  liveSpans = 0;

  /** Whether the storage (and with it, on Node 20, a promise hook on every promise) is in use. */
  get storageInUse(): boolean {
    return this.entered;
  }

  override active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  /** Whether entering `context` here can be skipped: it holds no span, and no context is active to replace. */
  private needless(context: Context): boolean {
    return trace.getSpan(context) === undefined && this.storage.getStore() === undefined;
  }

  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    // Nothing to carry, and nothing to restore: no store is active here (a leaked or an
    // outer context would have to be replaced, so those go through the storage).
    if (this.needless(context)) return fn.apply(thisArg, args);
    this.entered = true;
    return this.storage.run(context, thisArg == null ? fn : fn.bind(thisArg), ...args);
  }

  /**
   * `target` (a function, an event emitter) bound to `context`; left as it is under the same
   * condition as `with` (the HTTP instrumentation binds each request and response it turns down).
   */
  override bind<T>(context: Context, target: T): T {
    return this.needless(context) ? target : super.bind(context, target);
  }

  override attach(context: Context): { dispose(): void } {
    const previous = this.active();
    this.entered = true;
    this.storage.enterWith(context);
    let disposed = false;
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        this.storage.enterWith(previous);
      },
    };
  }

  override disable(): this {
    this.release();
    return this;
  }

  private release(): void {
    this.storage.disable();
    this.entered = false;
  }

  /** Called when the live recorded spans reach 0: disables the storage on the next turn if none started since. */
  idle(): void {
    if (this.releasePending) return;
    this.releasePending = true;
    setImmediate(() => {
      this.releasePending = false;
      if (this.liveSpans === 0) this.release();
    });
  }
}

/** Counts the recorded spans alive in the process for `manager`: one of the tracer provider's span processors. */
export class LiveSpanCounter implements SpanProcessor {
  constructor(private readonly manager: SampledContextManager) {}

  // The SDK calls both for every span it records (a span not sampled never reaches a processor).
  onStart(_span: Span): void {
    this.manager.liveSpans++;
  }

  onEnd(_span: ReadableSpan): void {
    if (--this.manager.liveSpans === 0) this.manager.idle();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
