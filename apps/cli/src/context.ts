import { join } from 'node:path';
import { openDatabase, readRuntimeFile, type Database } from '#libs/database';
import { PostgresEventStore } from '#libs/event-store';
import { PostgresTenantRegistry, tenantId, type Tenant } from '#libs/tenancy';
import { parsePersonIdentifier, validateOrganisationNumber } from '#libs/domain';
import { InvalidArgumentError } from 'commander';
import { authMode } from '#libs/security';

export const dataDir = () => process.env.FPI_DATA_DIR || join(process.cwd(), 'data');

/** The database the platform uses: DATABASE_URL, the running embedded server, or a short-lived one. */
export async function database(): Promise<Database> {
  const running = process.env.DATABASE_URL ? undefined : await readRuntimeFile(dataDir());
  return openDatabase({ url: process.env.DATABASE_URL || running?.url, dataDir: dataDir(), poolSize: 4 });
}

export async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const db = await database();
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

export const orgnr = (value: string) => {
  const check = validateOrganisationNumber(value);
  if (!check.ok) throw new InvalidArgumentError(check.message);
  return value;
};

/**
 * A person id given on the command line, by the one parser of person ids (no padding,
 * valid check digits). Checked in the action, not as a commander argument parser: commander
 * would echo the value in its message, and stderr may end up in a CI log.
 */
export const personIdArg = (value: string, option: string) => {
  const parsed = parsePersonIdentifier(value);
  if (!parsed.ok) throw new Error(`${option}: ${parsed.message} (rule ${parsed.rule})`);
  return parsed.id.value;
};

export async function tenantOf(db: Database, id: string): Promise<Tenant> {
  const tenant = await new PostgresTenantRegistry(db.pool).get(tenantId(id));
  if (!tenant) throw new Error(`tenant ${id} is not registered (npx fpi tenant add --orgnr ${id} --name …)`);
  return tenant;
}

/**
 * Tester tools write test data. A production tenant is refused unless the operator says
 * so explicitly, and even then never with synthetic identities.
 */
export function guardProduction(tenant: Tenant, options: { iKnowThisIsProduction?: boolean }, command: string): void {
  if (tenant.environment !== 'production') return;
  if (!options.iKnowThisIsProduction) {
    throw new Error(`${command} refuses the production tenant ${tenant.id} (${tenant.name}); pass --i-know-this-is-production if you really mean it`);
  }
}

export const store = (db: Database) => new PostgresEventStore(db.pool);

/**
 * Development tokens exist only with the dev issuer. With HelseID configured
 * (FPI_AUTH_JWKS_URL) no dev signing key is made or used: tokens come from HelseID.
 */
export function assertDevTokensAvailable(): void {
  if (authMode() === 'helseid') {
    throw new Error('no development tokens here: this platform is configured for HelseID (FPI_AUTH_JWKS_URL is set), which does not accept the dev issuer; get a token from HelseID (no dev signing key was created)');
  }
}
