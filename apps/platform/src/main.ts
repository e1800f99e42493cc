import { loadConfig } from '#libs/config';
import { DEFAULT_PORTS } from '#libs/service';
import { createPlatformApp } from './bootstrap.js';

// The settings, read and validated once; a bad variable stops the start, naming it.
const config = loadConfig();
const port = config.http.port ?? DEFAULT_PORTS.platform;
const app = await createPlatformApp({ config });
await app.listen(port, config.http.host);
console.log(`fpi-platform listening on http://localhost:${port} (health: /health/ready, metrics: /metrics)`);
