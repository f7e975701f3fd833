#!/usr/bin/env bash
# Streaming replica of docker-compose.multinode.yml (hot standby, read-only),
# which the Odoo nodes use through --db_replica_host / --db_replica_port.
#
#   replica_start.sh SERVER COMMAND...   (e.g. docker-entrypoint.sh postgres)
#
# An empty data directory is first filled by pg_basebackup from the primary,
# with -R: standby.signal and primary_conninfo, so the server started next is
# a standby that follows the primary through a physical replication slot (the
# primary keeps the WAL the replica has not received yet). A data directory
# that already holds a cluster is started as it is. Runs as the postgres user.
# Environment: PRIMARY_HOST [db], PRIMARY_PORT [5432], REPLICATION_USER
# [replicator], REPLICATION_PASSWORD (required), REPLICATION_SLOT
# [replica1], PGDATA (set by the image), PRIMARY_WAIT [120 seconds].
set -euo pipefail

: "${PRIMARY_HOST:=db}"
: "${PRIMARY_PORT:=5432}"
: "${REPLICATION_USER:=replicator}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set}"
: "${REPLICATION_SLOT:=replica1}"
: "${PGDATA:?PGDATA must be set}"
: "${PRIMARY_WAIT:=120}"
[ $# -gt 0 ] || {
    echo "usage: $0 SERVER COMMAND... (e.g. docker-entrypoint.sh postgres)" >&2
    exit 2
}
[[ "$REPLICATION_SLOT" =~ ^[a-z0-9_]+$ ]] || {
    echo "invalid REPLICATION_SLOT '$REPLICATION_SLOT'" >&2
    exit 1
}
say() { printf '%s\n' "[replica] $*" >&2; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    export PGPASSWORD="$REPLICATION_PASSWORD"
    primary=(-h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$REPLICATION_USER")
    deadline=$((SECONDS + PRIMARY_WAIT))
    until pg_isready -q "${primary[@]}" -d postgres; do
        if [ $SECONDS -ge $deadline ]; then
            say "the primary $PRIMARY_HOST:$PRIMARY_PORT does not answer after ${PRIMARY_WAIT}s"
            exit 1
        fi
        sleep 1
    done
    # the slot survives a replica rebuilt from scratch: create it only once
    psql -v ON_ERROR_STOP=1 -qAt "${primary[@]}" -d postgres --set=slot="$REPLICATION_SLOT" >/dev/null <<'SQL'
SELECT pg_create_physical_replication_slot(:'slot')
 WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = :'slot');
SQL
    say "copying the primary $PRIMARY_HOST:$PRIMARY_PORT into $PGDATA (pg_basebackup, slot $REPLICATION_SLOT)"
    mkdir -p "$PGDATA"
    pg_basebackup "${primary[@]}" -D "$PGDATA" -R -X stream -S "$REPLICATION_SLOT" -c fast
    chmod 0700 "$PGDATA"
    unset PGPASSWORD
fi
[ -f "$PGDATA/standby.signal" ] || say "warning: $PGDATA has no standby.signal: it starts as a primary"
exec "$@"
