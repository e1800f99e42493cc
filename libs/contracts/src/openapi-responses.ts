/**
 * OpenAPI decorators for the answers every operation can give besides its own: the problems
 * (RFC 9457, `application/problem+json`) or, under /fhir, the OperationOutcomes
 * (`application/fhir+json`) that the app's one error filter renders. Each says which part of
 * the app gives the answer, so the document says what the code does (checked by Schemathesis,
 * test/outside/schemathesis.e2e.spec.ts).
 *
 * Schemas are referenced by name: `Problem` (added by `addContractSchemas`) and the FHIR
 * resource schemas of `FHIR_OPENAPI_SCHEMAS`, added to every document by `buildOpenApiDocument`.
 */
import { applyDecorators } from '@nestjs/common';
import { ApiOperation, ApiResponse } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** The media type of FHIR answers (R4 JSON). */
export const FHIR_MEDIA_TYPE = 'application/fhir+json';

/** One problem+json answer with `status`. */
export const ApiProblem = (status: number, description: string) =>
  ApiResponse({ status, description: `${description} (problem+json)`, content: { [PROBLEM_CONTENT_TYPE]: { schema: ref('Problem') } } });

/** One FHIR answer with `status`, a resource of schema `schema` (default OperationOutcome). */
export const ApiFhir = (status: number, description: string, schema = 'OperationOutcome') => ApiResponse({ status, description, content: { [FHIR_MEDIA_TYPE]: { schema: ref(schema) } } });

const CALLER_ANSWERS: readonly [number, string][] = [
  [401, 'No valid access token (or DPoP proof); WWW-Authenticate says why'],
  [403, 'The token does not allow this: unknown tenant, missing scope or purpose of use'],
  [429, 'Too many requests from this client (FPI_RATE_LIMIT_PER_MINUTE); Retry-After says when to come back'],
];

/** What the caller guard and the rate limiter answer before a handler runs (REST operations). */
export const ApiCallerProblems = () => applyDecorators(...CALLER_ANSWERS.map(([status, description]) => ApiProblem(status, description)));

/** The same for FHIR operations, as OperationOutcomes. */
export const ApiFhirCallerOutcomes = () => applyDecorators(...CALLER_ANSWERS.map(([status, description]) => ApiFhir(status, `${description} (OperationOutcome)`)));

/** What body parsing answers before a handler runs: malformed JSON, too large, not JSON. */
export const ApiJsonBodyProblems = () => applyDecorators(ApiProblem(413, 'The body is over 1 MB'), ApiProblem(415, 'The body is not application/json'));

/** The store cannot be reached (or a read with min-checkpoint did not catch up in time): retry after Retry-After. */
export const ApiUnavailable = (fhir = false) =>
  fhir
    ? ApiFhir(503, 'The event store cannot be reached, or the overview did not reach min-checkpoint in time; Retry-After says when to retry (OperationOutcome)')
    : ApiProblem(503, 'The event store cannot be reached, or the overview did not reach min-checkpoint in time; Retry-After says when to retry');

/** An operation anyone may call: no token (overrides the document's global security requirement). */
export const ApiPublic = () => ApiOperation({ security: [] });
