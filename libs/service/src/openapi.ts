import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { FHIR_OPENAPI_SCHEMAS } from '#libs/fhir';

export interface ApiDescription {
  title: string;
  description: string;
  /**
   * Adds the features' component schemas to the document (e.g. the receive feature's
   * `addContractSchemas`). The app wires its features in, so this kit imports none of them.
   */
  schemas?: ReadonlyArray<(document: OpenAPIObject) => OpenAPIObject>;
}

const ERRORS = 'Errors are RFC 9457 application/problem+json naming each bad field by JSON pointer and the rule broken.';

export const PLATFORM_API: ApiDescription = {
  title: 'fpi-platform',
  description: `Receive service (mottakstjeneste) for decision events about municipal health and care services, and content services (innholdstjenester). ${ERRORS}`,
};
export const RECEIVE_SERVICE_API: ApiDescription = {
  title: 'fpi-platform receive service',
  description: `Receive service (mottakstjeneste): EPJ systems post decision events about municipal health and care services. ${ERRORS}`,
};
export const CONTENT_SERVICE_API: ApiDescription = {
  title: 'fpi-platform content service',
  description: `Content services (innholdstjenester): per-patient overviews of municipal services as REST, OKT and FHIR R4. ${ERRORS}`,
};

export function buildOpenApiDocument(app: INestApplication, api: ApiDescription = PLATFORM_API): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle(api.title)
    .setDescription(api.description)
    .setVersion('1')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'HelseID access token; in production as "DPoP <token>" with a DPoP proof (RFC 9449). Dev tokens: npx fpi token' },
      'helseid',
    )
    .addSecurityRequirements('helseid')
    .build();
  const withSchemas = (api.schemas ?? []).reduce((doc, add) => add(doc), SwaggerModule.createDocument(app, config));
  const document = addMunicipalityHeader(withSchemas);
  document.components!.schemas = { ...document.components!.schemas, ...(FHIR_OPENAPI_SCHEMAS as NonNullable<OpenAPIObject['components']>['schemas']) };
  return document;
}

/** Tags of the read routes a partner may call under an agreement (the content services). */
const PARTNER_READ_TAGS = ['content (innholdstjenester)', 'OKT prototype compatibility', 'FHIR R4 (EpisodeOfCare)'];

/**
 * Documents the `fpi-municipality` header on every read route a partner may call: one place,
 * since the guard, not the controllers, reads it (libs/security caller.ts).
 */
function addMunicipalityHeader(doc: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(doc.paths)) {
    for (const operation of [item.get, item.post]) {
      // FHIR metadata is public (no token); the OKT receive route writes (partners only read).
      if (!operation?.tags?.some((t) => PARTNER_READ_TAGS.includes(t)) || ['FhirController_metadata', 'OktController_post'].includes(operation.operationId ?? '')) continue;
      (operation.parameters ??= []).push({
        name: 'fpi-municipality',
        in: 'header',
        required: false,
        description:
          "Only for an organisation outside the municipality (a GP practice, a hospital trust): the organisation number of the municipality it asks. Served only under an agreement in force for the token's organisation (orgnr_parent), purpose of use and today's date; otherwise 403 no-agreement, agreement-not-yet-valid, agreement-expired, agreement-ended or purpose-not-covered. The municipality's own units leave it out.",
        schema: { type: 'string', pattern: '^[0-9]{9}$' },
      });
      // A malformed header is a 400 (problem+json, or an OperationOutcome under /fhir).
      const fhir = operation.tags?.includes('FHIR R4 (EpisodeOfCare)');
      operation.responses['400'] ??= fhir
        ? { description: 'A bad parameter or fpi-municipality header (OperationOutcome)', content: { 'application/fhir+json': { schema: { $ref: '#/components/schemas/OperationOutcome' } } } }
        : { description: 'A bad parameter or fpi-municipality header (problem+json)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    }
  }
  return doc;
}
