-- Several deployables (receive service, content service, more instances of each) register
-- the same tenants at start. CREATE TABLE IF NOT EXISTS is not safe against a concurrent
-- CREATE of the same partition (a unique violation in the catalog), so registrations take
-- turns on a transaction-level advisory lock.
CREATE OR REPLACE FUNCTION fpi_add_tenant(p_tenant text, p_name text, p_environment text)
RETURNS SETOF tenants LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('fpi_add_tenant', 0));
  INSERT INTO tenants (tenant_id, name, environment) VALUES (p_tenant, p_name, p_environment)
    ON CONFLICT (tenant_id) DO NOTHING;
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF events FOR VALUES IN (%L)', 'events_' || p_tenant, p_tenant);
  RETURN QUERY SELECT * FROM tenants WHERE tenant_id = p_tenant;
END $$;
