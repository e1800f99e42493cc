/**
 * A real Apache Kafka broker for the test suite: a single-node KRaft broker (broker and
 * controller in one JVM) from Apache Kafka's own jars on Maven Central, formatted fresh
 * for every start, on free loopback ports.
 *
 * - The jars: `libs/testing/kafka/pom.xml` (`org.apache.kafka:kafka_2.13`), copied once by
 *   `mvn dependency:copy-dependencies` into `~/.cache/fpi-platform/kafka/<pom hash>/`
 *   (`FPI_KAFKA_CACHE` overrides the folder); later runs start from the cache without Maven.
 *   Needs Java ≥ 17 (Kafka 4's broker) and Maven on the PATH.
 * - Listeners: PLAINTEXT for the plain suites and, with `secure: true`, a second listener
 *   SASL_SSL with SCRAM-SHA-256/512 and a self-signed certificate for 127.0.0.1 made with the
 *   JDK's keytool (the SCRAM user is created by `kafka-storage format --add-scram`).
 * - No process is left behind: `stop()` ends the broker; if the test process dies first
 *   (a crashed Jest worker, Ctrl-C, a SIGKILL), a watchdog shell that holds a pipe from it
 *   sees the pipe close and kills the broker (`endWithOwner`); the next start removes the
 *   folder such a broker left in the temp directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { endWithOwner } from './end-with-owner.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pom that names the broker's jars (its hash keys the cache). */
export const KAFKA_POM = fileURLToPath(new URL('../kafka/pom.xml', import.meta.url));

/** The Kafka version of the pom (`<kafka.version>`). */
export function kafkaVersion(pom = readFileSync(KAFKA_POM, 'utf8')): string {
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1];
  if (!version) throw new Error(`${KAFKA_POM}: no <kafka.version>`);
  return version;
}

/** A folder lock across processes (two Jest workers may want the jars at once): mkdir is atomic. */
async function withLock<T>(dir: string, work: () => Promise<T>, timeoutMs = 600_000): Promise<T> {
  const lock = `${dir}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than the timeout belongs to a process that died while holding it.
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > timeoutMs) await rm(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${lock}`, { cause: error });
      else await sleep(250);
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * The folder of Apache Kafka's broker jars (for `java -cp '<folder>/*'`), fetched from Maven
 * Central on first use and cached. Throws with Maven's output when the fetch fails.
 */
