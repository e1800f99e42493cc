import { Controller, Get, Header, Global, Module } from '@nestjs/common';
import { ApiOperation, ApiResponse } from '@nestjs/swagger';
import { ApiProblem } from '#libs/contracts';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** The process's Prometheus registry (one per Nest app, so tests do not share counters). */
export class Metrics {
  readonly registry = new Registry();
  readonly appends = new Counter({
    name: 'fpi_event_store_appends_total',
    help: 'Appends to the event store by outcome (appended, duplicate, conflict, error)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly appendedEvents = new Counter({
    name: 'fpi_event_store_appended_events_total',
    help: 'Events written to the event store',
    registers: [this.registry],
  });
  readonly appendSeconds = new Histogram({
    name: 'fpi_event_store_append_duration_seconds',
    help: 'Latency of event-store appends',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'fpi_' });
  }
}

@Controller()
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)', security: [] })
  @ApiResponse({ status: 200, description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' } } } })
  @ApiProblem(429, 'Too many requests from this client (FPI_RATE_LIMIT_PER_MINUTE); Retry-After says when to come back')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

@Global()
@Module({ providers: [Metrics], controllers: [MetricsController], exports: [Metrics] })
export class MetricsModule {}
