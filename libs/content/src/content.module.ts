import { Inject, Injectable, Logger, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { Counter, Gauge } from 'prom-client';
import { CONFIG, type PlatformConfig } from '#libs/config';
import { DATABASES, replicationLag, type Databases } from '#libs/database';
import { EVENT_STORE, type EventStore } from '#libs/event-store';
import { TenantDatabases } from '#libs/tenancy';
import { Metrics, ReadinessChecks } from '#libs/observability';
import { DEFAULT_ENGINE_OPTIONS, ProjectionEngine, type ProjectionStatus } from '#libs/projections';
import { OktReadController } from './okt/okt-read.controller.js';
import { ServiceOverviewController } from './overview/service-overview.controller.js';
import { serviceOverviewDefinition } from './overview/service-overview.projection.js';
import { tracedDefinition } from './traced-projection.js';
import { ServiceOverviewHandler, ServiceOverviewReader } from './overview/service-overview.reader.js';
import { FhirController } from './fhir/fhir.controller.js';
import { CapabilityStatementHandler, ReadEpisodeOfCareHandler, SearchEpisodeOfCareHandler } from './fhir/fhir.queries.js';
import { OktEventsHandler, OktStatusHandler } from './okt/okt-read.queries.js';
import { ProjectionEngines } from './projection-engines.js';
import { decisionHistoryDefinition } from './history/decision-history.projection.js';
import { DecisionHistoryHandler, DecisionHistoryReader } from './history/decision-history.queries.js';
import { FhirHistoryController, ServiceOverviewHistoryController } from './history/decision-history.controller.js';
import { PatientRestrictionHandler, PatientRestrictions } from './restriction/patient-restriction.js';
import { CitizenController } from './citizen/citizen.controller.js';
import { RestrictionStatusController, RestrictionStatusHandler } from './restriction/restriction-status.controller.js';
import { CitizenOverviewReader } from './citizen/citizen-overview.js';

/** A projection this many seconds behind makes /health/ready report `degraded`. */
const LAG_DEGRADED_SECONDS = 30;
/** A replica this many seconds behind its primary makes /health/ready report `degraded`. */
const REPLICA_LAG_DEGRADED_SECONDS = 10;

/** One call of `load` shared by every caller within `ms` (gauges are collected concurrently). */
function sharedFor<T>(ms: number, load: () => Promise<T>): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > ms) cached = { at: Date.now(), value: load() };
    return cached.value;
  };
}

@Injectable()
class ProjectionLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly engines: ProjectionEngines,
    @Inject(DATABASES) private readonly databases: Databases,
    private readonly metrics: Metrics,
    private readonly readiness: ReadinessChecks,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const engines = this.engines;
    // Lag is read when Prometheus scrapes, from the checkpoints in the database.
    const labels = ['projection', 'tenant'] as const;
    // prom-client collects gauges concurrently: they share one status query per scrape.
    const status = sharedFor(500, () => engines.status());
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
      const status = await engines.status();
      const live = status.filter((s) => s.versionStatus === 'live');
      const behind = live.filter((s) => s.status === 'paused' || s.secondsBehind > LAG_DEGRADED_SECONDS);
      return {
        status: behind.length > 0 ? 'degraded' : 'up',
        projections: status.map((s) => ({
          database: s.database,
          projection: s.projection,
          tenant: s.tenant,
          version: s.versionStatus,
          status: s.status,
          eventsBehind: s.eventsBehind,
          secondsBehind: Math.round(s.secondsBehind * 10) / 10,
          openDeadLetters: s.openDeadLetters,
        })),
      };
    });
    this.replicaLag();
    await engines.start();
  }

  /** Replication lag of each read replica, in /metrics and /health/ready. */
  private replicaLag(): void {
    const replicated = this.databases.all().filter((c) => c.replica);
    if (replicated.length === 0) return;
    const lags = sharedFor(500, () => Promise.all(replicated.map((c) => replicationLag(c).catch((e: Error) => e))));
    const gauge = (name: string, help: string, value: (l: NonNullable<Awaited<ReturnType<typeof replicationLag>>>) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['database'],
        registers: [this.metrics.registry],
        async collect() {
          const all = await lags();
          replicated.forEach((c, i) => {
            const l = all[i];
            if (l && !(l instanceof Error)) this.set({ database: c.name }, value(l));
          });
        },
      });
    gauge('fpi_replica_lag_bytes', 'WAL bytes the read replica has not replayed yet', (l) => l.bytes);
    gauge('fpi_replica_lag_seconds', 'Age of the newest transaction the read replica has replayed, 0 when it has replayed all it received', (l) => l.seconds);
    this.readiness.register('replicas', async () => {
      const all = await lags();
      const detail = replicated.map((c, i) => {
        const l = all[i];
        if (l instanceof Error || !l) return { database: c.name, status: 'down', message: l instanceof Error ? l.message : 'no answer' };
        if (!l.inRecovery) return { database: c.name, status: 'degraded', message: 'the read URL is not a standby (promoted?)', ...l };
        return { database: c.name, status: l.seconds > REPLICA_LAG_DEGRADED_SECONDS ? 'degraded' : 'up', lagBytes: l.bytes, lagSeconds: Math.round(l.seconds * 10) / 10 };
      });
      // Reads fall behind but keep being served: a slow or lost replica degrades, never fails, readiness.
      return { status: detail.every((d) => d.status === 'up') ? 'up' : 'degraded', replicas: detail };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.engines.stop();
  }
}

