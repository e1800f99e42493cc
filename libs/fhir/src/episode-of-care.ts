/// <reference types="fhir" />
/**
 * One service decision of the overview as an HL7 Norway OKT-on-FHIR `OktEpisodeOfCare`
 * (FHIR R4 4.0.1). Pure mapping, no framework imports. Source: HL7 Norway's
 * OKT-on-FHIR draft IG (github.com/HL7Norway/FHIR-hackathon-2025-okt-ig, `input/pages/index.md`,
 * https://hl7norway.github.io/FHIR-hackathon-2025-okt-ig/currentbuild/); FHIR R4 EpisodeOfCare
 * (pause is `onhold`, R4's code, not the IG table's "on-hold"); the 9151 system as the OID.
 *
 * Choices beyond the IG draft:
 * - `status`: paused maps to the R4 code `onhold` (the IG table's "on-hold" is not an
 *   EpisodeOfCare code). A pause is also carried in `statusHistory`; the free-text pause
 *   reason is not mapped (EpisodeOfCare has no element for it).
 * - The performing unit is a contained Organization (`#performer`) with its orgnr, name and
 *   phone in `contact.telecom` (where the IG examples keep phone numbers), referenced from
 *   `managingOrganization` by `reference`, `identifier` (when there is an orgnr, so clients
 *   that do not resolve contained resources still get the logical reference) and `display`.
 *   No Organization endpoint is needed, and the phone the legevakt calls travels with it.
 * - `patient` is a logical reference (identifier only); we serve no Patient resources.
 * - `identifier.assigner` names the tenant (the municipality that made the decision).
 * - An end before the start (a decision withdrawn with an earlier end date, status
 *   `cancelled`) is left out, since FHIR requires start ≤ end (invariant per-1).
 */
import type { ServiceOverviewEntry, ServiceStatus } from '#libs/domain';
import {
  OKT_EPISODE_OF_CARE_PROFILE,
  OKT_STAY_TYPE_DISPLAYS,
  OKT_STAY_TYPE_SYSTEM,
  ORGANISATION_NUMBER_SYSTEM,
  SERVICE_DESCRIPTION_EXTENSION,
  SERVICE_TYPE_SYSTEM,
  UCUM_SYSTEM,
  WEEKLY_EXTENT_EXTENSION,
  decisionIdentifierSystem,
  sourceSystemUri,
} from './constants.js';
import { episodeOfCareId } from './episode-of-care-id.js';

export type EpisodeOfCareStatus = fhir4.EpisodeOfCare['status'];

/** All R4 EpisodeOfCare status codes (the required value set). */
export const EPISODE_OF_CARE_STATUSES: readonly EpisodeOfCareStatus[] = Object.freeze(['planned', 'waitlist', 'active', 'onhold', 'finished', 'cancelled', 'entered-in-error'] as const);

const STATUS: Readonly<Record<ServiceStatus, EpisodeOfCareStatus>> = Object.freeze({
  active: 'active',
  paused: 'onhold',
  planned: 'planned',
  ended: 'finished',
  cancelled: 'cancelled',
});

/** The EpisodeOfCare status of an overview status (paused → `onhold`, ended → `finished`). */
export function fhirStatus(status: ServiceStatus): EpisodeOfCareStatus {
  return STATUS[status];
}

/** The `id` of the contained performer Organization. */
export const PERFORMER_CONTAINED_ID = 'performer';

export interface PatientIdentifier {
  system: string;
  value: string;
}

export interface EpisodeOfCareOptions {
  /** The tenant (the municipality's organisation number): the decision id's assigner. */
  tenant: string;
  /** `meta.lastUpdated`; defaults to when we last recorded an event of the decision. */
  lastUpdated?: string;
}

/** The weekly extent extension: `hours` h per 1 wk (UCUM). */
export function weeklyExtentExtension(hours: number): fhir4.Extension {
  return {
    url: WEEKLY_EXTENT_EXTENSION,
    valueRatio: {
      numerator: { value: hours, unit: 'h', system: UCUM_SYSTEM, code: 'h' },
      denominator: { value: 1, unit: 'wk', system: UCUM_SYSTEM, code: 'wk' },
    },
  };
}

