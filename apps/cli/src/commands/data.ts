import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { compileValidator, DECISION_EVENT_TYPES, DecisionEventSchema, type DecisionEventV1 } from '#libs/contracts';
import { asDecisionEvent, decisionDecider, eventRecordedBy, isSyntheticPersonIdentifier, osloToday, normalizeDecisionReport, reportFromEvent, decisionStreamId } from '#libs/domain';
import { START, type PostgresEventStore, type RecordedEvent } from '#libs/event-store';
import { type Tenant, type TenantId } from '#libs/tenancy';
import { toProblem } from '#libs/http';
import { decisionStream, handleBatch, receiveProblem, RecordDecisionBatchCommand, RecordDecisionBatchHandler } from '#libs/receive';
import { DevIssuer, DevTokenRefusedError, type Caller } from '#libs/security';
import { generateDecisionEvents } from '#libs/synthetic';
import { type CliContext, guardProduction, orgnr, personIdArg, store, tenantOf } from '../context.js';

const BATCH = 500;
const validate = compileValidator(DecisionEventSchema);

interface Counts {
  accepted: number;
  duplicate: number;
  rejected: number;
}

/**
 * The caller the tools act as when they write through the receive path in-process: a
 * trusted operator (whoever can run the CLI against the database), which reports for every
 * source system of the data it seeds, so it carries the cross-source scope.
 */
const toolCaller = (tenant: { id: TenantId; environment: 'test' | 'production' }, clientId: string): Caller => ({
  tenant: tenant.id,
  tenantEnvironment: tenant.environment,
  clientId,
  orgnrParent: tenant.id,
  scopes: ['write', 'write-any-source'],
  scheme: 'Bearer',
});

