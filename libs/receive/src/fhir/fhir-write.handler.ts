/**
 * FHIR writes (HL7 Norway OKT-on-FHIR): EpisodeOfCare create, update and conditional update,
 * and transaction and batch Bundles of them, as one command on the `CommandBus`. Each
 * resource states a decision whole; the difference from what is stored becomes information
 * model v1 reports (`statedDecisionReports`), which go through the same schema, the same
 * stateless rules (`decisionCommandOf`: identifiers, 9151, orgnr, 168 h) and the same decider
 * as the native API, and are appended by the one command handler (`handleAllOrNothing`).
 *
 * - A transaction is all or nothing: every entry's reports in one multi-stream append; one
 *   refused entry fails it, with an OperationOutcome whose expressions name the entry's
 *   element (`Bundle.entry[2].resource.period.end`).
 * - A batch handles every entry on its own (each all or nothing), and answers per entry.
 * - Idempotency: with `Bundle.identifier`, an entry's events get name-based ids over
 *   (Bundle.identifier, the entry's fullUrl or index, its content); the same Bundle sent
 *   again finds them and is answered from them (same status, location and version), storing
 *   nothing. Without it (and for single create/update), ids are name-based over the prior
 *   state, as OKT snapshots': a retry finds the decision in the state it states, stores
 *   nothing and is answered `200 OK` with the current version.
 * - `If-Match: W/"<n>"` is the expected version (the number of events of the decision's
 *   stream): another version → 412.
 */
import { createHash } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { v5 as uuidv5 } from 'uuid';
import { ProblemError, type DecisionEventV1 } from '#libs/contracts';
import {
  asDecisionEvent,
  decisionStreamId,
  emptyOverview,
  evolveOverview,
  foldDecision,
  osloToday,
  statedDecisionReports,
  type DecisionCommand,
  type OverviewDocument,
  type StatedReport,
} from '#libs/domain';
import { EVENT_STORE, type EventStore, type NewEvent, type RecordedEvent } from '#libs/event-store';
import {
  OperationOutcomeError,
  episodeOfCareId,
  episodeOfCareVersion,
  fhirPathOf,
  operationOutcome,
  operationOutcomeOf,
  parseEpisodeOfCareInput,
  parseVersionETag,
  versionETag,
  type EntryResponse,
  type EpisodeOfCareInput,
  type IssueType,
  type RequestEntry,
} from '#libs/fhir';
import type { Caller } from '#libs/security';
import { decisionCommandOf, decisionStream, parseDecisionEvent, rulesFor } from '../record-decision/record-decision.handler.js';
import { receiveProblem } from '../receive-problems.js';
import { handleAllOrNothing, type StreamBinding } from '../write/command-handler.js';
import type { BatchItem } from '../write/batch-plan.js';

/** Namespace of the name-based (v5) event ids of FHIR-derived events. */
const FHIR_EVENT_NAMESPACE = '6f1d4c2a-3b7e-4f0a-9c58-2d1e7a9b4c30';

/**
 * One resource to write: what the request entry says (`RequestEntry` of a Bundle; a single
 * create or update has no key). `at`: `EpisodeOfCare`, or `Bundle.entry[<i>].resource`.
 */
export type FhirWriteEntry = Omit<RequestEntry, 'key'> & { key?: string };

export type FhirWriteMode = 'transaction' | 'batch' | 'single';

/**
 * Write EpisodeOfCare resources (schema-free: the handler reads them). `bundleKey` is
 * `Bundle.identifier` as `system|value`, when the request is a Bundle that has one.
 * Answers one `EntryResponse` per entry; a transaction or a single write that fails throws
 * `OperationOutcomeError` (4xx); a batch answers the failure in the entry.
 */
export class RecordEpisodeOfCareCommand extends Command<EntryResponse[]> {
  constructor(
    readonly caller: Caller,
    readonly mode: FhirWriteMode,
    readonly entries: FhirWriteEntry[],
    readonly bundleKey?: string,
  ) {
    super();
  }
}

/** The HTTP status line of a FHIR entry response. */
const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  200: 'OK',
  201: 'Created',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  422: 'Unprocessable Entity',
});
export const statusLine = (status: number) => `${status} ${STATUS_TEXT[status] ?? ''}`.trim();

