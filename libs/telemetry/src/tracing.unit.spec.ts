import { inSpan, inSpanSync, tracingOn } from './tracing.js';

describe('spans with tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('runs the work directly: its result, its error', async () => {
    expect(tracingOn()).toBe(false);
    await expect(inSpan('append', {}, async () => 42)).resolves.toBe(42);
    await expect(inSpan('append', {}, async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(inSpanSync('decide', {}, () => 'event')).toBe('event');
    expect(() =>
      inSpanSync('decide', {}, () => {
        throw new Error('rule');
      }),
    ).toThrow('rule');
  });
});
