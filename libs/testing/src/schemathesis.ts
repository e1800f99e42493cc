/**
 * Schemathesis (https://schemathesis.readthedocs.io, from PyPI), the OpenAPI fuzzer, in a
 * virtualenv the tests make themselves: `node_modules/.cache/fpi-platform/venv-schemathesis-<version>`,
 * made once with the machine's `python3` (≥ 3.10) and pip, and kept between runs. `FPI_SCHEMATHESIS`
 * overrides (the path of an `st` executable).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '#libs/database';

const run = promisify(execFile);

/** The Schemathesis release the suite is written against (its checks and report format). */
export const SCHEMATHESIS_VERSION = '4.32.5';

/** Finds a Python ≥ 3.10 (`FPI_PYTHON`, else python3, python3.13 … python3.10). */
async function python(): Promise<string> {
  const candidates = [process.env.FPI_PYTHON, 'python3', 'python3.13', 'python3.12', 'python3.11', 'python3.10'].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    try {
      const { stdout } = await run(candidate, ['-c', 'import sys; print(sys.version_info >= (3, 10))']);
      if (stdout.trim() === 'True') return candidate;
    } catch {
      // not installed: try the next
    }
  }
  throw new Error('Schemathesis needs Python ≥ 3.10 with venv and pip (python3): none found');
}

/** The `st` executable, installing Schemathesis into the cached virtualenv on first use. */
export async function schemathesis(): Promise<string> {
  if (process.env.FPI_SCHEMATHESIS) return process.env.FPI_SCHEMATHESIS;
  const venv = join(packageRoot(), 'node_modules', '.cache', 'fpi-platform', `venv-schemathesis-${SCHEMATHESIS_VERSION}`);
  const st = join(venv, 'bin', 'st');
  // Written last: a venv without it is a half-made one (an interrupted install) and is made again.
  const complete = join(venv, '.fpi-complete');
  if (existsSync(complete)) return st;
  await rm(venv, { recursive: true, force: true });
  await mkdir(dirname(venv), { recursive: true });
  await run(await python(), ['-m', 'venv', venv]);
  await run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`], { maxBuffer: 16 * 1024 * 1024 });
  await writeFile(complete, `schemathesis==${SCHEMATHESIS_VERSION}\n`);
  return st;
}

/** Runs `st` with `args`; resolves with its exit code and its whole output (stdout and stderr). */
export async function runSchemathesis(st: string, args: string[]): Promise<{ code: number | null; output: string }> {
  // Schemathesis keeps a cache of the crashes it found (replayed first next time) in its
  // working directory: there, not in the repository.
  const cwd = join(packageRoot(), 'node_modules', '.cache', 'fpi-platform', 'schemathesis');
  await mkdir(cwd, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn(st, args, { cwd, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_HOOKS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
