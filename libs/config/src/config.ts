import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';

/**
 * The platform's settings: every environment variable it reads, read and validated once
 * at start by {@link loadConfig} (the only place that reads `process.env`), then handed
 * to the Nest modules through the {@link CONFIG} provider and to the CLI's commands as an
 * argument. Names and defaults are those of the README's configuration table.
 *
 * The schema is TypeBox, checked by Ajv (both already the information model's validators):
 * types, enumerations and numeric ranges here, one message per bad variable. Values with a
 * grammar of their own (FPI_DATABASES, FPI_PUBLIC_BASE_URL, FPI_TRUSTED_PROXIES, KAFKA_*)
 * are parsed at start by the library that owns them, from `env` below.
 */
const Text = Type.String();
const Flag = Type.Union([Type.Literal('true'), Type.Literal('false')]);
const Count = (minimum: number, maximum: number) => Type.String({ pattern: '^[0-9]+$', minimum, maximum, description: `an integer ${minimum}–${maximum}` });

export const SettingsSchema = Type.Object({
  PORT: Type.Optional(Count(0, 65535)),
  HOST: Type.Optional(Text),
  LOG_LEVEL: Type.Optional(Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)))),
  DATABASE_URL: Type.Optional(Text),
  FPI_DATA_DIR: Type.Optional(Text),
  DATABASE_POOL_SIZE: Type.Optional(Count(1, 10_000)),
  READ_DATABASE_URL: Type.Optional(Text),
  FPI_DATABASES: Type.Optional(Text),
  FPI_EVENT_STORE: Type.Optional(Type.Union([Type.Literal('postgres'), Type.Literal('kurrentdb')])),
  KURRENTDB_URL: Type.Optional(Type.String({ pattern: '^(kurrentdb|esdb|kdb|kurrent)(\\+discover)?://' })),
  FPI_DEV_TENANT: Type.Optional(Text),
  FPI_DEV_TENANT_NAME: Type.Optional(Text),
  FPI_DEMO_AGREEMENT: Type.Optional(Flag),
  FPI_TENANTS_FILE: Type.Optional(Text),
  KAFKA_BROKERS: Type.Optional(Text),
  KAFKA_CLIENT_ID: Type.Optional(Text),
  KAFKA_TOPIC_PREFIX: Type.Optional(Text),
  KAFKA_SSL: Type.Optional(Text),
  KAFKA_SSL_CA_FILE: Type.Optional(Text),
  KAFKA_SASL_MECHANISM: Type.Optional(Text),
  KAFKA_SASL_USERNAME: Type.Optional(Text),
  KAFKA_SASL_PASSWORD: Type.Optional(Text),
  FPI_AUTH_JWKS_URL: Type.Optional(Text),
  FPI_AUTH_ISSUER: Type.Optional(Text),
  FPI_AUTH_AUDIENCE: Type.Optional(Text),
  FPI_CITIZEN_AUTH_JWKS_URL: Type.Optional(Text),
  FPI_CITIZEN_AUTH_ISSUER: Type.Optional(Text),
  FPI_DPOP_REPLAY_CACHE: Type.Optional(Type.Union([Type.Literal('postgres'), Type.Literal('memory')])),
  FPI_AUTH_ALLOW_BEARER: Type.Optional(Flag),
  FPI_PUBLIC_BASE_URL: Type.Optional(Text),
  FPI_TRUSTED_PROXIES: Type.Optional(Text),
  FPI_RATE_LIMIT_PER_MINUTE: Type.Optional(Count(0, 1_000_000_000)),
  FPI_PROJECTION_BATCH_SIZE: Type.Optional(Count(1, 1_000_000)),
  FPI_RETENTION_MONTHS: Type.Optional(Type.String({ pattern: '^(off|[0-9]{1,4})$', description: 'a number of months or off' })),
  FPI_RETENTION_OVERRIDES: Type.Optional(Text),
  FPI_RETENTION_JOB: Type.Optional(Flag),
  FPI_RETENTION_INTERVAL_MINUTES: Type.Optional(Count(1, 525_600)),
  /** FHIR subscriptions (libs/subscriptions): first retry after this many ms (doubling), attempts before `error`. */
  FPI_SUBSCRIPTION_RETRY_MS: Type.Optional(Count(1, 3_600_000)),
  FPI_SUBSCRIPTION_MAX_ATTEMPTS: Type.Optional(Count(1, 1000)),
  /** OpenTelemetry traces go to this OTLP/HTTP collector (its base URL; traces to `<url>/v1/traces`); unset: no tracing at all. */
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'an http(s) URL' })),
  /** Set by npm when started through it; the FHIR CapabilityStatement's software version. */
  npm_package_version: Type.Optional(Text),
});

