#!/usr/bin/env bash
# Entrypoint of the odoo services of docker-compose.yml and
# docker-compose.multinode.yml, in the official odoo:18.0 image (Odoo from its
# Debian package, user odoo, /etc/odoo/odoo.conf, the repository mounted on
# /mnt/extra-addons read-only).
#
#   first_start.sh [--init-only] [odoo options...]
#
# On the first start it creates the demo database as setup/run does: the
# database the way Odoo's database manager does (setup/create_db.py: base with
# demo data, the language, the company's country and currency), then account
# alone (the country's chart of accounts), then the suite's addons with demo
# data (ODOO_MODULES of setup/_common.sh), then weeks of simulated history
# (setup/demo_history.py). A later start finds the database and installs only
# what is missing. Then, unless --init-only, it runs
#   odoo -d $OMNICHANNEL_DB <odoo options> <database options>
# in the foreground, as the image's own entrypoint would.
#
# Environment (defaults in brackets):
#   OMNICHANNEL_DB [omnichannel_demo]   OMNICHANNEL_LANG [pl_PL]
#   OMNICHANNEL_COUNTRY [PL]            OMNICHANNEL_HISTORY_WEEKS [4, 0: none]
#   OMNICHANNEL_BASE_URL [unset: Odoo takes it from the administrator's first
#     login; set: web.base.url is set to it and frozen]
#   OMNICHANNEL_ADDONS_DIR [/mnt/extra-addons]  OMNICHANNEL_MODULES [ODOO_MODULES]
#   OMNICHANNEL_PYTHON [python3]  OMNICHANNEL_ODOO_BIN [odoo]
#   OMNICHANNEL_DB_WAIT [60 seconds for PostgreSQL to answer]
#   HOST PORT USER PASSWORD: PostgreSQL, as the image's entrypoint reads them
#     (also PGHOST PGPORT POSTGRES_USER/PGUSER POSTGRES_PASSWORD/PGPASSWORD;
#     defaults db, 5432, odoo, odoo)
set -euo pipefail

ADDONS_DIR="${OMNICHANNEL_ADDONS_DIR:-/mnt/extra-addons}"
DB="${OMNICHANNEL_DB:-omnichannel_demo}"
LANG_CODE="${OMNICHANNEL_LANG:-pl_PL}"
COUNTRY="${OMNICHANNEL_COUNTRY:-PL}"
WEEKS="${OMNICHANNEL_HISTORY_WEEKS:-4}"
BASE_URL="${OMNICHANNEL_BASE_URL:-}"
PY="${OMNICHANNEL_PYTHON:-python3}"
ODOO_BIN="${OMNICHANNEL_ODOO_BIN:-odoo}"
DB_WAIT="${OMNICHANNEL_DB_WAIT:-60}"
# the same precedence as the image's /entrypoint.sh
: "${HOST:=${PGHOST:=db}}"
: "${PORT:=${PGPORT:=5432}}"
: "${USER:=${POSTGRES_USER:=${PGUSER:=odoo}}}"
: "${PASSWORD:=${POSTGRES_PASSWORD:=${PGPASSWORD:=odoo}}}"

say() { printf '%s\n' "[omnichannel first start] $*" >&2; }
# 1 while this start creates the database: a failure drops it again, so the
# next start (restart: unless-stopped) begins from scratch
CREATING=0
die() {
    say "ERROR: $*"
    if [ "$CREATING" = "1" ]; then
        say "dropping the half-created database $DB"
        pg postgres "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null || true
    fi
    exit 1
}

INIT_ONLY=0
if [ "${1:-}" = "--init-only" ]; then
    INIT_ONLY=1
    shift
fi
# "odoo" first, as in the image's default command: dropped
[ "${1:-}" = "odoo" ] && shift

