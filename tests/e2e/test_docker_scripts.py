"""The scripts the containers of the Compose files run, run for real here.

No container image can be pulled on the build machines, so the scripts of
setup/docker/ run on this machine against real peers instead:

* ``primary_init.sh`` and ``replica_start.sh`` (docker-compose.multinode.yml)
  against two PostgreSQL clusters made with this machine's server binaries:
  the primary gets the replication role, the replica is copied with
  pg_basebackup through a replication slot, starts as a hot standby and
  receives what the primary writes; rebuilt from an empty directory, it
  reuses the slot.
* ``haproxy.cfg`` with a real HAProxy, its servers found through a DNS
  server that answers for the nodes' alias as Docker's resolver does.
* ``first_start.sh`` (the odoo services) with this machine's Odoo and
  PostgreSQL, as the image would run it: it creates a demo database (with
  demo data, the language and country asked, demo history), does nothing
  the second time, then starts the server that answers /web/health.
"""

import getpass
import http.server
import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import (
    DB_HOST,
    DB_PORT,
    INSTALL_TIMEOUT,
    LOG_DIR,
    START_TIMEOUT,
    check_odoo,
    drop_database,
    free_port,
    odoo_command,
    odoo_python,
    stop,
    tail,
    wait_for,
)

# /usr/sbin holds haproxy and runuser; a CI's PATH may not
SBIN_PATH = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
HAPROXY = shutil.which("haproxy", path=SBIN_PATH)

DOCKER_DIR = REPO_ROOT / "setup" / "docker"
PG_TIMEOUT = 60


# --- PostgreSQL primary and streaming replica -------------------------------


def pg_bindir():
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    pytest.skip("no PostgreSQL server binaries (initdb) on this machine")


