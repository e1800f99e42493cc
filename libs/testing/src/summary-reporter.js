// Prints the time of each part of `npm test` (build and typecheck, measured by scripts/test.mjs
// and passed in FPI_TEST_PART_TIMES; the Jest run; and each suite group, summed over its test
// files, which run two at a time) and then one plain closing line ("tests: N passed, N failed")
// so CI logs can be read by tools that do not parse Jest's own summary.
import { relative, sep } from 'node:path';

/** The suite group of a test file: its top folder, and under test/ the folder below it (test/e2e, test/outside…). */
function group(rootDir, path) {
  const parts = relative(rootDir, path).split(sep);
  return parts[0] === 'test' ? parts.slice(0, 2).join('/') : parts[0] === 'libs' ? `libs/${parts[1]}` : parts[0];
}

export default class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const rows = [];
    for (const part of (process.env.FPI_TEST_PART_TIMES ?? '').split(',').filter(Boolean)) {
      const [name, seconds] = part.split('=');
      rows.push([name, Number(seconds)]);
    }
    rows.push(['jest', (Date.now() - results.startTime) / 1000]);
    const groups = new Map();
    for (const file of results.testResults) {
      const name = group(this.rootDir, file.testFilePath);
      const seconds = (file.perfStats.end - file.perfStats.start) / 1000;
      const g = groups.get(name) ?? { seconds: 0, files: 0 };
      groups.set(name, { seconds: g.seconds + (seconds > 0 ? seconds : 0), files: g.files + 1 });
    }
    const lines = ['', 'time per part:'];
    for (const [name, seconds] of rows) lines.push(`  ${name.padEnd(24)} ${seconds.toFixed(1).padStart(7)} s`);
    const total = rows.reduce((sum, [, seconds]) => sum + seconds, 0);
    if (rows.length > 1) lines.push(`  ${'total'.padEnd(24)} ${total.toFixed(1).padStart(7)} s`);
    lines.push('jest time per suite group (summed over its files; files run two at a time):');
    for (const [name, g] of [...groups.entries()].sort((a, b) => b[1].seconds - a[1].seconds)) {
      lines.push(`  ${name.padEnd(24)} ${g.seconds.toFixed(1).padStart(7)} s  (${g.files} file${g.files === 1 ? '' : 's'})`);
    }
    const skipped = results.numPendingTests + results.numTodoTests;
    lines.push('', `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ''));
    process.stdout.write(lines.join('\n') + '\n');
  }
}
