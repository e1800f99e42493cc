import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * While the platform runs the embedded PostgreSQL, it leaves the server's address in
 * `<dataDir>/postgres.runtime.json`, so that tools (`npx fpi tenant …`) use the running
 * server instead of starting a second one on the same data directory.
 */
export const runtimeFile = (dataDir: string) => join(dataDir, 'postgres.runtime.json');

export async function writeRuntimeFile(dataDir: string, url: string): Promise<void> {
  await writeFile(runtimeFile(dataDir), JSON.stringify({ url, pid: process.pid }), { mode: 0o600 });
}

export async function readRuntimeFile(dataDir: string): Promise<{ url: string; pid: number } | undefined> {
  const file = runtimeFile(dataDir);
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(await readFile(file, 'utf8')) as { url: string; pid: number };
  try {
    process.kill(info.pid, 0); // still running?
    return info;
  } catch {
    return undefined;
  }
}

export async function removeRuntimeFile(dataDir: string): Promise<void> {
  await rm(runtimeFile(dataDir), { force: true });
}
