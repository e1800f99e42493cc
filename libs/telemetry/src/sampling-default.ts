/**
 * The ratio of traces kept when tracing is on and OTEL_TRACES_SAMPLER is not set: parent-based
 * with this ratio (parentbased_traceidratio; OTEL_TRACES_SAMPLER_ARG overrides it). Chosen by
 * measurement (bench/receive, docs/testers.md): sampling more costs little on top of what every
 * request pays once tracing is on, and 1 % of a busy service's requests is plenty of traces.
 */
export const DEFAULT_TRACES_RATIO = 0.01;
