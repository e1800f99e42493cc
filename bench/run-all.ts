// `npm run bench`: every benchmark in bench/, one after another (each on its own embedded
// server), then bench/results/latest.json and latest.md combining their figures.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '#libs/database';

const BENCHES = ['append', 'receive', 'content', 'peer', 'peer-rebuild'] as const;
const modules: Record<(typeof BENCHES)[number], string> = {
  append: './append/append.bench.js',
  receive: './receive/receive.bench.js',
  content: './content/content.bench.js',
  peer: './peer/emmett-append.bench.js',
  'peer-rebuild': './peer/emmett-rebuild.bench.js',
};

for (const name of BENCHES) await import(modules[name]);

const dir = join(packageRoot(), 'bench', 'results');
const combined: Record<string, unknown> = { generatedAt: new Date().toISOString() };
const sections: string[] = [`# npm run bench — ${new Date().toISOString()}`, ''];
for (const name of BENCHES) {
  combined[name] = JSON.parse(await readFile(join(dir, `${name}-latest.json`), 'utf8'));
  sections.push((await readFile(join(dir, `${name}-latest.md`), 'utf8')).replace(/^# /, '## '), '');
}
await writeFile(join(dir, 'latest.json'), JSON.stringify(combined, null, 2) + '\n');
await writeFile(join(dir, 'latest.md'), sections.join('\n'));
console.log(`written to ${dir}/latest.{json,md}`);
