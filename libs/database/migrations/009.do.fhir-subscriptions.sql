-- FHIR topic-based subscriptions (HL7 Subscriptions R5 Backport IG, R4): libs/subscriptions.
-- A subscription belongs to one tenant and one client; it lives beside the tenant's events.

CREATE TABLE fhir_subscriptions (
  tenant_id          text        NOT NULL REFERENCES tenants (tenant_id),
  id                 uuid        NOT NULL,
  client_id          text        NOT NULL,
  -- Who subscribed (client, organisation, HPR number, purpose): the patient audit log's
  -- record of a notification that carries a resource names them, as for a read.
  subscriber         jsonb       NOT NULL,
  status             text        NOT NULL CHECK (status IN ('requested', 'active', 'error', 'off')),
  topic              text        NOT NULL,
  -- The filters as parsed ({ patient?, organization?, events? }) and as sent (criteria strings).
  filters            jsonb       NOT NULL,
  criteria           jsonb       NOT NULL,
  endpoint           text        NOT NULL,
  headers            jsonb       NOT NULL DEFAULT '[]',
  content            text        NOT NULL CHECK (content IN ('empty', 'id-only', 'full-resource')),
  heartbeat_seconds  integer     CHECK (heartbeat_seconds > 0),
  timeout_seconds    integer     NOT NULL CHECK (timeout_seconds > 0),
  max_count          integer     NOT NULL CHECK (max_count > 0),
  reason             text,
  end_at             timestamptz,
  -- Its own checkpoint in the tenant's $all: events after it are matched against its filters.
  transaction_id     xid8        NOT NULL,
  global_position    bigint      NOT NULL,
  -- Event numbers: how many matched (the last one handed out) and how many were acknowledged.
  events_since_start bigint      NOT NULL DEFAULT 0,
  delivered_through  bigint      NOT NULL DEFAULT 0,
  attempts           integer     NOT NULL DEFAULT 0,
  next_attempt_at    timestamptz,
  last_error         text,
  last_sent_at       timestamptz,
  -- The process delivering it now, until when (a crashed one's lease runs out).
  lease_owner        text,
  lease_until        timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX fhir_subscriptions_live ON fhir_subscriptions (tenant_id) WHERE status <> 'off';

-- The numbered events of each subscription ($events reads them; delivery sends them in order).
CREATE TABLE fhir_subscription_events (
  tenant_id       text        NOT NULL,
  subscription_id uuid        NOT NULL,
  event_number    bigint      NOT NULL,
  event_id        uuid        NOT NULL,
  event_type      text        NOT NULL,
  stream_id       text        NOT NULL,
  patient_id      text        NOT NULL,
  source_system   text        NOT NULL,
  decision_id     text        NOT NULL,
  transaction_id  xid8        NOT NULL,
  global_position bigint      NOT NULL,
  recorded_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, subscription_id, event_number),
  FOREIGN KEY (tenant_id, subscription_id) REFERENCES fhir_subscriptions (tenant_id, id) ON DELETE CASCADE
);

-- Notifications given up on after the last retry: the subscription went to `error`.
CREATE TABLE fhir_subscription_dead_letters (
  id              bigserial   PRIMARY KEY,
  tenant_id       text        NOT NULL,
  subscription_id uuid        NOT NULL,
  kind            text        NOT NULL CHECK (kind IN ('handshake', 'heartbeat', 'event-notification')),
  first_event     bigint,
  last_event      bigint,
  attempts        integer     NOT NULL,
  error           text        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, subscription_id) REFERENCES fhir_subscriptions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX fhir_subscription_dead_letters_of ON fhir_subscription_dead_letters (tenant_id, subscription_id);
