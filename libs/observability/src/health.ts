import { type ArgumentsHost, Catch, Controller, type ExceptionFilter, Get, HttpException, Inject, Module, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ApiProblem } from '#libs/contracts';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { DATABASES, Databases, latestMigrationVersion, type Cluster } from '#libs/database';
import { ReadinessChecks, ReadinessModule } from './readiness.js';

/** Health answers keep terminus' JSON shape (what probes and dashboards expect), also when down. */
@Catch(HttpException)
class HealthResponseFilter implements ExceptionFilter {
  catch(exception: HttpException, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<FastifyReply>().status(exception.getStatus()).send(exception.getResponse());
  }
}

@Controller('health')
@ApiProblem(429, 'Too many requests from this client (FPI_RATE_LIMIT_PER_MINUTE); Retry-After says when to come back')
@UseFilters(HealthResponseFilter)
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(DATABASES) private readonly databases: Databases,
    private readonly readiness: ReadinessChecks,
  ) {}

  /** The process is up. Never touches the database, so a database outage does not restart us. */
  @Get('live')
  @ApiOperation({ summary: 'The process is up (never touches the database)', security: [] })
  @ApiResponse({ status: 200, description: 'Up', schema: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready to serve: the database answers and the schema is at the newest migration. */
  @Get('ready')
  @ApiOperation({ summary: 'Ready: the database answers and the schema is at the newest migration; projection lag', security: [] })
  @HealthCheck()
  ready() {
    const extra = [...this.readiness.checks.entries()].map(([name, check]) => async () => {
      const session = this.indicators.check(name);
      try {
        const { status, ...detail } = await check();
        return status === 'up' ? session.up(detail) : status === 'degraded' ? session.degraded(detail) : session.down(detail);
      } catch (error) {
        return session.down({ message: (error as Error).message });
      }
    });
    return this.health.check([
      ...extra,
      ...this.databases.all().map((cluster) => () => this.database(cluster)),
    ]);
  }

  /** A database answers and its schema is at the newest migration (`database`, or `database:<name>` per municipality database). */
  private async database(cluster: Cluster) {
    const session = this.indicators.check(cluster === this.databases.main ? 'database' : `database:${cluster.name}`);
    try {
      const expected = await latestMigrationVersion();
      const { rows } = await cluster.db.pool.query<{ version: string | null }>('SELECT max(version)::text AS version FROM schema_migrations');
      const version = Number(rows[0]?.version ?? 0);
      if (version < expected) return session.down({ message: 'migrations pending', schemaVersion: version, expected });
      return session.up({ schemaVersion: version, embedded: cluster.db.embedded !== undefined });
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }
}

@Module({ imports: [TerminusModule, ReadinessModule], controllers: [HealthController] })
export class HealthModule {}
