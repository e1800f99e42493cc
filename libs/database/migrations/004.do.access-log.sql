-- Access log (logg over oppslag): one append-only record per content-service read, in the
-- tenant of the data (pasientjournalloven § 22, Normen faktaark 15). Denied attempts too.
CREATE TABLE access_log (
  id               bigserial   PRIMARY KEY,
  tenant_id        text        NOT NULL REFERENCES tenants (tenant_id),
  at               timestamptz NOT NULL DEFAULT now(),
  action           text        NOT NULL,
  outcome          text        NOT NULL CHECK (outcome IN ('success', 'denied', 'error')),
  patient_id       text,
  client_id        text        NOT NULL,
  client_name      text,
  orgnr_parent     text        NOT NULL,
  orgnr_child      text,
  hpr_number       text,
  purpose_of_use   text,
  purpose_details  jsonb,
  break_the_glass  boolean     NOT NULL DEFAULT false,
  token_id         text,
  attested_at      timestamptz,
  returned         jsonb,
  detail           text
);
CREATE INDEX access_log_patient ON access_log (tenant_id, patient_id, at);

CREATE FUNCTION fpi_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = 'FPI04';
END $$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
  FOR EACH ROW EXECUTE FUNCTION fpi_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
  FOR EACH STATEMENT EXECUTE FUNCTION fpi_append_only();
