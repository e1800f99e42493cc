import { EventEmitter } from 'node:events';
import { context, ROOT_CONTEXT, trace, type Span } from '@opentelemetry/api';
import { isTracingSuppressed, suppressTracing } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { LiveSpanCounter, SampledContextManager } from './sampled-context-manager.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('SampledContextManager: AsyncLocalStorage only while a trace is recorded', () => {
  const manager = new SampledContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new LiveSpanCounter(manager), new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('test');

  beforeAll(() => {
    context.setGlobalContextManager(manager);
  });
  afterAll(async () => {
    context.disable();
    await provider.shutdown();
  });
  beforeEach(async () => {
    exporter.reset();
    await nextTurn();
  });

  const parentOf = (name: string) => exporter.getFinishedSpans().find((s) => s.name === name)?.parentSpanContext?.spanId;

  it("carries a recorded span's context across awaits, timers and a bound emitter while the span is live", async () => {
    const emitter = new EventEmitter();
    let root: Span | undefined;
    await tracer.startActiveSpan('request', async (span) => {
      root = span;
      await null;
      tracer.startSpan('after await').end();
      await sleep(5);
      tracer.startSpan('after timer').end();
      context.bind(context.active(), emitter);
      span.end();
    });
    // Emitted outside the span's async chain: the bound listener still runs in its context.
    await new Promise<void>((resolve) => {
      emitter.on('data', () => {
        tracer.startSpan('in listener').end();
        resolve();
      });
      setImmediate(() => context.with(ROOT_CONTEXT, () => emitter.emit('data')));
    });
    const id = root!.spanContext().spanId;
    expect([parentOf('after await'), parentOf('after timer'), parentOf('in listener')]).toEqual([id, id, id]);
  });

  it('enters no storage for a context without a span when none is active, and binds nothing to it', async () => {
    expect(manager.storageInUse).toBe(false);
    const listener = () => undefined;
    const seen = context.with(suppressTracing(ROOT_CONTEXT), () => {
      expect(context.bind(context.active(), listener)).toBe(listener);
      return context.active();
    });
    await context.with(suppressTracing(ROOT_CONTEXT), async () => {
      await null;
      expect(trace.getSpan(context.active())).toBeUndefined();
    });
    expect(seen).toBe(ROOT_CONTEXT);
    expect(manager.storageInUse).toBe(false);
  });

  it('releases the storage on the turn after the last recorded span ended, not while another is live', async () => {
    const first = tracer.startSpan('first');
    const second = tracer.startSpan('second');
    let inSecond: string | undefined;
    const pending = context.with(trace.setSpan(ROOT_CONTEXT, second), async () => {
      await sleep(10);
      inSecond = trace.getSpan(context.active())?.spanContext().spanId;
    });
    expect(manager.storageInUse).toBe(true);
    first.end();
    await nextTurn();
    expect(manager.storageInUse).toBe(true);
    await pending;
    expect(inSecond).toBe(second.spanContext().spanId);
    second.end();
    expect(manager.storageInUse).toBe(true);
    await nextTurn();
    expect(manager.storageInUse).toBe(false);
    expect(context.active()).toBe(ROOT_CONTEXT);
    // A later trace takes the storage again.
    await tracer.startActiveSpan('later', async (span) => {
      await sleep(1);
      tracer.startSpan('later child').end();
      span.end();
    });
    expect(parentOf('later child')).toBe(
      exporter
        .getFinishedSpans()
        .find((s) => s.name === 'later')
        ?.spanContext().spanId,
    );
  });

  it('replaces an active context rather than skipping it: the root context entered inside a trace has no span, a suppressed one keeps the flag', async () => {
    await tracer.startActiveSpan('outer', async (span) => {
      const inner = context.with(suppressTracing(context.active()), () => ({ span: trace.getSpan(context.active()), suppressed: isTracingSuppressed(context.active()) }));
      const bare = context.with(ROOT_CONTEXT, () => trace.getSpan(context.active()));
      expect(inner.suppressed).toBe(true);
      expect(inner.span).toBe(span);
      expect(bare).toBeUndefined();
      span.end();
    });
  });
});
