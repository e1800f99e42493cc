/**
 * OpenTelemetry traces (the official Node SDK): HTTP server spans (instrumentation-http), the
 * Fastify request, its hooks and the route handler (@fastify/otel, Fastify's own OpenTelemetry
 * instrumentation; the nestjs-core instrumentation stops before Nest 12), one span per PostgreSQL statement
 * (instrumentation-pg), and our own spans around the decider, the append and each projection
 * batch (`inSpan`). Exported over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT.
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
import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** The tracer of our own spans; instrumentations have their own. */
export const TRACER_NAME = 'fpi-platform';

let tracing = false;

/** Whether this process makes traces (`startTracing` started the SDK). */
export const tracingOn = (): boolean => tracing;

/**
 * Runs `fn` inside a span `name` (a child of the active span, or the root of a trace of its
 * own with `root`), ending it when `fn` settles; an error is recorded on the span and
 * rethrown. With tracing off, just `fn()`.
 */
export function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>, options: { root?: boolean } = {}): Promise<T> {
  if (!tracing) return fn();
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

/** `inSpan` for synchronous work (the decider). */
export function inSpanSync<T>(name: string, attributes: Attributes, fn: () => T): T {
  if (!tracing) return fn();
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
 * batched (the SDK's BatchSpanProcessor) and posted to `<endpoint>/v1/traces`.
 */
export async function startTracing(settings: { otlpEndpoint: string | undefined }, options: TracingOptions): Promise<Tracing | undefined> {
  if (!settings.otlpEndpoint) return undefined;
  const [{ NodeSDK }, { HttpInstrumentation }, { FastifyOtelInstrumentation }, { PgInstrumentation }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/instrumentation-http'),
    import('@fastify/otel'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const exporter = new MaskingExporter(new OTLPTraceExporter({ url: `${settings.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` }));
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    traceExporter: exporter,
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => UNTRACED.has(request.url ?? ''), ignoreOutgoingRequestHook: () => true }),
      // Registers itself on every Fastify instance as it is created (Nest's adapter makes one).
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        ignorePaths: (route) => UNTRACED.has(route.url),
        // The request and its route handler; a span for each of the dozen instance hooks Nest
        // and we add would cost more than the request (measured: 6x the server CPU).
        instrumentHooks: false,
      }),
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
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
    return digits < 11 ? text : this.mask!(text);
  }

  private maskedAttributes(attributes: Attributes): Attributes {
    const out: Attributes = {};
    for (const [k, v] of Object.entries(attributes)) {
      if (typeof v === 'string') {
        if (this.mask) out[k] = this.maskText(v);
      } else if (Array.isArray(v)) {
        out[k] = v.map((x) => (typeof x === 'string' ? (this.mask ? this.maskText(x) : '') : x)) as typeof v;
      } else out[k] = v;
    }
    return out;
  }

  /** The span with masked fields over the original (its methods, such as spanContext(), still work). */
  private masked(span: ReadableSpan): ReadableSpan {
    return Object.create(span, {
      name: { value: this.mask ? this.maskText(span.name) : span.name.replace(/[0-9]/g, '*') },
      attributes: { value: this.maskedAttributes(span.attributes) },
      events: { value: span.events.map((e) => ({ ...e, name: this.mask ? this.maskText(e.name) : e.name, attributes: e.attributes && this.maskedAttributes(e.attributes) })) },
      status: { value: { ...span.status, message: span.status.message === undefined ? undefined : this.mask ? this.maskText(span.status.message) : '' } },
    }) as ReadableSpan;
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
