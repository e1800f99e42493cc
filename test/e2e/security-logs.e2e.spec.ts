import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIssuer } from '#libs/security';
import { createTestDatabase, spawnPlatformWithLogs, syntheticGrant, syntheticPid, FNR, FULL_ACCESS, type TestDatabase } from '#libs/testing';

/** Every spelling of `pid` an operator could find in a log with grep. */
function spellings(pid: string): string[] {
  const percent = [...pid].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
  return [pid, percent, percent.toUpperCase(), `%20${pid}`, `%2520${pid}`, pid.replace(/(\d{3})(?=\d)/g, '$1 '), pid.replace(/(\d{6})/, '$1-')];
}

/** The text with percent-escapes undone (where they decode) and all white space, dots and hyphens removed. */
function flattened(text: string): string {
  let t = text;
  for (let i = 0; i < 3; i++) t = t.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return t.replace(/[\s.\-_+\u00a0\u00c2]/g, '');
}

/**
 * Issue 15 part 3: the built platform as its own process, its JSON logs captured as an
 * operator sees them; requests carry the patient number in every place and spelling a
 * client can put it (path, percent-encoding, padding, query strings, any header).
 */
describe('security: no patient number in any log, in any encoding', () => {
  let db: TestDatabase;
  let platform: Awaited<ReturnType<typeof spawnPlatformWithLogs>>;
  let base: string;
  let dataDir: string;
  let auth: Record<string, string>;
  const pid = syntheticPid();

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'fpi-security-logs-'));
    auth = { authorization: `Bearer ${await (await DevIssuer.open(dataDir)).issue({ ...FULL_ACCESS })}` };
    platform = await spawnPlatformWithLogs({ DATABASE_URL: db.url, FPI_DATA_DIR: dataDir, LOG_LEVEL: 'debug' });
    base = platform.url;
    const post = await fetch(`${base}/api/v1/decision-events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(syntheticGrant({ decisionId: 'LOGS-1', patient: { system: FNR, value: pid }, service: { code: '6' } })),
    });
    expect(post.status).toBe(201);
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('logs every request line without the patient number in raw, percent-encoded or padded form', async () => {
    const percentDigits = [...pid].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    const paths = [
      `/okt-status/${pid}`,
      `/okt-events/%20${pid}`,
      `/okt-events/%2520${pid}`,
      `/okt-events/${percentDigits}`,
      `/okt-events/%C2%A0${pid}`,
      `/okt-events/${pid}%09`,
      `/okt-events/${pid.slice(0, 3)}%20${pid.slice(3)}`,
      `/no-such-route/${pid}`,
      `/api/v1/service-overview?pid=${pid}`,
      `/api/v1/service-overview?pid=%20${pid}`,
      `/fhir/EpisodeOfCare?patient.identifier=${encodeURIComponent(`${FNR}|${pid}`)}`,
      `/fhir/EpisodeOfCare?patient.identifier=${encodeURIComponent(`${FNR}| ${pid}`)}`,
    ];
    for (const path of paths) {
      const res = await fetch(`${base}${path}`, { headers: { 'person-id': pid, ...auth } });
      expect(res.status).toBeLessThan(500);
      await res.arrayBuffer();
    }
    const headers: Record<string, string>[] = [
      { 'person-id': `%20${pid}` },
      { 'x-patient': pid },
      { 'x-forwarded-for': pid },
      { referer: `https://epj.example/patient/${pid}` },
      { 'user-agent': `probe/1.0 (${pid})` },
      { 'user-agent': `probe/1.0 (%20${pid})` },
      { accept: `application/json; q=${pid}` },
      { 'x-request-id': pid },
      { cookie: `patient=${pid}` },
      { 'content-type': `application/json; pid=${pid}` },
    ];
    for (const extra of headers) {
      const res = await fetch(`${base}/api/v1/service-overview`, { headers: { 'person-id': pid, ...auth, ...extra } });
      expect(res.status).toBeLessThan(500);
      await res.arrayBuffer();
    }
    // A body that does not parse, and one that breaks the rules, with the number in it.
    await (await fetch(`${base}/api/v1/decision-events`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: `{"patient": ${pid}x` })).arrayBuffer();
    await (
      await fetch(`${base}/api/v1/service-overview/_search`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ personId: ` ${pid}` }) })
    ).arrayBuffer();
    await new Promise((r) => setTimeout(r, 500)); // let pino flush

    const requestLines = platform
      .output()
      .split('\n')
      .filter((l) => l.includes('"req"'));
    expect(requestLines.length).toBeGreaterThanOrEqual(paths.length + headers.length);
    for (const spelling of spellings(pid)) expect(platform.output()).not.toContain(spelling);
    expect(flattened(platform.output())).not.toContain(pid);
    // Masked, not dropped: the lines still tell an operator what was asked.
    expect(platform.output()).toContain('/okt-status/***********');
    expect(platform.output()).toContain('"user-agent":"probe/1.0 (***********)"');
  });

  it('logs request headers by allow-list: none outside it appears, whatever its name', () => {
    const requestLines = platform
      .output()
      .split('\n')
      .filter((l) => l.includes('"req"'))
      .map((l) => JSON.parse(l) as { req: { headers: Record<string, string> } });
    const logged = new Set(requestLines.flatMap((l) => Object.keys(l.req.headers)));
    expect([...logged].sort()).toEqual(expect.arrayContaining(['host', 'user-agent']));
    for (const name of ['authorization', 'person-id', 'x-patient', 'x-forwarded-for', 'referer', 'cookie', 'dpop']) expect(logged).not.toContain(name);
    expect(platform.output()).not.toContain(auth.authorization!.slice(7, 60));
  });
});
