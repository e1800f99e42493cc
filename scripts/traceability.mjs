// Pure helpers of `npm run report`: read the risk register (docs/risk-register.md) and link
// each risk to the outcome of its tests in one Jest run. Types: scripts/traceability.d.mts.

/** Splits a Markdown table row into its cells; `\|` is a pipe inside a cell (GFM). */
function cells(row) {
  const out = [];
  let cell = '';
  const body = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '\\' && body[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (body[i] === '|') {
      out.push(cell.trim());
      cell = '';
    } else cell += body[i];
  }
  out.push(cell.trim());
  return out;
}

/** A file glob (`*` within a directory, `**` across) as an anchored regular expression. */
export function fileGlob(glob) {
  const source = glob
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

/** A test-name matcher: `/regex/flags`, or a piece of the full name. */
export function nameMatcher(text) {
  const m = /^\/(.*)\/([a-z]*)$/.exec(text);
  if (m) {
    const re = new RegExp(m[1], m[2]);
    return (name) => re.test(name);
  }
  return (name) => name.includes(text);
}

/**
 * The risks of the register's table: rows whose first cell is an id, with the tests cell
 * read as references `` `file` `name` `` separated by `<br>`.
 * @param {string} markdown the text of docs/risk-register.md
 * @returns {{ id: string, risk: string, rating: string, control: string, tests: { file: string, name: string }[] }[]}
 */
export function parseRiskRegister(markdown) {
  const rows = markdown.split('\n').filter((l) => l.startsWith('|'));
  const header = rows.findIndex((l) => /^\|\s*id\s*\|/i.test(l));
  if (header < 0) throw new Error('the risk register has no table with an "id" column');
  return rows.slice(header + 2).map((row) => {
    const [id, risk, rating, control, tests = ''] = cells(row);
    const refs = tests
      .split(/<br\s*\/?>/)
      .map((ref) => /^`([^`]+)`\s*`([^`]+)`$/.exec(ref.trim()))
      .filter(Boolean)
      .map((m) => ({ file: m[1], name: m[2] }));
    return { id, risk, rating, control, tests: refs };
  });
}

/**
 * Each risk with the tests of a run its references match, and its outcome: `open (no test)`
 * when nothing matches, `FAILED (n of m)` when a matched test failed, `passed (m)` otherwise
 * (and how many were not run here).
 * @param {ReturnType<typeof parseRiskRegister>} risks
 * @param {{ name: string, status: string, file: string }[]} tests results of one run, files relative to the repository
 */
export function linkRisks(risks, tests) {
  return risks.map((risk) => {
    const refs = risk.tests.map((ref) => {
      const file = fileGlob(ref.file);
      const name = nameMatcher(ref.name);
      return { ...ref, matched: tests.filter((t) => file.test(t.file) && name(t.name)) };
    });
    const linked = [...new Set(refs.flatMap((r) => r.matched))];
    const passed = linked.filter((t) => t.status === 'passed').length;
    const failed = linked.filter((t) => t.status === 'failed').length;
    const skipped = linked.length - passed - failed;
    const outcome = linked.length === 0 ? 'open (no test)' : failed > 0 ? `FAILED (${failed} of ${linked.length})` : `passed (${passed})${skipped ? `, not run here (${skipped})` : ''}`;
    const unmatched = refs.filter((r) => r.matched.length === 0).map((r) => `${r.file} ${r.name}`);
    return { ...risk, linked, outcome, open: linked.length === 0 || failed > 0, unmatched };
  });
}