/** The variables as given (only those the platform reads; unset and, except where noted, empty ones left out). */
export type Settings = Readonly<Static<typeof SettingsSchema>>;

/**
 * Variables whose empty value means something of its own (FPI_DEV_TENANT="": no test
 * municipality) or that their owner already reads as unset; every other empty variable
 * counts as unset, as `VAR || default` did before.
 */
const EMPTY_KEPT = new Set(['FPI_DEV_TENANT', 'FPI_TRUSTED_PROXIES', 'KAFKA_BROKERS', 'FPI_PUBLIC_BASE_URL']);

export type AuthMode = 'helseid' | 'dev';

/** The typed settings of one process. */
export interface PlatformConfig {
  /** The validated variables, for the parsers that own a variable's grammar (Kafka, proxies, …). */
  env: Settings;
  http: {
    /** PORT; undefined: the deployable's default (3000, 3001, 3002). */
    port: number | undefined;
    host: string;
    rateLimitPerMinute: number;
  };
  logLevel: string;
  database: {
    /** DATABASE_URL; undefined: the embedded PostgreSQL in `dataDir`. */
    url: string | undefined;
    /** FPI_DATA_DIR, default `./data` (embedded PostgreSQL, dev issuer keys). */
    dataDir: string;
    poolSize: number | undefined;
    readUrl: string | undefined;
    /** FPI_DATABASES as given (parsed by `parseDatabaseSettings`). */
    named: string | undefined;
  };
  eventStore: { kind: 'postgres' } | { kind: 'kurrentdb'; url: string };
  tenants: {
    /** The synthetic test municipality created at start, if any. */
    devTenant: { id: string; name: string } | undefined;
    /** The demo agreement of the test municipality with the demo GP practice. */
    demoAgreement: boolean;
    file: string | undefined;
  };
  auth: {
    mode: AuthMode;
    jwksUrl: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
    allowBearer: boolean;
    dpopReplayCache: 'postgres' | 'memory';
    /**
     * The second trusted issuer, of citizens' tokens (ID-porten / helsenorge): its issuer and
     * JWKS URL. Undefined in production mode without FPI_CITIZEN_AUTH_*: no citizen is let in.
     * In dev mode the dev issuer mints citizen tokens (issuer `urn:fpi:dev-issuer:citizen`).
     */
    citizen: { issuer: string; jwksUrl: string } | undefined;
  };
  projectionBatchSize: number | undefined;
  /**
   * Retention (libs/data-protection): the rule per municipality as given (FPI_RETENTION_MONTHS,
   * default 24; FPI_RETENTION_OVERRIDES `<orgnr>=<months|off>,…`, parsed by parseRetentionSettings)
   * and the scheduled job (FPI_RETENTION_JOB, default off; every FPI_RETENTION_INTERVAL_MINUTES, default 1440).
   */
  retention: { months: string | undefined; overrides: string | undefined; job: boolean; intervalMinutes: number };
  /** OpenTelemetry: traces are made and exported only when `otlpEndpoint` is set (OTEL_EXPORTER_OTLP_ENDPOINT). */
  telemetry: { otlpEndpoint: string | undefined };
  softwareVersion: string;
}

