/// <reference types="fhir" />
/**
 * Parsing, validation and matching of `EpisodeOfCare` search parameters. Pure functions.
 *
 * Input is the merged query string and (for `POST _search`) form body as a record of
 * `string | string[]` (repeated parameters as arrays). Handling is strict: unknown
 * parameters, modifiers and prefixes are errors (FHIR lets a server ignore them, but a
 * silently ignored filter shows a clinician too much or the wrong list). Empty values are
 * ignored, as FHIR says; the required patient then counts as missing.
 *
 * | parameter | form | semantics |
 * |---|---|---|
 * | `patient.identifier` / `patient:identifier` | `system\|value`, required, once | FNR/DNR/FHN system fitting the number's kind, 11 canonical digits (`parsePersonIdentifier`) |
 * | `status` | codes, comma = OR, repeats = AND | R4 EpisodeOfCare status |
 * | `type` | `[system\|]code`, comma = OR, repeats = AND | 9151 code (padding accepted) or OktStayTypeCs code |
 * | `date` | `[prefix]YYYY[-MM[-DD]]`, at most 2 (AND) | against `period` (open end = ongoing) |
 * | `_count` | 0–100, default 20 | page size; 0: only the total (as `_summary=count`) |
 * | `_cursor` | an EpisodeOfCare id | keyset paging: results after that id |
 * | `_summary` | `count` or `false` | `count`: only the total |
 * | `_format` | `json`, `application/json`, `application/fhir+json` | checked before the search (`fhirFormatOutcome`): anything else is 406 |
 *
 * Date prefixes follow the R4 definitions for ranges (search.html#prefix). The search value
 * is the range its precision implies (`2025` = 2025-01-01..2025-12-31) and the target is
 * the period, with a missing end taken as ongoing (+∞):
 * - eq: the search range contains the period; gt: the period extends after the search
 *   range; lt: it starts before it; ge: gt or eq; le: lt or eq; sa: it starts after the
 *   search range; eb: it ends before it.
 * Note that by these rules `ge2025-03-01` does not match a period that started earlier and
 * ended on exactly 2025-03-01 (it neither extends past that day nor lies within it).
 * `ne` and `ap` are not supported; times are rejected (our periods are dates).
 *
 * Paging is keyset-based: matches are ordered by their (stable, derived) resource id, and
 * the next page holds the matches whose id sorts after `_cursor`. Unlike an offset, this
 * neither repeats nor skips a decision when others are added or removed between pages.
 */
import type { ServiceOverviewEntry } from '#libs/domain';
import { STAY_TYPES } from '#libs/contracts';
import { canonicalServiceCode, isServiceCodeSystem, parsePersonIdentifier } from '#libs/domain';
import { OKT_STAY_TYPE_SYSTEM, PERSON_IDENTIFIER_SYSTEMS, SERVICE_TYPE_SYSTEM, type PersonIdentifierSystem } from './constants.js';
import { EPISODE_OF_CARE_STATUSES, fhirPeriod, fhirStatus, type EpisodeOfCareStatus } from './episode-of-care.js';
import { episodeOfCareId } from './episode-of-care-id.js';
import type { IssueType } from './operation-outcome.js';

export { fhirStatus } from './episode-of-care.js';

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 100;

export type SearchParams = Readonly<Record<string, string | readonly string[] | undefined>>;

