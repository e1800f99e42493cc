import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { decisionHistoryDefinition, serviceOverviewDefinition } from '#libs/content';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';
import { DEFAULT_ENGINE_OPTIONS, ProjectionEngine } from '#libs/projections';
import { type CliContext, guardProduction, orgnr, store, tenantOf } from '../context.js';
import type { Database } from '#libs/database';

const DEFINITIONS = [serviceOverviewDefinition, decisionHistoryDefinition];
const engineFor = (db: Database) =>
  new ProjectionEngine(db.pool, store(db), new PostgresTenantRegistry(db.pool), DEFINITIONS, { ...DEFAULT_ENGINE_OPTIONS, batchSize: 2000, pollMs: 100, superviseMs: 200 });

export function projectionCommands(program: Command, ctx: CliContext): void {
  const projections = program
    .command('projections')
    .description('projection status: version, lag, paused, dead letters')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      await ctx.withDatabase(async (db) => {
        const status = await engineFor(db).status();
        if (o.json) return console.log(JSON.stringify(status, null, 2));
        for (const s of status) {
          console.log(
            `${s.projection}\t${s.versionStatus}\ttenant ${s.tenant}\t${s.status}${s.pausedReason ? ` (${s.pausedReason})` : ''}\t${s.eventsBehind} behind\t${s.openDeadLetters} dead letters`,
          );
        }
      });
    });

  projections
    .command('resume <projection>')
    .description('retry the dead-lettered event of a paused projection (after a fix)')
    .requiredOption('--tenant <orgnr>', 'municipality', orgnr)
    .action(async (projection: string, o: { tenant: string }) => {
      await ctx.withDatabase(async (db) => engineFor(db).resume(projection, tenantId(o.tenant)));
      console.log(`${projection} resumed for ${o.tenant}`);
    });

  projections
    .command('skip <projection>')
    .description('skip the dead-lettered event of a paused projection explicitly (the record stays)')
    .requiredOption('--tenant <orgnr>', 'municipality', orgnr)
    .action(async (projection: string, o: { tenant: string }) => {
      await ctx.withDatabase(async (db) => engineFor(db).skip(projection, tenantId(o.tenant)));
      console.log(`${projection}: the dead-lettered event was skipped for ${o.tenant}`);
    });

  program
    .command('rebuild <readModel>')
    .description('blue/green rebuild: a new version builds beside the live one and takes over when it has caught up')
    .option('--version <n>', 'the version to build (default: one above the newest)', (v) => Number(v))
    .option('--tenant <orgnr>', 'check this tenant against the production guard', orgnr)
    .option('--i-know-this-is-production', 'allow a production tenant')
    .action(async (readModel: string, o: { version?: number; tenant?: string; iKnowThisIsProduction?: boolean }) => {
      await ctx.withDatabase(async (db) => {
        const tenants = o.tenant ? [await tenantOf(db, o.tenant)] : await new PostgresTenantRegistry(db.pool).list();
        for (const t of tenants) guardProduction(t, o, 'rebuild');
        const engine = engineFor(db);
        const version = await engine.requestVersion(readModel, o.version);
        const id = `${readModel}_v${version}`;
        console.error(`building ${id} beside the live version`);
        // Runs the new version here (a running platform builds it too; one runner wins per tenant).
        await engine.start();
        const bar = new SingleBar({ format: `${id} |{bar}| {percentage}% | {value}/{total} events`, stream: process.stderr }, Presets.shades_classic);
        let started = false;
        try {
          for (;;) {
            const mine = (await engine.status()).filter((s) => s.projection === id);
            const behind = mine.reduce((n, s) => n + s.eventsBehind, 0);
            const { rows } = await db.pool.query<{ status: string }>('SELECT status FROM read_model_versions WHERE read_model = $1 AND version = $2', [readModel, version]);
            const live = rows[0]?.status === 'live';
            if (!started) {
              bar.start(Math.max(behind, 1), 0);
              started = true;
            }
            bar.setTotal(Math.max(bar.getTotal(), behind));
            bar.update(bar.getTotal() - behind);
            if (live) break;
            const paused = mine.find((s) => s.status === 'paused');
            if (paused) throw new Error(`${id} paused for tenant ${paused.tenant}: ${paused.pausedReason}`);
            await new Promise((r) => setTimeout(r, 250));
          }
        } finally {
          bar.stop();
          await engine.stop();
        }
        console.log(`${id} is live`);
      });
    });
}