function serviceTypes(entry: ServiceOverviewEntry): fhir4.CodeableConcept[] {
  const types: fhir4.CodeableConcept[] = [{ coding: [{ system: SERVICE_TYPE_SYSTEM, code: entry.service.code, display: entry.service.display }] }];
  if (entry.stayType) {
    const display = Object.hasOwn(OKT_STAY_TYPE_DISPLAYS, entry.stayType) ? OKT_STAY_TYPE_DISPLAYS[entry.stayType] : undefined;
    types.push({ coding: [{ system: OKT_STAY_TYPE_SYSTEM, code: entry.stayType, ...(display ? { display } : {}) }] });
  }
  return types;
}

function statusHistory(entry: ServiceOverviewEntry): fhir4.EpisodeOfCareStatusHistory[] | undefined {
  if (!entry.pausedFrom) return undefined;
  // Still paused: the pause is open. A paused decision whose period has since run out ended
  // while on hold: the pause closes with the period.
  const end = entry.status !== 'paused' && entry.period.end !== undefined && entry.period.end >= entry.pausedFrom ? entry.period.end : undefined;
  return [{ status: 'onhold', period: { start: entry.pausedFrom, ...(end ? { end } : {}) } }];
}

function performer(entry: ServiceOverviewEntry): Pick<fhir4.EpisodeOfCare, 'contained' | 'managingOrganization'> {
  const p = entry.performer;
  if (!p) return {};
  const identifier: fhir4.Identifier | undefined = p.orgnr ? { system: ORGANISATION_NUMBER_SYSTEM, value: p.orgnr } : undefined;
  const organization: fhir4.Organization = {
    resourceType: 'Organization',
    id: PERFORMER_CONTAINED_ID,
    ...(identifier ? { identifier: [identifier] } : {}),
    name: p.name,
    ...(p.phone ? { contact: [{ telecom: [{ system: 'phone', value: p.phone, use: 'work' }] }] } : {}),
  };
  return {
    contained: [organization],
    managingOrganization: { reference: `#${PERFORMER_CONTAINED_ID}`, ...(identifier ? { identifier } : {}), display: p.name },
  };
}

/** The period as FHIR gets it: an end before the start is left out (invariant per-1). */
export function fhirPeriod(period: { start: string; end?: string }): { start: string; end?: string } {
  return { start: period.start, ...(period.end !== undefined && period.end >= period.start ? { end: period.end } : {}) };
}

/** Maps one overview entry of `patient` to an `OktEpisodeOfCare`. */
export function toEpisodeOfCare(entry: ServiceOverviewEntry, patient: PatientIdentifier, options: EpisodeOfCareOptions): fhir4.EpisodeOfCare {
  const extension: fhir4.Extension[] = [];
  if (entry.weeklyHours !== undefined) extension.push(weeklyExtentExtension(entry.weeklyHours));
  if (entry.description) extension.push({ url: SERVICE_DESCRIPTION_EXTENSION, valueMarkdown: entry.description });
  const history = statusHistory(entry);
  const { contained, managingOrganization } = performer(entry);
  return {
    resourceType: 'EpisodeOfCare',
    id: episodeOfCareId(entry.sourceSystem, entry.decisionId),
    meta: {
      profile: [OKT_EPISODE_OF_CARE_PROFILE],
      versionId: String(entry.version),
      lastUpdated: options.lastUpdated ?? entry.lastRecordedAt,
      source: sourceSystemUri(entry.sourceSystem),
    },
    ...(contained ? { contained } : {}),
    ...(extension.length > 0 ? { extension } : {}),
    identifier: [
      {
        system: decisionIdentifierSystem(entry.sourceSystem),
        value: entry.decisionId,
        assigner: { identifier: { system: ORGANISATION_NUMBER_SYSTEM, value: options.tenant } },
      },
    ],
    status: fhirStatus(entry.status),
    ...(history ? { statusHistory: history } : {}),
    type: serviceTypes(entry),
    patient: { identifier: { system: patient.system, value: patient.value } },
    ...(managingOrganization ? { managingOrganization } : {}),
    period: fhirPeriod(entry.period),
  };
}
