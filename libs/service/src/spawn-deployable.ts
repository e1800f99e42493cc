import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, packageRoot } from '#libs/database';

export type Deployable = 'platform' | 'receive-service' | 'content-service';

export interface DeployableProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

/**
 * A built deployable (`npm run build` first) as a process of its own on loopback, for the
 * fault, scale-out and log tests and the benchmarks; resolves once it listens. `onOutput`
 * receives every chunk it writes (stdout and stderr), from its first line on.
 */
export async function spawnDeployable(app: Deployable, env: NodeJS.ProcessEnv, options: { port?: number; nodeArgs?: string[]; onOutput?: (chunk: string) => void } = {}): Promise<DeployableProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), join(packageRoot(), `dist/apps/${app}/src/main.js`)], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  if (options.onOutput) {
    child.stdout!.on('data', (c: Buffer) => options.onOutput!(c.toString()));
    child.stderr!.on('data', (c: Buffer) => options.onOutput!(c.toString()));
  }
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => c.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`${app} exited ${code}: ${stderr}`)));
  });
  const ended = (signal: NodeJS.Signals) => async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill(signal);
    });
  };
  return { child, port, url: `http://127.0.0.1:${port}`, stop: ended('SIGTERM'), kill: ended('SIGKILL') };
}