const issueCode = (status: number): IssueType => (status === 403 ? 'security' : status === 409 || status === 412 ? 'conflict' : status === 404 ? 'not-found' : 'invalid');

/** A problem of the receive path (pointers into a report) as an OperationOutcome at the entry's elements. */
function outcomeOf(problem: ProblemError, input: EpisodeOfCareInput | undefined, at: string): OperationOutcomeError {
  const { status } = problem.problem;
  const errors = problem.problem.errors ?? [];
  return new OperationOutcomeError(
    status,
    operationOutcomeOf(
      errors.length > 0
        ? errors.map((e) => ({ code: issueCode(status), diagnostics: `${e.rule}: ${e.detail}`, expression: [fhirPathOf(input, e.pointer, at)] }))
        : [{ code: issueCode(status), diagnostics: problem.problem.detail ?? problem.problem.title, expression: [at] }],
    ),
  );
}

/** What a prepared entry needs at write time. */
interface Prepared {
  entry: FhirWriteEntry;
  input: EpisodeOfCareInput;
  sourceSystem: string;
  streamId: string;
  resourceId: string;
  expectedVersion?: number;
}

/** How the written entry is answered. */
interface Written {
  created: boolean;
  version: number;
}

const fail = (status: number, code: IssueType, diagnostics: string, expression: string) => new OperationOutcomeError(status, operationOutcome('error', code, diagnostics, [expression]));

