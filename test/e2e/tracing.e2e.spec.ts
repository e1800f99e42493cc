import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIssuer } from '#libs/security';
import { spawnDeployable, type DeployableProcess } from '#libs/service';
import { createTestDatabase, syntheticGrant, syntheticPid, FNR, FULL_ACCESS, type TestDatabase } from '#libs/testing';

/** A span as OTLP/HTTP JSON carries it (ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

const SERVER = 2; // SpanKind.SERVER in OTLP

/**
 * OpenTelemetry: the built platform as its own process with OTEL_EXPORTER_OTLP_ENDPOINT set
 * to a tiny OTLP/HTTP receiver on loopback (this test), which keeps every span it is sent.
 */
describe('traces (OpenTelemetry, OTLP/HTTP)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let receiver: Server;
  let platform: DeployableProcess;
  let auth: Record<string, string>;
  const bodies: string[] = [];
  const spans: OtlpSpan[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'fpi-tracing-'));
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url === '/v1/traces') {
          bodies.push(body);
          const parsed = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
          for (const r of parsed.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    auth = { authorization: `Bearer ${await (await DevIssuer.open(dataDir)).issue({ ...FULL_ACCESS })}` };
    platform = await spawnDeployable('platform', {
      DATABASE_URL: db.url,
      FPI_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      // The SDK's batch span processor: export every 100 ms instead of every 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '100',
      // Every trace (the default keeps 1 % of those that start here).
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    });
  });
  afterAll(async () => {
    await platform?.stop();
    await new Promise((r) => receiver?.close(r));
    await db?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const waitFor = async <T>(find: () => T | undefined, what: string): Promise<T> => {
    for (let i = 0; i < 100; i++) {
      const found = find();
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${what} among ${spans.length} spans: ${[...new Set(spans.map((s) => s.name))].join(', ')}`);
  };
  const parentOf = (s: OtlpSpan) => spans.find((p) => p.spanId === s.parentSpanId && p.traceId === s.traceId);
  const ancestors = (s: OtlpSpan) => {
    const chain: OtlpSpan[] = [];
    for (let p = parentOf(s); p; p = parentOf(p)) chain.push(p);
    return chain;
  };
  const attribute = (s: OtlpSpan, key: string) => Object.values(s.attributes?.find((a) => a.key === key)?.value ?? {})[0];

  it("traces a POST from the HTTP server span through Fastify's request and Nest's route handler to the decider and the append, and the append's statement", async () => {
    const pid = syntheticPid();
    const res = await fetch(`${platform.url}/api/v1/decision-events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(syntheticGrant({ decisionId: 'TRACE-1', patient: { system: FNR, value: pid }, service: { code: '6' } })),
    });
    expect(res.status).toBe(201);
    const append = await waitFor(() => spans.find((s) => s.name === 'append' && String(attribute(s, 'fpi.stream')).endsWith('/TRACE-1')), 'append span');
    const chain = ancestors(append);
    // append ← the route handler ← Fastify's request ← the HTTP server span, all one trace.
    const http = chain.find((s) => s.kind === SERVER);
    expect(http).toBeDefined();
    expect(chain[chain.length - 1]).toBe(http);
    expect(chain.map((s) => s.name)).toContain('handler - RecordDecisionController.record');
    expect(attribute(http!, 'http.route')).toBe('/api/v1/decision-events');
    const decide = spans.find((s) => s.name === 'decide' && s.traceId === append.traceId);
    expect(decide && parentOf(decide)).toBe(parentOf(append));
    // The INSERT is a child of the append.
    const statements = spans.filter((s) => s.parentSpanId === append.spanId);
    expect(statements.length).toBeGreaterThanOrEqual(1);
    expect(statements.every((s) => attribute(s, 'db.system') === 'postgresql' || attribute(s, 'db.system.name') === 'postgresql')).toBe(true);
  });

  it("follows the caller's sampling decision (W3C traceparent): its trace continued when sampled, no span at all when not", async () => {
    const post = (decisionId: string, traceparent: string) =>
      fetch(`${platform.url}/api/v1/decision-events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent, ...auth },
        body: JSON.stringify(syntheticGrant({ decisionId, patient: { system: FNR, value: syntheticPid() }, service: { code: '6' } })),
      });
    const sampledTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const unsampledTrace = '0af7651916cd43dd8448eb211c80319c';
    expect((await post('TRACE-SAMPLED', `00-${sampledTrace}-00f067aa0ba902b7-01`)).status).toBe(201);
    expect((await post('TRACE-UNSAMPLED', `00-${unsampledTrace}-b7ad6b7169203331-00`)).status).toBe(201);
    const append = await waitFor(() => spans.find((s) => s.name === 'append' && String(attribute(s, 'fpi.stream')).endsWith('/TRACE-SAMPLED')), 'append span of the sampled request');
    expect(append.traceId).toBe(sampledTrace);
    const http = ancestors(append).find((s) => s.kind === SERVER);
    expect(http?.parentSpanId).toBe('00f067aa0ba902b7');
    // Its spans were exported after the unsampled request had finished: nothing of that one came.
    await new Promise((r) => setTimeout(r, 300));
    expect(spans.filter((s) => s.traceId === unsampledTrace)).toEqual([]);
    expect(spans.filter((s) => String(attribute(s, 'fpi.stream')).endsWith('/TRACE-UNSAMPLED'))).toEqual([]);
  });

  it('keeps each sampled trace whole and the unsampled ones empty when they run at the same time', async () => {
    // The context manager enters AsyncLocalStorage only for recorded traces and leaves it when
    // the last recorded span ends: requests overlapping that window must neither lose their
    // spans' parents nor lend their statements to another trace.
    const traceId = (i: number) => `${String(i).padStart(4, '0')}${'c'.repeat(28)}`;
    const posts = Array.from({ length: 16 }, (_, i) =>
      fetch(`${platform.url}/api/v1/decision-events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${traceId(i)}-00f067aa0ba902b7-0${i % 2}`, ...auth },
        body: JSON.stringify(syntheticGrant({ decisionId: `TRACE-MIX-${i}`, patient: { system: FNR, value: syntheticPid() }, service: { code: '6' } })),
      }),
    );
    expect((await Promise.all(posts)).map((r) => r.status)).toEqual(Array(16).fill(201));
    const sampled = Array.from({ length: 8 }, (_, k) => 2 * k + 1);
    const appends = await waitFor(() => {
      const found = sampled.map((i) => spans.find((s) => s.name === 'append' && String(attribute(s, 'fpi.stream')).endsWith(`/TRACE-MIX-${i}`)));
      return found.every((s) => s !== undefined) ? (found as OtlpSpan[]) : undefined;
    }, 'append span of every sampled request');
    await new Promise((r) => setTimeout(r, 300));
    for (const [k, append] of appends.entries()) {
      const i = sampled[k]!;
      expect(append.traceId).toBe(traceId(i));
      const chain = ancestors(append);
      expect(chain.map((s) => s.name)).toContain('handler - RecordDecisionController.record');
      expect(chain[chain.length - 1]?.kind).toBe(SERVER);
      expect(chain[chain.length - 1]?.parentSpanId).toBe('00f067aa0ba902b7');
      const statements = spans.filter((s) => s.parentSpanId === append.spanId && s.traceId === append.traceId);
      expect(statements.length).toBeGreaterThanOrEqual(1);
    }
    const unsampledTraces = new Set(Array.from({ length: 8 }, (_, k) => traceId(2 * k)));
    expect(spans.filter((s) => unsampledTraces.has(s.traceId))).toEqual([]);
    expect(spans.filter((s) => /\/TRACE-MIX-[0-9]*[02468]$/.test(String(attribute(s, 'fpi.stream'))))).toEqual([]);
    // No statement of any request went to a trace of another request's: each sampled trace has exactly one append statement.
    for (const append of appends) {
      const inserts = spans.filter((s) => s.traceId === append.traceId && /^pg\.query:fpi_append/.test(s.name));
      expect(inserts).toHaveLength(1);
    }
  });

  it('traces each projection batch as a trace of its own, with its statements as children', async () => {
    // (Every projection's batches are traced; this looks at the service overview's.)
    const batch = await waitFor(
      () => spans.find((s) => s.name === 'projection batch' && Number(attribute(s, 'fpi.events')) >= 1 && /^service_overview_v[0-9]+$/.test(String(attribute(s, 'fpi.projection')))),
      'projection batch span',
    );
    expect(batch.parentSpanId ?? '').toMatch(/^(0+)?$/);
    expect(attribute(batch, 'fpi.projection')).toMatch(/^service_overview_v[0-9]+$/);
    await waitFor(() => spans.find((s) => s.parentSpanId === batch.spanId), 'statement under the projection batch');
  });

  it('traces a read, and no patient number leaves in any span', async () => {
    const pid = syntheticPid();
    expect((await fetch(`${platform.url}/api/v1/service-overview`, { headers: { 'person-id': pid, ...auth } })).status).toBe(200);
    expect((await fetch(`${platform.url}/okt-status/${pid}?pid=${pid}`, { headers: auth })).status).toBeLessThan(500);
    await waitFor(() => spans.find((s) => s.kind === SERVER && String(attribute(s, 'url.path') ?? attribute(s, 'http.target') ?? '').startsWith('/okt-status/')), 'okt-status server span');
    await waitFor(() => spans.find((s) => s.name.includes('ServiceOverview') || String(attribute(s, 'http.route') ?? '').includes('service-overview')), 'overview span');
    expect(bodies.join('\n')).not.toContain(pid);
    expect(bodies.join('\n')).toContain('/okt-status/***********');
  });
});