export async function kafkaJars(): Promise<string> {
  const pom = await readFile(KAFKA_POM, 'utf8');
  const root = process.env.FPI_KAFKA_CACHE ?? join(homedir(), '.cache', 'fpi-platform', 'kafka');
  const dir = join(root, `${kafkaVersion(pom)}-${createHash('sha256').update(pom).digest('hex').slice(0, 12)}`);
  const jars = join(dir, 'libs');
  const complete = join(dir, 'complete');
  if (existsSync(complete)) return jars;
  await mkdir(root, { recursive: true });
  return withLock(dir, async () => {
    if (existsSync(complete)) return jars;
    const staging = `${dir}.staging`;
    await rm(staging, { recursive: true, force: true });
    try {
      await run('mvn', ['-B', '-q', '-f', KAFKA_POM, 'dependency:copy-dependencies', `-DoutputDirectory=${join(staging, 'libs')}`, '-DincludeScope=runtime'], { maxBuffer: 16 * 2 ** 20 });
    } catch (error) {
      const { stdout, stderr, code } = error as { stdout?: string; stderr?: string; code?: string };
      if (code === 'ENOENT') throw new Error('the Kafka broker for the tests needs Maven (mvn) and Java ≥ 17 on the PATH', { cause: error });
      throw new Error(`fetching Apache Kafka's jars with Maven failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
    }
    if (!(await readdir(join(staging, 'libs'))).some((f) => f.startsWith('kafka_2.13-'))) throw new Error('Maven copied no kafka_2.13 jar');
    await writeFile(join(staging, 'complete'), `${new Date().toISOString()}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    return jars;
  });
}

/** The SASL_SSL listener of a broker started with `secure: true`. */
export interface SecureListener {
  /** `127.0.0.1:<port>`. */
  readonly bootstrap: string;
  /** The broker's self-signed certificate (PEM), the one trust anchor a client needs. */
  caPem: string;
  /** The same, in a file (for `KAFKA_SSL_CA_FILE`). */
  caFile: string;
  /** A SCRAM user created at format time, for both SCRAM-SHA-256 and SCRAM-SHA-512. */
  username: string;
  password: string;
}

export interface KafkaBroker {
  /** `127.0.0.1:<port>` of the PLAINTEXT listener. */
  readonly bootstrap: string;
  readonly secure?: SecureListener;
  readonly version: string;
  /** Milliseconds from calling `startKafkaBroker` to a broker that serves requests (jars cached or not). */
  readonly startedInMs: number;
  /** Kills the broker with SIGKILL, as a crash or a power cut of its process would. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data (no new format); resolves when it serves again. */
  restart(): Promise<void>;
  /** Ends the broker (SIGTERM, SIGKILL after 10 s) and removes its data. Safe to call twice. */
  stop(): Promise<void>;
  /** The broker's folder: configuration, certificate, logs and data (removed by `stop()`). */
  readonly dir: string;
  /** The broker's process id while it runs. */
  readonly pid: number | undefined;
}

export interface KafkaBrokerOptions {
  /** Adds a SASL_SSL (SCRAM) listener with a self-signed certificate. */
  secure?: boolean;
  /** Longest wait for the broker to serve, per start. */
  startTimeoutMs?: number;
}

/**
 * A free loopback port outside the kernel's ephemeral range. The broker must get its ports
 * back after a restart; a port from the ephemeral range may meanwhile be the source port of
 * some connection, even a client's own reconnect to it (TCP self-connect), and then the
 * restarted broker cannot bind.
 */
export async function freeStablePort(): Promise<number> {
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number, number];
  const ranges = [
    [10_000, low - 1],
    [high + 1, 65_535],
  ].filter(([a, b]) => b! - a! >= 1000) as [number, number][];
  if (ranges.length === 0) throw new Error(`no port range outside the ephemeral ports ${low}-${high}`);
  for (let attempt = 0; attempt < 100; attempt++) {
    const [a, b] = ranges[attempt % ranges.length]!;
    const port = a + Math.floor(Math.random() * (b - a + 1));
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('found no free port outside the ephemeral range');
}

/** A KRaft cluster id: 16 random bytes, base64url (not starting with '-', which a CLI would take for an option). */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Throwaway SCRAM credentials: letters and digits only (the `--add-scram` syntax has its own quoting). */
const secret = () => randomBytes(18).toString('hex');

/** Makes a self-signed certificate for 127.0.0.1/localhost in the PKCS12 `keystore`; returns its PEM. */
async function selfSignedCertificate(keystore: string, password: string): Promise<string> {
  const keytool = (args: string[]) => run('keytool', args, { maxBuffer: 4 * 2 ** 20 });
  await keytool([
    '-genkeypair',
    '-alias',
    'broker',
    '-keyalg',
    'EC',
    '-groupname',
    'secp256r1',
    '-sigalg',
    'SHA256withECDSA',
    '-dname',
    'CN=localhost',
    '-ext',
    'SAN=IP:127.0.0.1,DNS:localhost',
    '-validity',
    '2',
    '-storetype',
    'PKCS12',
    '-keystore',
    keystore,
    '-storepass',
    password,
    '-keypass',
    password,
  ]);
  const { stdout } = await keytool(['-exportcert', '-rfc', '-alias', 'broker', '-keystore', keystore, '-storepass', password]);
  return stdout;
}

/** The broker logs warnings and the one line that says it serves (`Kafka Server started`). */
const LOG4J2 = `status = error
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
`;

/** Small and quick on a shared 2-core machine: C1 only, serial GC, few threads, one partition for internal topics. */
const JVM_OPTIONS = ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true'];

export const BROKER_DIR_PREFIX = 'fpi-kafka-';

/** Running, as far as signal 0 can tell. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Broker folders whose owner died before `stop()` (its watchdog ended the broker, the files stayed). */
export async function removeAbandonedBrokerDirs(): Promise<void> {
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    if (!name.startsWith(BROKER_DIR_PREFIX)) continue;
    const owner = Number(await readFile(join(tmpdir(), name, 'owner.pid'), 'utf8').catch(() => ''));
    if (owner > 0 && !running(owner)) await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/**
 * Starts a fresh single-node KRaft broker (see the module comment); fetches the jars first
 * when they are not cached. Rejects (with the end of the broker's log) when it does not
 * serve within `startTimeoutMs`.
 */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const started = Date.now();
  const jars = await kafkaJars();
  const version = kafkaVersion();
  await removeAbandonedBrokerDirs();
  const dir = await mkdtemp(join(tmpdir(), BROKER_DIR_PREFIX));
  await writeFile(join(dir, 'owner.pid'), String(process.pid));
  const ports = new Set<number>();
  while (ports.size < (options.secure ? 3 : 2)) ports.add(await freeStablePort());
  const [plainPort, controllerPort, securePort = 0] = [...ports] as [number, number, number?];
  const listeners = [`PLAINTEXT://127.0.0.1:${plainPort}`, `CONTROLLER://127.0.0.1:${controllerPort}`];
  const advertised = [`PLAINTEXT://127.0.0.1:${plainPort}`];
  const protocols = ['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT'];
  const properties: string[] = [];
  let secure: SecureListener | undefined;
  const scram: string[] = [];
  // The certificate is made while the storage is formatted (two JVMs side by side).
  let certificate: Promise<void> = Promise.resolve();
  if (options.secure) {
    const tls = { keystore: join(dir, 'broker.p12'), password: secret() };
    const username = 'fpi-event-forwarder';
    const password = secret();
    secure = { bootstrap: `127.0.0.1:${securePort}`, caPem: '', caFile: join(dir, 'broker-ca.pem'), username, password };
    const listener = secure;
    certificate = selfSignedCertificate(tls.keystore, tls.password).then(async (pem) => {
      listener.caPem = pem;
      await writeFile(listener.caFile, pem);
    });
    listeners.push(`SASL_SSL://127.0.0.1:${securePort}`);
    advertised.push(`SASL_SSL://127.0.0.1:${securePort}`);
    protocols.push('SASL_SSL:SASL_SSL');
    properties.push(
      'sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512',
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'ssl.keystore.type=PKCS12',
      `ssl.keystore.location=${tls.keystore}`,
      `ssl.keystore.password=${tls.password}`,
      `ssl.key.password=${tls.password}`,
    );
    for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) scram.push('--add-scram', `${mechanism}=[name=${username},password=${password}]`);
  }
  const config = join(dir, 'server.properties');
  await writeFile(
    config,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=${listeners.join(',')}`,
      `advertised.listeners=${advertised.join(',')}`,
      `listener.security.protocol.map=${protocols.join(',')}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      // One node: internal topics cannot have the default three replicas; one partition each keeps the start quick.
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'share.coordinator.state.topic.num.partitions=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
      'num.partitions=1',
      'num.network.threads=1',
      'num.io.threads=2',
      'background.threads=2',
      'num.recovery.threads.per.data.dir=1',
      ...properties,
      '',
    ].join('\n'),
  );
  const log4j = join(dir, 'log4j2.properties');
  await writeFile(log4j, LOG4J2);
  const java = (main: string, args: string[]) => ['-cp', `${jars}/*`, ...JVM_OPTIONS, `-Dlog4j2.configurationFile=${log4j}`, main, ...args];

  const format = run('java', java('kafka.tools.StorageTool', ['format', '--cluster-id', clusterId(), '--config', config, ...scram]), { maxBuffer: 4 * 2 ** 20 });
  const [formatted, certified] = await Promise.allSettled([format, certificate]);
  for (const [what, outcome] of [
    ['kafka-storage format', formatted],
    ['keytool (the broker certificate)', certified],
  ] as const) {
    if (outcome.status === 'fulfilled') continue;
    await rm(dir, { recursive: true, force: true });
    const { stdout, stderr, code } = outcome.reason as { stdout?: string; stderr?: string; code?: string };
    if (code === 'ENOENT') throw new Error('the Kafka broker for the tests needs Java ≥ 17 (java, keytool) on the PATH');
    throw new Error(`${what} failed:\n${stdout ?? ''}${stderr ?? ''}${stdout || stderr ? '' : String(outcome.reason)}`);
  }

  let child: ChildProcess | undefined;
  let disarm: (() => void) | undefined;
  let starts = 0;
  // Node is exiting without stop() (the watchdog would see to it too, a moment later).
  const onExit = () => {
    try {
      if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.on('exit', onExit);

  const launchOnce = async () => {
    const logFile = join(dir, `broker-${++starts}.log`);
    const out = openSync(logFile, 'a');
    const proc = spawn('java', java('kafka.Kafka', [config]), { stdio: ['ignore', out, out] });
    closeSync(out);
    proc.unref();
    child = proc;
    disarm = endWithOwner(proc.pid!);
    let exited: string | undefined;
    proc.on('exit', (code, signal) => (exited = `exited (${signal ?? code})`));
    proc.on('error', (error) => (exited = error.message));
    const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
    for (;;) {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      if (/Kafka Server started/.test(text)) return;
      if (exited || Date.now() > deadline) {
        if (!exited) proc.kill('SIGKILL');
        disarm?.();
        const tail = text.split('\n').slice(-40).join('\n');
        throw Object.assign(new Error(`the Kafka broker ${exited ?? `did not start within ${options.startTimeoutMs ?? 120_000} ms`}; its log (${logFile}):\n${tail}`), {
          portTaken: /Address already in use/.test(text),
        });
      }
      await sleep(100);
    }
  };

  // A port still held by a connection of the killed broker frees itself within seconds: try again then.
  const launch = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await launchOnce();
      } catch (error) {
        if (!(error as { portTaken?: boolean }).portTaken || attempt >= 5) throw error;
        await sleep(2000);
      }
    }
  };

  const end = async (signal: NodeJS.Signals, graceMs: number) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), graceMs)));
    const outcome = await Promise.race([gone, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      proc.kill('SIGKILL');
      await gone;
    }
    disarm?.();
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await end('SIGTERM', 10_000);
    process.off('exit', onExit);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await launch();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    bootstrap: `127.0.0.1:${plainPort}`,
    secure,
    version,
    dir,
    startedInMs: Date.now() - started,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    kill: () => end('SIGKILL', 10_000),
    restart: async () => {
      if (stopped) throw new Error('the broker was stopped');
      await end('SIGKILL', 10_000);
      await launch();
    },
    stop,
  };
}

