"""Read replica (issue 20): the web client's read-heavy calls on a streaming
replica, every write on the primary, and what replication lag does.

A private primary (``initdb`` as in test_faults.py, ``wal_level=replica``, a
``replicator`` role with its ``pg_hba`` line) and a replica built from it
with ``pg_basebackup -R`` (hot standby) on another port, both with
``log_statement=all`` so that each call can be traced to the cluster that
ran it. Odoo runs with two workers, ``--db_host/--db_port`` on the primary
and ``--db_replica_host/--db_replica_port`` on the replica, and is driven as
the web client drives it: ``/web/session/authenticate``, then
``/web/dataset/call_kw`` (XML-RPC always uses the primary in Odoo 18).

- ``test_reads_on_replica_writes_on_primary``: the wallboard (board and
  charts), identification and the screen-pop run on the replica only; the
  offer's acceptance and new contacts go to the primary; no read-only call
  ever tried to write (no ``read-only transaction`` error on the replica, no
  ``retrying with a read/write cursor`` in Odoo's log).
- ``test_lag``: replay paused on the replica, a new contact: the wallboard's
  ``as_of`` stays before it and its figures lack it while the offer to the
  agent is made and shown from the primary, and the caller's screen-pop,
  whose customer the replica does not have yet, is run again on the primary
  (``ReadOnlySqlTransaction`` raised on purpose); replay resumed: the board
  catches up.

Bounded: the primary gets ``omnichannel_cc`` alone (most of the time: about
2 minutes on a quiet 2-core machine; the whole module took 5 min 24 s at a
load average of 13), the tests themselves about 20 seconds; servers and
clusters are stopped in finalizers.
Ports: ``OMNICHANNEL_REPLICA_PORTS`` = "primary,replica,http,gevent" (free
ports by default).
"""

import contextlib
import http.cookiejar
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import (
    LOG_DIR,
    START_TIMEOUT,
    OdooServer,
    check_odoo,
    free_port,
    odoo_command,
    odoo_python,
    stop,
    tail,
    wait_for,
)
from tests.e2e.test_faults import Cluster

pytestmark = pytest.mark.e2e

DB = "omni_replica"
INSTALL_TIMEOUT = 600
# settings of both clusters (the replica copies the primary's files)
PG_SETTINGS = """
wal_level = replica
max_wal_senders = 4
wal_keep_size = '256MB'
hot_standby = on
hot_standby_feedback = on
log_line_prefix = '%m [%p] %d '
"""
# what identifies each call's queries in the clusters' statement logs
WALLBOARD_SQL = "pg_last_xact_replay_timestamp"  # _wallboard_as_of: wallboard_data only
CHARTS_SQL = "resource_calendar cal"  # wallboard_chart_data's time zones
IDENTIFY_SQL = '"phone_e164" IN'
SCREEN_POP_SQL = "FROM account_move move"  # the panel's invoices
OFFER_WRITE_SQL = 'UPDATE "omnichannel_offer"'


def ports():
    value = os.environ.get("OMNICHANNEL_REPLICA_PORTS")
    if value:
        return [int(port) for port in value.split(",")]
    return [free_port() for _ in range(4)]


class StatementLog:
    """The statements a cluster logged since the last ``mark()``."""

    def __init__(self, cluster):
        self.path = cluster.log
        self.offset = 0

    def mark(self):
        self.offset = self.path.stat().st_size

    def since(self):
        with self.path.open("rb") as log:
            log.seek(self.offset)
            return log.read().decode(errors="replace")


