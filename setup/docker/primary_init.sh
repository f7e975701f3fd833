#!/usr/bin/env bash
# PostgreSQL primary of docker-compose.multinode.yml: the role and the access
# rule the streaming replica (setup/docker/replica_start.sh) connects with.
# Run once by the postgres image's entrypoint on an empty data directory
# (mounted in /docker-entrypoint-initdb.d/), with the temporary server up.
# Environment: REPLICATION_USER [replicator], REPLICATION_PASSWORD (required),
# POSTGRES_USER, PGDATA (set by the image).
set -euo pipefail

: "${REPLICATION_USER:=replicator}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set}"
[[ "$REPLICATION_USER" =~ ^[a-z_][a-z0-9_]*$ ]] || {
    echo "invalid REPLICATION_USER '$REPLICATION_USER'" >&2
    exit 1
}

# psql variables: quoted by psql itself (:"name" and :'literal')
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    --set=repl_user="$REPLICATION_USER" --set=repl_password="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE :"repl_user" WITH REPLICATION LOGIN PASSWORD :'repl_password';
SQL

# initdb's own replication lines accept only local connections; the replica
# is another container. Read at the server's (re)start that follows the
# init scripts.
printf '%s\n' "host replication $REPLICATION_USER all scram-sha-256" >>"$PGDATA/pg_hba.conf"
echo "primary_init.sh: role $REPLICATION_USER may stream WAL from any host (scram-sha-256)"
