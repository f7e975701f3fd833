# Shared set-up for setup/run, setup/test and .ci/run. Source it, do not run it.
#
# After sourcing, these are set:
#   REPO_ROOT     the repository root (also the addons path of this suite)
#   PY            the Python that has Odoo 18.0 importable
#   ODOO_CMD      array: the command that starts Odoo ("${ODOO_CMD[@]}" -d ...)
#   ODOO_MODULES  comma-separated list of this suite's addons
#   ADDONS_PATH   value for --addons-path
#   RUN_DIR       scratch folder for logs and generated files (git-ignored)
#   DB_HOST DB_PORT  PostgreSQL server (env PGHOST / PGPORT, default 127.0.0.1:5432)
#
# Environment variables read:
#   ODOO_PYTHON   Python interpreter to use (default: python3 on PATH)
#   PGHOST PGPORT PostgreSQL address (default 127.0.0.1 and 5432)
#   SKIP_PIP=1    do not install requirements.txt even if something is missing

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ODOO_MODULES="omnichannel_cc,omnichannel_cc_livechat,omnichannel_cc_social,omnichannel_cc_webform,omnichannel_cc_invitation,omnichannel_cc_sms,omnichannel_cc_voip,omnichannel_cc_survey,omnichannel_cc_survey_sms,omnichannel_cc_survey_livechat,omnichannel_cc_survey_voip,omnichannel_cc_crm,omnichannel_cc_dashboard"
ADDONS_PATH="$REPO_ROOT"
RUN_DIR="$REPO_ROOT/setup/.run"
DB_HOST="${PGHOST:-127.0.0.1}"
DB_PORT="${PGPORT:-5432}"
mkdir -p "$RUN_DIR"

_say() { printf '%s\n' "[omnichannel] $*" >&2; }
_die() {
    printf '%s\n' "[omnichannel] ERROR: $*" >&2
    exit 1
}

# --- Python with Odoo 18.0 -------------------------------------------------
# Odoo's Debian package (nightly .deb, also inside the official odoo:18.0
# image) installs Odoo into /usr/lib/python3/dist-packages, which only the
# system Python /usr/bin/python3 sees: when python3 on PATH (a venv, pyenv)
# cannot import odoo and ODOO_PYTHON is not set, that one is tried too.
DEB_ODOO_PYTHON="${DEB_ODOO_PYTHON:-/usr/bin/python3}"
DEB_ODOO_DIR="${DEB_ODOO_DIR:-/usr/lib/python3/dist-packages/odoo}"

# The three supported ways to get Odoo 18.0 Community, with their commands;
# printed whenever no usable Odoo is found (setup/run, setup/test).
_odoo_install_help() {
    cat <<EOF
  This suite needs Odoo 18.0 Community. Odoo is not on PyPI; install it one of
  these three ways, then run $0 again:

  1. pip, from Odoo's nightly source archive (sdist), into a Python 3.10-3.12
     virtual environment:
       python3 -m venv ~/odoo18 && . ~/odoo18/bin/activate
       pip install https://nightly.odoo.com/18.0/nightly/src/odoo_18.0.latest.tar.gz
     pip installs Odoo's Python dependencies with it (its setup.py); the
     versions Odoo tests with are pinned in its requirements.txt:
       pip install -r https://raw.githubusercontent.com/odoo/odoo/18.0/requirements.txt
     Some build from source and need system headers first (Debian/Ubuntu:
     apt install build-essential python3-dev libpq-dev libldap2-dev libsasl2-dev).
     Then: ODOO_PYTHON=~/odoo18/bin/python $0

  2. Debian / Ubuntu package (Odoo's nightly build; it also runs Odoo as a
     service):
       wget https://nightly.odoo.com/18.0/nightly/deb/odoo_18.0.latest_all.deb
       sudo apt install ./odoo_18.0.latest_all.deb
     It installs Odoo into $DEB_ODOO_DIR for the system Python
     $DEB_ODOO_PYTHON; $0 finds it there by itself (or set
     ODOO_PYTHON=$DEB_ODOO_PYTHON). Debian 12+ refuses pip on the system
     Python: install this suite's requirements with apt (python3-phonenumbers
     ...) and run with SKIP_PIP=1.

  3. Docker: the official odoo:18.0 image with PostgreSQL 16 (no local Odoo
     or PostgreSQL needed), from the repository root:
       docker compose up          (or, with Compose v1: docker-compose up)
     The first start creates the demo database; see docs/docker.md.
