import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { FHIR_OPENAPI_SCHEMAS } from '#libs/fhir';
import { addContractSchemas } from '#libs/receive';

export interface ApiDescription {
  title: string;
  description: string;
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
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'HelseID access token; in production as "DPoP <token>" with a DPoP proof (RFC 9449). Dev tokens: npx fpi token' }, 'helseid')
    .addSecurityRequirements('helseid')
    .build();
  const document = addContractSchemas(SwaggerModule.createDocument(app, config));
  document.components!.schemas = { ...document.components!.schemas, ...(FHIR_OPENAPI_SCHEMAS as NonNullable<OpenAPIObject['components']>['schemas']) };
  return document;
}
