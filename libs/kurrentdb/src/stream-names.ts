import { tenantId, type TenantId } from '#libs/tenancy';

/** Stream names: where each tenant's events, event-id claims and the tenant registry live (see kurrentdb-event-store.ts). */
const NAMESPACE = /^[a-z][a-z0-9-]{0,39}$/;

/** The stream-name scheme of one namespace (see the header comment). */
export class KurrentDbStreamNames {
  constructor(readonly namespace = 'fpi') {
    if (!NAMESPACE.test(namespace)) throw new Error(`KurrentDB namespace must match ${NAMESPACE}, got ${JSON.stringify(namespace)}`);
  }

  /** `<ns>.<tenant>.e.`: selects exactly the tenant's event streams. */
  eventStreamPrefix(tenant: TenantId): string {
    return `${this.namespace}.${tenantId(tenant)}.e.`;
  }

  eventStream(tenant: TenantId, streamId: string): string {
    return this.eventStreamPrefix(tenant) + streamId;
  }

  /** The port's stream id of an event stream of the tenant, or undefined for any other stream. */
  streamIdOf(tenant: TenantId, streamName: string): string | undefined {
    const prefix = this.eventStreamPrefix(tenant);
    return streamName.startsWith(prefix) && streamName.length > prefix.length ? streamName.slice(prefix.length) : undefined;
  }

  /** The tenant of an event stream of this namespace, or undefined for any other stream. */
  tenantOfEventStream(streamName: string): TenantId | undefined {
    const head = `${this.namespace}.`;
    if (!streamName.startsWith(head)) return undefined;
    const tenant = streamName.slice(head.length, head.length + 9);
    return /^[0-9]{9}$/.test(tenant) && streamName.startsWith('.e.', head.length + 9) ? (tenant as TenantId) : undefined;
  }

  /** Server-side regex for the event streams of every tenant of the namespace. */
  eventStreamsRegex(): string {
    return `^${this.namespace}\\.[0-9]{9}\\.e\\.`; // the namespace has no regex metacharacters
  }

  claimStream(tenant: TenantId, eventId: string): string {
    return `${this.namespace}.${tenantId(tenant)}.id.${eventId.toLowerCase()}`;
  }

  tenantsStream(): string {
    return `${this.namespace}.tenants`;
  }
}
