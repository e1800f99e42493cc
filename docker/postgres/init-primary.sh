#!/usr/bin/env bash
# postgres-primary of docker/compose.scale-out.yml: runs once, on the first start with an empty
# data directory (mounted into /docker-entrypoint-initdb.d), before the server takes
# connections. It creates the replication role postgres-replica connects as, lets that role
# make replication connections (pg_hba), and names the synchronous standby.
set -euo pipefail

: "${REPLICATION_USER:=replicator}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set}"

# synchronous_standby_names goes in with ALTER SYSTEM (postgresql.auto.conf), not as a `-c`
# option in the compose command: the image's entrypoint passes the command's options to the
# temporary server that runs these init scripts, and with a synchronous standby named there
# every commit of the initialisation would wait for a standby that cannot connect yet.
# The real server reads postgresql.auto.conf when it starts after initialisation.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=repl_user="$REPLICATION_USER" \
  --set=repl_password="$REPLICATION_PASSWORD" \
  --set=sync_names="${SYNCHRONOUS_STANDBY_NAMES:-}" <<'SQL'
CREATE ROLE :"repl_user" WITH REPLICATION LOGIN PASSWORD :'repl_password';
ALTER SYSTEM SET synchronous_standby_names = :'sync_names';
SQL

# Replication connections match only lines naming the `replication` database.
echo "host replication ${REPLICATION_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
echo "init-primary: replication role ${REPLICATION_USER}, synchronous_standby_names='${SYNCHRONOUS_STANDBY_NAMES:-}'"
