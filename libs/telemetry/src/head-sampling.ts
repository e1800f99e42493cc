/**
 * Head sampling: whether a trace is made, decided where it starts (an incoming HTTP request, a
 * projection batch), from the SDK's standard variables OTEL_TRACES_SAMPLER and
 * OTEL_TRACES_SAMPLER_ARG (OpenTelemetry specification, "General SDK Configuration"). Loaded by
 * `startTracing` only (it imports the SDK's core).
 *
 * Why here and not only in the SDK's sampler: the SDK samples when a span starts, and by then the
 * HTTP, Fastify and pg instrumentations have already done their work for the request, sampled or
 * not (measured: a request no one traces still cost 1.4x the server CPU of tracing off). A request
 * this rule turns down is handed to the HTTP instrumentation's `ignoreIncomingRequestHook`, which
 * makes no span for it; the Fastify and pg instrumentations and our `inSpan` then skip it too,
 * since they work only under a recorded span (measured: 1.13-1.15x), and the context manager
 * keeps it out of AsyncLocalStorage (sampled-context-manager.ts: about 1.04x).
 */
import { isSpanContextValid, TraceFlags } from '@opentelemetry/api';
import { parseTraceParent } from '@opentelemetry/core';
import { DEFAULT_TRACES_RATIO } from './sampling-default.js';

/** The rule: a remote parent's decision is followed (`parentBased`); a trace of its own is kept with probability `ratio` (0–1). */
export interface HeadSampling {
  parentBased: boolean;
  ratio: number;
}

/**
 * The rule from `env`: OTEL_TRACES_SAMPLER one of always_on, always_off, traceidratio,
 * parentbased_always_on, parentbased_always_off, parentbased_traceidratio (unset:
 * parentbased_traceidratio with DEFAULT_TRACES_RATIO); OTEL_TRACES_SAMPLER_ARG the ratio of
 * the two ratio samplers (a number 0–1; the SDK's default 1 when a ratio sampler is named
 * without it). Throws, naming the variable, on any other value.
 */
export function headSamplingFromEnv(env: Record<string, string | undefined>): HeadSampling {
  const name = env.OTEL_TRACES_SAMPLER?.trim() || undefined;
  const arg = env.OTEL_TRACES_SAMPLER_ARG?.trim() || undefined;
  const ratio = (fallback: number): number => {
    if (arg === undefined) return fallback;
    const n = Number(arg);
    if (!/^[0-9.eE+-]+$/.test(arg) || !(n >= 0 && n <= 1)) throw new Error(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got ${JSON.stringify(arg)}`);
    return n;
  };
  if (name === undefined) return { parentBased: true, ratio: ratio(DEFAULT_TRACES_RATIO) };
  // Each of the three root samplers, alone or as the root of a parent-based one.
  const parentBased = name.startsWith('parentbased_');
  switch (parentBased ? name.slice('parentbased_'.length) : name) {
    case 'always_on':
      return { parentBased, ratio: 1 };
    case 'always_off':
      return { parentBased, ratio: 0 };
    case 'traceidratio':
      return { parentBased, ratio: ratio(1) };
    default:
      throw new Error(`OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, got ${JSON.stringify(name)}`);
  }
}

/** Whether a trace of its own (no parent) is kept: with probability `rule.ratio`. */
export function sampledRoot(rule: HeadSampling, random: () => number = Math.random): boolean {
  return rule.ratio >= 1 || (rule.ratio > 0 && random() < rule.ratio);
}

/**
 * Whether an incoming request is traced: with a parent-based rule and a valid W3C `traceparent`
 * header, as its caller decided (the sampled flag); otherwise as a trace of its own.
 */
export function sampledRequest(rule: HeadSampling, traceparent: string | string[] | undefined, random: () => number = Math.random): boolean {
  if (rule.parentBased && traceparent !== undefined) {
    const parent = parseTraceParent(Array.isArray(traceparent) ? (traceparent[0] ?? '') : traceparent);
    if (parent && isSpanContextValid(parent)) return (parent.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;
  }
  return sampledRoot(rule, random);
}
