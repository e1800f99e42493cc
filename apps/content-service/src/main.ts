import { loadConfig } from '#libs/config';
import { addContractSchemas } from '#libs/receive';
import { CONTENT_SERVICE_API, createServiceApp, DEFAULT_PORTS } from '#libs/service';
import { ContentServiceModule } from './content-service.module.js';

// The settings, read and validated once; a bad variable stops the start, naming it.
const config = loadConfig();
const port = config.http.port ?? DEFAULT_PORTS['content-service'];
const app = await createServiceApp(ContentServiceModule, { config, api: { ...CONTENT_SERVICE_API, schemas: [addContractSchemas] } });
await app.listen(port, config.http.host);
console.log(`fpi content-service listening on http://localhost:${port} (health: /health/ready, metrics: /metrics)`);
