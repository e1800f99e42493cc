import { addContractSchemas } from '#libs/receive';
import { createServiceApp, DEFAULT_PORTS, loadConfig, RECEIVE_SERVICE_API } from '#libs/service';
import { ReceiveServiceModule } from './receive-service.module.js';

const config = loadConfig(process.env, DEFAULT_PORTS['receive-service']);
const app = await createServiceApp(ReceiveServiceModule, { api: { ...RECEIVE_SERVICE_API, schemas: [addContractSchemas] } });
await app.listen(config.port, config.host);
console.log(`fpi receive-service listening on http://localhost:${config.port} (health: /health/ready, metrics: /metrics)`);
