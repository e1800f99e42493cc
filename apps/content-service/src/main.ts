import { addContractSchemas } from '#libs/receive';
import { CONTENT_SERVICE_API, createServiceApp, DEFAULT_PORTS, loadConfig } from '#libs/service';
import { ContentServiceModule } from './content-service.module.js';

const config = loadConfig(process.env, DEFAULT_PORTS['content-service']);
const app = await createServiceApp(ContentServiceModule, { api: { ...CONTENT_SERVICE_API, schemas: [addContractSchemas] } });
await app.listen(config.port, config.host);
console.log(`fpi content-service listening on http://localhost:${config.port} (health: /health/ready, metrics: /metrics)`);
