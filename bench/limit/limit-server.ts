/**
 * bench/limit: the baseline of the HTTP benchmarks. A minimal Fastify server, our own, doing
 * the work the platform's hot paths cannot avoid and nothing else:
 *   - parses the same JSON body (Fastify's parser),
 *   - verifies the same kind of access token (ES256 JWT with jose against the same key set,
 *     iss/aud/exp checked), remembered per token string as the platform's TokenVerifier does,
 *   - validates with the same Ajv schema (information model v1, libs/contracts' validator),
 *   - `POST /api/v1/decision-events`: one INSERT of the event;
 *   - `POST /api/v1/decision-events/batch`: one raw multi-row INSERT of all events (one jsonb parameter);
 *   - `GET /api/v1/service-overview`: parses the person-id header with the domain's parser and
 *     runs ONE statement that reads the patient's overview rows (a row per decision, as the
 *     platform's read model keeps them) and writes the access-log row.
 * No logging, no idempotency, no ordering, no projection, no DPoP, no rate limit: an upper
 * bound for what the platform could reach on this machine, not a service.
 *
 * Run as a process of its own (the bench starts it with `startLimitServer`, so its CPU can be
 * read from /proc): DATABASE_URL, LIMIT_JWKS (the issuer's public key set, JSON),
 * LIMIT_OVERVIEW_TABLE (default service_overview_v2), PORT. Prints "listening" once it is.
 */
import Fastify from 'fastify';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import pg from 'pg';
import { compileValidator, DecisionEventSchema, type DecisionEventV1 } from '#libs/contracts';
import { parsePersonIdentifier } from '#libs/domain';
import { API_AUDIENCE, CLAIMS, DEV_ISSUER, SCOPES } from '#libs/security';

// The bench's own process: its settings come from the environment the bench gives it.
const env = process.env;
const keys = createLocalJWKSet(JSON.parse(env.LIMIT_JWKS ?? '{"keys":[]}') as Parameters<typeof createLocalJWKSet>[0]);
const table = env.LIMIT_OVERVIEW_TABLE ?? 'service_overview_v2';
if (!/^[a-z0-9_]+$/.test(table)) throw new Error(`LIMIT_OVERVIEW_TABLE ${table}`);
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: Number(env.LIMIT_POOL ?? 20) });
const validate = compileValidator(DecisionEventSchema);
const verified = new Map<string, JWTPayload>();

async function verify(authorization: string | undefined): Promise<JWTPayload | undefined> {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
  if (!token) return undefined;
  const known = verified.get(token);
  if (known && (known.exp ?? 0) > Date.now() / 1000) return known;
  try {
    const { payload } = await jwtVerify(token, keys, { issuer: DEV_ISSUER, audience: API_AUDIENCE, requiredClaims: ['exp', 'iat'] });
    verified.set(token, payload);
    return payload;
  } catch {
    return undefined;
  }
}

const tenantOf = (p: JWTPayload) => String(p[CLAIMS.orgnrParent] ?? '');
/** The token's scopes include `scope` (the platform's guard checks the same). */
const may = (p: JWTPayload, scope: string) =>
  String(p.scope ?? '')
    .split(' ')
    .includes(scope);
const streamOf = (e: DecisionEventV1) => `Decision/${e.sourceSystem ?? 'unknown'}/${e.decisionId}`;
const META = (p: JWTPayload) => JSON.stringify({ clientId: p.client_id });

const INSERT_ONE = `INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
  VALUES ($1, $2, 1, $3, $4, 1, $5, $6) RETURNING global_position`;
const INSERT_MANY = `INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
  SELECT $1, x.s, 1, x.i, x.t, 1, x.d, $3 FROM jsonb_to_recordset($2::jsonb) AS x(s text, i uuid, t text, d jsonb)`;
const LOOKUP = `WITH d AS (SELECT decision FROM ${table} WHERE tenant_id = $1 AND patient_id = $2),
  l AS (INSERT INTO access_log (tenant_id, action, outcome, patient_id, client_id, client_name, orgnr_parent, purpose_of_use, token_id, attested_at, returned)
        SELECT $1, 'limit.lookup', 'success', $2, $3, $4, $1, $5, $6, $7,
               jsonb_build_object('decisionIds', COALESCE((SELECT jsonb_agg((decision->>'sourceSystem') || '/' || (decision->>'decisionId')) FROM d), '[]'::jsonb)))
  SELECT (SELECT jsonb_agg(decision) FROM d) AS decisions`;

const app = Fastify({ bodyLimit: 1024 * 1024 });

app.post('/api/v1/decision-events', async (request, reply) => {
  const caller = await verify(request.headers.authorization);
  if (!caller || !may(caller, SCOPES.write)) return reply.code(401).send({ status: 401 });
  const checked = validate(request.body);
  if (!checked.ok) return reply.code(400).send({ status: 400, errors: checked.errors });
  const e = checked.value;
  const { rows } = await pool.query({ name: 'limit_one', text: INSERT_ONE, values: [tenantOf(caller), streamOf(e), e.eventId, e.type, JSON.stringify(e), META(caller)] });
  return reply.code(201).send({ eventId: e.eventId, decisionId: e.decisionId, streamPosition: 1, checkpoint: String(rows[0].global_position) });
});

app.post('/api/v1/decision-events/batch', async (request, reply) => {
  const caller = await verify(request.headers.authorization);
  if (!caller || !may(caller, SCOPES.write)) return reply.code(401).send({ status: 401 });
  const events = (request.body as { events?: unknown[] } | undefined)?.events;
  if (!Array.isArray(events)) return reply.code(400).send({ status: 400 });
  const rows: { s: string; i: string; t: string; d: DecisionEventV1 }[] = [];
  for (const item of events) {
    const checked = validate(item);
    if (!checked.ok) return reply.code(400).send({ status: 400, errors: checked.errors });
    rows.push({ s: streamOf(checked.value), i: checked.value.eventId, t: checked.value.type, d: checked.value });
  }
  await pool.query({ name: 'limit_many', text: INSERT_MANY, values: [tenantOf(caller), JSON.stringify(rows), META(caller)] });
  return reply.code(200).send({ results: rows.map((r) => ({ eventId: r.i, status: 201 })) });
});

app.get('/api/v1/service-overview', async (request, reply) => {
  const caller = await verify(request.headers.authorization);
  if (!caller || !may(caller, SCOPES.read)) return reply.code(401).send({ status: 401 });
  const header = request.headers['person-id'];
  const parsed = parsePersonIdentifier(typeof header === 'string' ? header : '');
  if (!parsed.ok) return reply.code(400).send({ status: 400, rule: parsed.rule });
  const { rows } = await pool.query({
    name: 'limit_lookup',
    text: LOOKUP,
    values: [tenantOf(caller), parsed.id.value, caller.client_id, caller[CLAIMS.clientName] ?? null, 'TREAT', caller.jti ?? null, caller.iat ? new Date(caller.iat * 1000).toISOString() : null],
  });
  reply.header('cache-control', 'no-store');
  return reply.code(200).send({ services: rows[0].decisions ?? [] });
});

// A fault of the limit server shows in the bench's output (its stderr), not as a silent non-2xx count.
app.setErrorHandler((error, _request, reply) => {
  console.error(error);
  void reply.code(500).send({ status: 500 });
});

const address = await app.listen({ port: Number(env.PORT ?? 0), host: '127.0.0.1' });
console.log(`limit server listening on ${address}`);
