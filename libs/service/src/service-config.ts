import { authMode } from '#libs/security';
/** Settings every deployable reads once from the environment. */
export interface ServiceConfig {
  port: number;
  host: string;
  logLevel: string;
  /**
   * The synthetic test municipality created at start (FPI_DEV_TENANT, default 313231593 with
   * the dev issuer; with HelseID none unless FPI_DEV_TENANT names one; empty: none).
   */
  devTenant: { id: string; name: string } | undefined;
}

/** Default ports: the all-in-one platform 3000, the receive service 3001, the content service 3002. */
export const DEFAULT_PORTS = { platform: 3000, 'receive-service': 3001, 'content-service': 3002 } as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env, defaultPort: number = DEFAULT_PORTS.platform): ServiceConfig {
  const port = Number(env.PORT ?? defaultPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a TCP port, got ${env.PORT}`);
  // Production mode (HelseID) gets no test municipality unless the operator names one.
  const devTenantId = env.FPI_DEV_TENANT ?? (authMode(env) === 'dev' ? '313231593' : '');
  return {
    port,
    host: env.HOST ?? '0.0.0.0',
    logLevel: env.LOG_LEVEL ?? 'info',
    devTenant: devTenantId === '' ? undefined : { id: devTenantId, name: env.FPI_DEV_TENANT_NAME ?? 'Test kommune' },
  };
}
