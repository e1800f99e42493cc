// `npm run bench`: every benchmark in bench/, one after another (each on its own embedded
// server), then bench/results/latest.json and latest.md combining their figures.
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '#libs/database';
import { throughputChart } from './chart.js';

const BENCHES = ['append', 'receive', 'content', 'peer', 'peer-rebuild', 'subscriptions'] as const;
const modules: Record<(typeof BENCHES)[number], string> = {
  append: './append/append.bench.js',
  receive: './receive/receive.bench.js',
  content: './content/content.bench.js',
  peer: './peer/emmett-append.bench.js',
  'peer-rebuild': './peer/emmett-rebuild.bench.js',
  subscriptions: './subscriptions/subscriptions.bench.js',
};

// BENCH_ONLY=peer,peer-rebuild reruns some and combines them with the others' last results.
const only = process.env.BENCH_ONLY?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
/**
 * Between two benches the disk settles: the one before wrote gigabytes (5M events in bench/append)
 * whose writeback went on under the next one's fsync-bound commits; in one full run the
 * all-in-one platform, measured first in bench/receive, lost a fifth of its batch throughput to
 * it and ended 66,000 events behind, where the same bench alone ended with none behind.
 */
function settle(): void {
  spawnSync('sync');
}
for (const name of BENCHES) {
  if (only && !only.includes(name)) continue;
  settle();
  await import(modules[name]);
}

const dir = join(packageRoot(), 'bench', 'results');
const combined: Record<string, unknown> = { generatedAt: new Date().toISOString() };
const sections: string[] = [`# npm run bench — ${new Date().toISOString()}`, ''];
for (const name of BENCHES) {
  combined[name] = JSON.parse(await readFile(join(dir, `${name}-latest.json`), 'utf8'));
  sections.push((await readFile(join(dir, `${name}-latest.md`), 'utf8')).replace(/^# /, '## '), '');
}
type Row = { case: string; writers: number; [k: string]: unknown };
const single = (rows: Row[], key: string) => new Map(rows.filter((r) => r.case === 'single-event append').map((r) => [r.writers, Number(r[key])]));
const append = (combined.append as { throughput: Row[] }).throughput;
const peer = (combined.peer as { rows: Row[] }).rows;
await writeFile(
  join(dir, 'append-throughput.svg'),
  throughputChart('Single-event appends per second by writers (one run of npm run bench)', [
    { name: 'raw pg INSERT', colour: '#9e9e9e', values: single(append, 'raw') },
    { name: 'fpi event-store port', colour: '#1f6feb', values: single(append, 'port') },
    { name: 'Emmett 0.42.0', colour: '#e36209', values: single(peer, 'emmett') },
  ]),
);
sections.push('![Single-event appends per second by writers](append-throughput.svg)', '');
await writeFile(join(dir, 'latest.json'), JSON.stringify(combined, null, 2) + '\n');
await writeFile(join(dir, 'latest.md'), sections.join('\n'));
console.log(`written to ${dir}/latest.{json,md}`);