class WebClient:
    """A browser session: cookie, JSON-RPC on the web client's routes."""

    def __init__(self, url, db, login, password):
        self.url = url
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self.json("/web/session/authenticate", {"db": db, "login": login, "password": password})

    def json(self, path, params):
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params})
        request = urllib.request.Request(
            self.url + path, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with self.opener.open(request, timeout=60) as answer:
            reply = json.loads(answer.read())
        if "error" in reply:
            raise AssertionError(f"{path}: {reply['error']['data']['message']}")
        return reply["result"]

    def call(self, model, method, *args, **kwargs):
        return self.json(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )


def parse(value):
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")


def _cluster_dirs(cluster):
    cluster.sockets.mkdir()
    cluster.data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(cluster.data, "postgres")
        shutil.chown(cluster.sockets, "postgres")
    cluster.data.chmod(0o700)


def _pg_start(cluster):
    cluster._run(
        "pg_ctl", "-D", str(cluster.data), "-l", str(cluster.log), "-w", "-t", "60",
        "-o", f"-p {cluster.port} -k {cluster.sockets} -c listen_addresses=127.0.0.1 "
        "-c fsync=off",
        "start",
    )  # fmt: skip


@contextlib.contextmanager
def replicated_clusters(primary_port, replica_port, settings="", log_statements=True):
    """(primary, replica, odoo command, its common options, its environment):
    a private primary with ``omnichannel_cc`` installed in ``DB`` and a
    streaming replica of it, both stopped and removed on exit."""
    python = odoo_python()
    check_odoo(python)
    root = Path(tempfile.mkdtemp(prefix="omni_replica_", dir="/tmp"))
    root.chmod(0o755)
    (root / "primary").mkdir()
    (root / "replica").mkdir()
    scratch = root / "odoo"
    scratch.mkdir()
    primary = Cluster(root / "primary", primary_port)
    replica = Cluster(root / "replica", replica_port)
    try:
        # --- the primary: initdb, replication settings, its replication role
        _cluster_dirs(primary)
        primary._run(
            "initdb", "-D", str(primary.data), "-A", "trust", "-U", "root", "-E", "UTF8",
            "--no-sync",
        )  # fmt: skip
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write(PG_SETTINGS + settings)
        hba = primary.data / "pg_hba.conf"
        hba.write_text("host replication replicator 127.0.0.1/32 trust\n" + hba.read_text())
        _pg_start(primary)
        primary.sql("CREATE ROLE replicator WITH REPLICATION LOGIN", dbname="postgres")

        # --- the database: the core addon installed on the primary (SLOW: 1-2 min)
        command = odoo_command(python, scratch)
        env = dict(os.environ, ODOO_RC=str(scratch / "odoo.conf"), TZ="UTC")
        (scratch / "odoo.conf").write_text("[options]\n")
        common = [
            "-d", DB, f"--addons-path={REPO_ROOT}", "--db_host=127.0.0.1",
            f"--db_port={primary.port}", f"--data-dir={scratch / 'data'}",
            "--max-cron-threads=0",
        ]  # fmt: skip
        install_log = root / "install.log"
        with install_log.open("w") as log:
            install = subprocess.run(
                [
                    *command, *common, "-i", "omnichannel_cc", "--without-demo=all",
                    "--stop-after-init", "--no-http", "--log-level=warn",
                ],
                stdout=log, stderr=subprocess.STDOUT, env=env, timeout=INSTALL_TIMEOUT,
                check=False,
            )  # fmt: skip
        assert install.returncode == 0, f"install failed:\n{tail(install_log)}"
        if log_statements:
            # every statement from now on, on both (the replica copies this setting)
            primary.sql("ALTER SYSTEM SET log_statement = 'all'", dbname="postgres")
            primary.sql("SELECT pg_reload_conf()", dbname="postgres")

        # --- the replica: a base backup of the primary, streaming (-R)
        _cluster_dirs(replica)
        replica._run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "replicator",
            "-D", str(replica.data), "-R", "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        _pg_start(replica)
        assert replica.sql("SELECT pg_is_in_recovery()", dbname="postgres") == [(True,)]
        wait_for(
            lambda: primary.sql(
                "SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'", dbname="postgres"
            ),
            60,
            "the replica streaming",
        )
        yield primary, replica, command, common, env
    finally:
        try:
            replica.stop()
        finally:
            try:
                primary.stop()
            finally:
                shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def odoo_server(
    command, common, env, http_port, gevent_port, replica=None, workers=2, log_name="server"
):
    """An Odoo server on the primary; its read-only routes on ``replica``
    (a Cluster) when given. Yields an OdooServer (``.log``: its log file)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    server_log = LOG_DIR / f"{DB}-{os.getpid()}-{log_name}.log"
    replica_options = (
        ["--db_replica_host=127.0.0.1", f"--db_replica_port={replica.port}"] if replica else []
    )
    process = None
    try:
        with server_log.open("w") as log:
            process = subprocess.Popen(
                [
                    *command, *common, *replica_options, f"--workers={workers}",
                    f"--http-port={http_port}", f"--gevent-port={gevent_port}",
                    "--http-interface=127.0.0.1", f"--db-filter=^{DB}$",
                    "--log-level=info",
                ],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        url = f"http://127.0.0.1:{http_port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"Odoo exited:\n{tail(server_log)}"
            try:
                with urllib.request.urlopen(f"{url}/web/login", timeout=10) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, f"Odoo did not start:\n{tail(server_log)}"
            time.sleep(1)
        server = OdooServer(url, DB)
        server.log = server_log
        server.process = process
        yield server
    finally:
        if process is not None:
            stop(process)


@pytest.fixture(scope="module")
def replicated():
    """(server, primary, replica): Odoo on a primary and its streaming replica."""
    primary_port, replica_port, http_port, gevent_port = ports()
    with (
        replicated_clusters(primary_port, replica_port) as (primary, replica, *odoo),
        odoo_server(*odoo, http_port, gevent_port, replica=replica) as server,
    ):
        yield server, primary, replica


def caught_up(primary, replica):
    """True once the replica has replayed all the primary has written."""
    (lsn,) = primary.sql("SELECT pg_current_wal_lsn()::text", dbname="postgres")[0]
    return replica.sql("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,), dbname="postgres")[
        0
    ][0]


@pytest.fixture(scope="module")
def center(replicated):
    """A queue, its supervisor and two agents, a customer; web client sessions."""
    server, primary, replica = replicated
    poland = server.call("res.country", "search", [("code", "=", "PL")])[0]
    server.call("res.company", "write", [server.ref("base.main_company")], {"country_id": poland})
    group = "omnichannel_cc.group_omnichannel_"
    users = {}
    for login, role in (
        ("repl-super", "supervisor"),
        ("repl-anna", "agent"),
        ("repl-ewa", "agent"),
    ):
        users[login] = server.call(
            "res.users",
            "create",
            {
                "name": login,
                "login": login,
                "password": login,
                "email": f"{login}@replica.example",
                "groups_id": [(6, 0, [server.ref(group + role)])],
            },
        )
    queue = server.call(
        "omnichannel.queue",
        "create",
        {
            "name": "Replica queue",
            "ring_timeout": 600,
            "member_ids": [(6, 0, [users["repl-anna"], users["repl-ewa"]])],
            "supervisor_ids": [(6, 0, [users["repl-super"]])],
        },
    )
    did = f"+4822{uuid.uuid4().int % 10**7:07d}"
    channel = server.call(
        "omnichannel.channel",
        "create",
        {"name": "Replica line", "channel_type": "phone", "address": did, "queue_id": queue},
    )
    customer = server.call(
        "res.partner",
        "create",
        {"name": "Klient Repliki", "country_id": poland, "phone": "+48 601 700 800"},
    )
    wait_for(lambda: caught_up(primary, replica), 30, "the replica catching up")
    return {
        "queue": queue,
        "did": did,
        "channel": channel,
        "customer": customer,
        "users": users,
        "super": WebClient(server.url, DB, "repl-super", "repl-super"),
        "anna": WebClient(server.url, DB, "repl-anna", "repl-anna"),
        "ewa": WebClient(server.url, DB, "repl-ewa", "repl-ewa"),
    }


def inbound(server, did, sender, external_id):
    """A new contact on the phone line (XML-RPC: always the primary)."""
    return server.call(
        "omnichannel.interaction",
        "api_inbound",
        {"channel_type": "phone", "channel": did, "from": sender, "external_id": external_id},
    )


def on_which(primary_log, replica_log, call, marker):
    """Run ``call()``; (its result, whether ``marker`` reached the primary,
    whether it reached the replica)."""
    primary_log.mark()
    replica_log.mark()
    result = call()
    return result, marker in primary_log.since(), marker in replica_log.since()


def tile(board, queue_id):
    return next(q for q in board["queues"] if q["id"] == queue_id)


def test_reads_on_replica_writes_on_primary(replicated, center):
    server, primary, replica = replicated
    primary_log, replica_log = StatementLog(primary), StatementLog(replica)
    supervisor, anna = center["super"], center["anna"]
    anna.call("omnichannel.agent", "action_my_state", "available")
    wait_for(lambda: caught_up(primary, replica), 30, "the replica catching up")

    # reads: the wallboard, its charts, identification, the screen-pop
    board, on_primary, on_replica = on_which(
        primary_log,
        replica_log,
        lambda: supervisor.call("omnichannel.queue", "wallboard_data"),
        WALLBOARD_SQL,
    )
    assert (on_primary, on_replica) == (False, True)
    assert board["replica"] is True
    assert tile(board, center["queue"])["waiting"] == 0
    charts, on_primary, on_replica = on_which(
        primary_log,
        replica_log,
        lambda: supervisor.call("omnichannel.queue", "wallboard_chart_data"),
        CHARTS_SQL,
    )
    assert (on_primary, on_replica) == (False, True)
    assert center["queue"] in charts["queue_ids"]
    found, on_primary, on_replica = on_which(
        primary_log,
        replica_log,
        lambda: anna.call("res.partner", "omnichannel_identify", "0048 601-700-800"),
        IDENTIFY_SQL,
    )
    assert (on_primary, on_replica) == (False, True)
    assert [row["id"] for row in found] == [center["customer"]]

    # writes: a new contact (XML-RPC) and the agent accepting its offer
    result = inbound(server, center["did"], "+48 601 700 800", "replica-write-1")
    assert result["state"] == "offered" and result["partner_id"] == center["customer"]
    console, on_primary, on_replica = on_which(
        primary_log,
        replica_log,
        lambda: anna.call("omnichannel.agent", "action_console_state"),
        "omnichannel_offer",
    )
    assert on_primary and not on_replica  # the console's offers: the primary's
    (offer,) = [o for o in console["offers"] if o["interaction_id"] == result["interaction_id"]]
    _accepted, on_primary, on_replica = on_which(
        primary_log,
        replica_log,
        lambda: anna.call("omnichannel.offer", "action_accept", [offer["offer_id"]]),
        OFFER_WRITE_SQL,
    )
    assert (on_primary, on_replica) == (True, False)
    wait_for(lambda: caught_up(primary, replica), 30, "the replica catching up")

    # the customer's panel, now that the agent serves them: on the replica
    pop, on_primary, on_replica = on_which(
        primary_log,
        replica_log,
        lambda: anna.call("res.partner", "omnichannel_screen_pop", [center["customer"]]),
        SCREEN_POP_SQL,
    )
    assert (on_primary, on_replica) == (False, True)
    assert result["interaction_id"] in [row["id"] for row in pop["interactions"]]
    board = supervisor.call("omnichannel.queue", "wallboard_data")
    (agent,) = [a for a in board["agents"] if a["user_id"] == center["users"]["repl-anna"]]
    assert agent["current"]["id"] == result["interaction_id"]

    # no read-only call ever tried to write
    assert "read-only transaction" not in replica.log.read_text(errors="replace")
    assert "retrying with a read/write cursor" not in server.log.read_text(errors="replace")


def test_lag(replicated, center):
    server, primary, replica = replicated
    supervisor, ewa = center["super"], center["ewa"]
    ewa.call("omnichannel.agent", "action_my_state", "available")
    wait_for(lambda: caught_up(primary, replica), 30, "the replica catching up")
    before = supervisor.call("omnichannel.queue", "wallboard_data")
    waiting_before = tile(before, center["queue"])["waiting"]

    replica.sql("SELECT pg_wal_replay_pause()", dbname="postgres")
    try:
        wait_for(
            lambda: (
                replica.sql("SELECT pg_get_wal_replay_pause_state()", dbname="postgres")[0][0]
                == "paused"
            ),
            30,
            "replay paused",
        )
        paused_at = parse(
            primary.sql("SELECT (now() AT TIME ZONE 'UTC')::text", dbname="postgres")[0][0][:19]
        )
        time.sleep(1.1)  # the contact is made a whole second after the pause
        # a new customer calls: identified, queued and offered on the primary
        customer = server.call(
            "res.partner", "create", {"name": "Nowy Klient", "phone": "+48 601 900 901"}
        )
        result = inbound(server, center["did"], "+48 601 900 901", "replica-lag-1")
        assert result["partner_id"] == customer and result["state"] == "offered"
        (created,) = server.call(
            "omnichannel.interaction", "read", [result["interaction_id"]], fields=["create_date"]
        )
        created_at = parse(created["create_date"])

        # the wallboard (replica): behind, without the new contact
        board = supervisor.call("omnichannel.queue", "wallboard_data")
        assert board["replica"] is True
        as_of = parse(board["as_of"])
        assert as_of <= paused_at < created_at, (board["as_of"], paused_at, created_at)
        assert parse(board["now"]) >= created_at
        assert tile(board, center["queue"])["waiting"] == waiting_before
        # identification on the replica does not know the new customer yet
        assert ewa.call("res.partner", "omnichannel_identify", "+48 601 900 901") == []

        # the offer is the primary's: the agent sees it ringing ...
        console = ewa.call("omnichannel.agent", "action_console_state")
        offers = [o for o in console["offers"] if o["interaction_id"] == result["interaction_id"]]
        assert offers, console["offers"]
        # ... and opens the caller's panel: the replica has neither the
        # customer nor the offer that allows it, so Odoo runs the call again
        # on the primary
        pop = ewa.call("res.partner", "omnichannel_screen_pop", [customer])
        assert pop["partner"]["id"] == customer
        assert "retrying with a read/write cursor" in server.log.read_text(errors="replace")
    finally:
        replica.sql("SELECT pg_wal_replay_resume()", dbname="postgres")

    # replay resumed: the board catches up
    def board_caught_up():
        board = supervisor.call("omnichannel.queue", "wallboard_data")
        fresh = tile(board, center["queue"])["waiting"] == waiting_before + 1
        return board if fresh and parse(board["as_of"]) >= created_at else None

    board = wait_for(board_caught_up, 30, "the wallboard catching up")
    assert board["replica"] is True
