import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root, found by walking up from this file. The same code runs from
 * `libs/` (tests, via SWC) and from `dist/libs/` (the built app), at different depths.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate) && JSON.parse(readFileSync(candidate, 'utf8')).name === 'fpi-platform') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('fpi-platform package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}