[[ "$DB" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || die "invalid OMNICHANNEL_DB '$DB'"
[[ "$WEEKS" =~ ^[0-9]+$ ]] || die "invalid OMNICHANNEL_HISTORY_WEEKS '$WEEKS'"
[[ "$DB_WAIT" =~ ^[0-9]+$ ]] || die "invalid OMNICHANNEL_DB_WAIT '$DB_WAIT'"
[ -z "$BASE_URL" ] || [[ "$BASE_URL" =~ ^https?://[^/[:space:]]+/?$ ]] \
    || die "invalid OMNICHANNEL_BASE_URL '$BASE_URL' (e.g. http://localhost:8069)"
[ -f "$ADDONS_DIR/omnichannel_cc/__manifest__.py" ] \
    || die "the repository is not mounted on $ADDONS_DIR (no omnichannel_cc/__manifest__.py there)"
MODULES="${OMNICHANNEL_MODULES:-$(sed -n 's/^ODOO_MODULES="\([a-z0-9_,]*\)"$/\1/p' "$ADDONS_DIR/setup/_common.sh")}"
[ -n "$MODULES" ] || die "no module list (ODOO_MODULES in $ADDONS_DIR/setup/_common.sh)"

DB_ARGS=(--db_host "$HOST" --db_port "$PORT" --db_user "$USER" --db_password "$PASSWORD")
BASE_ARGS=(--addons-path="$ADDONS_DIR" "${DB_ARGS[@]}")

# pg DBNAME SQL [params...]: rows tab-separated (setup/_pg.py, also used by
# setup/_common.sh, which is not sourced here: it runs host-side checks)
pg() {
    PGUSER="$USER" PGPASSWORD="$PASSWORD" "$PY" "$ADDONS_DIR/setup/_pg.py" "$HOST" "$PORT" "$@"
}

deadline=$((SECONDS + DB_WAIT))
until pg postgres "SELECT 1" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "PostgreSQL does not answer on $HOST:$PORT as $USER after ${DB_WAIT}s:
$(pg postgres "SELECT 1" 2>&1 | tail -n 2)"
    sleep 1
done

db_exists() { [ "$(pg postgres 'SELECT 1 FROM pg_database WHERE datname = %s' "$DB")" = "1" ]; }
modules_missing() {
    pg "$DB" "SELECT count(*) FROM unnest(string_to_array(%s, ',')) AS m(name)
        LEFT JOIN ir_module_module imm ON imm.name = m.name AND imm.state = 'installed'
        WHERE imm.id IS NULL" "$MODULES"
}

LOG="$(mktemp "${TMPDIR:-/tmp}/omnichannel-first-start.XXXXXX")"
trap 'rm -f "$LOG"' EXIT
# step LABEL COMMAND...: runs it with its output shown and kept; fails on a
# non-zero exit or an ERROR / CRITICAL log line (setup/run's rule)
step() {
    local label="$1"
    shift
    say "$label"
    if ! "$@" 2>&1 | tee "$LOG"; then
        return 1
    fi
    ! grep -E ' (ERROR|CRITICAL) ' "$LOG" >/dev/null
}

CREATED=0
if ! db_exists; then
    CREATING=1
    say "database $DB does not exist on $HOST:$PORT: creating it with demo data, language $LANG_CODE, country $COUNTRY (a few minutes)"
    step "creating $DB (setup/create_db.py)" \
        "$PY" "$ADDONS_DIR/setup/create_db.py" "$DB" --lang "$LANG_CODE" --country "$COUNTRY" \
        -- "${BASE_ARGS[@]}" --log-level=warn \
        || die "creating database $DB failed"
    step "installing account and the localisation of $COUNTRY" \
        "$ODOO_BIN" -d "$DB" "${BASE_ARGS[@]}" -i account --stop-after-init --no-http \
        --max-cron-threads=0 --log-level=warn \
        || die "installing account into $DB failed"
    CREATED=1
elif [ -z "$(pg "$DB" "SELECT 1 FROM information_schema.tables WHERE table_name = 'ir_module_module'")" ]; then
    die "database $DB exists but is not an Odoo database"
fi
if [ "$(modules_missing)" != "0" ]; then
    step "installing $MODULES into $DB, with demo data" \
        "$ODOO_BIN" -d "$DB" "${BASE_ARGS[@]}" -i "$MODULES" --stop-after-init --no-http \
        --max-cron-threads=0 --log-level=warn \
        || die "installing the addons into $DB failed"
    [ "$(modules_missing)" = "0" ] || die "some addons are not installed after the installation"
fi
if [ "$CREATED" = "1" ] && [ "$WEEKS" -gt 0 ]; then
    step "writing $WEEKS weeks of simulated contact history (setup/demo_history.py)" \
        "$PY" "$ADDONS_DIR/setup/demo_history.py" "$DB" --weeks "$WEEKS" \
        -- "${BASE_ARGS[@]}" --log-level=warn \
        || die "writing the demo history into $DB failed"
fi
CREATING=0
if [ -n "$BASE_URL" ]; then
    for param in "web.base.url=${BASE_URL%/}" "web.base.url.freeze=True"; do
        pg "$DB" "INSERT INTO ir_config_parameter (key, value, create_uid, create_date, write_uid, write_date)
            VALUES (%s, %s, 1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC')
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, write_uid = 1,
                write_date = EXCLUDED.write_date" "${param%%=*}" "${param#*=}"
    done
fi
say "database $DB is ready: logins admin/admin, and every demo user with password = login (docs/docker.md)"
[ "$INIT_ONLY" = "1" ] && exit 0

rm -f "$LOG"
trap - EXIT
# -d alone serves only $DB (see setup/run)
exec "$ODOO_BIN" -d "$DB" "$@" "${BASE_ARGS[@]}"
