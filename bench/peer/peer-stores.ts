/** Our store and Emmett's side by side on one server, each in a database of its own. */
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';
import { runMigrations } from '#libs/database';
import { PostgresEventStore } from '#libs/event-store';
import { PostgresTenantRegistry, tenantId } from '#libs/tenancy';

export const TENANT = tenantId('313231593');

export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function openPeerStores(adminUrl: string, suffix: string, poolSize: number) {
  const oursUrl = await createDatabase(adminUrl, `ours${suffix}`);
  const emmettUrl = await createDatabase(adminUrl, `emmett${suffix}`);
  await runMigrations(oursUrl);
  const oursPool = new pg.Pool({ connectionString: oursUrl, max: poolSize });
  await new PostgresTenantRegistry(oursPool).add({ id: TENANT, name: 'Bench', environment: 'test' });
  const ours = new PostgresEventStore(oursPool);
  const emmett = getPostgreSQLEventStore(emmettUrl);
  return {
    oursUrl,
    emmettUrl,
    oursPool,
    ours,
    emmett,
    async close() {
      await ours.close();
      await emmett.close();
      await oursPool.end();
      // Emmett's internal pool may still hold idle connections that the server's shutdown ends.
      process.on('uncaughtException', (error) => {
        if (!/terminating connection|Connection terminated/.test(error.message)) throw error;
      });
    },
  };
}
