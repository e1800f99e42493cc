/**
 * Canonical URLs and identifier systems of the FHIR R4 API (HL7 Norway OKT-on-FHIR draft IG,
 * no-basis NamingSystems). Sources: github.com/HL7Norway/FHIR-hackathon-2025-okt-ig
 * (canonical `http://hl7.no/fhir/ig/okt`), github.com/HL7Norway/basisprofiler-r4 and
 * HL7Norway/kodeverk (NamingSystems).
 * Identifier and code systems the domain already defines are re-used from it.
 */
import { ORGNR_SYSTEM, PERSON_ID_SYSTEMS, SERVICE_CODE_SYSTEM } from '#libs/domain';

/** The OKT IG's EpisodeOfCare profile (`no.hl7.fhir.okt` 0.2.0, draft). */
export const OKT_EPISODE_OF_CARE_PROFILE = 'http://hl7.no/fhir/ig/okt/StructureDefinition/OktEpisodeOfCare';

/** Extension: weekly extent as a Ratio (numerator UCUM `h`, denominator fixed 1 `wk`). */
export const WEEKLY_EXTENT_EXTENSION = 'http://hl7.no/fhir/ig/okt/StructureDefinition/WeeklyExtentRatio';

/** Extension: the service description as markdown (Must Support in the IG). */
export const SERVICE_DESCRIPTION_EXTENSION = 'http://hl7.no/fhir/ig/okt/StructureDefinition/ServiceDescriptionMarkdown';

/** The IG's local code system for stay types (`type` slice `stayType`). */
export const OKT_STAY_TYPE_SYSTEM = 'http://hl7.no/fhir/ig/okt/CodeSystem/OktStayTypeCs';

/**
 * Displays of the codes the IG's OktStayTypeCs defines. Our contract accepts more stay types
 * (nattopphold, langtidsopphold, avlastningsopphold); those are emitted without a display,
 * since the draft code system does not (yet) define them.
 */
export const OKT_STAY_TYPE_DISPLAYS: Readonly<Record<string, string>> = Object.freeze({
  dagopphold: 'Dagopphold i institusjon',
  korttidsopphold: 'Korttidsopphold i institusjon',
});

/** Volven 9151 (IPLOS/KPR service type), the preferred HL7 Norway URI. */
export const SERVICE_TYPE_SYSTEM = SERVICE_CODE_SYSTEM;

/** Organisasjonsnummer (Enhetsregisteret, ENH). */
export const ORGANISATION_NUMBER_SYSTEM = ORGNR_SYSTEM;

/** Person identifier systems accepted in searches: FNR, DNR and FHN (felles hjelpenummer). */
export const PERSON_IDENTIFIER_SYSTEMS = Object.freeze([PERSON_ID_SYSTEMS.fnr, PERSON_ID_SYSTEMS.dnr, PERSON_ID_SYSTEMS.fhn] as const);

export type PersonIdentifierSystem = (typeof PERSON_IDENTIFIER_SYSTEMS)[number];

/** UCUM, for the weekly extent Quantity. */
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

/** `identifier.system` of a decision id: the id is unique within one source system. */
export const decisionIdentifierSystem = (sourceSystem: string): string => `urn:fpi:decision-id:${sourceSystem}`;

/** `meta.source` of a resource: the EPJ system that reported the decision. */
export const sourceSystemUri = (sourceSystem: string): string => `urn:fpi:source-system:${sourceSystem}`;
