-- Event store (hendelseslager): tenants and their events, partitioned per municipality.
-- The append and read statements live in libs/event-store/src/postgres/postgres-event-store.ts.
-- See docs/adr/0001-tenancy-storage.md and docs/adr/0002-global-order.md.

CREATE TABLE tenants (
  tenant_id   text        PRIMARY KEY CHECK (tenant_id ~ '^[0-9]{9}$'),
  name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  environment text        NOT NULL CHECK (environment IN ('test', 'production')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Global positions come from one sequence shared by all tenants. Sequence values are not
-- transactional: readers order by (transaction_id, global_position), never by position alone.
CREATE SEQUENCE event_global_position AS bigint;

CREATE TABLE events (
  tenant_id       text        NOT NULL,
  global_position bigint      NOT NULL DEFAULT nextval('event_global_position'),
  transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  stream_id       text        NOT NULL,
  stream_position bigint      NOT NULL CHECK (stream_position > 0),
  event_id        uuid        NOT NULL,
  event_type      text        NOT NULL,
  schema_version  integer     NOT NULL CHECK (schema_version > 0),
  data            jsonb       NOT NULL,
  metadata        jsonb       NOT NULL DEFAULT '{}',
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  -- Optimistic concurrency: two appends can never take the same stream position, so a
  -- writer that lost a race gets a unique violation and nothing of its append is kept.
  PRIMARY KEY (tenant_id, stream_id, stream_position),
  -- Idempotency key: a sender's event id is stored at most once per tenant.
  UNIQUE (tenant_id, event_id)
) PARTITION BY LIST (tenant_id);

-- The $all read order.
CREATE INDEX events_all_order ON events (tenant_id, transaction_id, global_position);

-- The store is append-only: history is never rewritten (legal erasure will get its own,
-- audited path that disables this guard explicitly).
CREATE FUNCTION fpi_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP USING ERRCODE = 'FPI04';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION fpi_events_are_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION fpi_events_are_append_only();

-- Registers a municipality and creates its partitions. Idempotent.
CREATE FUNCTION fpi_add_tenant(p_tenant text, p_name text, p_environment text)
RETURNS SETOF tenants LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tenants (tenant_id, name, environment) VALUES (p_tenant, p_name, p_environment)
    ON CONFLICT (tenant_id) DO NOTHING;
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF events FOR VALUES IN (%L)', 'events_' || p_tenant, p_tenant);
  RETURN QUERY SELECT * FROM tenants WHERE tenant_id = p_tenant;
END $$;
