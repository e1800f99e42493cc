/**
 * A Chromium for the browser tests from npm, with nothing downloaded at install or run time:
 * `@sparticuz/chromium` ships a headless Chromium build inside its npm package
 * (`bin/chromium.br`, Brotli-compressed) with the few shared libraries it needs beyond glibc
 * (`al2023.tar.br`: NSS, NSPR, expat), SwiftShader and a font. We unpack them once per package
 * version into `node_modules/.cache/fpi-platform/` (not the package's own `executablePath()`,
 * which unpacks into the shared /tmp and adds its libraries only on Amazon Linux).
 * `CHROMIUM_PATH` overrides (any Chromium or Chrome binary).
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { packageRoot } from '#libs/database';

export interface BrowserBinary {
  /** The Chromium executable. */
  executablePath: string;
  /** Environment for the browser process (its shared libraries and fonts). */
  env: Record<string, string>;
  /** Flags this build needs: no sandbox (root in CI), no zygote (one binary, no helpers). */
  args: string[];
}

const FLAGS = ['--no-sandbox', '--no-zygote', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Unpacks a `.tar.br`: Brotli to a file first, then `tar -xf` on it. (Piping into tar's stdin
 * fails now and then with "Premature close": tar exits at the end-of-archive blocks while the
 * decompressor still has the archive's zero padding to write.)
 */
async function untarBrotli(archive: string, into: string): Promise<void> {
  await mkdir(into, { recursive: true });
  const tarFile = join(into, `.${basename(archive, '.br')}`);
  await pipeline(createReadStream(archive), createBrotliDecompress(), createWriteStream(tarFile));
  try {
    const tar = spawn('tar', ['-x', '-f', tarFile, '-C', into], { stdio: ['ignore', 'ignore', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code} on ${archive}`))));
    });
  } finally {
    await rm(tarFile, { force: true });
  }
}

/** Unpacks (once) and returns the Chromium of `@sparticuz/chromium`, or `CHROMIUM_PATH`. */
export async function chromiumBinary(): Promise<BrowserBinary> {
  if (process.env.CHROMIUM_PATH) return { executablePath: process.env.CHROMIUM_PATH, env: {}, args: FLAGS };
  const require = createRequire(import.meta.url);
  // The package exports only its ESM entry: find its root through that entry's path.
  const pkgDir = dirname(dirname(require.resolve('@sparticuz/chromium')));
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const dir = join(packageRoot(), 'node_modules', '.cache', 'fpi-platform', `chromium-${version}`);
  const executablePath = join(dir, 'chromium');
  if (!existsSync(executablePath)) {
    await mkdir(dirname(dir), { recursive: true });
    const work = await mkdtemp(`${dir}.partial-`);
    const bin = join(pkgDir, 'bin');
    await pipeline(createReadStream(join(bin, 'chromium.br')), createBrotliDecompress(), createWriteStream(join(work, 'chromium')));
    await chmod(join(work, 'chromium'), 0o755);
    await untarBrotli(join(bin, 'al2023.tar.br'), work); // → lib/
    await untarBrotli(join(bin, 'swiftshader.tar.br'), work); // beside the binary, where Chromium looks for it
    await untarBrotli(join(bin, 'fonts.tar.br'), join(work, 'fonts'));
    await writeFile(join(work, 'fonts', 'fonts.conf'), `<?xml version="1.0"?>\n<fontconfig><dir>${join(dir, 'fonts')}</dir><cachedir>${join(dir, 'fonts-cache')}</cachedir></fontconfig>\n`);
    // Another worker may have finished first: then keep theirs.
    await rename(work, dir).catch(() => rm(work, { recursive: true, force: true }));
  }
  const libs = join(dir, 'lib');
  return {
    executablePath,
    env: { LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'), FONTCONFIG_PATH: join(dir, 'fonts'), HOME: process.env.HOME ?? dir },
    args: FLAGS,
  };
}
