import { ConfigError, loadConfig } from './config.js';

describe('the development test municipality', () => {
  it.each([
    ['the dev issuer (embedded default)', {}, { id: '313231593', name: 'Test kommune' }],
    ['the dev issuer, another one named', { FPI_DEV_TENANT: '912159523', FPI_DEV_TENANT_NAME: 'Bodø (test)' }, { id: '912159523', name: 'Bodø (test)' }],
    ['the dev issuer, switched off', { FPI_DEV_TENANT: '' }, undefined],
    ['HelseID (production mode)', { FPI_AUTH_JWKS_URL: 'https://helseid.example/jwks' }, undefined],
    ['HelseID, one named explicitly by the operator', { FPI_AUTH_JWKS_URL: 'https://helseid.example/jwks', FPI_DEV_TENANT: '912159523' }, { id: '912159523', name: 'Test kommune' }],
  ])('with %s: %j', (_, env, devTenant) => {
    expect(loadConfig(env as NodeJS.ProcessEnv).tenants.devTenant).toEqual(devTenant);
  });
});

describe('loadConfig', () => {
  it('gives the README defaults when nothing is set', () => {
    const config = loadConfig({}, '/srv/fpi');
    expect(config.http).toEqual({ port: undefined, host: '0.0.0.0', rateLimitPerMinute: 6000 });
    expect(config.logLevel).toBe('info');
    expect(config.database).toEqual({ url: undefined, dataDir: '/srv/fpi/data', poolSize: undefined, readUrl: undefined, named: undefined });
    expect(config.eventStore).toEqual({ kind: 'postgres' });
    expect(config.auth).toEqual({ mode: 'dev', jwksUrl: undefined, issuer: undefined, audience: undefined, allowBearer: true, dpopReplayCache: 'postgres', citizen: undefined });
    expect(config.tenants.demoAgreement).toBe(true);
    expect(config.projectionBatchSize).toBeUndefined();
    expect(config.retention).toEqual({ months: undefined, overrides: undefined, job: false, intervalMinutes: 1440 });
  });

  it('reads the retention settings (rule, overrides, job and its interval)', () => {
    const config = loadConfig({ FPI_RETENTION_MONTHS: 'off', FPI_RETENTION_OVERRIDES: '840000001=12', FPI_RETENTION_JOB: 'true', FPI_RETENTION_INTERVAL_MINUTES: '60' });
    expect(config.retention).toEqual({ months: 'off', overrides: '840000001=12', job: true, intervalMinutes: 60 });
  });

  it('types the numbers and flags it reads', () => {
    const config = loadConfig({
      PORT: '3005',
      DATABASE_POOL_SIZE: '8',
      FPI_RATE_LIMIT_PER_MINUTE: '0',
      FPI_PROJECTION_BATCH_SIZE: '2000',
      FPI_DEMO_AGREEMENT: 'false',
      FPI_AUTH_JWKS_URL: 'https://helseid.example/jwks',
    });
    expect(config.http.port).toBe(3005);
    expect(config.database.poolSize).toBe(8);
    expect(config.http.rateLimitPerMinute).toBe(0);
    expect(config.projectionBatchSize).toBe(2000);
    expect(config.tenants.demoAgreement).toBe(false);
    expect(config.auth).toMatchObject({ mode: 'helseid', allowBearer: false });
  });

  it('counts an empty variable as unset, except FPI_DEV_TENANT', () => {
    const config = loadConfig({ DATABASE_URL: '', FPI_DATA_DIR: '', LOG_LEVEL: '', FPI_DEV_TENANT: '' }, '/srv/fpi');
    expect(config.database.url).toBeUndefined();
    expect(config.database.dataDir).toBe('/srv/fpi/data');
    expect(config.logLevel).toBe('info');
    expect(config.tenants.devTenant).toBeUndefined();
  });

  it.each([
    [{ PORT: '70000' }, /PORT must be an integer 0–65535, got 70000/],
    [{ PORT: 'http' }, /PORT must be an integer 0–65535, got "http"/],
    [{ DATABASE_POOL_SIZE: '0' }, /DATABASE_POOL_SIZE must be an integer 1–10000/],
    [{ FPI_DPOP_REPLAY_CACHE: 'redis' }, /FPI_DPOP_REPLAY_CACHE must be one of postgres, memory, got "redis"/],
    [{ FPI_AUTH_ALLOW_BEARER: 'yes' }, /FPI_AUTH_ALLOW_BEARER must be one of true, false/],
    [{ LOG_LEVEL: 'verbose' }, /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    [{ FPI_EVENT_STORE: 'mongo' }, /FPI_EVENT_STORE must be one of postgres, kurrentdb/],
    [{ FPI_RETENTION_MONTHS: 'two years' }, /FPI_RETENTION_MONTHS must be a number of months or off/],
    [{ FPI_RETENTION_JOB: 'on' }, /FPI_RETENTION_JOB must be one of true, false/],
    [{ FPI_RETENTION_INTERVAL_MINUTES: '0' }, /FPI_RETENTION_INTERVAL_MINUTES must be an integer 1–525600/],
    [{ FPI_EVENT_STORE: 'kurrentdb' }, /KURRENTDB_URL is required with FPI_EVENT_STORE=kurrentdb/],
    [{ FPI_EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb://127.0.0.1:2113', FPI_DATABASES: '{"bodo":"postgres://db/bodo"}' }, /FPI_DATABASES .*needs FPI_EVENT_STORE=postgres/],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('names every bad variable at once and never echoes a URL (it may hold a password)', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ PORT: 'x', KURRENTDB_URL: 'http://admin:secret@kurrent.example', FPI_EVENT_STORE: 'kurrentdb' });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error?.problems.map((p) => p.variable).sort()).toEqual(['KURRENTDB_URL', 'PORT']);
    expect(error?.message).not.toContain('secret');
  });

  it('selects KurrentDB as the event store when configured', () => {
    expect(loadConfig({ FPI_EVENT_STORE: 'kurrentdb', KURRENTDB_URL: 'kurrentdb://localhost:2113?tls=false' }).eventStore).toEqual({ kind: 'kurrentdb', url: 'kurrentdb://localhost:2113?tls=false' });
  });

  it('trusts a citizen issuer (ID-porten / helsenorge) only as a pair of issuer and JWKS URL, beside HelseID', () => {
    const helseid = { FPI_AUTH_JWKS_URL: 'https://helseid.example/jwks', FPI_AUTH_ISSUER: 'https://helseid.example' };
    const both = loadConfig({ ...helseid, FPI_CITIZEN_AUTH_ISSUER: 'https://idporten.example', FPI_CITIZEN_AUTH_JWKS_URL: 'https://idporten.example/jwks' });
    expect(both.auth.citizen).toEqual({ issuer: 'https://idporten.example', jwksUrl: 'https://idporten.example/jwks' });
    expect(loadConfig(helseid).auth.citizen).toBeUndefined();
    expect(() => loadConfig({ ...helseid, FPI_CITIZEN_AUTH_ISSUER: 'https://idporten.example' })).toThrow(/FPI_CITIZEN_AUTH_JWKS_URL is required/);
    expect(() => loadConfig({ ...helseid, FPI_CITIZEN_AUTH_JWKS_URL: 'https://idporten.example/jwks' })).toThrow(/FPI_CITIZEN_AUTH_ISSUER is required/);
    expect(() => loadConfig({ ...helseid, FPI_CITIZEN_AUTH_ISSUER: helseid.FPI_AUTH_ISSUER, FPI_CITIZEN_AUTH_JWKS_URL: 'https://idporten.example/jwks' })).toThrow(/must differ from FPI_AUTH_ISSUER/);
    expect(() => loadConfig({ FPI_CITIZEN_AUTH_ISSUER: 'https://idporten.example', FPI_CITIZEN_AUTH_JWKS_URL: 'https://idporten.example/jwks' })).toThrow(/needs FPI_AUTH_JWKS_URL/);
  });
});
