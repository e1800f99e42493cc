import type { PlatformConfig } from '#libs/config';
import { openDatabase, readRuntimeFile, type Database } from '#libs/database';
import { PostgresEventStore } from '#libs/event-store';
import { PostgresTenantRegistry, tenantId, type Tenant } from '#libs/tenancy';
import { parsePersonIdentifier, validateOrganisationNumber } from '#libs/domain';
import { InvalidArgumentError } from 'commander';

/**
 * What every command needs from the settings (read once by `fpi` at start, `loadConfig()`):
 * the platform's database and the dev issuer's directory.
 */
export class CliContext {
  constructor(readonly config: PlatformConfig) {}

  /** FPI_DATA_DIR (default `./data`): the embedded PostgreSQL and the dev issuer's keys. */
  get dataDir(): string {
    return this.config.database.dataDir;
  }

  /** The database the platform uses: DATABASE_URL, the running embedded server, or a short-lived one. */
  async database(): Promise<Database> {
    const url = this.config.database.url;
    const running = url ? undefined : await readRuntimeFile(this.dataDir);
    return openDatabase({ url: url || running?.url, dataDir: this.dataDir, poolSize: 4 });
  }

  async withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
    const db = await this.database();
    try {
      return await work(db);
    } finally {
      await db.close();
    }
  }

  /**
   * Development tokens exist only with the dev issuer. With HelseID configured
   * (FPI_AUTH_JWKS_URL) no dev signing key is made or used: tokens come from HelseID.
   */
  assertDevTokensAvailable(): void {
    if (this.config.auth.mode === 'helseid') {
      throw new Error(
        'no development tokens here: this platform is configured for HelseID (FPI_AUTH_JWKS_URL is set), which does not accept the dev issuer; get a token from HelseID (no dev signing key was created)',
      );
    }
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