/**
 * Content services (innholdstjenester): projections and the lookups that read them. Every
 * read is a query on the `QueryBus` (`@nestjs/cqrs`); the controllers are HTTP adapters.
 */
@Module({
  imports: [CqrsModule.forRoot()],
  controllers: [ServiceOverviewController, OktReadController, FhirController, FhirHistoryController, ServiceOverviewHistoryController, CitizenController, RestrictionStatusController],
  providers: [
    {
      provide: ProjectionEngines,
      inject: [EVENT_STORE, TenantDatabases, Metrics, CONFIG],
      useFactory: (store: EventStore, tenants: TenantDatabases, metrics: Metrics, config: PlatformConfig) => {
        const logger = new Logger('Projections');
        const applied = new Counter({ name: 'fpi_projection_events_applied_total', help: 'Events applied by projections', labelNames: ['projection', 'tenant'], registers: [metrics.registry] });
        const dead = new Counter({ name: 'fpi_projection_dead_letters_total', help: 'Events dead-lettered by projections', labelNames: ['projection', 'tenant'], registers: [metrics.registry] });
        return new ProjectionEngines(
          tenants,
          (cluster, registry, label) =>
            new ProjectionEngine(
              cluster.db.pool,
              store,
              registry,
              [tracedDefinition(serviceOverviewDefinition), tracedDefinition(decisionHistoryDefinition)],
              { ...DEFAULT_ENGINE_OPTIONS, batchSize: config.projectionBatchSize ?? DEFAULT_ENGINE_OPTIONS.batchSize },
              { applied: (projection, tenant, n) => applied.inc({ projection, tenant }, n), deadLettered: (projection, tenant) => dead.inc({ projection, tenant }) },
              (message) => logger.warn(label(message)),
            ),
        );
      },
    },
    // The default database's engine, for code that knows only one (the CLI, tests).
    { provide: ProjectionEngine, inject: [ProjectionEngines], useFactory: (engines: ProjectionEngines) => engines.main },
    ServiceOverviewReader,
    ServiceOverviewHandler,
    OktEventsHandler,
    OktStatusHandler,
    CapabilityStatementHandler,
    ReadEpisodeOfCareHandler,
    SearchEpisodeOfCareHandler,
    DecisionHistoryReader,
    DecisionHistoryHandler,
    PatientRestrictions,
    PatientRestrictionHandler,
    RestrictionStatusHandler,
    CitizenOverviewReader,
    ProjectionLifecycle,
  ],
  exports: [ProjectionEngine, ProjectionEngines, ServiceOverviewReader, PatientRestrictions],
})
export class ContentModule {}
