/// <reference types="fhir" />
/**
 * An `OktEpisodeOfCare` an EPJ sends (create, update, transaction or batch entry) as the
 * decision it states (`StatedDecision` of libs/domain), with the FHIRPath of every element
 * it was read from, so that a rule the receive side finds (at a pointer of information
 * model v1) is reported at the element that broke it. Pure; the inverse of
 * `toEpisodeOfCare` for the elements it writes. Only the shape is checked here; the rules
 * (identifiers, 9151, orgnr, 168 h) are those of `normalizeDecisionReport`, applied to the
 * reports the stated decision becomes.
 *
 * | EpisodeOfCare                                              | decision                     |
 * |------------------------------------------------------------|------------------------------|
 * | `identifier` (system `urn:fpi:decision-id:<source>`)       | decisionId (and sourceSystem)|
 * | `patient.identifier` (FNR, DNR or FHN system)              | patient                      |
 * | `type` coding of Volven 9151                               | service code                 |
 * | `type` coding of OktStayTypeCs                             | stayType                     |
 * | `period`                                                   | period                       |
 * | extension WeeklyExtentRatio (h / 1 wk) or WeeklyExtentQuantity (h) | weekly hours         |
 * | extension ServiceDescriptionMarkdown                       | description                  |
 * | `managingOrganization` (contained Organization or display + identifier) | performer (name, orgnr, phone from `telecom`) |
 * | `status` planned/active · onhold · finished/cancelled · entered-in-error | live · paused · ended · entered in error |
 * | open `statusHistory` entry `onhold`                        | pausedFrom                   |
 */
import { osloDateOf, type StatedDecision, type StatedLifecycle } from '#libs/domain';
import { OKT_STAY_TYPE_SYSTEM, ORGANISATION_NUMBER_SYSTEM, SERVICE_DESCRIPTION_EXTENSION, SERVICE_TYPE_SYSTEM, WEEKLY_EXTENT_EXTENSION } from './constants.js';
import { unstorableTextIssues, type OutcomeIssue } from './operation-outcome.js';

/** The IG's earlier weekly extent extension (a Quantity in hours), still in its examples. */
export const WEEKLY_EXTENT_QUANTITY_EXTENSION = 'http://hl7.no/fhir/ig/okt/StructureDefinition/WeeklyExtentQuantity';

/** `identifier.system` prefix that names the source system of a decision id. */
const DECISION_ID_SYSTEM_PREFIX = 'urn:fpi:decision-id:';

/** A stated decision, and where in the resource each report pointer's value came from. */
export interface EpisodeOfCareInput {
  stated: StatedDecision;
  /** Report pointer prefix (`/service/code`) → FHIRPath below the resource (`type[0].coding[0].code`). */
  paths: Readonly<Record<string, string>>;
}

const LIFECYCLE: Readonly<Record<string, StatedLifecycle>> = Object.freeze({
  planned: 'live',
  active: 'live',
  onhold: 'paused',
  finished: 'ended',
  cancelled: 'ended',
  'entered-in-error': 'entered-in-error',
});

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

/**
 * Reads `resource` (an entry's resource, or a request body) as a stated decision. `at` is
 * the FHIRPath of the resource (`EpisodeOfCare`, `Bundle.entry[2].resource`); every issue's
 * expression starts with it. Errors: one issue per element that cannot be read (wrong
 * resource type, no decision identifier, no patient identifier, no 9151 type, no
 * period.start, an unknown status, an extent that is not hours per week).
 */
