import { loadConfig } from '#libs/config';
import { startTracing } from '#libs/telemetry';

// The settings, read and validated once; a bad variable stops the start, naming it.
const config = loadConfig();
// Tracing first (see apps/platform/src/main.ts): the app's modules are imported after it.
await startTracing(config.telemetry, { serviceName: 'fpi-content-service', mask: async () => (await import('#libs/observability')).maskDecoded });
const { addContractSchemas } = await import('#libs/receive');
const { CONTENT_SERVICE_API, createServiceApp, DEFAULT_PORTS } = await import('#libs/service');
const { ContentServiceModule } = await import('./content-service.module.js');
const port = config.http.port ?? DEFAULT_PORTS['content-service'];
const app = await createServiceApp(ContentServiceModule, { config, api: { ...CONTENT_SERVICE_API, schemas: [addContractSchemas] } });
await app.listen(port, config.http.host);
console.log(`fpi content-service listening on http://localhost:${port} (health: /health/ready, metrics: /metrics)`);
