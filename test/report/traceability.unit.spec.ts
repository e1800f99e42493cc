import { readFileSync } from 'node:fs';
import { fileGlob, linkRisks, nameMatcher, parseRiskRegister } from '../../scripts/traceability.mjs';

const REGISTER = `
| id | risk | rating | control in the code | tests |
|---|---|---|---|---|
| R-1 | Errors | red | tests | \`test/e2e/a.e2e.spec.ts\` \`answers 4xx\`<br>\`test/e2e/*bad-input*.spec.ts\` \`/NUL\\|control/\` |
| R-2 | Nothing tests this | high | none | |
`;

describe('risk register traceability (npm run report)', () => {
  it('reads the table: ids, ratings and the test references of each risk, with escaped pipes', () => {
    expect(parseRiskRegister(REGISTER)).toEqual([
      {
        id: 'R-1',
        risk: 'Errors',
        rating: 'red',
        control: 'tests',
        tests: [
          { file: 'test/e2e/a.e2e.spec.ts', name: 'answers 4xx' },
          { file: 'test/e2e/*bad-input*.spec.ts', name: '/NUL|control/' },
        ],
      },
      { id: 'R-2', risk: 'Nothing tests this', rating: 'high', control: 'none', tests: [] },
    ]);
  });

  it('matches files by glob and names by piece or regular expression', () => {
    expect(fileGlob('test/e2e/*bad-input*.spec.ts').test('test/e2e/receive-bad-input.e2e.spec.ts')).toBe(true);
    expect(fileGlob('test/e2e/*.spec.ts').test('test/e2e/sub/x.spec.ts')).toBe(false);
    expect(fileGlob('test/**/x.spec.ts').test('test/e2e/sub/x.spec.ts')).toBe(true);
    expect(nameMatcher('/NUL|control/')('refuses a NUL byte')).toBe(true);
    expect(nameMatcher('answers 4xx')('suite answers 4xx only')).toBe(true);
    expect(nameMatcher('answers 4xx')('answers 5xx')).toBe(false);
  });

  it('gives each risk the outcome of its tests in the run: passed, FAILED, or open when none is found', () => {
    const tests = [
      { file: 'test/e2e/a.e2e.spec.ts', name: 'suite answers 4xx only', status: 'passed' },
      { file: 'test/e2e/receive-bad-input.e2e.spec.ts', name: 'refuses a NUL byte', status: 'failed' },
      { file: 'test/e2e/other.e2e.spec.ts', name: 'answers 4xx', status: 'passed' },
    ];
    const [r1, r2] = linkRisks(parseRiskRegister(REGISTER), tests);
    expect(r1).toMatchObject({ outcome: 'FAILED (1 of 2)', open: true, unmatched: [] });
    expect(r1!.linked.map((t) => t.file)).toEqual(['test/e2e/a.e2e.spec.ts', 'test/e2e/receive-bad-input.e2e.spec.ts']);
    expect(r2).toMatchObject({ outcome: 'open (no test)', open: true });
    expect(linkRisks(parseRiskRegister(REGISTER), tests.slice(0, 1))[0]).toMatchObject({ outcome: 'passed (1)', open: false, unmatched: ['test/e2e/*bad-input*.spec.ts /NUL|control/'] });
  });

  it('reads docs/risk-register.md: the two red programme risks, the threat model and the faults of issues 14 and 15, each with tests', () => {
    const risks = parseRiskRegister(readFileSync('docs/risk-register.md', 'utf8'));
    const ids = risks.map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining(['R-1', 'R-2', 'T-1', 'T-6', 'F14-1', 'F14-4b', 'F15-3', 'F15-4', 'F15-6']));
    expect(new Set(ids).size).toBe(ids.length);
    expect(risks.filter((r) => r.id.startsWith('R-')).every((r) => r.rating === 'red')).toBe(true);
    for (const r of risks) expect(r.tests.length).toBeGreaterThan(0);
  });
});
