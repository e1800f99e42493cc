import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { addContractSchemas } from '#libs/receive';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('fpi-platform')
    .setDescription(
      'Receive service (mottakstjeneste) for decision events about municipal health and care services, and content services (innholdstjenester). ' +
        'Errors are RFC 9457 application/problem+json naming each bad field by JSON pointer and the rule broken.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'HelseID access token; in production as "DPoP <token>" with a DPoP proof (RFC 9449). Dev tokens: npx fpi token' }, 'helseid')
    .addSecurityRequirements('helseid')
    .build();
  return addContractSchemas(SwaggerModule.createDocument(app, config));
}
