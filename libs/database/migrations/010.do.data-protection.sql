-- Data protection (issue 22): erasure of a person and retention, in the append-only store.
-- See docs/adr/0010-erasure-by-deleting-streams.md and docs/data-protection.md.

-- The event store stays append-only, except for the one audited path: a transaction that
-- sets fpi.erasure (SET LOCAL, libs/data-protection) may DELETE whole streams. UPDATE and
-- TRUNCATE stay refused for everyone.
CREATE OR REPLACE FUNCTION fpi_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('fpi.erasure', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP USING ERRCODE = 'FPI04';
END $$;

-- The access log keeps its records (a legal duty); an erasure replaces the person's number
-- by the erasure's pseudonym there (as the patient read about, or as the citizen who read,
-- migration 008's reader_pid), and changes nothing else. Any other change stays refused.
CREATE FUNCTION fpi_access_log_only_pseudonymised() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND current_setting('fpi.erasure', true) = 'on'
     AND (NEW.patient_id = OLD.patient_id OR NEW.patient_id LIKE 'erased:%')
     AND (NEW.reader_pid IS NOT DISTINCT FROM OLD.reader_pid OR NEW.reader_pid LIKE 'erased:%')
     AND (to_jsonb(NEW) - 'patient_id' - 'reader_pid' - 'detail') = (to_jsonb(OLD) - 'patient_id' - 'reader_pid' - 'detail') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'access_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'FPI04';
END $$;
DROP TRIGGER access_log_append_only ON access_log;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
  FOR EACH ROW EXECUTE FUNCTION fpi_access_log_only_pseudonymised();

-- A projection's batch commits only if no erasure ran since the runner read its checkpoint:
-- an erasure increments the generation of every checkpoint of its tenant, and the runner's
-- compare-and-set requires the generation it read. A batch read before the erasure (holding
-- events that are gone now) rolls back and is read again.
ALTER TABLE projection_checkpoints ADD COLUMN generation bigint NOT NULL DEFAULT 0;

-- Every erasure and retention run: who, when, why, how much. Never the person's number,
-- nor anything of the erased data (the reason is refused when it holds an 11-digit number).
CREATE TABLE erasures (
  id              bigserial   PRIMARY KEY,
  reference       uuid        NOT NULL UNIQUE,
  tenant_id       text        NOT NULL REFERENCES tenants (tenant_id),
  kind            text        NOT NULL CHECK (kind IN ('erasure', 'retention')),
  at              timestamptz NOT NULL DEFAULT now(),
  requested_by    text        NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 300),
  reason          text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000 AND reason !~ '[0-9]{11}'),
  rule            jsonb,
  events_removed  integer     NOT NULL,
  streams_removed integer     NOT NULL,
  patients        integer     NOT NULL,
  counts          jsonb       NOT NULL
);
CREATE INDEX erasures_tenant ON erasures (tenant_id, at);
CREATE TRIGGER erasures_append_only BEFORE UPDATE OR DELETE ON erasures
  FOR EACH ROW EXECUTE FUNCTION fpi_append_only();
CREATE TRIGGER erasures_no_truncate BEFORE TRUNCATE ON erasures
  FOR EACH STATEMENT EXECUTE FUNCTION fpi_append_only();
