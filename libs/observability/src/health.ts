import { type ArgumentsHost, Catch, Controller, type ExceptionFilter, Get, HttpException, Inject, Module, Optional, Req, Res, ServiceUnavailableException, UseFilters } from '@nestjs/common';
import { ApiOperation, ApiResponse } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiProblem } from '#libs/contracts';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule, type HealthCheckResult } from '@nestjs/terminus';
import { DATABASES, Databases, latestMigrationVersion, type Cluster } from '#libs/database';
import { ReadinessChecks, ReadinessModule } from './readiness.js';

/** Health answers keep terminus' JSON shape (what probes and dashboards expect), also when down. */
@Catch(HttpException)
class HealthResponseFilter implements ExceptionFilter {
  catch(exception: HttpException, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<FastifyReply>().status(exception.getStatus()).send(exception.getResponse());
  }
}

/** Decides whether a request may see /health/ready's detail (provided by the security module: the operator scope). */
export interface HealthDetailAccess {
  mayReadDetail(request: FastifyRequest): Promise<boolean>;
}
export const HEALTH_DETAIL_ACCESS = Symbol('HEALTH_DETAIL_ACCESS');

export type ReadinessStatus = 'up' | 'degraded' | 'down';

/**
 * What anyone may see of readiness: the overall status and one status per kind of check,
 * with no municipality, database name, host or error text (`database:<name>` checks fold
 * into `database`, the worst of them).
 */
export function publicReadiness(result: Pick<HealthCheckResult, 'details'>): { status: ReadinessStatus; checks: Record<string, ReadinessStatus> } {
  const rank: Record<ReadinessStatus, number> = { up: 0, degraded: 1, down: 2 };
  const checks = new Map<string, ReadinessStatus>();
  for (const [name, detail] of Object.entries(result.details ?? {})) {
    const kind = name.startsWith('database:') ? 'database' : name;
    const status: ReadinessStatus = detail?.status === 'up' ? 'up' : detail?.status === 'degraded' ? 'degraded' : 'down';
    const before = checks.get(kind);
    if (before === undefined || rank[status] > rank[before]) checks.set(kind, status);
  }
  const worst = [...checks.values()].reduce<ReadinessStatus>((w, s) => (rank[s] > rank[w] ? s : w), 'up');
  return { status: worst, checks: Object.fromEntries([...checks].sort(([a], [b]) => a.localeCompare(b))) };
}

/** The readiness answer: one status per kind of check; `details` for operators only. */
const READINESS_SCHEMA = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['up', 'degraded', 'down'] },
    checks: { type: 'object', additionalProperties: { type: 'string', enum: ['up', 'degraded', 'down'] } },
    details: { type: 'object' },
  },
};

@Controller('health')
@ApiProblem(429, 'Too many requests from this client (FPI_RATE_LIMIT_PER_MINUTE); Retry-After says when to come back')
@UseFilters(HealthResponseFilter)
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(DATABASES) private readonly databases: Databases,
    private readonly readiness: ReadinessChecks,
    @Optional() @Inject(HEALTH_DETAIL_ACCESS) private readonly detailAccess: HealthDetailAccess | undefined,
  ) {}

  /** The process is up. Never touches the database, so a database outage does not restart us. */
  @Get('live')
  @ApiOperation({ summary: 'The process is up (never touches the database)', security: [] })
  @ApiResponse({ status: 200, description: 'Up', schema: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Ready to serve: `up`, `degraded` (serving, something lags) or `down` (503) with one status
   * per kind of check. Callers with the operator scope also get `details` per database,
   * projection and municipality; everyone else never sees tenant or database names.
   */
  @Get('ready')
  @ApiOperation({ summary: 'Ready: the database answers and the schema is at the newest migration; projection lag', security: [] })
  @ApiResponse({ status: 200, description: 'Serving (`up`, or `degraded` when something lags); `details` only for the operator scope', schema: READINESS_SCHEMA })
  @ApiResponse({ status: 503, description: 'Not ready (`down`)', schema: READINESS_SCHEMA })
  // Terminus documents its own { status: ok|error, info, error } shape; ours is the summary below.
  @HealthCheck({ swaggerDocumentation: false })
  async ready(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    let result: HealthCheckResult;
    try {
      result = await this.check();
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      result = error.getResponse() as HealthCheckResult;
      reply.status(503);
    }
    const summary = publicReadiness(result);
    if (this.detailAccess && (await this.detailAccess.mayReadDetail(request))) return { ...summary, details: result.details };
    return summary;
  }

  private check() {
    const extra = [...this.readiness.checks.entries()].map(([name, check]) => async () => {
      const session = this.indicators.check(name);
      try {
        const { status, ...detail } = await check();
        return status === 'up' ? session.up(detail) : status === 'degraded' ? session.degraded(detail) : session.down(detail);
      } catch (error) {
        return session.down({ message: (error as Error).message });
      }
    });
    return this.health.check([...extra, ...this.databases.all().map((cluster) => () => this.database(cluster))]);
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
