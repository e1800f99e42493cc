-- Projection engine: checkpoints (one per projection version and tenant), dead letters and
-- the registry of read-model versions (blue/green rebuilds).

CREATE TABLE projection_checkpoints (
  projection      text        NOT NULL,
  tenant_id       text        NOT NULL REFERENCES tenants (tenant_id),
  transaction_id  xid8        NOT NULL DEFAULT '0',
  global_position bigint      NOT NULL DEFAULT 0,
  status          text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'paused')),
  paused_reason   text,
  owner           text,
  heartbeat_at    timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, tenant_id)
);

-- Events a projection could not apply. Never skipped silently: an operator retries or skips.
CREATE TABLE projection_dead_letters (
  id              bigserial   PRIMARY KEY,
  projection      text        NOT NULL,
  tenant_id       text        NOT NULL,
  event_id        uuid        NOT NULL,
  event_type      text        NOT NULL,
  stream_id       text        NOT NULL,
  stream_position bigint      NOT NULL,
  transaction_id  xid8        NOT NULL,
  global_position bigint      NOT NULL,
  error           text        NOT NULL,
  attempts        integer     NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  resolution      text        CHECK (resolution IN ('retried', 'skipped')),
  resolved_at     timestamptz
);
CREATE INDEX projection_dead_letters_open ON projection_dead_letters (projection, tenant_id) WHERE resolution IS NULL;

CREATE TABLE read_model_versions (
  read_model text        NOT NULL,
  version    integer     NOT NULL CHECK (version > 0),
  status     text        NOT NULL CHECK (status IN ('building', 'live', 'retired', 'dropped')),
  created_at timestamptz NOT NULL DEFAULT now(),
  live_at    timestamptz,
  retired_at timestamptz,
  PRIMARY KEY (read_model, version)
);
-- Readers use the one live version of a read model.
CREATE UNIQUE INDEX read_model_versions_one_live ON read_model_versions (read_model) WHERE status = 'live';
