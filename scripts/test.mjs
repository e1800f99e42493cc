// `npm test`: build, typecheck, lint, then the Jest suite, timing each part. The times of the
// parts before Jest go to Jest's summary reporter (libs/testing/src/summary-reporter.js), which
// prints the table of times per part and per suite group before the closing "tests: …" line.
// Arguments go to Jest (`npm test -- test/e2e/fhir.e2e.spec.ts`); such a focused run skips the
// lint parts unless FPI_LINT=on.
//
// ESLint, dependency-cruiser and Prettier (`npm run lint`) fail the run like a failing test.
import { spawnSync } from 'node:child_process';

const PRETTIER_FATAL = true;

const times = [];
function step(name, command, args, { env = {}, fatal = true } = {}) {
  const started = process.hrtime.bigint();
  const { status, signal } = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  times.push(`${name}=${seconds.toFixed(1)}`);
  if (status !== 0) {
    process.stdout.write(`\n${name} failed (${signal ?? `exit ${status}`}) after ${seconds.toFixed(1)} s${fatal ? '' : '; not fatal yet, see scripts/test.mjs'}\n`);
    if (fatal) process.exit(status ?? 1);
  }
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const node = process.execPath;
const jestArgs = process.argv.slice(2);
step('build', npm, ['run', '--silent', 'build']);
step('typecheck', npm, ['run', '--silent', 'typecheck']);
if (jestArgs.length === 0 || process.env.FPI_LINT === 'on') {
  step('eslint', node, ['node_modules/eslint/bin/eslint.js', '.']);
  step('depcruise', node, ['node_modules/dependency-cruiser/bin/dependency-cruise.mjs', 'apps', 'libs', 'test', 'bench', 'scripts', '--config', '.dependency-cruiser.cjs', '--ignore-known']);
  // While not fatal, only the verdict is printed (`npm run lint:format` lists the files).
  const prettierFatal = PRETTIER_FATAL || process.env.FPI_FORMAT_CHECK === 'fatal';
  step('prettier', node, ['node_modules/prettier/bin/prettier.cjs', '--check', '.', '--log-level', prettierFatal ? 'warn' : 'error'], { fatal: prettierFatal });
}
step('jest', node, ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', ...jestArgs], { env: { FPI_TEST_PART_TIMES: times.join(',') } });
