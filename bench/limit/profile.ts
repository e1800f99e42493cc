/**
 * `node dist/bench/limit/profile.js <deployable|limit> <path>`: one deployable under the bench's load
 * with `node --cpu-prof` (PLATFORM_NODE_ARGS or LIMIT_NODE_ARGS; profiles in PROFILE_DIR, default /tmp), then the heaviest functions by
 * self time and by package. For deciding where the HTTP path's time goes.
 */
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { syntheticFodselsnummer } from '#libs/domain';
import type { Deployable } from '#libs/service';
import { benchGrant, benchPatients, startBenchServer, startPlatform } from '../lib.js';
import { benchDatabase, startLimitServer } from './limit.js';

const [app = 'receive-service', path = '/api/v1/decision-events'] = process.argv.slice(2);
const dir = process.env.PROFILE_DIR ?? '/tmp';
const pid = syntheticFodselsnummer({ birthDate: { year: 1950, month: 3, day: 4 }, offset: 65, individual: 123 })!;
const bench = await startBenchServer();
const platform = await startPlatform(bench.url, {}, app === 'limit' ? 'receive-service' : (app as Deployable));
const server = app === 'limit' ? { ...(await startLimitServer(await benchDatabase(bench.url, 'bench_profile'), platform.jwks)), authorization: platform.authorization } : platform;
// Grants spread over 2,000 patients, as bench/receive sends them (one patient's overview would grow without bound).
const patients = benchPatients(2000, 7);
let sent = 0;
const grant = () => benchGrant(`P-${randomUUID()}`, patients[sent++ % patients.length]!);
// The batch endpoint gets 500 events a request (2 connections), as bench/receive sends them.
const batch = path.endsWith('/batch');
const body = () => JSON.stringify(batch ? { events: Array.from({ length: 500 }, grant) } : grant());
const get = path.includes('overview');
const load = await autocannon({
  url: server.url + path,
  connections: batch ? 2 : 16,
  duration: Number(process.env.BENCH_SECONDS ?? 8),
  requests: [
    get
      ? { method: 'GET', headers: { authorization: server.authorization, 'person-id': pid } }
      : { method: 'POST', headers: { 'content-type': 'application/json', authorization: server.authorization }, setupRequest: (r: autocannon.Request) => ({ ...r, body: body() }) },
  ],
});
await server.stop();
if (server !== platform) await platform.stop();
await bench.stop();
const file = (await readdir(dir))
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort()
  .pop()!;
type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number };
const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as { nodes: Node[] };
const total = profile.nodes.reduce((s, n) => s + n.hitCount, 0);
const by = (key: (n: Node) => string) => {
  const m = new Map<string, number>();
  for (const n of profile.nodes) m.set(key(n), (m.get(key(n)) ?? 0) + n.hitCount);
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
};
const pkg = (n: Node) =>
  /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(n.callFrame.url)?.[1] ??
  (n.callFrame.url.includes('/dist/') ? 'ours:' + n.callFrame.url.replace(/.*\/dist\//, '') : n.callFrame.url || n.callFrame.functionName);
console.log(
  `${load['2xx']} 2xx answers (${load.non2xx} other)\n${file}: ${total} samples, ${profile.nodes.find((n) => n.callFrame.functionName === '(idle)')?.hitCount ?? 0} idle\nby package/file:\n${by(pkg).join('\n')}\nby function:\n${by((n) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/.*node_modules\//, '')}:${n.callFrame.lineNumber}`).join('\n')}`,
);