EOF
}

_pick_python() {
    PY="${ODOO_PYTHON:-python3}"
    if [ -z "${ODOO_PYTHON:-}" ] && [ -d "$DEB_ODOO_DIR" ] && [ -x "$DEB_ODOO_PYTHON" ] \
        && ! "$PY" -c 'import odoo' >/dev/null 2>&1; then
        PY="$DEB_ODOO_PYTHON"
    fi
    if ! command -v "$PY" >/dev/null 2>&1; then
        _die "Python interpreter '$PY' not found.
  Expected: a Python 3.10-3.12 that can 'import odoo' from an Odoo 18.0 Community
  installation. Point ODOO_PYTHON at it, e.g.:
      ODOO_PYTHON=/path/to/venv/bin/python $0
$(_odoo_install_help)"
    fi
    local check
    if ! check="$("$PY" -c 'import odoo.release as r; print(r.version_info[0], r.version)' 2>&1)"; then
        _die "'$PY' cannot import odoo:
$(printf '%s\n' "$check" | tail -n 3)
  To use another interpreter that has Odoo 18.0: ODOO_PYTHON=/path/to/python $0
$(_odoo_install_help)"
    fi
    local major="${check%% *}"
    if [ "$major" != "18" ]; then
        _die "'$PY' imports Odoo ${check#* }, this suite needs Odoo 18.0 Community.
  Point ODOO_PYTHON at a Python whose 'import odoo' is Odoo 18.0.
$(_odoo_install_help)"
    fi
    PY="$(command -v "$PY")"
    ODOO_VERSION="${check#* }"
}

# --- Python packages from requirements.txt ---------------------------------
# Quick check with importlib.metadata; pip only runs when something is missing.
_requirements_missing() {
    "$PY" - "$REPO_ROOT/requirements.txt" <<'PYEOF'
import sys
from importlib import metadata

try:
    from packaging.requirements import Requirement
except ImportError:  # pip always vendors packaging
    from pip._vendor.packaging.requirements import Requirement

missing = []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    req = Requirement(line)
    try:
        version = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        missing.append(line)
        continue
    if req.specifier and not req.specifier.contains(version, prereleases=True):
        missing.append(line)
print(" ".join(missing))
PYEOF
}

_install_requirements() {
    [ "${SKIP_PIP:-0}" = "1" ] && return 0
    local missing
    missing="$(_requirements_missing)" || _die "could not check requirements.txt with $PY"
    if [ -n "$missing" ]; then
        _say "installing missing Python packages: $missing"
        "$PY" -m pip install --quiet --disable-pip-version-check -r "$REPO_ROOT/requirements.txt" \
            || _die "pip could not install requirements.txt into $PY"
    fi
}

# --- PostgreSQL --------------------------------------------------------------
_pg_answers() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$DB_HOST" -p "$DB_PORT" -t 3
    else
        "$PY" -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)" \
            "$DB_HOST" "$DB_PORT" 2>/dev/null
    fi
}

_ensure_postgres() {
    _pg_answers && return 0
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        local version
        for version in $(ls /etc/postgresql); do
            _say "PostgreSQL $version is not answering on $DB_HOST:$DB_PORT, starting it"
            pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>&1 | sed 's/^/  /' >&2 || true
        done
        local i
        for i in $(seq 1 30); do
            _pg_answers && return 0
            sleep 1
        done
    fi
    _die "PostgreSQL does not answer on $DB_HOST:$DB_PORT.
  Start it (Debian: pg_ctlcluster <version> main start) or point PGHOST/PGPORT at
  a running server where the current user ($(id -un)) may create databases."
}

