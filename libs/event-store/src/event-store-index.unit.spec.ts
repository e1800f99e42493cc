import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The packages and files a module loads when it is imported: its static `import` / `export
 * … from` specifiers, followed through relative paths and `#libs/<name>` (package.json
 * `imports`), not through dynamic `import()`, which loads only when it runs.
 */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'|^\s*import\s+'([^']+)'/gms)) {
      const spec = (m[1] ?? m[2])!;
      // `import type` is erased at compile time: nothing is loaded.
      if (/^\s*(?:import|export)\s+type\s/.test(m[0])) continue;
      const lib = /^#libs\/([^/]+)$/.exec(spec);
      if (lib) visit(join(root, 'libs', lib[1]!, 'src', 'index.ts'));
      else if (spec.startsWith('.')) {
        const ts = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        visit(existsSync(ts) ? ts : resolve(dirname(file), spec));
      } else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

describe("libs/event-store's index", () => {
  const graph = staticGraph(join(root, 'libs/event-store/src/index.ts'));

  it('does not load the KurrentDB client or adapter: only FPI_EVENT_STORE=kurrentdb imports them', () => {
    expect(graph.packages).not.toContain('@kurrent/kurrentdb-client');
    expect([...graph.files].filter((f) => f.includes('/libs/kurrentdb/'))).toEqual([]);
    // It does load what it is made of (the walk works): pg and the tenancy library.
    expect(graph.packages).toContain('pg');
    expect(graph.files).toContain(join(root, 'libs/tenancy/src/index.ts'));
  });

  it('reaches the KurrentDB client from the adapter (the check above can fail)', () => {
    expect(staticGraph(join(root, 'libs/kurrentdb/src/kurrentdb-event-store.ts')).packages).toContain('@kurrent/kurrentdb-client');
  });

  it("is not reached by any deployable either: libs/kurrentdb's face (its connector) loads the adapter with import() only", () => {
    for (const entry of ['libs/kurrentdb/src/index.ts', 'libs/service/src/index.ts', 'apps/platform/src/main.ts', 'apps/receive-service/src/main.ts', 'apps/content-service/src/main.ts']) {
      expect([entry, staticGraph(join(root, entry)).packages.has('@kurrent/kurrentdb-client')]).toEqual([entry, false]);
    }
    const connector = readFileSync(join(root, 'libs/kurrentdb/src/kurrentdb-connector.module.ts'), 'utf8');
    expect(connector).toMatch(/await import\('\.\/kurrentdb-event-store\.js'\)/);
  });
});
