import type { TenantId } from '#libs/tenancy';
import type { DataProtection, ErasureReport } from './data-protection.js';
import type { RetentionRule } from './retention.js';

export interface RetentionJobOptions {
  intervalMs: number;
  /** The municipalities to run for (all those of the process's databases). */
  tenants: () => Promise<TenantId[]>;
  ruleOf: (tenant: TenantId) => RetentionRule;
  now?: () => Date;
  /** One line per tenant and run; never a person id (the report holds none). */
  log?: (message: string) => void;
}

/**
 * Applies each municipality's retention rule every `intervalMs` (FPI_RETENTION_JOB), in the
 * platform process. Runs never overlap; a failing tenant is logged and tried again next time.
 * Several processes may run it: a run takes the tenant's erasure locks, so runs serialise, and
 * a second run finds nothing more to remove.
 */
export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly protection: DataProtection,
    private readonly options: RetentionJobOptions,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.runOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One run over every tenant (the scheduled tick; tests call it directly). */
  runOnce(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    const now = (this.options.now ?? (() => new Date()))();
    for (const tenant of await this.options.tenants()) {
      try {
        const report: ErasureReport = await this.protection.applyRetention({ tenant, rule: this.options.ruleOf(tenant), now, requestedBy: 'retention job' });
        if (report.streams > 0) this.options.log?.(`retention for ${tenant}: ${report.streams} decisions, ${report.events} events removed (erasure ${report.reference})`);
      } catch (error) {
        this.options.log?.(`retention for ${tenant} failed: ${String((error as Error)?.message ?? error).replace(/[0-9]{11}/g, '<number>')}`);
      }
    }
  }
}
