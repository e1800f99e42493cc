-- Database per municipality: a tenant may keep its events, read models and access log in a
-- database of its own (a name from FPI_DATABASES; the URL stays in configuration, never in a
-- table). The registry in the default database records where each tenant lives; the
-- tenant's own database registers it again locally, with its partitions.
ALTER TABLE tenants ADD COLUMN database text CHECK (database ~ '^[a-z0-9][a-z0-9_-]{0,62}$' AND database <> 'default');

-- Registers a tenant whose data lives in another database: the registry row only, no
-- partition here. Idempotent; a tenant never moves between databases this way.
CREATE FUNCTION fpi_register_remote_tenant(p_tenant text, p_name text, p_environment text, p_database text)
RETURNS SETOF tenants LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tenants (tenant_id, name, environment, database) VALUES (p_tenant, p_name, p_environment, p_database)
    ON CONFLICT (tenant_id) DO NOTHING;
  RETURN QUERY SELECT * FROM tenants WHERE tenant_id = p_tenant;
END $$;
