import { loadConfig } from '#libs/config';
import { startTracing } from '#libs/telemetry';

// The settings, read and validated once; a bad variable stops the start, naming it.
const config = loadConfig();
// Tracing (only with OTEL_EXPORTER_OTLP_ENDPOINT) starts before the app's modules load, so its
// instrumentations can patch them: the app is imported after it, not statically.
await startTracing(config.telemetry, { serviceName: 'fpi-platform', mask: async () => (await import('#libs/observability')).maskDecoded });
const { DEFAULT_PORTS } = await import('#libs/service');
const { createPlatformApp } = await import('./bootstrap.js');
const port = config.http.port ?? DEFAULT_PORTS.platform;
const app = await createPlatformApp({ config });
await app.listen(port, config.http.host);
console.log(`fpi-platform listening on http://localhost:${port} (health: /health/ready, metrics: /metrics)`);
