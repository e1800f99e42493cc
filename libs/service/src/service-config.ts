/** Default ports: the all-in-one platform 3000, the receive service 3001, the content service 3002. */
export const DEFAULT_PORTS = { platform: 3000, 'receive-service': 3001, 'content-service': 3002 } as const;
