import type { TenantId } from '#libs/tenancy';
import type { EventStore } from './event-store.port.js';
import type { UpcasterRegistry } from './upcasting.js';

/** An event store that holds a connection of its own (closed at shutdown). */
export type ClosableEventStore = EventStore & { close(): Promise<void> };

/**
 * Opens an event store other than PostgreSQL (FPI_EVENT_STORE), given its connection string,
 * the upcasters and the platform's answer to "is this tenant registered". Bound to
 * {@link EVENT_STORE_CONNECTORS} by the adapter's library (libs/kurrentdb's
 * `KurrentDbConnectorModule`), which loads the adapter itself only when called.
 */
export type EventStoreConnector = (url: string, options: { upcasters: UpcasterRegistry; isRegistered: (tenant: TenantId) => Promise<boolean> }) => Promise<ClosableEventStore>;

/** The connectors this process may use, by FPI_EVENT_STORE value (`kurrentdb`). */
export const EVENT_STORE_CONNECTORS = Symbol('EVENT_STORE_CONNECTORS');
export type EventStoreConnectors = Partial<Record<'kurrentdb', EventStoreConnector>>;
