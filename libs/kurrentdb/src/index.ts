// The KurrentDB adapter of the EventStore port. Loaded only when FPI_EVENT_STORE=kurrentdb
// (a dynamic import in libs/event-store's module), so other processes never load the client.
export * from './kurrentdb-event-store.js';
export * from './tenant-registry.js';
export * from './stream-names.js';
export * from './positions.js';
export * from './claims.js';
export * from './codec.js';
