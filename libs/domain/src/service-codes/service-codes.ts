/**
 * Volven 9151 "Tjenestetype i helse- og omsorgstjenesten" (IPLOS/KPR service codes).
 * Pure data and functions, no framework imports.
 *
 * Sources: the code list from FinnKode 9151
 * (https://finnkode.helsedirektoratet.no/adm/collections/9151), the HL7 Norway
 * FHIR-hackathon-2025-okt-ig `iplos-codesystem.fsh` and Oslo's no-municipal IG; groups from
 * Helsedirektoratet's "Kommunale helse- og omsorgstjenester 2021" report, the rest inferred;
 * and Helsedirektoratet's IPLOS questions and answers (https://helsedirektoratet.no/iplos-registeret/
 * iplos-sporsmal-og-svar/tjenester and …/organisasjonsnummer: rules for the performing unit). Codes 12 and 13 were
 * replaced by 29 from 2019; 10 and 16 are not in the current list.
 */

import { validateOrganisationNumber } from '../identifiers/organisation-number.js';

/** Preferred FHIR code system URI (HL7 Norway). Emit this one. */
export const SERVICE_CODE_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.9151';

/** Accepted on input as an alias of SERVICE_CODE_SYSTEM (Oslo's no-municipal IG uses it). */
export const SERVICE_CODE_SYSTEM_ALIASES: readonly string[] = Object.freeze(['https://finnkode.helsedirektoratet.no/adm/collections/9151']);

/**
 * Date of the code list this table reflects: FinnKode 9151 / HL7 Norway OKT IG
 * (`input/fsh/terminology/iplos-codesystem.fsh`) as read for the 2026 trial. Bump it when the table
 * is updated from a newer FinnKode version.
 */
export const SERVICE_CODE_TABLE_VERSION = '2026-01-01';

export type ServiceGroup = 'Tjenester til hjemmeboende' | 'Institusjonstjenester' | 'Velferdsteknologi' | 'Bruk av tvang' | 'Øyeblikkelig hjelp' | 'Bolig';

/** Whether the performing unit's organisasjonsnummer must, may or must not be given (IPLOS). */
export type PerformerOrgnrRule = 'required' | 'optional' | 'forbidden';

export interface ServiceCode {
  /** Canonical, unpadded code ('5', not '05'). */
  readonly code: string;
  readonly display: string;
  readonly group: ServiceGroup;
  readonly performerOrgnr: PerformerOrgnrRule;
}

const H: ServiceGroup = 'Tjenester til hjemmeboende';
const I: ServiceGroup = 'Institusjonstjenester';
const V: ServiceGroup = 'Velferdsteknologi';
const T: ServiceGroup = 'Bruk av tvang';

// [code, display, group, performer orgnr]. Groups for 21–26 are inferred (not in Helsedirektoratet's 2021 table).
const TABLE: readonly (readonly [number, string, ServiceGroup, PerformerOrgnrRule])[] = [
  [1, 'Praktisk bistand - daglige gjøremål', H, 'required'],
  [2, 'Praktisk bistand - opplæring - daglige gjøremål', H, 'required'],
  [3, 'Praktisk bistand - brukerstyrt - personlig assistanse (BPA)', H, 'required'],
  [4, 'Dagaktivitetstilbud', H, 'required'],
  [5, 'Matombringing', H, 'optional'],
  [6, 'Trygghetsalarm', V, 'optional'],
  [7, 'Avlastning utenfor institusjon', H, 'optional'],
  [8, 'Avlastning i institusjon', I, 'required'],
  [9, 'Støttekontakt', H, 'optional'],
  [11, 'Omsorgsstønad', H, 'optional'],
  [14, 'Bruk av tvang psykisk utviklingshemning – planlagte tiltak', T, 'optional'],
  [15, 'Helsetjenester i hjemmet', H, 'required'],
  [17, 'Dagopphold i institusjon', I, 'required'],
  [18, 'Tidsbegrenset opphold - utredning/behandling', I, 'required'],
  [19, 'Tidsbegrenset opphold - habilitering/rehabilitering', I, 'required'],
  [20, 'Tidsbegrenset opphold - annet', I, 'required'],
  [21, 'Langtidsopphold i institusjon', I, 'required'],
  [22, 'Nattopphold i institusjon', I, 'required'],
  [23, 'Bruk av tvang psykisk utviklingshemning – nødsituasjoner', T, 'optional'],
  [24, 'Helsehjelp med tvang', T, 'optional'],
  [25, 'Kommunal øyeblikkelig hjelp - døgnopphold (KAD)', 'Øyeblikkelig hjelp', 'required'],
  [26, 'Lokaliseringsteknologi (GPS)', V, 'forbidden'],
  [27, 'Elektronisk medisineringsstøtte', V, 'optional'],
  [28, 'Digitalt tilsyn', V, 'optional'],
  [29, 'Bolig som kommunen disponerer for helse- og omsorgsformål', 'Bolig', 'forbidden'],
];