/** Reads an entry's resource and request: the stated decision, its stream, and the checks of the URL. */
export function prepareEntry(caller: Caller, entry: FhirWriteEntry): Prepared {
  const parsed = parseEpisodeOfCareInput(entry.resource, entry.at);
  if (!parsed.ok) throw new OperationOutcomeError(400, operationOutcomeOf(parsed.issues));
  const input = parsed.value;
  const { stated } = input;
  const sourceSystem = stated.sourceSystem ?? caller.clientId;
  const resourceId = episodeOfCareId(sourceSystem, stated.decisionId);
  const [path, query = ''] = entry.url.split('?', 2) as [string, string?];
  const target = path.replace(/^\/+/, '');
  const urlAt = entry.at.endsWith('.resource') ? `${entry.at.slice(0, -'.resource'.length)}.request.url` : entry.at;
  if (entry.method === 'POST') {
    if (target !== 'EpisodeOfCare' || query !== '') throw fail(400, 'not-supported', 'create is POST EpisodeOfCare (no parameters)', urlAt);
  } else if (target === 'EpisodeOfCare') {
    // Conditional update: identifier=[system|]value, which must be the resource's own.
    const params = new URLSearchParams(query);
    const names = [...new Set(params.keys())];
    const wanted = params.getAll('identifier');
    if (names.length !== 1 || names[0] !== 'identifier' || wanted.length !== 1) {
      throw fail(400, 'not-supported', 'conditional update takes exactly one parameter: identifier=<system>|<decision id>', urlAt);
    }
    const [system, value] = wanted[0]!.includes('|') ? (wanted[0]!.split('|', 2) as [string, string]) : [undefined, wanted[0]!];
    const idPath = fhirPathOf(input, '/decisionId', entry.at);
    if (value !== stated.decisionId || (system !== undefined && system !== '' && system !== `urn:fpi:decision-id:${sourceSystem}`)) {
      throw fail(400, 'invalid', "the identifier of the URL is not the resource's decision identifier", idPath);
    }
  } else if (/^EpisodeOfCare\/[A-Za-z0-9\-.]{1,64}$/.test(target) && query === '') {
    if (target.slice('EpisodeOfCare/'.length).toLowerCase() !== resourceId) {
      throw fail(400, 'invalid', `the id of the URL is not the id of the resource's decision (${resourceId})`, fhirPathOf(input, '/decisionId', entry.at));
    }
  } else {
    throw fail(400, 'not-supported', 'update is PUT EpisodeOfCare?identifier=<system>|<decision id> or PUT EpisodeOfCare/<id>', urlAt);
  }
  let expectedVersion: number | undefined;
  if (entry.ifMatch !== undefined) {
    expectedVersion = parseVersionETag(entry.ifMatch);
    if (expectedVersion === undefined) throw fail(400, 'invalid', 'If-Match must name one version: W/"<versionId>"', entry.at.endsWith('.resource') ? `${urlAt.slice(0, -4)}ifMatch` : 'If-Match');
  }
  return { entry, input, sourceSystem, streamId: decisionStreamId(sourceSystem, stated.decisionId), resourceId, ...(expectedVersion !== undefined ? { expectedVersion } : {}) };
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

@CommandHandler(RecordEpisodeOfCareCommand)
export class RecordEpisodeOfCareHandler implements ICommandHandler<RecordEpisodeOfCareCommand> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ caller, mode, entries, bundleKey }: RecordEpisodeOfCareCommand): Promise<EntryResponse[]> {
    if (mode !== 'batch')
      return this.writeAll(
        caller,
        entries.map((entry) => prepareEntry(caller, entry)),
        bundleKey,
      );
    const answers: EntryResponse[] = [];
    for (const entry of entries) {
      try {
        answers.push(...(await this.writeAll(caller, [prepareEntry(caller, entry)], bundleKey)));
      } catch (error) {
        if (!(error instanceof OperationOutcomeError)) throw error; // the store is unavailable: the batch fails as a whole
        answers.push({ status: statusLine(error.status), outcome: error.outcome });
      }
    }
    return answers;
  }

  /** Writes the prepared entries all or nothing and answers each. */
  private async writeAll(caller: Caller, prepared: Prepared[], bundleKey: string | undefined): Promise<EntryResponse[]> {
    const seen = new Map<string, number>();
    prepared.forEach((p, i) => {
      const earlier = seen.get(p.streamId);
      if (earlier !== undefined) throw fail(400, 'business-rule', `names the same decision as ${prepared[earlier]!.entry.at}: a transaction changes a resource once`, p.entry.at);
      seen.set(p.streamId, i);
    });
    const rules = rulesFor(caller);
    const requests = new Map<DecisionCommand, { method: string; url: string }>();
    const entryOf = new Map<DecisionCommand, number>();
    const written: Written[] = [];
    const binding: StreamBinding<Parameters<typeof decisionStream.decider.evolve>[0], DecisionCommand, ReturnType<typeof decisionStream.fromStored>> = {
      ...decisionStream,
      // The request that made the event travels in its metadata: the history shows it.
      toStored: (events, command): NewEvent[] => decisionStream.toStored(events, command).map((e) => ({ ...e, metadata: { ...e.metadata, fhirRequest: requests.get(command) } })),
    };
    const handled = await handleAllOrNothing(
      this.store,
      caller.tenant,
      binding,
      async () => prepared.map((p) => p.streamId),
      (histories) => {
        requests.clear();
        entryOf.clear();
        written.length = 0;
        const items: BatchItem<DecisionCommand>[] = [];
        const today = osloToday();
        const occurredAt = new Date().toISOString();
        prepared.forEach((p, index) => {
          const history = histories.get(p.streamId) ?? [];
          if (p.expectedVersion !== undefined && p.expectedVersion !== history.length) {
            throw fail(412, 'conflict', `If-Match names version ${p.expectedVersion}; the current version is ${history.length}`, p.entry.at);
          }
          const state = foldDecision(history.map(asDecisionEvent));
          // A retry of this Bundle's entry: its events are stored, and answer it.
          const keyOf = bundleKey === undefined ? undefined : `${caller.tenant}|${p.streamId}|${bundleKey}|${p.entry.key ?? index}|${sha256(JSON.stringify(p.entry.resource))}`;
          const keyedId = (n: number) => uuidv5(`${keyOf}|${n}`, FHIR_EVENT_NAMESPACE);
          if (keyOf !== undefined) {
            const replayed: RecordedEvent[] = [];
            for (let n = 0; ; n++) {
              const stored = history.find((e) => e.eventId === keyedId(n));
              if (!stored) break;
              replayed.push(stored);
            }
            if (replayed.length > 0) {
              written[index] = { created: replayed[0]!.type === 'ServiceDecisionGranted', version: replayed.at(-1)!.streamPosition };
              return;
            }
          }
          if (p.entry.method === 'POST' && state.status !== 'none' && p.entry.ifNoneExist !== undefined) {
            written[index] = { created: false, version: history.length }; // conditional create: it exists
            return;
          }
          const diff = statedDecisionReports(p.input.stated, state, { sourceSystem: p.sourceSystem, today, occurredAt });
          if (!diff.ok) throw outcomeOf(ProblemError.of(diff.violation.status, 'rule-violation', 'The resource breaks a rule', undefined, [diff.violation]), p.input, p.entry.at);
          if (p.entry.method === 'POST' && state.status !== 'none' && diff.reports.length > 0) {
            throw fail(409, 'duplicate', 'the decision exists: update it with PUT EpisodeOfCare?identifier=<system>|<decision id>', fhirPathOf(p.input, '/decisionId', p.entry.at));
          }
          written[index] = { created: diff.reports[0]?.type === 'ServiceDecisionGranted', version: history.length };
          diff.reports.forEach((report: StatedReport, n) => {
            const eventId = keyOf !== undefined ? keyedId(n) : uuidv5(`${caller.tenant}|${p.streamId}|${report.type}|${JSON.stringify(state)}|${n}`, FHIR_EVENT_NAMESPACE);
            let item: BatchItem<DecisionCommand>;
            try {
              // A source the resource does not name is the caller's, as in the native API (not in the report).
              const { sourceSystem: _source, ...unnamed } = report;
              const sent = p.input.stated.sourceSystem === undefined ? unnamed : report;
              item = decisionCommandOf(parseDecisionEvent({ ...sent, eventId } as DecisionEventV1), rules);
            } catch (error) {
              if (error instanceof ProblemError) throw outcomeOf(error, p.input, p.entry.at);
              throw error;
            }
            requests.set(item.command, {
              method: p.entry.method,
              url: p.entry.method === 'POST' ? 'EpisodeOfCare' : `EpisodeOfCare?identifier=${encodeURIComponent(`urn:fpi:decision-id:${p.sourceSystem}|${p.input.stated.decisionId}`)}`,
            });
            entryOf.set(item.command, index);
            items.push(item);
          });
        });
        return items;
      },
      (item, error) => {
        const p = prepared[entryOf.get(item.command) ?? 0]!;
        const problem = receiveProblem(error, { decisionId: item.command.data.decisionId });
        return problem instanceof ProblemError ? outcomeOf(problem, p.input, p.entry.at) : problem;
      },
    ).catch((error: unknown) => {
      if (error instanceof OperationOutcomeError) throw error;
      const problem = receiveProblem(error);
      if (problem instanceof ProblemError && problem.problem.status < 500) throw outcomeOf(problem, undefined, prepared[0]?.entry.at ?? 'Bundle');
      throw problem;
    });
    for (const { item, result } of handled) {
      const index = entryOf.get(item.command)!;
      written[index] = { ...written[index]!, version: Math.max(written[index]!.version, result.positions[0]!.streamPosition) };
    }
    return Promise.all(prepared.map((p, index) => this.answer(caller, p, written[index]!)));
  }

  /** The entry's answer: status, location and ETag of the version written, and that version of the resource. */
  private async answer(caller: Caller, p: Prepared, w: Written): Promise<EntryResponse> {
    const events = (await this.store.readStream(caller.tenant, p.streamId)).filter((e) => e.streamPosition <= w.version);
    const doc = events.reduce<OverviewDocument | undefined>(
      (d, e) => evolveOverview(d ?? emptyOverview(asDecisionEvent(e).data.patient), { event: asDecisionEvent(e), streamPosition: e.streamPosition, recordedAt: e.recordedAt.toISOString() }),
      undefined,
    );
    const decision = doc?.decisions[`${p.sourceSystem}/${p.input.stated.decisionId}`];
    const resource = decision && doc ? episodeOfCareVersion(decision, doc.patient, { tenant: caller.tenant }) : undefined;
    return {
      status: statusLine(w.created ? 201 : 200),
      location: `EpisodeOfCare/${p.resourceId}/_history/${w.version}`,
      etag: versionETag(w.version),
      ...(resource ? { lastModified: resource.meta!.lastUpdated!, resource } : {}),
    };
  }
}
