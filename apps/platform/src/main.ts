import { DEFAULT_PORTS, loadConfig } from '#libs/service';
import { createPlatformApp } from './bootstrap.js';

const config = loadConfig(process.env, DEFAULT_PORTS.platform);
const app = await createPlatformApp();
await app.listen(config.port, config.host);
console.log(`fpi-platform listening on http://localhost:${config.port} (health: /health/ready, metrics: /metrics)`);