/** One record as Apache Kafka's console consumer printed it. */
export interface ConsumedRecord {
  partition: number;
  offset: number;
  key: string;
  headers: Record<string, string>;
  value: string;
}

export interface ConsoleConsumerOptions {
  /** `host:port` of a PLAINTEXT listener. */
  bootstrap: string;
  topic: string;
  /** The consumer group; it commits its offsets like any group member. */
  group: string;
  /** Stop after this many milliseconds without a new record. */
  idleMs?: number;
  /** Stop after this many records (default: only `idleMs` ends it). */
  maxMessages?: number;
}

/**
 * Reads a topic from its beginning with Apache Kafka's own console consumer
 * (`org.apache.kafka.tools.consumer.ConsoleConsumer`, from the same jars as the broker) in
 * consumer group `group`: a client independent of kafkajs. Keys, header values and values
 * must be UTF-8 text without tabs or newlines (JSON is), header names and values without
 * ',' or ':' (the printed separators).
 */
export async function consumeWithConsoleConsumer(options: ConsoleConsumerOptions): Promise<ConsumedRecord[]> {
  const jars = await kafkaJars();
  const args = [
    '-cp',
    `${jars}/*`,
    ...JVM_OPTIONS,
    '-Dlog4j2.level=WARN',
    'org.apache.kafka.tools.consumer.ConsoleConsumer',
    '--bootstrap-server',
    options.bootstrap,
    '--topic',
    options.topic,
    '--group',
    options.group,
    '--from-beginning',
    '--timeout-ms',
    String(options.idleMs ?? 3000),
    ...(options.maxMessages ? ['--max-messages', String(options.maxMessages)] : []),
    '--formatter-property',
    'print.partition=true',
    '--formatter-property',
    'print.offset=true',
    '--formatter-property',
    'print.headers=true',
    '--formatter-property',
    'print.key=true',
    '--formatter-property',
    'key.separator=\t',
  ];
  // It exits 0 after the idle timeout or the last record; `stdout` holds one line per record.
  const { stdout } = await run('java', args, { maxBuffer: 256 * 2 ** 20 });
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('Partition:'))
    .map((line) => {
      const [partition, offset, headers, key, ...value] = line.split('\t');
      return {
        partition: Number(partition!.slice('Partition:'.length)),
        offset: Number(offset!.slice('Offset:'.length)),
        headers: headers === 'NO_HEADERS' ? {} : Object.fromEntries(headers!.split(',').map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1)])),
        key: key!,
        value: value.join('\t'),
      };
    });
}