class Cluster:
    """Runs the PostgreSQL tools as the postgres user when the test runs as root
    (the server refuses root), with the scripts' environment."""

    def __init__(self, bindir, base):
        self.bindir = bindir
        self.base = base
        self.socket_dir = base / "sockets"
        self.as_root = os.geteuid() == 0

    def command(self, *args, env=None):
        env_args = [f"{k}={v}" for k, v in (env or {}).items()]
        path = f"PATH={self.bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        prefix = (
            [shutil.which("runuser", path=SBIN_PATH) or "runuser", "-u", "postgres", "--"]
            if self.as_root
            else []
        )
        return [*prefix, "env", path, *env_args, *args]

    def run(self, *args, env=None, timeout=PG_TIMEOUT):
        result = subprocess.run(
            self.command(*args, env=env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result.stdout

    def sql(self, port, sql, user="odoo"):
        return self.run(
            "psql",
            "-h",
            str(self.socket_dir),
            "-p",
            str(port),
            "-U",
            user,
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qAtc",
            sql,
        ).strip()

    def try_sql(self, port, sql, user="odoo"):
        result = subprocess.run(
            self.command(
                "psql",
                "-h",
                str(self.socket_dir),
                "-p",
                str(port),
                "-U",
                user,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-qAtc",
                sql,
            ),
            capture_output=True,
            text=True,
            timeout=PG_TIMEOUT,
            check=False,
        )
        return result.returncode, (result.stdout + result.stderr).strip()


@pytest.fixture
def pg_base():
    # not pytest's tmp_path: the postgres user must reach it
    base = Path(tempfile.mkdtemp(prefix="omnichannel_pgrepl_"))
    (base / "sockets").mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(base / "sockets", "postgres")
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def start_server(cluster, datadir, port, log, extra=()):
    cluster.run(
        "pg_ctl",
        "-D",
        str(datadir),
        "-l",
        str(log),
        "-w",
        "-t",
        "60",
        "start",
        "-o",
        f"-p {port} -k {cluster.socket_dir} -c listen_addresses=127.0.0.1 {' '.join(extra)}",
    )


def stop_server(cluster, datadir):
    subprocess.run(
        cluster.command("pg_ctl", "-D", str(datadir), "-m", "fast", "-w", "stop"),
        capture_output=True,
        timeout=PG_TIMEOUT,
        check=False,
    )


def test_primary_and_streaming_replica(pg_base):
    cluster = Cluster(pg_bindir(), pg_base)
    primary, replica = pg_base / "primary", pg_base / "replica"
    primary_port, replica_port = free_port(), free_port()
    password_file = pg_base / "pw"
    password_file.write_text("odoo\n")
    if cluster.as_root:
        shutil.chown(password_file, "postgres")
    secret = secrets.token_hex(8)
    # as the postgres image does: superuser odoo, password auth from other hosts
    cluster.run(
        "initdb",
        "-D",
        str(primary),
        "-U",
        "odoo",
        f"--pwfile={password_file}",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
    )
    with (primary / "pg_hba.conf").open("a") as hba:
        hba.write("host all all all scram-sha-256\n")
    settings = ["-c wal_level=replica", "-c max_wal_senders=10", "-c max_replication_slots=10"]
    replica_process = None
    try:
        start_server(cluster, primary, primary_port, pg_base / "primary.log", settings)
        # the image's entrypoint runs the init scripts against its temporary
        # server over the socket, then restarts it
        cluster.run(
            "bash",
            str(DOCKER_DIR / "primary_init.sh"),
            env={
                "PGHOST": cluster.socket_dir,
                "PGPORT": primary_port,
                "PGDATA": primary,
                "POSTGRES_USER": "odoo",
                "REPLICATION_USER": "replicator",
                "REPLICATION_PASSWORD": secret,
            },
        )
        assert (
            cluster.sql(
                primary_port, "SELECT rolreplication FROM pg_roles WHERE rolname = 'replicator'"
            )
            == "t"
        )
        assert "host replication replicator all scram-sha-256" in (
            (primary / "pg_hba.conf").read_text()
        )
        cluster.run("pg_ctl", "-D", str(primary), "reload")
        cluster.sql(
            primary_port, "CREATE TABLE before_copy (n int); INSERT INTO before_copy VALUES (1)"
        )

        def start_replica():
            env = {
                "PGDATA": replica,
                "PRIMARY_HOST": "127.0.0.1",
                "PRIMARY_PORT": primary_port,
                "REPLICATION_USER": "replicator",
                "REPLICATION_PASSWORD": secret,
                "REPLICATION_SLOT": "replica1",
                "PRIMARY_WAIT": "30",
            }
            log = (pg_base / "replica.log").open("a")
            # as the compose file: the script, then the server command it execs
            command = cluster.command(
                "bash",
                str(DOCKER_DIR / "replica_start.sh"),
                "postgres",
                "-D",
                str(replica),
                "-p",
                str(replica_port),
                "-k",
                str(cluster.socket_dir),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "hot_standby=on",
                env={k: str(v) for k, v in env.items()},
            )
            return subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

        def standby_answers():
            if replica_process.poll() is not None:
                pytest.fail(
                    f"the replica exited with {replica_process.returncode}:\n"
                    f"{tail(pg_base / 'replica.log')}",
                    pytrace=False,
                )
            code, out = cluster.try_sql(replica_port, "SELECT pg_is_in_recovery()")
            return code == 0 and out == "t"

        replica_process = start_replica()
        wait_for(standby_answers, PG_TIMEOUT, "the replica does not answer as a standby")
        assert (replica / "standby.signal").exists()
        assert cluster.sql(replica_port, "SELECT n FROM before_copy") == "1"

        # streaming: what the primary commits now reaches the replica
        cluster.sql(
            primary_port, "CREATE TABLE after_copy (n int); INSERT INTO after_copy VALUES (7)"
        )
        wait_for(
            lambda: cluster.try_sql(replica_port, "SELECT n FROM after_copy") == (0, "7"),
            PG_TIMEOUT,
            "a row written on the primary never reached the replica",
        )
        assert (
            cluster.sql(
                primary_port,
                "SELECT active FROM pg_replication_slots WHERE slot_name = 'replica1'",
            )
            == "t"
        )
        code, out = cluster.try_sql(replica_port, "INSERT INTO after_copy VALUES (8)")
        assert code != 0 and "read-only transaction" in out

        # a replica rebuilt from an empty volume reuses the existing slot
        stop(replica_process)
        shutil.rmtree(replica)
        replica_process = start_replica()
        wait_for(standby_answers, PG_TIMEOUT, "the rebuilt replica does not answer as a standby")
        cluster.sql(primary_port, "INSERT INTO after_copy VALUES (9)")
        wait_for(
            lambda: cluster.try_sql(replica_port, "SELECT count(*) FROM after_copy") == (0, "2"),
            PG_TIMEOUT,
            "the rebuilt replica does not stream",
        )
        assert cluster.sql(primary_port, "SELECT count(*) FROM pg_replication_slots") == "1"
    finally:
        if replica_process is not None:
            stop(replica_process)
        stop_server(cluster, primary)


def test_replica_start_refuses_without_password(pg_base):
    cluster = Cluster(pg_bindir(), pg_base)
    result = subprocess.run(
        cluster.command(
            "bash",
            str(DOCKER_DIR / "replica_start.sh"),
            "true",
            env={"PGDATA": pg_base / "replica"},
        ),
        capture_output=True,
        text=True,
        timeout=PG_TIMEOUT,
        check=False,
    )
    assert result.returncode != 0
    assert "REPLICATION_PASSWORD must be set" in result.stderr
    assert not (pg_base / "replica").exists()


# --- first_start.sh with this machine's Odoo ---------------------------------


@pytest.fixture
def odoo_env(tmp_path):
    """The image's set-up, on this machine: ODOO_RC with data_dir, an ``odoo``
    launcher, the repository as the addons directory, a database of our own."""
    python = odoo_python()
    check_odoo(python)
    command = odoo_command(python, tmp_path)
    launcher = tmp_path / "odoo"
    launcher.write_text("#!/bin/sh\nexec " + " ".join(f"'{part}'" for part in command) + ' "$@"\n')
    launcher.chmod(0o755)
    (tmp_path / "odoo.conf").write_text(f"[options]\ndata_dir = {tmp_path / 'data'}\n")
    prefix = os.environ.get("OMNICHANNEL_E2E_DB_PREFIX", "omni_docker")
    db = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    env = dict(
        os.environ,
        ODOO_RC=str(tmp_path / "odoo.conf"),
        TZ="UTC",
        HOST=DB_HOST,
        PORT=DB_PORT,
        USER=getpass.getuser(),
        PASSWORD="unused-with-trust",
        OMNICHANNEL_DB=db,
        OMNICHANNEL_ADDONS_DIR=str(REPO_ROOT),
        OMNICHANNEL_PYTHON=python,
        OMNICHANNEL_ODOO_BIN=str(launcher),
        OMNICHANNEL_LANG="en_US",
        OMNICHANNEL_COUNTRY="US",
        OMNICHANNEL_MODULES="omnichannel_cc",
        OMNICHANNEL_HISTORY_WEEKS="1",
        OMNICHANNEL_BASE_URL="http://omnichannel.example:8069",
    )
    env.pop("PGPASSWORD", None)
    try:
        yield env
    finally:
        drop_database(python, db)


def first_start(env, *args, timeout=INSTALL_TIMEOUT, log_name):
    log = LOG_DIR / log_name
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        result = subprocess.run(
            ["bash", str(DOCKER_DIR / "first_start.sh"), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=timeout,
            check=False,
        )
    return result.returncode, log.read_text(errors="replace")


def query(env, sql):
    import psycopg2

    conn = psycopg2.connect(host=DB_HOST, port=int(DB_PORT), dbname=env["OMNICHANNEL_DB"])
    try:
        with conn.cursor() as cr:
            cr.execute(sql)
            return cr.fetchall()
    finally:
        conn.close()


@pytest.mark.e2e
def test_first_start_creates_the_demo_then_serves_it(odoo_env):
    db = odoo_env["OMNICHANNEL_DB"]
    code, output = first_start(odoo_env, "--init-only", log_name=f"{db}-first.log")
    assert code == 0, output[-4000:]
    assert f"database {db} does not exist" in output
    ((state, demo),) = query(
        odoo_env, "SELECT state, demo FROM ir_module_module WHERE name = 'omnichannel_cc'"
    )
    assert (state, demo) == ("installed", True), "the suite is not installed with demo data"
    # the language and country asked reached create_db.py: the only
    # language is English, the country's localisation came with base
    assert query(odoo_env, "SELECT code FROM res_lang WHERE active") == [("en_US",)]
    localisations = {
        name
        for (name,) in query(
            odoo_env,
            "SELECT name FROM ir_module_module WHERE state = 'installed' AND name LIKE 'l10n%'",
        )
    }
    assert "l10n_us" in localisations and "l10n_pl" not in localisations, localisations
    params = dict(
        query(
            odoo_env,
            "SELECT key, value FROM ir_config_parameter WHERE key IN "
            "('web.base.url', 'web.base.url.freeze', "
            "'omnichannel_cc.demo_history')",
        )
    )
    assert params["web.base.url"] == "http://omnichannel.example:8069"
    assert params["web.base.url.freeze"] == "True"
    assert params.get("omnichannel_cc.demo_history"), "no demo history written"
    assert query(odoo_env, "SELECT count(*) FROM omnichannel_interaction")[0][0] > 0

    # the next start finds everything in place
    started = time.monotonic()
    code, output = first_start(odoo_env, "--init-only", timeout=300, log_name=f"{db}-again.log")
    assert code == 0, output[-4000:]
    assert "does not exist" not in output and "installing" not in output
    assert f"database {db} is ready" in output
    assert time.monotonic() - started < 120

    # without --init-only it execs the server with the given options
    port = free_port()
    log = LOG_DIR / f"{db}-server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                "bash",
                str(DOCKER_DIR / "first_start.sh"),
                "odoo",
                f"--http-port={port}",
                "--http-interface=127.0.0.1",
                "--max-cron-threads=0",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=odoo_env,
            start_new_session=True,
        )
    try:

        def healthy():
            if process.poll() is not None:
                pytest.fail(f"the server exited ({process.returncode}):\n{tail(log)}")
            try:
                url = f"http://127.0.0.1:{port}/web/login?db={db}"
                with urllib.request.urlopen(url, timeout=10) as response:
                    return response.status == 200
            except (urllib.error.URLError, OSError):
                return False

        wait_for(healthy, START_TIMEOUT, f"the server did not answer /web/login:\n{tail(log)}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        stop(process)


def test_first_start_refuses_a_missing_repository(odoo_env):
    env = dict(odoo_env, OMNICHANNEL_ADDONS_DIR="/nonexistent")
    code, output = first_start(env, "--init-only", timeout=60, log_name="docker-no-repo.log")
    assert code == 1
    assert "the repository is not mounted on /nonexistent" in output


@pytest.mark.e2e
def test_failed_creation_drops_the_database(odoo_env):
    """An addon that does not exist: the half-made database is dropped, so the
    container's next start begins again."""
    env = dict(odoo_env, OMNICHANNEL_MODULES="omnichannel_cc_no_such_addon")
    code, output = first_start(env, "--init-only", log_name=f"{env['OMNICHANNEL_DB']}-fail.log")
    assert code == 1, output[-4000:]
    assert "some addons are not installed" in output
    assert f"dropping the half-created database {env['OMNICHANNEL_DB']}" in output
    import psycopg2

    conn = psycopg2.connect(host=DB_HOST, port=int(DB_PORT), dbname="postgres")
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [env["OMNICHANNEL_DB"]])
            assert cr.fetchone() is None
    finally:
        conn.close()


# --- HAProxy of the multi-node file ---------------------------------------------


class AliasDNS(threading.Thread):
    """A DNS server answering what Docker's embedded resolver answers for a
    network alias: one A record per container carrying it."""

    def __init__(self, names):
        super().__init__(daemon=True)
        self.names = names  # {"odoo-nodes": ["127.0.0.1"]}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self.answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def answer(self, data):
        if len(data) < 12:
            return None
        (query_id,) = struct.unpack("!H", data[:2])
        labels, pos = [], 12
        while pos < len(data) and data[pos]:
            labels.append(data[pos + 1 : pos + 1 + data[pos]].decode("ascii", "replace"))
            pos += 1 + data[pos]
        pos += 1
        qtype, _qclass = struct.unpack("!HH", data[pos : pos + 4])
        question = data[12 : pos + 4]
        name = ".".join(labels).lower().rstrip(".")
        self.queries.append((name, qtype))
        addresses = self.names.get(name)
        rcode = 3 if addresses is None else 0  # NXDOMAIN for any other name
        records = [a for a in addresses or [] if qtype == 1]  # A only, no AAAA
        header = struct.pack("!HHHHHH", query_id, 0x8180 | rcode, 1, len(records), 0, 0)
        answers = b"".join(
            struct.pack("!HHHIH", 0xC00C, 1, 1, 10, 4) + socket.inet_aton(a) for a in records
        )
        return header + question + answers

    def stop(self):
        self.stopping.set()
        self.sock.close()


class Backend(http.server.ThreadingHTTPServer):
    """An Odoo port: answers with its role and the forwarded headers it got."""

    def __init__(self, role):
        self.role = role
        self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(handler):
                self.seen.append((handler.path, dict(handler.headers)))
                body = json.dumps(
                    {
                        "role": role,
                        "path": handler.path,
                        "forwarded_for": handler.headers.get("X-Forwarded-For"),
                        "forwarded_host": handler.headers.get("X-Forwarded-Host"),
                        "forwarded_proto": handler.headers.get("X-Forwarded-Proto"),
                    }
                ).encode()
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.mark.skipif(not HAPROXY, reason="haproxy is not installed")
def test_haproxy_finds_the_nodes_by_alias_and_routes_the_websocket(tmp_path):
    """setup/docker/haproxy.cfg run by a real HAProxy: its server slots are
    filled from the alias's DNS records, /websocket goes to the gevent port,
    the rest to the HTTP port, with the headers --proxy-mode reads. Only the
    addresses differ from the compose network (free local ports, a local DNS
    server in place of Docker's 127.0.0.11)."""
    http_port, websocket = Backend("http"), Backend("websocket")
    dns = AliasDNS({"odoo-nodes": ["127.0.0.1"]})
    dns.start()
    listen = free_port()
    cfg = (DOCKER_DIR / "haproxy.cfg").read_text()
    replacements = {
        "bind :8069": f"bind 127.0.0.1:{listen}",
        "nameserver dns 127.0.0.11:53": f"nameserver dns 127.0.0.1:{dns.port}",
        "odoo-nodes:8069": f"odoo-nodes:{http_port.port}",
        "odoo-nodes:8072": f"odoo-nodes:{websocket.port}",
    }
    for old, new in replacements.items():
        assert cfg.count(old) == 1, f"{old!r} is not in haproxy.cfg once"
        cfg = cfg.replace(old, new)
    (tmp_path / "haproxy.cfg").write_text(cfg)
    log = tmp_path / "haproxy.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(tmp_path / "haproxy.cfg")],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def get(path):
        if process.poll() is not None:
            pytest.fail(f"haproxy exited ({process.returncode}):\n{tail(log)}", pytrace=False)
        request = urllib.request.Request(
            f"http://127.0.0.1:{listen}{path}", headers={"Host": "cc.example:8069"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    try:
        # the slots are empty until the alias is resolved (init-addr none)
        answer = wait_for(lambda: get("/web/login"), 60, f"no node behind haproxy:\n{tail(log)}")
        assert answer["role"] == "http"
        assert answer["forwarded_host"] == "cc.example:8069"
        assert answer["forwarded_proto"] == "http"
        assert answer["forwarded_for"] == "127.0.0.1"
        wait_for(
            lambda: any(path == "/web/health" for path, _headers in http_port.seen),
            30,
            "haproxy never checked the node's /web/health",
        )
        ws = wait_for(lambda: get("/websocket"), 60, "no websocket node behind haproxy")
        assert ws["role"] == "websocket"
        assert ws["path"] == "/websocket"
        assert get("/websocket/peek_notifications")["role"] == "websocket"
        assert get("/websocketx")["role"] == "http"
        assert get("/web/webclient/version_info")["role"] == "http"
        assert ("odoo-nodes", 1) in dns.queries
    finally:
        stop(process)
        dns.stop()
        http_port.shutdown()
        websocket.shutdown()
