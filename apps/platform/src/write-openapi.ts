/**
 * Writes the OpenAPI document to docs/openapi.json without starting a database:
 * Nest's preview mode builds the module graph without instantiating providers.
 *   npm run openapi
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigModule, loadConfig } from '#libs/config';
import { packageRoot } from '#libs/database';
import { buildOpenApiDocument } from '#libs/service';
import { PLATFORM_API_DOCUMENT } from './bootstrap.js';
import { PlatformModule } from './platform.module.js';

const app = await NestFactory.create({ module: class OpenApiRoot {}, imports: [ConfigModule.forRoot(loadConfig()), PlatformModule] }, new FastifyAdapter(), { preview: true, logger: false });
const document = buildOpenApiDocument(app, PLATFORM_API_DOCUMENT);
const file = join(packageRoot(), 'docs', 'openapi.json');
await writeFile(file, JSON.stringify(document, null, 2) + '\n');
console.log(`wrote ${file}: ${Object.keys(document.paths).length} paths`);
process.exit(0);
