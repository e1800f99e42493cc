/**
 * `fpi`: the platform's command line (npx fpi --help). Tenants and development tokens now;
 * seeding, replay, export and rebuild join in the tester-toolkit issue.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { join } from 'node:path';
import { openDatabase, readRuntimeFile, type Database } from '#libs/database';
import { PostgresTenantRegistry, tenantId } from '#libs/event-store';
import { validateOrganisationNumber } from '#libs/domain';
import { DevIssuer, PURPOSES_OF_USE, type ScopeName } from '#libs/security';

const dataDir = () => process.env.FPI_DATA_DIR || join(process.cwd(), 'data');

/** The database the platform uses: DATABASE_URL, the running embedded server, or a short-lived one. */
async function database(): Promise<Database> {
  const running = process.env.DATABASE_URL ? undefined : await readRuntimeFile(dataDir());
  return openDatabase({ url: process.env.DATABASE_URL || running?.url, dataDir: dataDir(), poolSize: 2 });
}

const orgnr = (value: string) => {
  const check = validateOrganisationNumber(value);
  if (!check.ok) throw new InvalidArgumentError(check.message);
  return value;
};

const program = new Command()
  .name('fpi')
  .description('fpi-platform: tenants (municipalities) and development tokens')
  .showHelpAfterError();

const tenant = program.command('tenant').description('municipalities using this platform');

tenant
  .command('add')
  .description('register a municipality (test unless --production); repeating it changes nothing')
  .requiredOption('--orgnr <orgnr>', 'organisation number of the main entity (orgnr_parent)', orgnr)
  .requiredOption('--name <name>', 'name, e.g. "Bodø kommune"')
  .option('--production', 'a production tenant: refuses synthetic identities', false)
  .option('--json', 'print JSON')
  .action(async (o: { orgnr: string; name: string; production: boolean; json?: boolean }) => {
    const db = await database();
    try {
      const t = await new PostgresTenantRegistry(db.pool).add({ id: tenantId(o.orgnr), name: o.name, environment: o.production ? 'production' : 'test' });
      console.log(o.json ? JSON.stringify(t) : `${t.id}\t${t.environment}\t${t.name}`);
    } finally {
      await db.close();
    }
  });

tenant
  .command('list')
  .description('list the registered municipalities')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }) => {
    const db = await database();
    try {
      const all = await new PostgresTenantRegistry(db.pool).list();
      console.log(o.json ? JSON.stringify(all, null, 2) : all.map((t: { id: string; environment: string; name: string }) => `${t.id}\t${t.environment}\t${t.name}`).join('\n'));
    } finally {
      await db.close();
    }
  });

program
  .command('token')
  .description('print a development access token of the embedded default (only the token, so $(npx fpi token …) works)')
  .requiredOption('--tenant <orgnr>', 'orgnr_parent: the municipality the token acts for', orgnr)
  .addOption(new Option('--scope <scope...>', 'what it may do').choices(['read', 'write', 'audit']).makeOptionMandatory())
  .addOption(new Option('--purpose <purpose>', 'purpose of use (required for reads)').choices([...PURPOSES_OF_USE]))
  .option('--purpose-details <code>', 'purpose_of_use_details: a 9151 code')
  .option('--hpr <number>', 'the user\'s HPR number')
  .option('--org-child <orgnr>', 'orgnr_child: the unit (e.g. the legevakt)', orgnr)
  .option('--client-id <id>', 'client_id (the calling system)', 'dev-client')
  .option('--client-name <name>', 'client name for the access log')
  .option('--ttl <seconds>', 'lifetime in seconds', (v) => Number(v), 3600)
  .option('--dpop-jkt <thumbprint>', 'bind the token to a DPoP key (cnf.jkt)')
  .action(async (o: { tenant: string; scope: string[]; purpose?: (typeof PURPOSES_OF_USE)[number]; purposeDetails?: string; hpr?: string; orgChild?: string; clientId: string; clientName?: string; ttl: number; dpopJkt?: string }) => {
    const issuer = await DevIssuer.open(dataDir());
    process.stdout.write(
      (await issuer.issue({
        tenant: o.tenant, scopes: o.scope as ScopeName[], purpose: o.purpose, purposeDetails: o.purposeDetails, hpr: o.hpr, orgChild: o.orgChild,
        clientId: o.clientId, clientName: o.clientName, ttlSeconds: o.ttl, dpopJkt: o.dpopJkt,
      })) + '\n',
    );
  });

await program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`fpi: ${(error as Error).message}`);
  process.exitCode = 1;
});
