import { loadConfig } from '#libs/config';
import { startTracing } from '#libs/telemetry';

// The settings, read and validated once; a bad variable stops the start, naming it.
const config = loadConfig();
// Tracing first (see apps/platform/src/main.ts): the app's modules are imported after it.
await startTracing(config.telemetry, { serviceName: 'fpi-receive-service', mask: async () => (await import('#libs/observability')).maskDecoded });
const { addContractSchemas } = await import('#libs/receive');
const { createServiceApp, DEFAULT_PORTS, RECEIVE_SERVICE_API } = await import('#libs/service');
const { ReceiveServiceModule } = await import('./receive-service.module.js');
const port = config.http.port ?? DEFAULT_PORTS['receive-service'];
const app = await createServiceApp(ReceiveServiceModule, { config, api: { ...RECEIVE_SERVICE_API, schemas: [addContractSchemas] } });
await app.listen(port, config.http.host);
console.log(`fpi receive-service listening on http://localhost:${port} (health: /health/ready, metrics: /metrics)`);