/** The settings are not valid: `problems` names each variable and what it must be. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`invalid settings: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`);
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile<Static<typeof SettingsSchema>>(SettingsSchema);

/** The numeric range of a digits-only variable (JSON Schema's `minimum` applies to numbers only). */
function rangeProblems(settings: Record<string, string | undefined>): { variable: string; message: string }[] {
  const out: { variable: string; message: string }[] = [];
  for (const [name, schema] of Object.entries(SettingsSchema.properties) as [string, { minimum?: number; maximum?: number; description?: string }][]) {
    const raw = settings[name];
    if (raw === undefined || schema.minimum === undefined || !/^[0-9]+$/.test(raw)) continue;
    const n = Number(raw);
    if (n < schema.minimum || n > schema.maximum!) out.push({ variable: name, message: `must be ${schema.description}, got ${raw}` });
  }
  return out;
}

/**
 * Reads and validates the settings. `env`: the environment (default `process.env`; tests
 * pass their own). Throws {@link ConfigError} naming every bad variable (its value only
 * when it is not a secret). Rules: README "Configuration".
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): PlatformConfig {
  const given: Record<string, string> = {};
  for (const name of Object.keys(SettingsSchema.properties)) {
    const value = env[name];
    if (value === undefined || (value === '' && !EMPTY_KEPT.has(name))) continue;
    given[name] = value;
  }
  const problems = rangeProblems(given);
  if (!validate(given)) {
    for (const e of validate.errors ?? []) {
      const variable = e.instancePath.replace(/^\//, '');
      const shown = /PASSWORD|URL$/.test(variable) ? '' : `, got ${JSON.stringify(given[variable])}`;
      const rule = e.keyword === 'pattern' && (SettingsSchema.properties as Record<string, { description?: string }>)[variable]?.description;
      problems.push({ variable, message: `${rule ? `must be ${rule}` : e.keyword === 'anyOf' ? `must be one of ${allowed(variable)}` : e.message}${shown}` });
    }
  }
  // anyOf reports each branch too: one line per variable.
  const unique = [...new Map(problems.filter((p) => p.message && !p.message.startsWith('must be equal to constant')).map((p) => [p.variable, p])).values()];
  if (unique.length) throw new ConfigError(unique);
  const s = given as Settings;
  const mode: AuthMode = s.FPI_AUTH_JWKS_URL ? 'helseid' : 'dev';
  // Production mode (HelseID) gets no test municipality unless the operator names one.
  const devTenantId = s.FPI_DEV_TENANT ?? (mode === 'dev' ? '313231593' : '');
  const kind = s.FPI_EVENT_STORE ?? 'postgres';
  // The citizen issuer comes as a pair: an issuer without its keys (or keys without the issuer) trusts nobody.
  if ((s.FPI_CITIZEN_AUTH_ISSUER === undefined) !== (s.FPI_CITIZEN_AUTH_JWKS_URL === undefined)) {
    const missing = s.FPI_CITIZEN_AUTH_ISSUER === undefined ? 'FPI_CITIZEN_AUTH_ISSUER' : 'FPI_CITIZEN_AUTH_JWKS_URL';
    throw new ConfigError([{ variable: missing, message: 'is required with the other FPI_CITIZEN_AUTH_* setting (the citizen issuer and its JWKS URL)' }]);
  }
  // The issuer tells a citizen's token from health personnel's: the two must differ.
  if (s.FPI_CITIZEN_AUTH_ISSUER !== undefined && s.FPI_CITIZEN_AUTH_ISSUER === s.FPI_AUTH_ISSUER) {
    throw new ConfigError([{ variable: 'FPI_CITIZEN_AUTH_ISSUER', message: 'must differ from FPI_AUTH_ISSUER: the issuer tells a citizen from a health system' }]);
  }
  if (s.FPI_CITIZEN_AUTH_JWKS_URL !== undefined && mode === 'dev') {
    throw new ConfigError([{ variable: 'FPI_CITIZEN_AUTH_JWKS_URL', message: 'needs FPI_AUTH_JWKS_URL (HelseID) too: the embedded default mints citizen tokens with its dev issuer' }]);
  }
  if (kind === 'kurrentdb' && !s.KURRENTDB_URL) throw new ConfigError([{ variable: 'KURRENTDB_URL', message: 'is required with FPI_EVENT_STORE=kurrentdb' }]);
  // One KurrentDB store serves every municipality: no database per municipality on it.
  if (kind === 'kurrentdb' && s.FPI_DATABASES?.trim()) {
    throw new ConfigError([{ variable: 'FPI_DATABASES', message: '(a database per municipality) needs FPI_EVENT_STORE=postgres: with KurrentDB every municipality shares one store' }]);
  }
  return {
    env: Object.freeze({ ...s }),
    http: {
      port: s.PORT === undefined ? undefined : Number(s.PORT),
      host: s.HOST ?? '0.0.0.0',
      rateLimitPerMinute: Number(s.FPI_RATE_LIMIT_PER_MINUTE ?? 6000),
    },
    logLevel: s.LOG_LEVEL ?? 'info',
    database: {
      url: s.DATABASE_URL,
      dataDir: s.FPI_DATA_DIR ?? join(cwd, 'data'),
      poolSize: s.DATABASE_POOL_SIZE === undefined ? undefined : Number(s.DATABASE_POOL_SIZE),
      readUrl: s.READ_DATABASE_URL,
      named: s.FPI_DATABASES,
    },
    eventStore: kind === 'kurrentdb' ? { kind, url: s.KURRENTDB_URL! } : { kind },
    tenants: {
      devTenant: devTenantId === '' ? undefined : { id: devTenantId, name: s.FPI_DEV_TENANT_NAME ?? 'Test kommune' },
      demoAgreement: s.FPI_DEMO_AGREEMENT !== 'false',
      file: s.FPI_TENANTS_FILE,
    },
    auth: {
      mode,
      jwksUrl: s.FPI_AUTH_JWKS_URL,
      issuer: s.FPI_AUTH_ISSUER,
      audience: s.FPI_AUTH_AUDIENCE,
      allowBearer: (s.FPI_AUTH_ALLOW_BEARER ?? (mode === 'dev' ? 'true' : 'false')) === 'true',
      dpopReplayCache: s.FPI_DPOP_REPLAY_CACHE ?? 'postgres',
      citizen: s.FPI_CITIZEN_AUTH_ISSUER && s.FPI_CITIZEN_AUTH_JWKS_URL ? { issuer: s.FPI_CITIZEN_AUTH_ISSUER, jwksUrl: s.FPI_CITIZEN_AUTH_JWKS_URL } : undefined,
    },
    projectionBatchSize: s.FPI_PROJECTION_BATCH_SIZE === undefined ? undefined : Number(s.FPI_PROJECTION_BATCH_SIZE),
    retention: {
      months: s.FPI_RETENTION_MONTHS,
      overrides: s.FPI_RETENTION_OVERRIDES,
      job: s.FPI_RETENTION_JOB === 'true',
      intervalMinutes: Number(s.FPI_RETENTION_INTERVAL_MINUTES ?? 1440),
    },
    telemetry: { otlpEndpoint: s.OTEL_EXPORTER_OTLP_ENDPOINT },
    softwareVersion: s.npm_package_version ?? '0.1.0',
  };
}

function allowed(variable: string): string {
  const schema = (SettingsSchema.properties as Record<string, { anyOf?: { const?: string }[] }>)[variable];
  return (schema?.anyOf ?? []).map((b) => b.const).join(', ');
}

/** The Nest provider token of the process's {@link PlatformConfig}. */
export const CONFIG = Symbol('CONFIG');
