import { Injectable, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { DATABASE, type Database } from '#libs/database';
import { EVENT_STORE, TENANT_REGISTRY, type EventStore, type TenantRegistry } from '#libs/event-store';
import { Metrics, ReadinessChecks } from '#libs/observability';
import { DEFAULT_ENGINE_OPTIONS, ProjectionEngine, type ProjectionStatus } from '#libs/projections';
import { OktReadController } from './okt/okt-read.controller.js';
import { ServiceOverviewController } from './overview/service-overview.controller.js';
import { serviceOverviewDefinition } from './overview/service-overview.projection.js';
import { ServiceOverviewReader } from './overview/service-overview.reader.js';
import { FhirController } from './fhir/fhir.controller.js';

/** A projection this many seconds behind makes /health/ready report `degraded`. */
const LAG_DEGRADED_SECONDS = 30;

@Injectable()
class ProjectionLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly engine: ProjectionEngine,
    private readonly metrics: Metrics,
    private readonly readiness: ReadinessChecks,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const engine = this.engine;
    // Lag is read when Prometheus scrapes, from the checkpoints in the database.
    const labels = ['projection', 'tenant'] as const;
    // prom-client collects gauges concurrently: they share one status query per scrape.
    let cached: { at: number; status: ReturnType<ProjectionEngine['status']> } | undefined;
    const status = () => {
      if (!cached || Date.now() - cached.at > 500) cached = { at: Date.now(), status: engine.status() };
      return cached.status;
    };
    const gauge = (name: string, help: string, value: (s: ProjectionStatus) => number) =>
      new Gauge({
        name,
        help,
        labelNames: labels,
        registers: [this.metrics.registry],
        async collect() {
          for (const s of await status()) this.set({ projection: s.projection, tenant: s.tenant }, value(s));
        },
      });
    gauge('fpi_projection_events_behind', 'Events of the tenant not yet applied by the projection', (s) => s.eventsBehind);
    gauge('fpi_projection_seconds_behind', 'Age of the oldest event not yet applied', (s) => s.secondsBehind);
    gauge('fpi_projection_paused', '1 when the projection is paused on a dead-lettered event', (s) => (s.status === 'paused' ? 1 : 0));
    this.readiness.register('projections', async () => {
      const status = await engine.status();
      const live = status.filter((s) => s.versionStatus === 'live');
      const behind = live.filter((s) => s.status === 'paused' || s.secondsBehind > LAG_DEGRADED_SECONDS);
      return {
        status: behind.length > 0 ? 'degraded' : 'up',
        projections: status.map((s) => ({ projection: s.projection, tenant: s.tenant, version: s.versionStatus, status: s.status, eventsBehind: s.eventsBehind, secondsBehind: Math.round(s.secondsBehind * 10) / 10, openDeadLetters: s.openDeadLetters })),
      };
    });
    await engine.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.engine.stop();
  }
}

/** Content services (innholdstjenester): projections and the lookups that read them. */
@Module({
  controllers: [ServiceOverviewController, OktReadController, FhirController],
  providers: [
    {
      provide: ProjectionEngine,
      inject: [DATABASE, EVENT_STORE, TENANT_REGISTRY, Metrics],
      useFactory: (db: Database, store: EventStore, tenants: TenantRegistry, metrics: Metrics) => {
        const logger = new Logger('Projections');
        const applied = new Counter({ name: 'fpi_projection_events_applied_total', help: 'Events applied by projections', labelNames: ['projection', 'tenant'], registers: [metrics.registry] });
        const dead = new Counter({ name: 'fpi_projection_dead_letters_total', help: 'Events dead-lettered by projections', labelNames: ['projection', 'tenant'], registers: [metrics.registry] });
        return new ProjectionEngine(
          db.pool,
          store,
          tenants,
          [serviceOverviewDefinition],
          { ...DEFAULT_ENGINE_OPTIONS, batchSize: Number(process.env.FPI_PROJECTION_BATCH_SIZE ?? DEFAULT_ENGINE_OPTIONS.batchSize) },
          { applied: (projection, tenant, n) => applied.inc({ projection, tenant }, n), deadLettered: (projection, tenant) => dead.inc({ projection, tenant }) },
          (message) => logger.warn(message),
        );
      },
    },
    ServiceOverviewReader,
    ProjectionLifecycle,
  ],
  exports: [ProjectionEngine, ServiceOverviewReader],
})
export class ContentModule {}
