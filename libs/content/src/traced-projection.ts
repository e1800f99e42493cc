import type { Projection, ProjectionDefinition } from '#libs/projections';
import { inSpan } from '#libs/telemetry';

/**
 * The projections of `definition` with each applied batch in a span of its own
 * (`projection batch`, the root of its trace: a batch serves many requests), holding the
 * read model's id, the tenant and the batch size; the statements of the batch are its
 * children. Without tracing, the projection itself.
 */
export function tracedDefinition(definition: ProjectionDefinition): ProjectionDefinition {
  return {
    ...definition,
    create(version) {
      const projection = definition.create(version);
      if (!projection) return projection;
      return Object.assign(Object.create(projection) as Projection, {
        apply: (db, tenant, events, signal) =>
          inSpan(
            'projection batch',
            { 'fpi.projection': `${projection.name}_v${projection.version}`, 'fpi.tenant': tenant, 'fpi.events': events.length },
            () => projection.apply(db, tenant, events, signal),
            {
              root: true,
            },
          ),
      } satisfies Pick<Projection, 'apply'>);
    },
  };
}
