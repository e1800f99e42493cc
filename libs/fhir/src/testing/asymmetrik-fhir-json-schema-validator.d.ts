/** Types for the untyped CommonJS package (its index.js, v0.9.8). */
declare module '@asymmetrik/fhir-json-schema-validator' {
  export interface AjvError {
    keyword: string;
    dataPath: string;
    schemaPath: string;
    params: Record<string, unknown>;
    message?: string;
  }
  export default class JSONSchemaValidator {
    /** Compiles the bundled FHIR R4 JSON Schema (or `schema`) with Ajv 6. */
    constructor(schema?: object, ajvSettings?: object);
    /** The errors (empty when valid); unknown resource types give one string error. */
    validate(resource: unknown, verbose?: boolean): (AjvError | string)[];
  }
}
