-- Agreement register (avtaleregister): which organisations outside a municipality may read its
-- data, for which purposes of use and in which period. A GP practice (fastlegekontor) is a
-- company of its own with a driftsavtale with the municipality; a hospital trust reads under a
-- samarbeidsavtale (helse- og omsorgstjenesteloven § 6-1). Lives in the default database,
-- beside the tenant registry: the caller's tenant is decided there before any data is read.
CREATE TABLE agreements (
  agreement_id   bigserial   PRIMARY KEY,
  tenant_id      text        NOT NULL REFERENCES tenants (tenant_id),
  partner_orgnr  text        NOT NULL CHECK (partner_orgnr ~ '^[0-9]{9}$'),
  partner_name   text        NOT NULL CHECK (length(partner_name) BETWEEN 1 AND 200),
  kind           text        NOT NULL CHECK (kind IN ('driftsavtale', 'samarbeidsavtale')),
  purposes       text[]      NOT NULL CHECK (cardinality(purposes) > 0 AND purposes <@ ARRAY['TREAT', 'ETREAT', 'COC', 'BTG']),
  valid_from     date        NOT NULL,
  valid_to       date        CHECK (valid_to IS NULL OR valid_to >= valid_from),
  registered_at  timestamptz NOT NULL DEFAULT now(),
  registered_by  text        NOT NULL CHECK (length(registered_by) BETWEEN 1 AND 200),
  reason         text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
  -- Ending takes effect at the instant it is recorded; an agreement is never deleted.
  ended_at       timestamptz,
  ended_by       text,
  end_reason     text,
  CHECK ((ended_at IS NULL) = (ended_by IS NULL) AND (ended_at IS NULL) = (end_reason IS NULL)),
  CHECK (tenant_id <> partner_orgnr)
);
CREATE INDEX agreements_partner ON agreements (tenant_id, partner_orgnr);

-- Every change of the register (who, when, why, and the agreement as it became). Append-only.
CREATE TABLE agreement_history (
  id            bigserial   PRIMARY KEY,
  agreement_id  bigint      NOT NULL REFERENCES agreements (agreement_id),
  tenant_id     text        NOT NULL,
  at            timestamptz NOT NULL DEFAULT now(),
  change        text        NOT NULL CHECK (change IN ('added', 'ended')),
  changed_by    text        NOT NULL,
  reason        text        NOT NULL,
  agreement     jsonb       NOT NULL
);
CREATE INDEX agreement_history_tenant ON agreement_history (tenant_id, at);
CREATE TRIGGER agreement_history_append_only BEFORE UPDATE OR DELETE ON agreement_history
  FOR EACH ROW EXECUTE FUNCTION fpi_append_only();
CREATE TRIGGER agreement_history_no_truncate BEFORE TRUNCATE ON agreement_history
  FOR EACH STATEMENT EXECUTE FUNCTION fpi_append_only();

-- An agreement row changes once (its end); nothing else about it is rewritten, nor is it deleted.
CREATE FUNCTION fpi_agreement_only_ends() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'agreements are never deleted (end them)' USING ERRCODE = 'FPI04';
  END IF;
  IF OLD.ended_at IS NOT NULL
     OR (to_jsonb(NEW) - 'ended_at' - 'ended_by' - 'end_reason') <> (to_jsonb(OLD) - 'ended_at' - 'ended_by' - 'end_reason') THEN
    RAISE EXCEPTION 'an agreement is only ever ended, once' USING ERRCODE = 'FPI04';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER agreements_only_end BEFORE UPDATE OR DELETE ON agreements
  FOR EACH ROW EXECUTE FUNCTION fpi_agreement_only_ends();

-- Reads by a partner: the access log names the partner and the agreement the read was allowed under.
ALTER TABLE access_log
  ADD COLUMN partner_orgnr text,
  ADD COLUMN partner_name  text,
  ADD COLUMN agreement_id  bigint;
