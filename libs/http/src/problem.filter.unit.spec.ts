import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import pg from 'pg';
import { isDatabaseUnavailable, toProblem } from './problem.filter.js';

/** The error a real `pg` connect gives for `config` (no server behind it). */
async function connectError(config: pg.ClientConfig): Promise<unknown> {
  const client = new pg.Client({ ...config, user: 'x', password: 'x', database: 'x', connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => undefined);
  }
  throw new Error('connected');
}

/** A loopback port with nothing listening (taken, then freed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('database unavailable → 503', () => {
  it('a stopped server behind a Unix-domain socket (its socket file is gone: ENOENT on connect)', async () => {
    const error = await connectError({ host: '/nonexistent-fpi-socket-dir', port: 5432 });
    expect((error as { code?: string }).code).toBe('ENOENT');
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(toProblem(error)).toMatchObject({ problem: { status: 503, type: 'urn:fpi:problem:unavailable' }, headers: { 'retry-after': '2' } });
  });

  it('a stopped server over TCP (ECONNREFUSED)', async () => {
    const error = await connectError({ host: '127.0.0.1', port: await closedPort() });
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(toProblem(error).problem.status).toBe(503);
  });

  it('PostgreSQL shutting down (SQLSTATE 57P01) is unavailable; a missing file is not (an internal error, 500)', async () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    const missing = await readFile('/nonexistent-fpi-file').catch((e: unknown) => e);
    expect((missing as { code?: string }).code).toBe('ENOENT');
    expect(isDatabaseUnavailable(missing)).toBe(false);
    expect(toProblem(missing).problem.status).toBe(500);
  });
});
