/**
 * OpenTelemetry traces (the official Node SDK): HTTP server spans (instrumentation-http), the
 * Fastify request, its hooks and the route handler (@fastify/otel, Fastify's own OpenTelemetry
 * instrumentation; the nestjs-core instrumentation stops before Nest 12), one span per PostgreSQL statement
 * (instrumentation-pg), and our own spans around the decider, the append and each projection
 * batch (`inSpan`). Exported over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT. Traces only: the
 * SDK's OTLP metrics and logs are not started (metrics are Prometheus' /metrics, logs are pino's).
 *
 * Sampled at the head (head-sampling.ts): by default 1 % of the traces that start here, and every
 * request whose caller sampled it (parentbased_traceidratio); OTEL_TRACES_SAMPLER and
 * OTEL_TRACES_SAMPLER_ARG set another rule (parentbased_always_on: every request). A request not
 * sampled is skipped by the instrumentations (see there for why), and runs outside
 * AsyncLocalStorage: the context manager (sampled-context-manager.ts, ADR 0016) enters it only
 * while a sampled trace is recorded, so Node 20's promise hooks are off the rest of the time.
 *
 * Off unless that endpoint is set: then nothing of the SDK is even loaded and `inSpan` calls its
 * function directly (no context manager, no AsyncLocalStorage on the request path).
 *
 * Start order: instrumentations patch modules as they are loaded, so `startTracing` runs before
 * anything imports Fastify, Nest or pg. Each deployable's main.ts reads its settings, awaits
 * `startTracing`, and only then imports the app with a dynamic `import()` (static imports would
 * be loaded before the first line runs). This module imports nothing but `@opentelemetry/api`.
 *
 * No patient number leaves in a span: every span's name, string attributes and event attributes
 * pass the request log's mask (`mask`, given by the deployable) on their way to the exporter, as
 * log lines do (the Fastify and HTTP instrumentations record the request's URL).
 */
import { context, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

export { DEFAULT_TRACES_RATIO } from './sampling-default.js';

/** The tracer of our own spans; instrumentations have their own. */
export const TRACER_NAME = 'fpi-platform';

let tracing = false;
/** The head sampling's decision for a trace of its own (`inSpan` with `root`), set by `startTracing` (head-sampling.ts's `sampledRoot`). */
let sampledRoot: () => boolean = () => true;

/** Whether this process makes traces (`startTracing` started the SDK). */
export const tracingOn = (): boolean => tracing;

/**
 * Runs `fn` inside a span `name` (a child of the active span, or the root of a trace of its
 * own with `root`), ending it when `fn` settles; an error is recorded on the span and
 * rethrown. Just `fn()` with tracing off, for a child outside a sampled trace, and for a root
 * the head sampling turns down.
 */
export function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>, options: { root?: boolean } = {}): Promise<T> {
  if (!tracing || !(options.root ? sampledRoot() : sampledParent())) return fn();
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { attributes, root: options.root }, async (span) => {
    try {
      return await fn();
    } catch (error) {
      throw failed(span, error);
    } finally {
      span.end();
    }
  });
}

/** Records `error` on `span` (exception event, status ERROR) and returns it, to rethrow. */
function failed(span: Span, error: unknown): unknown {
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
  return error;
}

/** Whether the active span is one being recorded (a sampled trace's). */
const sampledParent = (): boolean => trace.getSpan(context.active())?.isRecording() === true;

/** `inSpan` for synchronous work (the decider), always a child. */
export function inSpanSync<T>(name: string, attributes: Attributes, fn: () => T): T {
  if (!tracing || !sampledParent()) return fn();
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { attributes }, (span) => {
    try {
      return fn();
    } catch (error) {
      throw failed(span, error);
    } finally {
      span.end();
    }
  });
}

export interface TracingOptions {
  /** The resource's service.name: the deployable (fpi-platform, fpi-receive-service, …). */
  serviceName: string;
  /**
   * The mask every exported string passes (the request log's `maskDecoded`), loaded after the
   * SDK has started: it comes from a library that imports Nest.
   */
  mask: () => Promise<(text: string) => string>;
}

export interface Tracing {
  /** Exports what is left and stops the SDK. */
  shutdown(): Promise<void>;
}

/** Paths no one traces: probes and scrapes. */
const UNTRACED = new Set(['/health/live', '/health/ready', '/metrics']);

/**
 * Starts the OpenTelemetry SDK when `settings.otlpEndpoint` is set (OTEL_EXPORTER_OTLP_ENDPOINT
 * through libs/config); returns undefined, having loaded nothing, when it is not. Spans are
 * batched (the SDK's BatchSpanProcessor, OTEL_BSP_* variables) and posted to
 * `<endpoint>/v1/traces`. Throws, naming the variable, on an OTEL_TRACES_SAMPLER(_ARG) the head
 * sampling does not know.
 */
