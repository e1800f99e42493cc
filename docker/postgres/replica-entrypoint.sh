#!/usr/bin/env bash
# Entrypoint of postgres-replica in docker/compose.scale-out.yml: a hot standby of
# postgres-primary, streaming its WAL through a physical replication slot.
#
# On an empty data directory it clones the primary with pg_basebackup:
#   -R          writes standby.signal and primary_conninfo (postgresql.auto.conf)
#   -X stream   streams the WAL written during the backup alongside it
#   -S <slot> -C  creates the physical slot on the primary, which keeps the WAL this
#               standby has not received yet (also while it is down)
# and then starts PostgreSQL as a hot standby (read-only queries) on that slot. Later starts
# find the data directory and just start the standby again.
set -euo pipefail

: "${PGDATA:?PGDATA is set by the postgres image}"
: "${PRIMARY_HOST:=postgres-primary}"
: "${PRIMARY_PORT:=5432}"
: "${REPLICATION_USER:=replicator}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set}"
: "${REPLICATION_SLOT:=fpi_replica}"
# The name the primary knows this standby by (application_name): what its
# synchronous_standby_names lists.
: "${STANDBY_NAME:=replica}"

# The container starts as root: give the data directory to postgres, then run as postgres.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown -R postgres:postgres "$(dirname "$PGDATA")"
  chmod 700 "$PGDATA"
  exec gosu postgres "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$REPLICATION_USER"; do
    echo "replica: waiting for ${PRIMARY_HOST}:${PRIMARY_PORT}"
    sleep 2
  done
  # Leftovers of an interrupted clone would make pg_basebackup refuse the directory.
  find "$PGDATA" -mindepth 1 -delete
  conninfo="host=${PRIMARY_HOST} port=${PRIMARY_PORT} user=${REPLICATION_USER} password=${REPLICATION_PASSWORD} application_name=${STANDBY_NAME}"
  # A slot left by an earlier replica (its volume dropped, the primary's kept) would make -C
  # fail; drop it first. Failing here only means there was none.
  pg_receivewal --dbname="$conninfo" --slot="$REPLICATION_SLOT" --drop-slot 2>/dev/null || true
  echo "replica: cloning ${PRIMARY_HOST}:${PRIMARY_PORT} (slot ${REPLICATION_SLOT})"
  pg_basebackup --dbname="$conninfo" --pgdata="$PGDATA" -R -X stream -S "$REPLICATION_SLOT" -C --checkpoint=fast
  # postgresql.auto.conf came along from the primary, with its synchronous_standby_names.
  # A standby ignores it, but once promoted (failover) it would make every commit wait for a
  # standby of its own that does not exist: drop it, so the promoted server takes writes.
  sed -i '/^synchronous_standby_names/d' "$PGDATA/postgresql.auto.conf"
fi

exec postgres \
  -c hot_standby=on \
  -c primary_slot_name="$REPLICATION_SLOT" \
  -c cluster_name="$STANDBY_NAME" \
  "$@"