export type DatePrefix = 'eq' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb';
export const DATE_PREFIXES: readonly DatePrefix[] = Object.freeze(['eq', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'] as const);

export interface PatientCriterion {
  system: PersonIdentifierSystem;
  value: string;
}

/** One `type` token, canonicalised: a 9151 code (unpadded) or an OKT stay type. */
export interface TypeCriterion {
  system: typeof SERVICE_TYPE_SYSTEM | typeof OKT_STAY_TYPE_SYSTEM;
  code: string;
}

/** One `date` value: its prefix and the day range (inclusive) its precision implies. */
export interface DateCriterion {
  prefix: DatePrefix;
  /** The date as given, without prefix. */
  value: string;
  /** First day of the range (YYYY-MM-DD). */
  low: string;
  /** Last day of the range (YYYY-MM-DD). */
  high: string;
}

export interface EpisodeOfCareQuery {
  patient: PatientCriterion;
  /** Every group must match (AND: one per `status` parameter), by any of its codes (OR: comma-separated). */
  status?: EpisodeOfCareStatus[][];
  /** Every group must match (AND), by any of its tokens (OR). */
  type?: TypeCriterion[][];
  /** Every criterion must match (AND); at most two. */
  date?: DateCriterion[];
  /** Page size; 0 asks for the total only (no entries). */
  count: number;
  /** Keyset paging: only matches whose id sorts after this (lower-cased) id. */
  cursor?: string;
  summary?: 'count';
}

export interface SearchIssue {
  code: IssueType;
  diagnostics: string;
  expression: string[];
}

export type SearchParseResult = { ok: true; query: EpisodeOfCareQuery } | { ok: false; issues: SearchIssue[] };

const PATIENT_PARAMS = ['patient.identifier', 'patient:identifier'] as const;
const KNOWN = new Set<string>([...PATIENT_PARAMS, 'status', 'type', 'date', '_count', '_cursor', '_summary', '_format']);
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const STAY_TYPE_CODES: ReadonlySet<string> = new Set<string>(STAY_TYPES);

/**
 * The parameters of `POST _search`: those of the URL and those of the body together, as if
 * every one had been given in one query string (R4 http.html#search: "the parameters from
 * the URL and the body are combined"); a name in both gets the values of both.
 */
export function mergeSearchParams(url: SearchParams, body: SearchParams): Record<string, string | string[]> {
  const out = new Map<string, string[]>();
  for (const source of [url, body]) {
    for (const [name, raw] of Object.entries(source)) {
      if (raw === undefined) continue;
      const values = typeof raw === 'string' ? [raw] : [...raw];
      out.set(name, [...(out.get(name) ?? []), ...values]);
    }
  }
  return Object.fromEntries([...out].map(([name, values]) => [name, values.length === 1 ? values[0]! : values]));
}

/** The parameter's non-empty values, one per occurrence. */
function valuesOf(params: SearchParams, name: string): string[] {
  const raw = params[name];
  const list = raw === undefined ? [] : typeof raw === 'string' ? [raw] : [...raw];
  return list.filter((v) => typeof v === 'string' && v !== '');
}

function unknownParameterIssue(name: string): SearchIssue {
  const base = name.split(/[:.]/)[0]!;
  let diagnostics = `Unknown search parameter '${name}'.`;
  if (name === 'patient') diagnostics = "Search parameter 'patient' takes a reference; give the person by identifier: patient.identifier=system|value.";
  else if (base === 'patient') diagnostics = `Unsupported patient parameter '${name}'; use patient.identifier=system|value or patient:identifier=system|value.`;
  else if (KNOWN.has(base)) diagnostics = `Modifier or chain '${name.slice(base.length)}' is not supported on '${base}'.`;
  return { code: 'not-supported', diagnostics, expression: [name] };
}

/** The patient of a search or history read (`patient.identifier` / `patient:identifier`), by the one parser of person ids; issues are added to `issues`. */
export function parsePatient(params: SearchParams, issues: SearchIssue[]): PatientCriterion | undefined {
  const given = PATIENT_PARAMS.flatMap((name) => valuesOf(params, name).map((value) => ({ name, value })));
  if (given.length === 0) {
    issues.push({ code: 'required', diagnostics: 'The patient is required: patient.identifier=system|value (FNR, DNR or FHN).', expression: ['patient.identifier'] });
    return undefined;
  }
  if (given.length > 1) {
    issues.push({ code: 'invalid', diagnostics: 'Give exactly one patient identifier.', expression: [...new Set(given.map((g) => g.name))] });
    return undefined;
  }
  const { name, value } = given[0]!;
  // Diagnostics never echo the identifier: it is personal data.
  const bar = value.indexOf('|');
  if (value.includes(',')) {
    issues.push({ code: 'invalid', diagnostics: `${name} takes one identifier, not a list.`, expression: [name] });
    return undefined;
  }
  if (bar < 0) {
    issues.push({ code: 'invalid', diagnostics: `${name} must be system|value, e.g. urn:oid:2.16.578.1.12.4.1.4.1|<fødselsnummer>.`, expression: [name] });
    return undefined;
  }
  const system = value.slice(0, bar);
  if (!(PERSON_IDENTIFIER_SYSTEMS as readonly string[]).includes(system)) {
    issues.push({ code: 'invalid', diagnostics: `${name}: the system must be one of ${PERSON_IDENTIFIER_SYSTEMS.join(', ')} (FNR, DNR, FHN).`, expression: [name] });
    return undefined;
  }
  // The one parser of person ids (also the REST, OKT and patient-audit-log reads): 11 canonical
  // digits, valid check digits, and a system that fits the number's kind (400 otherwise).
  const parsed = parsePersonIdentifier(value.slice(bar + 1), { system });
  if (!parsed.ok) {
    issues.push({ code: 'invalid', diagnostics: `${name}: ${parsed.message} (rule ${parsed.rule})`, expression: [name] });
    return undefined;
  }
  return { system: parsed.id.system, value: parsed.id.value };
}

function parseStatus(params: SearchParams, issues: SearchIssue[]): EpisodeOfCareStatus[][] | undefined {
  const occurrences = valuesOf(params, 'status');
  if (occurrences.length === 0) return undefined;
  return occurrences.map((occurrence) => {
    const codes: EpisodeOfCareStatus[] = [];
    for (const code of occurrence.split(',')) {
      if ((EPISODE_OF_CARE_STATUSES as readonly string[]).includes(code)) {
        if (!codes.includes(code as EpisodeOfCareStatus)) codes.push(code as EpisodeOfCareStatus);
      } else {
        const hint = code === 'on-hold' ? " (the R4 EpisodeOfCare code is 'onhold')" : '';
        issues.push({ code: 'invalid', diagnostics: `Unknown status '${code}'${hint}; expected one of ${EPISODE_OF_CARE_STATUSES.join(', ')}.`, expression: ['status'] });
      }
    }
    return codes;
  });
}

function parseTypeToken(token: string, issues: SearchIssue[]): TypeCriterion | undefined {
  const bar = token.indexOf('|');
  const system = bar < 0 ? undefined : token.slice(0, bar);
  const code = bar < 0 ? token : token.slice(bar + 1);
  const fail = (diagnostics: string) => {
    issues.push({ code: 'invalid', diagnostics, expression: ['type'] });
    return undefined;
  };
  if (system === '') return fail(`type '${token}': a code without a system (|code) matches nothing here; give the system or just the code.`);
  if (code === '') return fail(`type '${token}': the code is missing.`);
  if (system === undefined || isServiceCodeSystem(system)) {
    const service = canonicalServiceCode(code);
    if (service !== undefined) return { system: SERVICE_TYPE_SYSTEM, code: service };
    if (system === undefined && STAY_TYPE_CODES.has(code)) return { system: OKT_STAY_TYPE_SYSTEM, code };
    return fail(`type '${token}': unknown service type code (Volven 9151)${system === undefined ? ' or stay type' : ''}.`);
  }
  if (system === OKT_STAY_TYPE_SYSTEM) {
    if (STAY_TYPE_CODES.has(code)) return { system: OKT_STAY_TYPE_SYSTEM, code };
    return fail(`type '${token}': unknown stay type; expected one of ${STAY_TYPES.join(', ')}.`);
  }
  return fail(`type '${token}': unsupported system; use ${SERVICE_TYPE_SYSTEM} (service type) or ${OKT_STAY_TYPE_SYSTEM} (stay type).`);
}

function parseType(params: SearchParams, issues: SearchIssue[]): TypeCriterion[][] | undefined {
  const occurrences = valuesOf(params, 'type');
  if (occurrences.length === 0) return undefined;
  return occurrences.map((occurrence) =>
    occurrence.split(',').flatMap((token) => {
      const parsed = parseTypeToken(token, issues);
      return parsed ? [parsed] : [];
    }),
  );
}

const pad2 = (n: number) => String(n).padStart(2, '0');
const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** The inclusive day range of a FHIR date of year, month or day precision; undefined if invalid. */
export function dateRange(value: string): { low: string; high: string } | undefined {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  if (year < 1) return undefined;
  if (m[2] === undefined) return { low: `${m[1]}-01-01`, high: `${m[1]}-12-31` };
  const month = Number(m[2]);
  if (month < 1 || month > 12) return undefined;
  const last = daysInMonth(year, month);
  if (m[3] === undefined) return { low: `${m[1]}-${m[2]}-01`, high: `${m[1]}-${m[2]}-${pad2(last)}` };
  const day = Number(m[3]);
  if (day < 1 || day > last) return undefined;
  return { low: value, high: value };
}

function parseDate(params: SearchParams, issues: SearchIssue[]): DateCriterion[] | undefined {
  const occurrences = valuesOf(params, 'date');
  if (occurrences.length === 0) return undefined;
  const fail = (diagnostics: string) => {
    issues.push({ code: 'invalid', diagnostics, expression: ['date'] });
  };
  if (occurrences.length > 2) {
    fail('date may be given at most twice (a lower and an upper bound).');
    return undefined;
  }
  const criteria: DateCriterion[] = [];
  for (const occurrence of occurrences) {
    if (occurrence.includes(',')) {
      issues.push({ code: 'not-supported', diagnostics: `date '${occurrence}': a list of dates (OR) is not supported; repeat the parameter for AND.`, expression: ['date'] });
      continue;
    }
    // `s`: a value may hold any character (a newline too); `.` alone would leave no match.
    const m = /^([a-z]{2})?(.*)$/s.exec(occurrence)!;
    const prefix = m[1] ?? 'eq';
    const value = m[2]!;
    if (prefix === 'ne' || prefix === 'ap') {
      issues.push({ code: 'not-supported', diagnostics: `date prefix '${prefix}' is not supported; use one of ${DATE_PREFIXES.join(', ')}.`, expression: ['date'] });
      continue;
    }
    if (!(DATE_PREFIXES as readonly string[]).includes(prefix)) {
      fail(`date '${occurrence}': unknown prefix '${prefix}'; use one of ${DATE_PREFIXES.join(', ')}.`);
      continue;
    }
    if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
      issues.push({ code: 'not-supported', diagnostics: `date '${occurrence}': times are not supported (periods are dates); give YYYY, YYYY-MM or YYYY-MM-DD.`, expression: ['date'] });
      continue;
    }
    const range = dateRange(value);
    if (!range) {
      fail(`date '${occurrence}': not a valid date; give YYYY, YYYY-MM or YYYY-MM-DD, optionally after a prefix.`);
      continue;
    }
    criteria.push({ prefix: prefix as DatePrefix, value, ...range });
  }
  return criteria;
}

function parseSingle(params: SearchParams, name: string, issues: SearchIssue[]): string | undefined {
  const values = valuesOf(params, name);
  if (values.length > 1) {
    issues.push({ code: 'invalid', diagnostics: `${name} may be given only once.`, expression: [name] });
    return undefined;
  }
  return values[0];
}

/**
 * Parses and validates the search parameters of `GET /EpisodeOfCare` or
 * `POST /EpisodeOfCare/_search`. On failure, every problem found is listed (the caller
 * answers 400 with an OperationOutcome holding one issue each).
 */
export function parseEpisodeOfCareSearch(params: SearchParams): SearchParseResult {
  const issues: SearchIssue[] = [];
  for (const [name, value] of Object.entries(params)) if (value !== undefined && !KNOWN.has(name)) issues.push(unknownParameterIssue(name));

  const patient = parsePatient(params, issues);
  const status = parseStatus(params, issues);
  const type = parseType(params, issues);
  const date = parseDate(params, issues);

  let count = DEFAULT_COUNT;
  const countText = parseSingle(params, '_count', issues);
  if (countText !== undefined) {
    // R4 search.html#count: _count=0 asks for the total only, like _summary=count.
    if (/^\d{1,4}$/.test(countText) && Number(countText) <= MAX_COUNT) count = Number(countText);
    else issues.push({ code: 'invalid', diagnostics: `_count must be a whole number from 0 to ${MAX_COUNT}.`, expression: ['_count'] });
  }

  const cursorText = parseSingle(params, '_cursor', issues);
  let cursor: string | undefined;
  if (cursorText !== undefined) {
    if (FHIR_ID.test(cursorText)) cursor = cursorText.toLowerCase();
    else issues.push({ code: 'invalid', diagnostics: '_cursor must be an EpisodeOfCare id, as in the next link.', expression: ['_cursor'] });
  }

  const summaryText = parseSingle(params, '_summary', issues);
  if (summaryText !== undefined && summaryText !== 'count' && summaryText !== 'false') {
    issues.push({ code: 'not-supported', diagnostics: `_summary=${summaryText} is not supported; use _summary=count (or false).`, expression: ['_summary'] });
  }

  // _format is content negotiation (406, see formats.ts), checked before the search is parsed.

  if (issues.length > 0 || !patient) return { ok: false, issues };
  return {
    ok: true,
    query: {
      patient,
      ...(status ? { status } : {}),
      ...(type ? { type } : {}),
      ...(date ? { date } : {}),
      count,
      ...(cursor ? { cursor } : {}),
      ...(summaryText === 'count' ? { summary: 'count' as const } : {}),
    },
  };
}

/** Whether a period (YYYY-MM-DD, open end = ongoing) satisfies one date criterion. */
export function periodMatchesDate(period: { start?: string; end?: string }, criterion: Pick<DateCriterion, 'prefix' | 'low' | 'high'>): boolean {
  // Compare at day precision; a missing start is -∞ and a missing end +∞.
  const start = period.start?.slice(0, 10);
  const end = period.end?.slice(0, 10);
  const { low, high } = criterion;
  const startsBefore = start === undefined || start < low; // part of the period lies below the range
  const endsAfter = end === undefined || end > high; // part of the period lies above the range
  const within = !startsBefore && !endsAfter;
  switch (criterion.prefix) {
    case 'eq':
      return within;
    case 'gt':
      return endsAfter;
    case 'lt':
      return startsBefore;
    case 'ge':
      return endsAfter || within;
    case 'le':
      return startsBefore || within;
    case 'sa':
      return start !== undefined && start > high;
    case 'eb':
      return end !== undefined && end < low;
  }
}

function matchesType(entry: ServiceOverviewEntry, token: TypeCriterion): boolean {
  if (token.system === OKT_STAY_TYPE_SYSTEM) return entry.stayType === token.code;
  return (canonicalServiceCode(entry.service.code) ?? entry.service.code) === token.code;
}

/**
 * Whether an overview entry matches the query's status, type and date criteria. The patient
 * is not checked here: the caller reads that patient's overview.
 */
export function matchesSearch(entry: ServiceOverviewEntry, query: Pick<EpisodeOfCareQuery, 'status' | 'type' | 'date'>): boolean {
  if (query.status) {
    const status = fhirStatus(entry.status);
    if (!query.status.every((group) => group.includes(status))) return false;
  }
  if (query.type && !query.type.every((group) => group.some((token) => matchesType(entry, token)))) return false;
  if (query.date) {
    const period = fhirPeriod(entry.period); // the period as the resource shows it
    if (!query.date.every((criterion) => periodMatchesDate(period, criterion))) return false;
  }
  return true;
}

export interface SearchPage {
  /** This page's entries, in id order. */
  entries: ServiceOverviewEntry[];
  /** All matches (Bundle.total), regardless of paging. */
  total: number;
  /** The `_cursor` of the next page, when there is one. */
  nextCursor?: string;
}

/** Filters, orders (by resource id) and pages a patient's overview entries for a query. */
export function searchPage(entries: readonly ServiceOverviewEntry[], query: Pick<EpisodeOfCareQuery, 'status' | 'type' | 'date' | 'count' | 'cursor'>): SearchPage {
  const matches = entries
    .filter((entry) => matchesSearch(entry, query))
    .map((entry) => ({ entry, id: episodeOfCareId(entry.sourceSystem, entry.decisionId) }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const after = query.cursor?.toLowerCase();
  const rest = after === undefined ? matches : matches.filter((m) => m.id > after);
  const page = rest.slice(0, query.count);
  return {
    entries: page.map((m) => m.entry),
    total: matches.length,
    ...(page.length > 0 && rest.length > page.length ? { nextCursor: page[page.length - 1]!.id } : {}),
  };
}

/**
 * The query in canonical form as a URL query string (for the self and next links), with
 * `cursor` replacing the query's own. It includes the patient's identifier.
 */
export function searchQueryString(query: EpisodeOfCareQuery, options: { cursor?: string | null } = {}): string {
  const params = new URLSearchParams();
  params.append('patient.identifier', `${query.patient.system}|${query.patient.value}`);
  for (const group of query.status ?? []) params.append('status', group.join(','));
  for (const group of query.type ?? []) params.append('type', group.map((t) => `${t.system}|${t.code}`).join(','));
  for (const d of query.date ?? []) params.append('date', `${d.prefix}${d.value}`);
  if (query.summary) params.append('_summary', query.summary);
  params.append('_count', String(query.count));
  const cursor = options.cursor === null ? undefined : (options.cursor ?? query.cursor);
  if (cursor) params.append('_cursor', cursor);
  return params.toString();
}
