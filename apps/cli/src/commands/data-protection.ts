import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { DataProtection, parseRetentionSettings, unavailableWith, type ErasureReport } from '#libs/data-protection';
import { parsePersonIdentifier } from '#libs/domain';
import { UpcasterRegistry } from '#libs/event-store';
import { PostgresTenantRegistry, type TenantId } from '#libs/tenancy';
import { personDataErasers } from '#libs/service';
import { orgnr, tenantOf, type CliContext } from '../context.js';

/** The receipt, one line per figure (never the person: the report holds none). */
function printReport(report: ErasureReport, json?: boolean): void {
  if (json) return console.log(JSON.stringify(report));
  const what = report.dryRun ? 'would remove' : 'removed';
  console.log(
    `${report.kind} ${report.reference} in ${report.tenant}: ${what} ${report.streams} streams, ${report.events} events, ${report.patients} patients${report.rule ? ` (rule: ${report.rule.months} months, as of ${report.rule.today})` : ''}`,
  );
  for (const [store, n] of Object.entries(report.counts)) console.log(`  ${store}\t${n}`);
}

const who = (by: string | undefined) => by ?? `${userInfo().username} (npx fpi)`;

/** `npx fpi erase` and `npx fpi retention apply` (issue 22; docs/data-protection.md). */
export function dataProtectionCommands(program: Command, ctx: CliContext): void {
  const protection = (pool: import('pg').Pool) => new DataProtection(async () => pool, personDataErasers(), new UpcasterRegistry(), unavailableWith(ctx.config)); // as the CLI's event store reads (no upcasters)

  program
    .command('erase')
    .description(
      "erase every trace of a person in a municipality (the data controller's decision): events, read models, dead letters; the access log keeps its records under a pseudonym; Kafka gets tombstones",
    )
    .requiredOption('--tenant <orgnr>', 'municipality', orgnr)
    .requiredOption('--person <pid>', 'the person identifier (11 digits)')
    .requiredOption('--reason <text>', 'why (kept in the erasure record; must hold no person identifier)')
    .option('--requested-by <name>', 'who decided (default: the operating system user)')
    .option('--dry-run', 'count what would go, change nothing', false)
    .option('--json', 'print JSON')
    .action(async (o: { tenant: string; person: string; reason: string; requestedBy?: string; dryRun: boolean; json?: boolean }) => {
      // The one parser; its message never echoes the number.
      const parsed = parsePersonIdentifier(o.person);
      if (!parsed.ok) throw new Error(`--person: ${parsed.message} (rule ${parsed.rule})`);
      await ctx.withDatabase(async (db) => {
        const tenant = await tenantOf(db, o.tenant);
        const report = await protection(db.pool).erasePerson({ tenant: tenant.id, person: parsed.id, reason: o.reason, requestedBy: who(o.requestedBy), dryRun: o.dryRun });
        printReport(report, o.json);
      });
    });

  const retention = program.command('retention').description("each municipality's retention rule (FPI_RETENTION_MONTHS, FPI_RETENTION_OVERRIDES)");
  retention
    .command('apply')
    .description('remove the decisions that ended or were entered in error longer ago than the rule says, from the event store and every read model')
    .option('--tenant <orgnr>', 'only this municipality (default: all)', orgnr)
    .option('--now <instant>', 'apply as of this instant (RFC 3339; default: now)')
    .option('--dry-run', 'count what would go, change nothing', false)
    .option('--json', 'print JSON')
    .action(async (o: { tenant?: string; now?: string; dryRun: boolean; json?: boolean }) => {
      const rules = parseRetentionSettings(ctx.config.retention.months, ctx.config.retention.overrides);
      const now = o.now === undefined ? new Date() : new Date(o.now);
      if (Number.isNaN(now.getTime())) throw new Error('--now: not an instant (RFC 3339, e.g. 2026-05-01T00:00:00Z)');
      await ctx.withDatabase(async (db) => {
        const tenants: TenantId[] = o.tenant ? [(await tenantOf(db, o.tenant)).id] : (await new PostgresTenantRegistry(db.pool).list()).map((t) => t.id);
        for (const tenant of tenants) {
          const report = await protection(db.pool).applyRetention({ tenant, rule: rules.byTenant.get(tenant) ?? rules.default, now, requestedBy: who(undefined), dryRun: o.dryRun });
          printReport(report, o.json);
        }
      });
    });
}
