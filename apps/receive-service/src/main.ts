import { loadConfig } from '#libs/config';
import { addContractSchemas } from '#libs/receive';
import { createServiceApp, DEFAULT_PORTS, RECEIVE_SERVICE_API } from '#libs/service';
import { ReceiveServiceModule } from './receive-service.module.js';

// The settings, read and validated once; a bad variable stops the start, naming it.
const config = loadConfig();
const port = config.http.port ?? DEFAULT_PORTS['receive-service'];
const app = await createServiceApp(ReceiveServiceModule, { config, api: { ...RECEIVE_SERVICE_API, schemas: [addContractSchemas] } });
await app.listen(port, config.http.host);
console.log(`fpi receive-service listening on http://localhost:${port} (health: /health/ready, metrics: /metrics)`);
