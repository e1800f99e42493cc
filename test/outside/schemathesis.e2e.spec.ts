/**
 * The served OpenAPI document against the running platform, fuzzed by Schemathesis (a tool
 * nobody in this project wrote): every operation, with valid dev-issuer tokens, with the
 * checks that no answer is a server error, every status code, content type and response body
 * is as documented, and schema-violating input is refused. `npm test` runs a few examples per
 * operation, `npm run test:faults` at least 100 (FPI_SCHEMATHESIS_EXAMPLES). Any failure fails
 * this test with Schemathesis' report (each failure with a curl command to reproduce it).
 */
import { DevIssuer } from '#libs/security';
import { FNR, FULL_ACCESS, runSchemathesis, schemathesis, startTestPlatform, syntheticPid, type TestPlatform } from '#libs/testing';

const EXAMPLES = Number(process.env.FPI_SCHEMATHESIS_EXAMPLES ?? 10);
const SEED = process.env.FPI_SCHEMATHESIS_SEED ?? '20261130';
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance', 'negative_data_rejection'];

describe('Schemathesis against the served OpenAPI document', () => {
  let p: TestPlatform;
  let st: string;
  const rateLimit = process.env.FPI_RATE_LIMIT_PER_MINUTE;

  beforeAll(async () => {
    st = await schemathesis();
    // The fuzzer sends thousands of requests a minute from one client: the rate limit (tested
    // on its own in security-hardening) would answer most of them with 429.
    process.env.FPI_RATE_LIMIT_PER_MINUTE = '0';
    p = await startTestPlatform({ listen: true });
    // The document's examples name the documentation's synthetic patient and decision: with them
    // stored, the examples phase reaches the answers with data (overview, OKT, FHIR read).
    await (
      await p.as({ clientId: 'epj-demo' })
    )
      .post('/api/v1/decision-events')
      .send({
        type: 'ServiceDecisionGranted',
        eventId: '6f1c1c56-5d7e-4a55-9d1e-3f0a0c7d2b00',
        decisionId: 'VEDTAK-2026-0042',
        occurredAt: '2026-03-01T08:15:00+01:00',
        sourceSystem: 'epj-demo',
        patient: { system: FNR, value: '13717404089' },
        service: { code: '15' },
        period: { start: '2026-03-01' },
        extent: { value: 6, unit: 'hours-per-week' },
        performer: { orgnr: '974760673', name: 'Hjemmesykepleien sone vest', phone: '+47 99 99 99 99' },
      })
      .expect(201);
  }, 300_000);
  afterAll(async () => {
    if (rateLimit === undefined) delete process.env.FPI_RATE_LIMIT_PER_MINUTE;
    else process.env.FPI_RATE_LIMIT_PER_MINUTE = rateLimit;
    await p?.close();
  });

  /** Schemathesis over the operations `filter` selects, with `token`: its exit code, summary, and the operations selected, tested and in all. */
  const fuzz = async (token: string, filter: string[]) => {
    const { code, output } = await runSchemathesis(st, [
      'run',
      `${p.url}/api/docs/openapi.json`,
      '--header',
      `Authorization: Bearer ${token}`,
      ...filter,
      '--checks',
      CHECKS.join(','),
      '--max-examples',
      String(EXAMPLES),
      '--seed',
      SEED,
      '--workers',
      '1',
      '--request-timeout',
      '10',
    ]);
    const summary = output.slice(output.lastIndexOf('SUMMARY'));
    if (code !== 0) process.stdout.write(`\n--- Schemathesis report (exit ${code}) ---\n${output}\n`);
    expect({ code, summary }).toEqual({ code: 0, summary: expect.stringMatching(/Tested: (\d+)/) });
    expect(summary).not.toMatch(/Errors:/);
    const [, selected, total] = /Selected: (\d+)\/(\d+)/.exec(summary) ?? [];
    const [, tested] = /Tested: (\d+)/.exec(summary) ?? [];
    return { selected: Number(selected), tested: Number(tested), total: Number(total) };
  };
  /** The citizen API (/api/v1/me) takes citizens' tokens: fuzzed with one, the rest with a health system's. */
  const CITIZEN_PATHS = '^/api/v1/me';
  let covered = 0;
  let total = 0;

  it(`finds no failure in any operation of health personnel's systems (${EXAMPLES} examples each)`, async () => {
    // Everything the dev test tenant's systems may do, also recording restrictions and erasing (fuzzed past the scope checks).
    const token = await p.token({ scopes: [...FULL_ACCESS.scopes, 'restrictions-write', 'erase'] });
    const run = await fuzz(token, ['--exclude-path-regex', CITIZEN_PATHS]);
    expect(run.tested).toBe(run.selected);
    covered += run.tested;
    total = run.total;
  }, 1_800_000);

  it(`finds no failure in any operation of the citizen API (${EXAMPLES} examples each), and with the first run every operation was tested`, async () => {
    const issuer = p.app.get(DevIssuer, { strict: false }) as DevIssuer;
    const run = await fuzz(await issuer.issueCitizen({ pid: syntheticPid({ offset: 80 }) }), ['--include-path-regex', CITIZEN_PATHS]);
    expect(run.tested).toBe(run.selected);
    expect(run.selected).toBeGreaterThanOrEqual(4);
    covered += run.tested;
    // Every operation of the document was tested, none skipped or errored.
    expect(covered).toBe(total);
  }, 1_800_000);
});
