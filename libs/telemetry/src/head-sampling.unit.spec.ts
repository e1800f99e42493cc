import { headSamplingFromEnv, sampledRequest, sampledRoot } from './head-sampling.js';
import { DEFAULT_TRACES_RATIO } from './sampling-default.js';

const SAMPLED = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const NOT_SAMPLED = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';

describe('head sampling (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG)', () => {
  it('defaults to parent-based with 1 % of the traces that start here; the ratio variable sets the ratio', () => {
    expect(DEFAULT_TRACES_RATIO).toBe(0.01);
    expect(headSamplingFromEnv({})).toEqual({ parentBased: true, ratio: 0.01 });
    expect(headSamplingFromEnv({ OTEL_TRACES_SAMPLER: '', OTEL_TRACES_SAMPLER_ARG: '0.25' })).toEqual({ parentBased: true, ratio: 0.25 });
  });

  it("reads the SDK's six standard samplers", () => {
    expect(headSamplingFromEnv({ OTEL_TRACES_SAMPLER: 'always_on' })).toEqual({ parentBased: false, ratio: 1 });
    expect(headSamplingFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' })).toEqual({ parentBased: false, ratio: 0 });
    expect(headSamplingFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' })).toEqual({ parentBased: false, ratio: 0.5 });
    expect(headSamplingFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' })).toEqual({ parentBased: true, ratio: 1 });
    expect(headSamplingFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' })).toEqual({ parentBased: true, ratio: 0 });
    expect(headSamplingFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' })).toEqual({ parentBased: true, ratio: 0.1 });
    // A ratio sampler named without its ratio keeps every trace, as the SDK does.
    expect(headSamplingFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' })).toEqual({ parentBased: true, ratio: 1 });
  });

  it('refuses a sampler it does not know and a ratio outside 0–1, naming the variable', () => {
    expect(() => headSamplingFromEnv({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(/^OTEL_TRACES_SAMPLER must be one of .*got "jaeger_remote"/);
    for (const bad of ['1.5', '-0.1', 'half', '0x1', 'NaN'])
      expect(() => headSamplingFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: bad })).toThrow(/^OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/);
  });

  it('keeps a trace of its own with the probability of the ratio', () => {
    const rule = { parentBased: true, ratio: 0.01 };
    expect(sampledRoot(rule, () => 0.009)).toBe(true);
    expect(sampledRoot(rule, () => 0.01)).toBe(false);
    expect(sampledRoot({ parentBased: false, ratio: 1 }, () => 0.999999)).toBe(true);
    expect(sampledRoot({ parentBased: false, ratio: 0 }, () => 0)).toBe(false);
    let kept = 0;
    let seed = 1;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 100_000; i++) if (sampledRoot({ parentBased: true, ratio: 0.05 }, random)) kept++;
    expect(kept).toBeGreaterThan(4_500);
    expect(kept).toBeLessThan(5_500);
  });

  it("follows the caller's W3C traceparent when parent-based, and decides by the ratio without a valid one", () => {
    const rule = { parentBased: true, ratio: 0 };
    expect(sampledRequest(rule, SAMPLED)).toBe(true);
    expect(sampledRequest({ ...rule, ratio: 1 }, NOT_SAMPLED)).toBe(false);
    expect(sampledRequest(rule, [SAMPLED])).toBe(true);
    expect(sampledRequest(rule, undefined)).toBe(false);
    expect(sampledRequest({ ...rule, ratio: 1 }, undefined)).toBe(true);
    // Not a traceparent (all-zero trace id, wrong shape): the ratio decides.
    expect(sampledRequest(rule, '00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBe(false);
    expect(sampledRequest({ ...rule, ratio: 1 }, 'garbage')).toBe(true);
  });

  it('ignores the caller when not parent-based', () => {
    expect(sampledRequest({ parentBased: false, ratio: 0 }, SAMPLED)).toBe(false);
    expect(sampledRequest({ parentBased: false, ratio: 1 }, NOT_SAMPLED)).toBe(true);
  });
});
