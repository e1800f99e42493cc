import { Global, Module } from '@nestjs/common';
import { EVENT_STORE_CONNECTORS, type EventStoreConnectors } from '#libs/event-store';

const connectors: EventStoreConnectors = {
  // Loaded on the first call only (FPI_EVENT_STORE=kurrentdb): importing this module loads
  // neither the adapter nor @kurrent/kurrentdb-client.
  kurrentdb: async (url, options) => (await import('./kurrentdb-event-store.js')).KurrentDbEventStore.connect(url, options),
};

/**
 * Lets the event-store module open KurrentDB when FPI_EVENT_STORE=kurrentdb (KURRENTDB_URL):
 * binds `EVENT_STORE_CONNECTORS`. Imported by the deployables (libs/service's common modules).
 */
@Global()
@Module({ providers: [{ provide: EVENT_STORE_CONNECTORS, useValue: connectors }], exports: [EVENT_STORE_CONNECTORS] })
export class KurrentDbConnectorModule {}
