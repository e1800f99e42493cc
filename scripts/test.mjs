// `npm test`: build, typecheck, then the Jest suite, timing each part. The times of build and
// typecheck go to Jest's summary reporter (libs/testing/src/summary-reporter.js), which prints
// the table of times per part and per suite group before the closing "tests: …" line.
// Arguments go to Jest (`npm test -- test/e2e/fhir.e2e.spec.ts`).
import { spawnSync } from 'node:child_process';

const times = [];
function step(name, command, args, env = {}) {
  const started = process.hrtime.bigint();
  const { status, signal } = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  times.push(`${name}=${seconds.toFixed(1)}`);
  if (status !== 0) {
    process.stdout.write(`\n${name} failed (${signal ?? `exit ${status}`}) after ${seconds.toFixed(1)} s\n`);
    process.exit(status ?? 1);
  }
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
step('build', npm, ['run', '--silent', 'build']);
step('typecheck', npm, ['run', '--silent', 'typecheck']);
step('jest', process.execPath, ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', ...process.argv.slice(2)], { FPI_TEST_PART_TIMES: times.join(',') });