# psql-free helpers (psycopg2 comes with Odoo; setup/_pg.py is shared with
# setup/docker/first_start.sh)
_pg_exec() { # _pg_exec DBNAME SQL [params...] -> prints rows tab-separated
    "$PY" "$REPO_ROOT/setup/_pg.py" "$DB_HOST" "$DB_PORT" "$@"
}

db_exists() { [ "$(_pg_exec postgres 'SELECT 1 FROM pg_database WHERE datname = %s' "$1")" = "1" ]; }

drop_db() { # drop_db NAME: drops the database and its filestore, quietly
    local name="$1"
    _pg_exec postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()" "$name" >/dev/null 2>&1 || true
    _pg_exec postgres "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>&1 \
        || _say "warning: could not drop database $name"
    local fs
    fs="$(ODOO_RC="${ODOO_RC:-$RUN_DIR/odoo.conf}" "$PY" -c 'import sys; from odoo.tools import config; print(config.filestore(sys.argv[1]))' "$name" 2>/dev/null)"
    case "$fs" in
        */filestore/"$name") rm -rf -- "$fs" ;;
    esac
}

set_config_param() { # set_config_param DBNAME KEY VALUE: an ir.config_parameter, by SQL
    # For a server that is not running yet: its get_param cache starts empty.
    _pg_exec "$1" "INSERT INTO ir_config_parameter (key, value, create_uid, create_date, write_uid, write_date)
        VALUES (%s, %s, 1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC')
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, write_uid = 1,
            write_date = EXCLUDED.write_date" "$2" "$3"
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- the Odoo launcher ---------------------------------------------------------
# Not 'python -m odoo': with workers, Odoo re-executes sys.argv[0] for its gevent
# process, which must be a real script.
_find_odoo_cmd() {
    local bindir script
    bindir="$(dirname "$("$PY" -c 'import sys; print(sys.executable)')")"
    script="$bindir/odoo"
    if [ -x "$script" ] && "$script" --version >/dev/null 2>&1; then
        ODOO_CMD=("$script")
        return 0
    fi
    # odoo-bin of a source checkout, run by our Python
    script="$(dirname "$("$PY" -c 'import os, odoo; print(os.path.dirname(odoo.__file__))')")/odoo-bin"
    if [ -f "$script" ] && "$PY" "$script" --version >/dev/null 2>&1; then
        ODOO_CMD=("$PY" "$script")
        return 0
    fi
    # last resort: a launcher script equivalent to odoo-bin, written here
    script="$RUN_DIR/odoo-launcher.py"
    cat >"$script" <<'PYEOF'
# Generated by setup/_common.sh: starts Odoo like odoo-bin does.
__import__("os").environ["TZ"] = "UTC"
from odoo.cli.command import main

if __name__ == "__main__":
    main()
PYEOF
    "$PY" "$script" --version >/dev/null 2>&1 || _die "cannot start Odoo with $PY (tried $bindir/odoo, odoo-bin, $script)"
    ODOO_CMD=("$PY" "$script")
}

# Options every Odoo process of this suite gets.
odoo_base_args() {
    printf '%s\n' "--addons-path=$ADDONS_PATH" "--db_host=$DB_HOST" "--db_port=$DB_PORT"
}

omnichannel_setup() {
    _pick_python
    _install_requirements
    _ensure_postgres
    _find_odoo_cmd
    export ODOO_PYTHON="$PY"
    export PGHOST="$DB_HOST" PGPORT="$DB_PORT"
    # Odoo reads ~/.odoorc or $ODOO_RC: keep a stray configuration out.
    export ODOO_RC="$RUN_DIR/odoo.conf"
    [ -f "$ODOO_RC" ] || printf '[options]\n' >"$ODOO_RC"
    _say "Odoo $ODOO_VERSION from $PY; launcher: ${ODOO_CMD[*]}"
}
