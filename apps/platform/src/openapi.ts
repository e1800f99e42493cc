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
    .build();
  return addContractSchemas(SwaggerModule.createDocument(app, config));
}