function progress(label: string, total: number) {
  const bar = new SingleBar({ format: `${label} |{bar}| {value}/{total}`, stream: process.stderr, noTTYOutput: false }, Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}

async function* ndjson(file: string): AsyncGenerator<{ line: number; value: unknown }> {
  const lines = createInterface({ input: file === '-' ? process.stdin : createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n += 1;
    if (text.trim() === '') continue;
    try {
      yield { line: n, value: JSON.parse(text) };
    } catch {
      yield { line: n, value: { __invalidJson: text.slice(0, 80) } };
    }
  }
}

/** Writes one JSON line at a time, waiting when the pipe is full. */
async function writeLine(out: NodeJS.WritableStream, value: unknown): Promise<void> {
  if (!out.write(JSON.stringify(value) + '\n')) await new Promise((r) => out.once('drain', r));
}

/**
 * `replay --direct` records a recorded stream as it was recorded: the receive path's schema
 * and stateless rules, and the same command handler (`handleBatch`: one read, retries
 * answered as duplicates, one multi-stream append, item by item on a conflict), with a
 * decider that accepts every report as it is (no lifecycle or ownership checks).
 */
const asRecorded: typeof decisionStream = {
  ...decisionStream,
  decider: { ...decisionDecider, decide: (command) => [eventRecordedBy(command)] },
};

async function appendDirect(s: PostgresEventStore, tenant: Tenant, chunk: unknown[], firstLine: number) {
  const counts: Counts = { accepted: 0, duplicate: 0, rejected: 0 };
  const rejections: { line: number; problem: unknown }[] = [];
  const actor = { clientId: 'fpi-replay', mayActForAnySource: true };
  const items = chunk.map((body, k) => {
    const parsed = validate(body);
    const normalized = parsed.ok ? normalizeDecisionReport(parsed.value, { tenantEnvironment: tenant.environment, defaultSourceSystem: 'fpi-replay', actor }) : undefined;
    if (!parsed.ok || !normalized?.ok) {
      rejections.push({ line: firstLine + k, problem: parsed.ok ? normalized : parsed.errors });
      return { error: 'invalid' };
    }
    return { streamId: decisionStreamId(normalized.streamSourceSystem, parsed.value.decisionId), command: normalized.command };
  });
  const outcomes = await handleBatch(s, tenant.id, items, asRecorded);
  outcomes.forEach((o, k) => {
    if (o.outcome !== 'rejected') counts[o.outcome === 'duplicate' ? 'duplicate' : 'accepted'] += 1;
    else {
      counts.rejected += 1;
      if (!('error' in items[k]!)) rejections.push({ line: firstLine + k, problem: toProblem(receiveProblem(o.error)).problem });
    }
  });
  rejections.sort((a, b) => a.line - b.line);
  return { counts, rejections };
}

export function dataCommands(program: Command, ctx: CliContext): void {
  program
    .command('seed')
    .description('a synthetic population with decision histories (reproducible from --seed), through the receive path or to NDJSON')
    .requiredOption('--tenant <orgnr>', 'municipality (a test tenant)', orgnr)
    .requiredOption('--patients <n>', 'how many patients', (v) => Number(v))
    .option('--seed <s>', 'random seed', (v) => Number(v), 1)
    .option('--today <date>', 'histories end before this day (default: today in Norway); fix it for identical output on other days')
    .option('--out <file>', 'write NDJSON (the format replay reads) instead of storing')
    .option('--i-know-this-is-production', 'has no effect: synthetic data never goes into a production tenant')
    .action(async (o: { tenant: string; patients: number; seed: number; today?: string; out?: string; iKnowThisIsProduction?: boolean }) => {
      const events = generateDecisionEvents({ patients: o.patients, seed: o.seed, today: o.today ?? osloToday() });
      if (o.out) {
        const out = o.out === '-' ? process.stdout : createWriteStream(o.out);
        let n = 0;
        for (const e of events) {
          await writeLine(out, e);
          n += 1;
        }
        if (out !== process.stdout) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(r));
        console.error(`${n} events for ${o.patients} patients written to ${o.out}`);
        return;
      }
      await ctx.withDatabase(async (db) => {
        const tenant = await tenantOf(db, o.tenant);
        if (tenant.environment === 'production') throw new Error(`seed refuses the production tenant ${tenant.id}: seeded data is synthetic, and a production tenant never takes synthetic identities`);
        // The batch endpoint's handler, in-process (the CLI runs no Nest application, so no bus).
        const recorder = new RecordDecisionBatchHandler(store(db));
        const caller = toolCaller(tenant, 'fpi-seed');
        const all = [...events];
        const counts: Counts = { accepted: 0, duplicate: 0, rejected: 0 };
        const bar = progress('seed', all.length);
        for (let i = 0; i < all.length; i += BATCH) {
          for (const r of await recorder.execute(new RecordDecisionBatchCommand(caller, all.slice(i, i + BATCH))))
            counts[r.outcome === 'rejected' ? 'rejected' : r.outcome === 'duplicate' ? 'duplicate' : 'accepted'] += 1;
          bar.update(Math.min(all.length, i + BATCH));
        }
        bar.stop();
        console.log(JSON.stringify({ patients: o.patients, events: all.length, ...counts }));
      });
    });

  program
    .command('export')
    .description("a tenant's (or one patient's) decision events as NDJSON, in the format replay reads")
    .requiredOption('--tenant <orgnr>', 'municipality', orgnr)
    .option('--patient <pid>', 'only this person (11 digits)')
    .option('--out <file>', 'file (default: standard output)', '-')
    .action(async (o: { tenant: string; patient?: string; out: string }) => {
      const patient = o.patient === undefined ? undefined : personIdArg(o.patient, '--patient');
      await ctx.withDatabase(async (db) => {
        const tenant = await tenantOf(db, o.tenant);
        const s = store(db);
        const out = o.out === '-' ? process.stdout : createWriteStream(o.out);
        const emit = (e: RecordedEvent) => writeLine(out, reportFromEvent(e.eventId, asDecisionEvent(e)));
        let n = 0;
        // One patient's events are found in `$all` (the CLI runs no read models).
        // Decision events only: a patient's restriction (sperring) is no report an EPJ replays.
        const concerns = (e: RecordedEvent) =>
          (DECISION_EVENT_TYPES as readonly string[]).includes(e.type) && (patient === undefined || (e.data.patient as { value?: unknown } | undefined)?.value === patient);
        for (let from = START; ;) {
          const page = await s.readAll(tenant.id, from, 2000);
          for (const e of page.events) if (concerns(e)) (await emit(e), (n += 1));
          if (page.events.length < 2000) break;
          from = page.checkpoint;
        }
        if (out !== process.stdout) await new Promise<void>((r) => (out as NodeJS.WritableStream).end(r));
        await s.close();
        console.error(`${n} events exported`);
      });
    });

  program
    .command('replay <file>')
    .description('post a recorded event stream (NDJSON) into a tenant, idempotently: replaying twice changes nothing')
    .requiredOption('--tenant <orgnr>', 'municipality', orgnr)
    .option('--url <url>', 'the platform to post to (the receive API)', 'http://localhost:3000')
    .option('--token <token>', "access token with the write scope, and write-any-source to replay other sources' events (default: a dev token with both, for a test municipality only)")
    .option('--rate <n>', 'at most n events a second', (v) => Number(v))
    .option('--from-position <p>', 'start at line p of the file (1-based)', (v) => Number(v), 1)
    .option('--direct', "record in-process through the receive path's command handler instead of the receive API, as recorded (no lifecycle checks)")
    .option('--i-know-this-is-production', 'allow a production tenant (never with synthetic identities)')
    .action(async (file: string, o: { tenant: string; url: string; token?: string; rate?: number; fromPosition: number; direct?: boolean; iKnowThisIsProduction?: boolean }) => {
      const lines: unknown[] = [];
      for await (const { line, value } of ndjson(file)) if (line >= o.fromPosition) lines.push(value);
      const counts: Counts = { accepted: 0, duplicate: 0, rejected: 0 };
      const rejections: { line: number; problem: unknown }[] = [];
      await ctx.withDatabase(async (db) => {
        const tenant = await tenantOf(db, o.tenant);
        guardProduction(tenant, o, 'replay');
        if (tenant.environment === 'production') {
          const synthetic = lines.find((l) => isSyntheticPersonIdentifier(String((l as DecisionEventV1).patient?.value ?? '')));
          if (synthetic) throw new Error('replay refuses synthetic identities in a production tenant');
        }
        const started = Date.now();
        const bar = progress('replay', lines.length);
        // Without --token: a dev token, only for a test municipality and never with HelseID.
        if (!o.direct && !o.token) ctx.assertDevTokensAvailable();
        const token = o.direct
          ? undefined
          : (o.token ??
            (await (
              await DevIssuer.open(ctx.dataDir)
            )
              .issueForTenant({ get: async () => tenant }, { tenant: tenant.id, scopes: ['write', 'write-any-source'], clientId: 'fpi-replay' })
              .catch((error: unknown) => {
                throw error instanceof DevTokenRefusedError ? new Error(`replay: ${error.message}; pass --token with a token of its HelseID client`) : error;
              })));
        const s = store(db);
        for (let i = 0; i < lines.length; i += BATCH) {
          const chunk = lines.slice(i, i + BATCH);
          if (o.direct) {
            const outcome = await appendDirect(s, tenant, chunk, o.fromPosition + i);
            for (const k of ['accepted', 'duplicate', 'rejected'] as const) counts[k] += outcome.counts[k];
            rejections.push(...outcome.rejections);
          } else {
            const res = await fetch(`${o.url}/api/v1/decision-events/batch`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
              body: JSON.stringify({ events: chunk }),
            });
            if (res.status !== 200) throw new Error(`the receive API answered ${res.status}: ${await res.text()}`);
            const body = (await res.json()) as { results: { status: keyof Counts; problem?: unknown }[] };
            body.results.forEach((r, k) => {
              counts[r.status] += 1;
              if (r.status === 'rejected') rejections.push({ line: o.fromPosition + i + k, problem: r.problem });
            });
          }
          bar.update(Math.min(lines.length, i + BATCH));
          if (o.rate) {
            const due = ((i + chunk.length) / o.rate) * 1000 - (Date.now() - started);
            if (due > 0) await new Promise((r) => setTimeout(r, due));
          }
        }
        bar.stop();
        await s.close();
      });
      for (const r of rejections.slice(0, 20)) console.error(`line ${r.line}: ${JSON.stringify(r.problem)}`);
      console.log(JSON.stringify(counts));
      if (counts.rejected > 0) process.exitCode = 2;
    });
}