/** All 25 active 9151 codes, ordered by code. */
export const ALL_SERVICE_CODES: readonly ServiceCode[] = Object.freeze(TABLE.map(([code, display, group, performerOrgnr]) => Object.freeze({ code: String(code), display, group, performerOrgnr })));

const BY_CODE: ReadonlyMap<string, ServiceCode> = new Map(ALL_SERVICE_CODES.map((entry) => [entry.code, entry]));

const INSTITUTIONAL_STAYS: ReadonlySet<string> = new Set(['8', '17', '18', '19', '20', '21', '22', '25']);

/** True for the preferred 9151 system URI and its accepted alias. */
export function isServiceCodeSystem(system: string): boolean {
  return system === SERVICE_CODE_SYSTEM || SERVICE_CODE_SYSTEM_ALIASES.includes(system);
}

/**
 * The canonical (unpadded) code for an input of 1–3 digits, accepting zero padding as sent
 * by the NHN OKT prototype ('05' → '5', '015' → '15'); undefined for anything else,
 * including whitespace and codes that are not in the current list (10, 12, 13, 16, 30, …).
 */
export function canonicalServiceCode(input: string): string | undefined {
  if (typeof input !== 'string' || !/^\d{1,3}$/.test(input)) return undefined;
  const code = String(Number(input));
  return BY_CODE.has(code) ? code : undefined;
}

/** The table entry for a code (padded input accepted), or undefined for unknown codes. */
export function lookupServiceCode(code: string): ServiceCode | undefined {
  const canonical = canonicalServiceCode(code);
  return canonical === undefined ? undefined : BY_CODE.get(canonical);
}

/** Stays in an institution: respite (8), day/night stays (17, 22), time-limited and long-term stays (18–21) and KAD (25). */
export function isInstitutionalStay(code: string): boolean {
  const canonical = canonicalServiceCode(code);
  return canonical !== undefined && INSTITUTIONAL_STAYS.has(canonical);
}

export type PerformerOrgnrValidation =
  | { ok: true }
  | {
      ok: false;
      rule: 'unknown-service-code' | 'performer-orgnr-required' | 'performer-orgnr-forbidden' | 'performer-orgnr-invalid';
      message: string;
    };

/**
 * Applies the IPLOS rule for the performing unit's organisasjonsnummer to a service code:
 * required codes need a valid orgnr, forbidden codes (26, 29) must have none, and an orgnr
 * given for an optional code must be valid. Pass undefined when no orgnr was given.
 */
export function validatePerformerOrgnr(code: string, performerOrgnr: string | undefined): PerformerOrgnrValidation {
  const entry = lookupServiceCode(code);
  if (entry === undefined) return { ok: false, rule: 'unknown-service-code', message: 'Unknown Volven 9151 service code.' };
  if (performerOrgnr === undefined) {
    return entry.performerOrgnr === 'required'
      ? {
          ok: false,
          rule: 'performer-orgnr-required',
          message: `Service code ${entry.code} (${entry.display}) requires the performing unit's organisation number.`,
        }
      : { ok: true };
  }
  if (entry.performerOrgnr === 'forbidden') {
    return {
      ok: false,
      rule: 'performer-orgnr-forbidden',
      message: `Service code ${entry.code} (${entry.display}) must not have a performing unit's organisation number.`,
    };
  }
  const orgnr = validateOrganisationNumber(performerOrgnr);
  return orgnr.ok ? { ok: true } : { ok: false, rule: 'performer-orgnr-invalid', message: orgnr.message };
}