export async function startTracing(settings: { otlpEndpoint: string | undefined }, options: TracingOptions): Promise<Tracing | undefined> {
  if (!settings.otlpEndpoint) return undefined;
  const [
    { NodeSDK },
    { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler },
    { HttpInstrumentation },
    { FastifyOtelInstrumentation },
    { PgInstrumentation },
    { OTLPTraceExporter },
    head,
    contexts,
  ] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/instrumentation-http'),
    import('@fastify/otel'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('./head-sampling.js'),
    import('./sampled-context-manager.js'),
  ]);
  const rule = head.headSamplingFromEnv(process.env);
  const exporter = new MaskingExporter(new OTLPTraceExporter({ url: `${settings.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` }));
  // AsyncLocalStorage only while a sampled trace is recorded (see there for why and what it changes).
  const contextManager = new contexts.SampledContextManager();
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    contextManager,
    // The live-span counter the context manager needs, beside the exporter's batching (which
    // reads OTEL_BSP_* as the SDK's own would).
    spanProcessors: [new contexts.LiveSpanCounter(contextManager), new BatchSpanProcessor(exporter)],
    // The head decision is made before a trace's first span (below, and in `inSpan`); the SDK
    // keeps every span of a trace that passed it (and follows a remote parent when parent-based).
    sampler: rule.parentBased ? new ParentBasedSampler({ root: new AlwaysOnSampler() }) : new AlwaysOnSampler(),
    // Traces only: without these the SDK also starts OTLP metrics (the HTTP and pg
    // instrumentations' histograms, recorded on every request) and logs exporters.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        // A request not sampled at the head runs with tracing suppressed (no span at all).
        ignoreIncomingRequestHook: (request) => UNTRACED.has(request.url ?? '') || !head.sampledRequest(rule, request.headers.traceparent),
        ignoreOutgoingRequestHook: () => true,
      }),
      // Registers itself on every Fastify instance as it is created (Nest's adapter makes one).
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        // Called per route (its options, with the handler), and per request and handler with
        // just the URL and method: a request outside a recorded span (the HTTP instrumentation
        // turned it down) gets no request span and no handler span either.
        ignorePaths: (route) => UNTRACED.has(route.url) || (!('handler' in route) && !sampledParent()),
        // The request and its route handler; a span for each of the dozen instance hooks Nest
        // and we add would cost more than the request (measured: 6x the server CPU).
        instrumentHooks: false,
      }),
      // Statements inside a trace only, and no span for taking a pool connection (one more
      // span per request that says little).
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
    ],
  });
  sdk.start();
  sampledRoot = () => head.sampledRoot(rule);
  tracing = true;
  exporter.mask = await options.mask();
  return {
    shutdown: async () => {
      tracing = false;
      await sdk.shutdown();
    },
  };
}

/**
 * Passes spans on to `inner` with their name, string attributes and event attributes masked.
 * Until the mask is loaded (the moments before the app is imported), string attributes are
 * left out altogether.
 */
class MaskingExporter implements SpanExporter {
  mask: ((text: string) => string) | undefined;
  /** Strings the mask left as they were (SQL texts, mostly), so they are not masked again; at most CLEAN_MAX, none with a person number. */
  private readonly clean = new Set<string>();
  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.inner.export(
      spans.map((s) => this.masked(s)),
      done,
    );
  }

  /** `text` masked; one with fewer than 11 ASCII digits cannot hold a person number in any spelling the mask knows (each encodes a digit with at least one), and is passed as it is. */
  private maskText(text: string): string {
    let digits = 0;
    for (let i = 0; i < text.length && digits < 11; i++) if (text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) digits++;
    if (digits < 11 || this.clean.has(text)) return text;
    const masked = this.mask!(text);
    if (masked === text) {
      if (this.clean.size >= CLEAN_MAX) this.clean.clear();
      this.clean.add(text);
    }
    return masked;
  }

  /**
   * `attributes` with every string masked; the same object when the mask changes none of them.
   * Before the mask is loaded, string attributes are left out and strings in arrays emptied.
   */
  private maskedAttributes(attributes: Attributes): Attributes {
    let out: Attributes | undefined;
    for (const k in attributes) {
      const v = attributes[k];
      let masked: typeof v | typeof LEFT_OUT = v;
      if (typeof v === 'string') masked = this.mask ? this.maskText(v) : LEFT_OUT;
      else if (Array.isArray(v)) {
        const strings = v.map((x) => (typeof x === 'string' ? (this.mask ? this.maskText(x) : '') : x)) as typeof v;
        if (strings.some((x, i) => x !== v[i])) masked = strings;
      }
      if (masked === v) continue;
      out ??= { ...attributes };
      if (masked === LEFT_OUT) delete out[k];
      else out[k] = masked;
    }
    return out ?? attributes;
  }

  /**
   * The span itself when the mask changes nothing in it (most spans: measured, copying every
   * span cost a third of the CPU of tracing on), else a copy with masked fields over the original
   * (its methods, such as spanContext(), still work). Each string is masked once.
   */
  private masked(span: ReadableSpan): ReadableSpan {
    const name = this.mask ? this.maskText(span.name) : span.name.replace(/[0-9]/g, '*');
    const attributes = this.maskedAttributes(span.attributes);
    let eventsChanged = false;
    const events = span.events.map((e) => {
      const eventName = this.mask ? this.maskText(e.name) : e.name;
      const eventAttributes = e.attributes && this.maskedAttributes(e.attributes);
      if (eventName === e.name && eventAttributes === e.attributes) return e;
      eventsChanged = true;
      return { ...e, name: eventName, attributes: eventAttributes };
    });
    const message = span.status.message === undefined ? undefined : this.mask ? this.maskText(span.status.message) : '';
    if (name === span.name && attributes === span.attributes && !eventsChanged && message === span.status.message) return span;
    return Object.create(span, {
      name: { value: name },
      attributes: { value: attributes },
      events: { value: events },
      status: { value: { ...span.status, message } },
    }) as ReadableSpan;
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/** How many mask-clean strings `MaskingExporter` remembers before it starts over. */
const CLEAN_MAX = 1000;
/** A string attribute left out of a span (before the mask is loaded). */
const LEFT_OUT = Symbol('left out');
