import type { ProjectionEngine, ProjectionStatus } from '#libs/projections';
import type { TenantDatabases, TenantId } from '#libs/event-store';

/**
 * The projection engines of the process, one per database: read models, checkpoints and
 * dead letters live beside the events they are built from (database per municipality).
 */
export class ProjectionEngines {
  constructor(
    private readonly byDatabase: Map<string, ProjectionEngine>,
    private readonly tenants: TenantDatabases,
  ) {}

  /** The engine of the default database. */
  get main(): ProjectionEngine {
    return this.byDatabase.get(this.tenants.databases.main.name)!;
  }

  async of(tenant: TenantId): Promise<ProjectionEngine> {
    return this.byDatabase.get((await this.tenants.of(tenant)).name)!;
  }

  all(): [database: string, engine: ProjectionEngine][] {
    return [...this.byDatabase.entries()];
  }

  /** Every engine's status; `database` names where it runs. */
  async status(): Promise<(ProjectionStatus & { database: string })[]> {
    const all = await Promise.all(this.all().map(async ([database, e]) => (await e.status()).map((s) => ({ ...s, database }))));
    return all.flat();
  }

  async start(): Promise<void> {
    for (const [, e] of this.all()) await e.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map(([, e]) => e.stop()));
  }
}
