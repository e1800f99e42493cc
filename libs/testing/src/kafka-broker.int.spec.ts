import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { endWithOwner } from './end-with-owner.js';
import { BROKER_DIR_PREFIX, freeStablePort, removeAbandonedBrokerDirs } from './kafka-broker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Running (a zombie, which no parent has reaped yet, counts as ended). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

describe('the Kafka broker helper leaves no process behind', () => {
  it('a process tied to its owner with endWithOwner ends when the owner is killed with SIGKILL', async () => {
    const module = pathToFileURL(join(process.cwd(), 'libs/testing/src/end-with-owner.js')).href;
    // The owner: a Node process that starts a long sleep (in its own process group, so only the watchdog can end it).
    const owner = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      import { spawn } from 'node:child_process';
      import { endWithOwner } from ${JSON.stringify(module)};
      const target = spawn('sleep', ['300'], { stdio: 'ignore', detached: true });
      target.unref();
      endWithOwner(target.pid);
      console.log(target.pid);
      setInterval(() => undefined, 1000);
    `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pid = await new Promise<number>((resolve, reject) => {
      owner.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      owner.once('exit', () => reject(new Error('the owner exited early')));
    });
    let ownerKilled = false;
    try {
      expect(pid).toBeGreaterThan(0);
      await sleep(300);
      expect(alive(pid)).toBe(true); // the watchdog waits while its owner lives
      owner.kill('SIGKILL');
      ownerKilled = true;
      expect(await until(() => !alive(pid))).toBe(true);
    } finally {
      if (!ownerKilled) owner.kill('SIGKILL');
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('disarmed, the watchdog leaves the process alone', async () => {
    const target = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      const disarm = endWithOwner(target.pid!);
      await sleep(200);
      expect(alive(target.pid!)).toBe(true);
      disarm();
      await sleep(300);
      expect(alive(target.pid!)).toBe(true);
    } finally {
      target.kill('SIGKILL');
    }
  });

  it("the folder of a broker whose owner died is removed at the next start, a living owner's is kept", async () => {
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    const abandoned = mkdtempSync(join(tmpdir(), BROKER_DIR_PREFIX));
    writeFileSync(join(abandoned, 'owner.pid'), String(gone.pid));
    const mine = mkdtempSync(join(tmpdir(), BROKER_DIR_PREFIX));
    writeFileSync(join(mine, 'owner.pid'), String(process.pid));
    try {
      await removeAbandonedBrokerDirs();
      expect(existsSync(abandoned)).toBe(false);
      expect(existsSync(mine)).toBe(true);
    } finally {
      rmSync(abandoned, { recursive: true, force: true });
      rmSync(mine, { recursive: true, force: true });
    }
  });

  it("the broker gets ports outside the kernel's ephemeral range (no client connection can hold one when it restarts)", async () => {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number, number];
    for (let i = 0; i < 5; i++) {
      const port = await freeStablePort();
      expect(port < low || port > high).toBe(true);
      expect(port).toBeGreaterThanOrEqual(10_000);
    }
  });
});