export function parseEpisodeOfCareInput(resource: unknown, at: string): { ok: true; value: EpisodeOfCareInput } | { ok: false; issues: OutcomeIssue[] } {
  const issues: OutcomeIssue[] = [];
  const bad = (path: string, diagnostics: string, code: OutcomeIssue['code'] = 'required') => issues.push({ code, diagnostics, expression: [path ? `${at}.${path}` : at] });
  if (!isObject(resource) || resource.resourceType !== 'EpisodeOfCare') {
    bad('', 'the resource must be an EpisodeOfCare (OktEpisodeOfCare profile)', 'invalid');
    return { ok: false, issues };
  }
  // Text that cannot be stored is refused before any id is derived from it.
  const unstorable = unstorableTextIssues(resource, at);
  if (unstorable.length > 0) return { ok: false, issues: unstorable };
  const paths: Record<string, string> = {};

  // identifier: the decision id, unique within its source system.
  const identifiers = list(resource.identifier);
  const idIndex = identifiers.findIndex((i) => isObject(i) && text(i.value) !== undefined);
  const identifier = identifiers[idIndex] as { system?: unknown; value: string } | undefined;
  let sourceSystem: string | undefined;
  if (!identifier) bad('identifier', "identifier: the decision's id (value) is required; its system urn:fpi:decision-id:<source system> names the source");
  else {
    paths['/decisionId'] = `identifier[${idIndex}].value`;
    paths['/sourceSystem'] = `identifier[${idIndex}].system`;
    if (typeof identifier.system === 'string' && identifier.system.startsWith(DECISION_ID_SYSTEM_PREFIX)) sourceSystem = identifier.system.slice(DECISION_ID_SYSTEM_PREFIX.length);
  }

  // patient: a logical reference by identifier (no Patient resources are served).
  const patientIdentifier = isObject(resource.patient) && isObject(resource.patient.identifier) ? resource.patient.identifier : undefined;
  if (!patientIdentifier || typeof patientIdentifier.value !== 'string' || typeof patientIdentifier.system !== 'string') {
    bad('patient.identifier', 'patient.identifier (system and value: FNR, DNR or FHN) is required');
  }
  paths['/patient'] = 'patient.identifier';

  // type: the 9151 service code, and the stay type.
  let serviceCode: string | undefined;
  let stayType: string | undefined;
  list(resource.type).forEach((t, i) => {
    list(isObject(t) ? t.coding : undefined).forEach((c, j) => {
      if (!isObject(c)) return;
      if (c.system === SERVICE_TYPE_SYSTEM && typeof c.code === 'string') {
        serviceCode = c.code;
        paths['/service'] = `type[${i}].coding[${j}].code`;
      } else if (c.system === OKT_STAY_TYPE_SYSTEM && typeof c.code === 'string') {
        stayType = c.code;
        paths['/stayType'] = `type[${i}].coding[${j}].code`;
      }
    });
  });
  if (serviceCode === undefined) bad('type', `type: a coding of ${SERVICE_TYPE_SYSTEM} (Volven 9151) is required`);

  // period
  const period = isObject(resource.period) ? resource.period : undefined;
  const start = period ? text(period.start) : undefined;
  const end = period ? text(period.end) : undefined;
  if (!start) bad('period.start', 'period.start is required');
  paths['/period/end'] = 'period.end';
  paths['/period'] = 'period';
  paths['/endDate'] = 'period.end';

  // extensions: weekly extent, description
  let weeklyHours: number | undefined;
  let description: string | undefined;
  list(resource.extension).forEach((e, i) => {
    if (!isObject(e)) return;
    if (e.url === WEEKLY_EXTENT_EXTENSION) {
      const ratio = isObject(e.valueRatio) ? e.valueRatio : undefined;
      const numerator = ratio && isObject(ratio.numerator) ? ratio.numerator : undefined;
      const denominator = ratio && isObject(ratio.denominator) ? ratio.denominator : undefined;
      const perWeek = denominator && denominator.value === 1 && (denominator.code === 'wk' || denominator.unit === 'wk');
      const hours = numerator && (numerator.code === 'h' || numerator.unit === 'h') && typeof numerator.value === 'number' ? numerator.value : undefined;
      if (hours === undefined || !perWeek) bad(`extension[${i}].valueRatio`, 'WeeklyExtentRatio: a Ratio of UCUM h per 1 wk', 'value');
      else weeklyHours = hours;
      paths['/extent'] = `extension[${i}].valueRatio.numerator.value`;
    } else if (e.url === WEEKLY_EXTENT_QUANTITY_EXTENSION) {
      const q = isObject(e.valueQuantity) ? e.valueQuantity : undefined;
      if (!q || typeof q.value !== 'number' || (q.code !== undefined && q.code !== 'h')) bad(`extension[${i}].valueQuantity`, 'WeeklyExtentQuantity: hours per week (UCUM h)', 'value');
      else weeklyHours = q.value;
      paths['/extent'] = `extension[${i}].valueQuantity.value`;
    } else if (e.url === SERVICE_DESCRIPTION_EXTENSION) {
      description = text(e.valueMarkdown);
      paths['/description'] = `extension[${i}].valueMarkdown`;
    }
  });

  // managingOrganization: the performing unit.
  const performer = readPerformer(resource, paths);

  // status (and the open pause of statusHistory)
  const status = resource.status;
  const lifecycle = typeof status === 'string' && Object.hasOwn(LIFECYCLE, status) ? LIFECYCLE[status] : undefined;
  if (!lifecycle) bad('status', 'status must be planned, active, onhold, finished, cancelled or entered-in-error', typeof status === 'string' ? 'code-invalid' : 'required');
  paths['/type'] = 'status';
  paths['/pausedFrom'] = 'status';
  paths['/resumedFrom'] = 'status';
  let pausedFrom: string | undefined;
  list(resource.statusHistory).forEach((h, i) => {
    if (isObject(h) && h.status === 'onhold' && isObject(h.period) && text(h.period.start) && !text(h.period.end)) {
      // A dateTime's day in Norway (`osloDateOf`, as occurredAt's day is taken); a date as it is.
      const start = h.period.start as string;
      pausedFrom = osloDateOf(start) ?? start.slice(0, 10);
      paths['/pausedFrom'] = `statusHistory[${i}].period.start`;
    }
  });

  if (issues.length > 0) return { ok: false, issues };
  const stated: StatedDecision = {
    decisionId: identifier!.value,
    ...(sourceSystem !== undefined ? { sourceSystem } : {}),
    patient: { system: patientIdentifier!.system as string, value: patientIdentifier!.value as string },
    serviceCode: serviceCode!,
    period: { start: start!, ...(end !== undefined ? { end } : {}) },
    ...(weeklyHours !== undefined ? { weeklyHours } : {}),
    ...(stayType !== undefined ? { stayType } : {}),
    ...(performer ? { performer } : {}),
    ...(description !== undefined ? { description } : {}),
    lifecycle: lifecycle!,
    ...(lifecycle === 'paused' && pausedFrom ? { pausedFrom } : {}),
  };
  return { ok: true, value: { stated, paths } };
}

