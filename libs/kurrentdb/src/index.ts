// libs/kurrentdb's public face: the connector module only. The adapter (adapter.ts) is
// loaded by the connector when FPI_EVENT_STORE=kurrentdb, so importing this library loads
// neither it nor @kurrent/kurrentdb-client.
export * from './kurrentdb-connector.module.js';
