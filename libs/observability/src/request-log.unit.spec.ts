import { REQUEST_LOG_HEADERS, installRequestLog, maskDecoded, maskingDestination, maskPersonIds, processLogger, serializeRequest, serializeResponse } from './request-log.js';

const PID = '13717404089'; // synthetic (+65 on the month)

describe('request log redaction', () => {
  it('masks 11-digit person identifiers in paths, not shorter numbers', () => {
    expect(maskPersonIds('/okt-events/13717404089')).toBe('/okt-events/***********');
    expect(maskPersonIds('/okt-status/13717404089/x')).toBe('/okt-status/***********/x');
    expect(maskPersonIds('/orgs/974760673')).toBe('/orgs/974760673');
  });

  it('masks longer digit runs whole, since they may contain an identifier', () => {
    expect(maskPersonIds('/x/123456789012')).not.toMatch(/[0-9]{11}/);
    expect(maskPersonIds(`/x/20${PID}`)).not.toContain(PID);
  });

  it.each([
    ['percent-encoded padding', `/okt-events/%20${PID}`],
    ['double percent-encoding', `/okt-events/%2520${PID}`],
    ['percent-encoded digits', '/okt-events/%31%33%37%31%37%34%30%34%30%38%39'],
    ['a no-break space', `/okt-events/\u00a0${PID}`],
    ['grouped digits', '/okt-events/137 174 040 89'],
    ['hyphenated digits', '/okt-events/137174-04089'],
    ['a plus for a space', `/x?q=+${PID}`],
  ])('masks %s on the decoded value', (_, raw) => {
    const out = maskDecoded(raw);
    expect(out).not.toContain(PID);
    expect(out.replace(/[^0-9]/g, '')).not.toContain(PID);
    expect(decodeURIComponent(out.replace(/%(?![0-9a-fA-F]{2})/g, '%25')).replace(/[^0-9]/g, '')).not.toContain(PID);
  });

  it("leaves pino's time alone, but masks any other long JSON number", () => {
    expect(maskPersonIds('{"level":30,"time":1764497000000,"msg":"x"}')).toBe('{"level":30,"time":1764497000000,"msg":"x"}');
    expect(maskPersonIds(`{"level":30,"personId":${PID}}`)).toBe('{"level":30,"personId":***********}');
  });

  it('drops the query string, which may carry a FHIR patient search', () => {
    const out = serializeRequest({ method: 'GET', url: `/fhir/EpisodeOfCare?patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|${PID}` });
    expect(out.url).toBe('/fhir/EpisodeOfCare');
    expect(JSON.stringify(out)).not.toContain(PID);
  });

  it('logs headers by allow-list: credentials, person-id and invented headers are left out; allowed ones are masked', () => {
    const out = serializeRequest({
      method: 'GET',
      url: '/api/v1/service-overview',
      headers: { authorization: 'Bearer abc', dpop: 'x', cookie: 'c', 'person-id': PID, 'x-patient': PID, 'x-forwarded-for': PID, 'user-agent': `probe %20${PID}`, accept: 'application/json' },
    });
    expect(Object.keys(out.headers).sort()).toEqual(['accept', 'user-agent']);
    expect(Object.keys(out.headers).every((h) => REQUEST_LOG_HEADERS.includes(h))).toBe(true);
    expect(JSON.stringify(out)).not.toContain(PID);
  });

  it('logs only the status of a response', () => {
    expect(serializeResponse({ statusCode: 200, headers: { location: `/x/${PID}` } } as { statusCode: number })).toEqual({ statusCode: 200 });
  });

  it('masks every line written through the masking destination', () => {
    const lines: string[] = [];
    maskingDestination({ write: (l) => lines.push(l) }).write(`{"msg":"Route GET:/okt-event/${PID} not found"}\n`);
    expect(lines).toEqual(['{"msg":"Route GET:/okt-event/*********** not found"}\n']);
  });

  /** The request log's hook on a recording Fastify: the lines a request at `level` writes. */
  function logged(level: string, request: { method: string; url: string; headers: Record<string, string> }, statusCode: number): string[] {
    const lines: string[] = [];
    let hook: ((req: typeof request, reply: { statusCode: number; elapsedTime: number }, done: () => void) => void) | undefined;
    installRequestLog({ addHook: (_name, h) => (hook = h as typeof hook) }, processLogger(level, { write: (l: string) => lines.push(l) }));
    hook!(request, { statusCode, elapsedTime: 1.234 }, () => undefined);
    return lines;
  }

  it('writes one compact, masked line per answered request, from a hook', () => {
    const lines = logged('info', { method: 'GET', url: `/okt-status/${PID}?x=${PID}`, headers: { 'person-id': PID, 'user-agent': 'epj/1.0', authorization: 'Bearer abc' } }, 200);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { level: number; req: { method: string; url: string; headers: Record<string, string> }; res: { statusCode: number }; responseTime: number };
    expect(line).toMatchObject({ level: 30, req: { method: 'GET', url: '/okt-status/***********', headers: { 'user-agent': 'epj/1.0' } }, res: { statusCode: 200 }, responseTime: 1.23 });
    expect(Object.keys(line.req.headers)).toEqual(['user-agent']);
    expect(lines[0]).not.toContain(PID);
  });

  it('logs a 5xx at error, and nothing below the configured level', () => {
    expect(JSON.parse(logged('info', { method: 'POST', url: '/x', headers: {} }, 503)[0]!)).toMatchObject({ level: 50, msg: 'request errored' });
    expect(logged('warn', { method: 'GET', url: '/x', headers: {} }, 200)).toEqual([]);
    expect(logged('info', { method: 'GET', url: '/health/live', headers: {} }, 200)).toEqual([]);
  });
});
