-- Event store (hendelseslager): tenants, streams and events, partitioned per municipality.
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

CREATE TABLE streams (
  tenant_id text   NOT NULL,
  stream_id text   NOT NULL,
  version   bigint NOT NULL CHECK (version > 0),
  PRIMARY KEY (tenant_id, stream_id)
) PARTITION BY LIST (tenant_id);

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
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF streams FOR VALUES IN (%L)', 'streams_' || p_tenant, p_tenant);
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF events FOR VALUES IN (%L)', 'events_' || p_tenant, p_tenant);
  RETURN QUERY SELECT * FROM tenants WHERE tenant_id = p_tenant;
END $$;

-- The stored events that carry any of the given ids, and whether each is the same event
-- (same stream, type, schema version and data; metadata may differ between retries).
CREATE FUNCTION fpi_stored_copies(
  p_tenant text, p_stream text, p_ids uuid[], p_types text[], p_versions integer[], p_data jsonb[])
RETURNS TABLE (event_id uuid, stream_position bigint, global_position bigint, transaction_id xid8, same boolean)
LANGUAGE sql STABLE AS $$
  SELECT e.event_id, e.stream_position, e.global_position, e.transaction_id,
         (e.stream_id = p_stream AND e.event_type = i.t AND e.schema_version = i.v AND e.data = i.d)
    FROM unnest(p_ids, p_types, p_versions, p_data) AS i(id, t, v, d)
    JOIN events e ON e.tenant_id = p_tenant AND e.event_id = i.id
   ORDER BY e.stream_id, e.stream_position
$$;

-- One append = one transaction = one multi-row insert.
--   p_expected: 'any' | 'no_stream' | 'stream_exists' | a stream version ('0' = no stream).
-- Returns one row per event. Failures raise, so nothing of a failed append is kept:
--   FPI01 idempotency conflict, FPI02 wrong expected version, FPI03 unknown tenant,
--   23505 unique violation when a concurrent writer won a race (the caller classifies it).
CREATE FUNCTION fpi_append(
  p_tenant text, p_stream text, p_expected text,
  p_ids uuid[], p_types text[], p_versions integer[], p_data jsonb[], p_metadata jsonb[])
RETURNS TABLE (outcome text, event_id uuid, stream_position bigint, global_position bigint, transaction_id xid8)
LANGUAGE plpgsql AS $$
DECLARE
  n        integer := cardinality(p_ids);
  v_found  integer;
  v_same   integer;
  v_version bigint;
BEGIN
  PERFORM 1 FROM tenants t WHERE t.tenant_id = p_tenant;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown tenant %', p_tenant USING ERRCODE = 'FPI03';
  END IF;

  -- Idempotency: a retry of a stored append returns the original positions, writes nothing.
  SELECT count(*), count(*) FILTER (WHERE c.same) INTO v_found, v_same
    FROM fpi_stored_copies(p_tenant, p_stream, p_ids, p_types, p_versions, p_data) c;
  IF v_found > 0 THEN
    IF v_found = n AND v_same = n THEN
      RETURN QUERY
        SELECT 'duplicate'::text, c.event_id, c.stream_position, c.global_position, c.transaction_id
          FROM fpi_stored_copies(p_tenant, p_stream, p_ids, p_types, p_versions, p_data) c;
      RETURN;
    END IF;
    RAISE EXCEPTION 'event id already stored with another payload' USING ERRCODE = 'FPI01';
  END IF;

  -- Optimistic concurrency on the stream row.
  IF p_expected = 'no_stream' OR p_expected = '0' THEN
    INSERT INTO streams (tenant_id, stream_id, version) VALUES (p_tenant, p_stream, n);
    v_version := n;
  ELSIF p_expected = 'any' THEN
    UPDATE streams s SET version = s.version + n
     WHERE s.tenant_id = p_tenant AND s.stream_id = p_stream RETURNING s.version INTO v_version;
    IF NOT FOUND THEN
      INSERT INTO streams (tenant_id, stream_id, version) VALUES (p_tenant, p_stream, n);
      v_version := n;
    END IF;
  ELSIF p_expected = 'stream_exists' THEN
    UPDATE streams s SET version = s.version + n
     WHERE s.tenant_id = p_tenant AND s.stream_id = p_stream RETURNING s.version INTO v_version;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'stream does not exist' USING ERRCODE = 'FPI02';
    END IF;
  ELSE
    UPDATE streams s SET version = s.version + n
     WHERE s.tenant_id = p_tenant AND s.stream_id = p_stream AND s.version = p_expected::bigint
     RETURNING s.version INTO v_version;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'stream is not at version %', p_expected USING ERRCODE = 'FPI02';
    END IF;
  END IF;

  RETURN QUERY
    WITH inserted AS (
      INSERT INTO events (tenant_id, stream_id, stream_position, event_id, event_type, schema_version, data, metadata)
      SELECT p_tenant, p_stream, v_version - n + i.ord, i.id, i.t, i.v, i.d, i.m
        FROM unnest(p_ids, p_types, p_versions, p_data, p_metadata) WITH ORDINALITY AS i(id, t, v, d, m, ord)
      RETURNING events.event_id, events.stream_position, events.global_position, events.transaction_id
    )
    SELECT 'appended'::text, x.event_id, x.stream_position, x.global_position, x.transaction_id
      FROM inserted x ORDER BY x.stream_position;

  -- Wakes subscribers (projection runners) after commit; polling remains the fallback.
  PERFORM pg_notify('fpi_events', p_tenant);
END $$;
