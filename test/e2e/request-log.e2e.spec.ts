import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { DevIssuer } from '#libs/security';
import { createTestDatabase, spawnPlatformWithLogs, syntheticGrant, syntheticPid, FNR, FULL_ACCESS, type TestDatabase } from '#libs/testing';
import { expectValidFhir } from '../../libs/fhir/src/testing/validate.js';

/** The built platform as a process of its own, its JSON logs captured as an operator sees them. */
describe('request logs never print a person identifier', () => {
  let db: TestDatabase;
  let platform: Awaited<ReturnType<typeof spawnPlatformWithLogs>>;
  let base: string;
  let dataDir: string;
  let auth: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'fpi-request-log-'));
    auth = { authorization: `Bearer ${await (await DevIssuer.open(dataDir)).issue({ ...FULL_ACCESS })}` };
    platform = await spawnPlatformWithLogs({ DATABASE_URL: db.url, FPI_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    base = platform.url;
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('masks pids in URLs, drops query strings and the person-id header, and keeps the request lines', async () => {
    const pid = syntheticPid();
    const post = await fetch(`${base}/api/v1/decision-events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(syntheticGrant({ decisionId: 'LOG-1', patient: { system: FNR, value: pid }, service: { code: '6' } })),
    });
    expect(post.status).toBe(201);
    expect((await fetch(`${base}/api/v1/service-overview`, { headers: { 'person-id': pid, ...auth } })).status).toBe(200);
    expect((await fetch(`${base}/okt-status/${pid}`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/okt-events/${pid}`, { headers: auth })).status).toBeLessThan(500);
    expectValidFhir(await (await fetch(`${base}/fhir/EpisodeOfCare?patient.identifier=${encodeURIComponent(`${FNR}|${pid}`)}`, { headers: auth })).json());
    await fetch(`${base}/api/v1/service-overview?pid=${pid}`, { headers: { 'person-id': pid, ...auth } });
    await new Promise((r) => setTimeout(r, 300)); // let pino flush
    const requestLines = platform
      .output()
      .split('\n')
      .filter((l) => l.includes('"req"'));
    expect(requestLines.length).toBeGreaterThanOrEqual(6);
    expect(platform.output()).toContain('/okt-status/***********');
    expect(platform.output()).not.toContain(pid);
    // Nor the token.
    expect(platform.output()).not.toContain(auth.authorization!.slice(7, 60));
  });
});
