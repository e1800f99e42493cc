import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, OWNER_STOP_GRACE_MS, packageRoot } from '#libs/database';
import { spawnDeployable } from '#libs/service';
import { DevIssuer } from '#libs/security';
import { syntheticGrant } from '#libs/testing';

/** Warnings and errors, and any sign of a connection cut under a worker. */
const TROUBLE = /terminating connection|connection failed|Connection terminated|ECONNRESET|"level":(40|50|60)/;

/**
 * The built platform on the embedded default in `dir`, as `npm start` runs it. With `group`
 * it leads a process group of its own, as a shell's foreground job: the embedded PostgreSQL
 * is in that group, so a Ctrl-C reaches it too.
 */
async function startPlatform(dir: string, group: boolean) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(packageRoot(), 'dist/apps/platform/src/main.js')], {
    env: { ...process.env, FPI_DATA_DIR: dir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', FPI_RATE_LIMIT_PER_MINUTE: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: group,
  });
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => output.includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`platform exited ${code}: ${output.slice(-2000)}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, output: () => output };
}

/**
 * `npm start` on the embedded default, stopped by a supervisor (SIGTERM, SIGINT) or with
 * Ctrl-C in a terminal: the application closes its workers and pools first and stops its
 * PostgreSQL last, so no worker sees its connection cut, and nothing of that is logged as a
 * warning. It stops promptly, the cluster with it, and the next start on the same directory works.
 */
describe('stopping the platform on the embedded default', () => {
  const cases = [
    { name: 'SIGTERM to the process (a supervisor)', signal: 'SIGTERM', group: false },
    { name: 'SIGINT to the process', signal: 'SIGINT', group: false },
    { name: 'Ctrl-C in a terminal (SIGINT to the whole process group, PostgreSQL included)', signal: 'SIGINT', group: true },
  ] as const;
  for (const { name, signal, group } of cases) {
    it(`${name}: stops promptly with its cluster, workers and pools before the cluster, no warning (error) logged, the next start works`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'fpi-shutdown-'));
      try {
        const platform = await startPlatform(dir, group);
        // Work for the receive path, the projections and the subscriptions' delivery worker.
        const token = await (await DevIssuer.open(dir)).issue({ tenant: '313231593', scopes: ['write', 'read'], purpose: 'TREAT', clientId: 'epj-shutdown' });
        const posted = await fetch(`${platform.url}/api/v1/decision-events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(syntheticGrant({ performer: { orgnr: '974760673', name: 'Hjemmetjenesten' } })),
        });
        expect(posted.status).toBe(201);
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => platform.child.once('exit', (code, s) => r({ code, signal: s })));
        const signalled = performance.now();
        if (group) process.kill(-platform.child.pid!, signal);
        else platform.child.kill(signal);
        const exit = await exited;
        // Stopped on its own (the exit code of the signal, or the signal re-raised), not killed.
        expect(exit.code === 128 + (signal === 'SIGINT' ? 2 : 15) || exit.signal === signal).toBe(true);
        const trouble = platform
          .output()
          .split('\n')
          .filter((line) => TROUBLE.test(line));
        // From a terminal, PostgreSQL gets the Ctrl-C as well and stops at once, under the
        // workers: they may say so (a warning), but nothing is an error, and the stop is prompt.
        if (group) expect(trouble.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
        else expect(trouble).toEqual([]);
        expect(performance.now() - signalled).toBeLessThan(OWNER_STOP_GRACE_MS);
        // A clean stop removes the cluster's pid file.
        expect(existsSync(join(dir, 'postgres', 'postmaster.pid'))).toBe(false);
        const again = await spawnDeployable('platform', { FPI_DATA_DIR: dir, LOG_LEVEL: 'silent' });
        expect((await fetch(`${again.url}/health/ready`)).status).toBe(200);
        await again.stop();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 90_000);
  }
});
