import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { packageRoot } from '#libs/database';
import { DevIssuer } from '#libs/security';
import { createTestDatabase, type TestDatabase } from '#libs/testing';

const run = promisify(execFile);

/** The `fpi` command as a user runs it (the built CLI behind node_modules/.bin/fpi). */
describe('npx fpi', () => {
  let db: TestDatabase;
  let dataDir: string;
  const fpi = (...args: string[]) => run(process.execPath, [join(packageRoot(), 'apps/cli/link/fpi.js'), ...args], { env: { ...process.env, DATABASE_URL: db.url, FPI_DATA_DIR: dataDir } });

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'fpi-cli-'));
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('adds tenants repeatably and lists them as JSON', async () => {
    await fpi('tenant', 'add', '--orgnr', '912159523', '--name', 'Bodø kommune (test)');
    await fpi('tenant', 'add', '--orgnr', '912159523', '--name', 'Bodø kommune (test)');
    await fpi('tenant', 'add', '--orgnr', '922734046', '--name', 'Bærum kommune', '--production');
    const { stdout } = await fpi('tenant', 'list', '--json');
    expect(JSON.parse(stdout).map((t: { id: string; environment: string }) => `${t.id}:${t.environment}`)).toEqual(['912159523:test', '922734046:production']);
  });

  it('refuses an organisation number with a wrong check digit', async () => {
    await expect(fpi('tenant', 'add', '--orgnr', '912159524', '--name', 'X')).rejects.toMatchObject({ stderr: expect.stringMatching(/check digit/) });
  });

  it('no-control-characters: refuses a tenant name that cannot be stored as given, and registers nothing', async () => {
    // NUL cannot be passed in argv; the other control characters can, and are refused by the same rule.
    for (const name of ['Bodø\u0001kommune', 'Bell\u0007', 'Esc\u001B[31m']) {
      await expect(fpi('tenant', 'add', '--orgnr', '974760673', '--name', name)).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/no-control-characters/) });
    }
    const { stdout } = await fpi('tenant', 'list', '--json');
    expect(JSON.parse(stdout).map((t: { id: string }) => t.id)).not.toContain('974760673');
  });

  it('prints only a token, signed by the dev issuer, with the claims asked for', async () => {
    const { stdout } = await fpi('token', '--tenant', '912159523', '--scope', 'read', '--purpose', 'ETREAT', '--hpr', '4128168', '--org-child', '974760673');
    const token = stdout.trim();
    expect(stdout).toBe(`${token}\n`);
    const issuer = await DevIssuer.open(dataDir);
    const { payload } = await jwtVerify(token, createLocalJWKSet(issuer.jwks() as never), { issuer: 'urn:fpi:dev-issuer', audience: 'nhn:fpi' });
    expect(payload).toMatchObject({
      scope: 'nhn:fpi/service-overview.read',
      'helseid://claims/client/claims/orgnr_parent': '912159523',
      'helseid://claims/client/claims/orgnr_child': '974760673',
      'helseid://claims/hpr/hpr_number': '4128168',
      authorization_details: [expect.objectContaining({ care_relationship: expect.objectContaining({ purpose_of_use: expect.objectContaining({ code: 'ETREAT' }) }) })],
    });
  });
});
