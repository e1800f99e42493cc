import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { packageRoot } from '#libs/database';
import { createTestDatabase, syntheticPid, type TestDatabase } from '#libs/testing';

const run = promisify(execFile);

/** The CLI takes person ids through the same parser as the APIs, and names the cross-source scope. */
describe('security: the fpi CLI', () => {
  let db: TestDatabase;
  let dataDir: string;
  const fpi = (...args: string[]) => run(process.execPath, [join(packageRoot(), 'apps/cli/link/fpi.js'), ...args], { env: { ...process.env, DATABASE_URL: db.url, FPI_DATA_DIR: dataDir } });

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'fpi-security-cli-'));
    // Dev tokens only for a registered test municipality.
    await fpi('tenant', 'add', '--orgnr', '313231593', '--name', 'Test kommune');
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it.each([
    ['a padded person id', (pid: string) => ` ${pid}`, /not-canonical/],
    ['a percent-encoded person id', (pid: string) => `%20${pid}`, /not-canonical/],
    ['wrong check digits', (pid: string) => pid.slice(0, 10) + String((Number(pid[10]) + 1) % 10), /check-digits/],
  ])('export --patient refuses %s by the one parser, without echoing it', async (_, spell, rule) => {
    const pid = syntheticPid();
    const failed = await fpi('export', '--tenant', '313231593', '--patient', spell(pid)).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed?.code).not.toBe(0);
    expect(failed?.stderr).toMatch(rule);
    expect(failed?.stderr).not.toContain(pid.slice(0, 10));
  });

  it('mints a dev token with the cross-source scope only when asked for it', async () => {
    const any = decodeJwt((await fpi('token', '--tenant', '313231593', '--scope', 'write', 'write-any-source')).stdout.trim());
    expect(String(any.scope).split(' ')).toEqual(['nhn:fpi/decision-events.write', 'nhn:fpi/decision-events.write-any-source']);
    const plain = decodeJwt((await fpi('token', '--tenant', '313231593', '--scope', 'write')).stdout.trim());
    expect(plain.scope).toBe('nhn:fpi/decision-events.write');
  });
});
