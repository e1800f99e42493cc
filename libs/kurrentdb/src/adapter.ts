// The KurrentDB adapter and its parts, for this library's own specs and the connector (which
// imports the store module dynamically). Not the library's public face: see index.ts.
export * from './kurrentdb-event-store.js';
export * from './tenant-registry.js';
export * from './stream-names.js';
export * from './positions.js';
export * from './claims.js';
export * from './codec.js';
