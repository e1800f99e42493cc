import { createPlatformApp } from './bootstrap.js';
import { loadConfig } from './config.js';

const config = loadConfig();
const app = await createPlatformApp();
await app.listen(config.port, config.host);
console.log(`fpi-platform listening on http://localhost:${config.port} (health: /health/ready, metrics: /metrics)`);