/** The performer from `managingOrganization`: a contained Organization it references, else its display and identifier. */
function readPerformer(resource: Record<string, unknown>, paths: Record<string, string>): StatedDecision['performer'] {
  const ref = isObject(resource.managingOrganization) ? resource.managingOrganization : undefined;
  if (!ref) return undefined;
  const reference = text(ref.reference);
  const contained = list(resource.contained);
  const index = reference?.startsWith('#') ? contained.findIndex((c) => isObject(c) && c.resourceType === 'Organization' && c.id === reference.slice(1)) : -1;
  const org = index >= 0 ? (contained[index] as Record<string, unknown>) : undefined;
  const base = org ? `contained[${index}]` : 'managingOrganization';
  const orgIdentifiers = org ? list(org.identifier) : isObject(ref.identifier) ? [ref.identifier] : [];
  const orgnrIndex = orgIdentifiers.findIndex((i) => isObject(i) && i.system === ORGANISATION_NUMBER_SYSTEM && typeof i.value === 'string');
  const orgnr = orgnrIndex >= 0 ? ((orgIdentifiers[orgnrIndex] as { value: string }).value as string) : undefined;
  const name = text(org?.name) ?? text(ref.display);
  // The phone: the IG's examples keep it in contact.telecom; Organization.telecom is read too.
  const telecoms: { path: string; value: unknown }[] = [];
  if (org) {
    list(org.telecom).forEach((t, i) => telecoms.push({ path: `${base}.telecom[${i}]`, value: t }));
    list(org.contact).forEach((c, i) => list(isObject(c) ? c.telecom : undefined).forEach((t, j) => telecoms.push({ path: `${base}.contact[${i}].telecom[${j}]`, value: t })));
  }
  const phone = telecoms.find((t) => isObject(t.value) && t.value.system === 'phone' && typeof t.value.value === 'string');
  paths['/performer/orgnr'] = org ? `${base}.identifier[${Math.max(orgnrIndex, 0)}].value` : 'managingOrganization.identifier.value';
  paths['/performer/name'] = org ? `${base}.name` : 'managingOrganization.display';
  if (phone) paths['/performer/phone'] = `${phone.path}.value`;
  paths['/performer'] = 'managingOrganization';
  // No name: the report's schema refuses the performer at /performer/name, pointing here.
  return { name: name ?? '', ...(orgnr ? { orgnr } : {}), ...(phone ? { phone: (phone.value as { value: string }).value } : {}) };
}

/**
 * The FHIRPath of a report pointer (`/performer/orgnr`) in the resource at `at`: the
 * longest known prefix's element, else the resource itself.
 */
export function fhirPathOf(input: Pick<EpisodeOfCareInput, 'paths'> | undefined, pointer: string, at: string): string {
  const paths = input?.paths ?? {};
  for (let p = pointer; p !== ''; p = p.slice(0, p.lastIndexOf('/'))) {
    if (Object.hasOwn(paths, p)) return `${at}.${paths[p]}`;
  }
  return at;
}
