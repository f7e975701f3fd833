"""Faults (issue 19): what was in flight, what the system did, what was lost
or doubled. The answer must be "nothing".

These tests break things, so they get servers of their own (never the
session's ``odoo_server``): a private PostgreSQL cluster (``initdb`` in a
temporary directory, run as the ``postgres`` OS user when the tests run as
root), the suite's addons installed into a database there, and an Odoo with
two HTTP workers and a cron worker (the sweeps are crons) against it.

- ``test_worker_killed_mid_burst``: signed PBX events and inbound contacts
  posted by senders that retry as a PBX or Meta does, while an HTTP worker is
  killed with SIGKILL, twice;
- ``test_postgresql_restarted_under_load``: the same, while the cluster is
  restarted (``pg_ctl restart -m fast``);
- ``test_smtp_down``: outgoing mail with the SMTP server unreachable;
- ``test_social_platform_failing_then_slow``: WireMock as the WhatsApp API
  answering 500, then slower than our client's timeout.

Each test prints its figures (events sent, retried, applied, duplicated,
lost; durations); run with ``-s`` to see them. SLOW: the module installs the
addons into the private cluster (about 2 minutes); the tests themselves take
about 2 minutes more. ``OMNICHANNEL_FAULTS_SNAPSHOT`` may name a directory
holding a stopped cluster (``pg/``, database ``hH_faults``) and its filestore
(``data/``) from an earlier install, copied instead of installing again.
"""

import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import xmlrpc.client
from collections import Counter
from pathlib import Path

import psycopg2
import pytest

from tests.conftest import ADDONS, REPO_ROOT
from tests.e2e._inbox import outcome
from tests.e2e._wiremock import running as wiremock_running
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

pytestmark = pytest.mark.e2e

PG_BIN = Path(os.environ.get("OMNICHANNEL_PG_BIN", "/usr/lib/postgresql/15/bin"))
DB = "hH_faults"
INSTALL_TIMEOUT = 900
# a sender gives up on one delivery after this long (a PBX retries for minutes)
DELIVERY_DEADLINE = 120
# no single request may take longer: a worker blocked longer is a fault
REQUEST_BOUND = 35
# seconds between two looks at a server under fault
POLL = 0.5
APP_SECRET = "faults-app-secret"
ACCESS_TOKEN = "FAULTS-ACCESS-TOKEN"
CUSTOMER_WA_ID = "48509333444"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ----------------------------------------------------------------------
# The private cluster and server
# ----------------------------------------------------------------------
class Cluster:
    """A PostgreSQL cluster in a directory of its own, on its own port."""

    def __init__(self, root, port):
        self.root = root
        self.data = root / "pg"
        self.sockets = root / "sockets"
        self.log = self.sockets / "postgresql.log"
        self.port = port

    def _run(self, *args, timeout=120):
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root
            # (runuser lives in /usr/sbin, which a CI's PATH may not hold)
            runuser = shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
            assert runuser, "runuser (util-linux) is needed to run PostgreSQL as its own user"
            command = [runuser, "-u", "postgres", "--", *command]
        # into a file, not a pipe: the server pg_ctl starts would hold the pipe open
        output = self.root / "pg_ctl.out"
        with output.open("a") as out:
            result = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
        assert result.returncode == 0, (
            f"{' '.join(args[:2])} failed: {tail(output, 10)}\n{tail(self.log)}"
        )

    def prepare(self, snapshot=None):
        self.sockets.mkdir()
        if snapshot:
            shutil.copytree(snapshot, self.data, symlinks=True)
        else:
            self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
            shutil.chown(self.sockets, "postgres")
            if snapshot:
                subprocess.run(["chown", "-R", "postgres:", str(self.data)], check=True)
        self.data.chmod(0o700)
        if not snapshot:
            self._run(
                "initdb", "-D", str(self.data), "-A", "trust", "-U", "root", "-E", "UTF8",
                "--no-sync",
            )  # fmt: skip
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )  # fmt: skip

    def restart(self):
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "-t", "60",
            "restart",
        )  # fmt: skip

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def sql(self, query, params=(), dbname=DB):
        """Rows of one statement, in a connection of its own (autocommit)."""
        connection = psycopg2.connect(host="127.0.0.1", port=self.port, dbname=dbname)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def postmaster_pid(self):
        return int((self.data / "postmaster.pid").read_text().split()[0])


class FaultServer(OdooServer):
    def __init__(self, url, db, process, cluster, listen_port):
        super().__init__(url, db)
        self.process = process
        self.cluster = cluster
        self.listen_port = listen_port

    def http_workers(self):
        """The pids of the HTTP workers: the master's children holding the
        listening socket (the cron worker closes it, the gevent worker has its
        own port)."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as rows:
                for row in list(rows)[1:]:
                    fields = row.split()
                    if (
                        int(fields[1].rsplit(":", 1)[1], 16) == self.listen_port
                        and fields[3] == "0A"
                    ):
                        inodes.add(fields[9])
        children = subprocess.run(
            ["ps", "--ppid", str(self.process.pid), "-o", "pid="],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        workers = []
        for pid in map(int, children):
            try:
                links = {
                    os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")
                }
            except OSError:
                continue
            if any(f"socket:[{inode}]" in links for inode in inodes):
                workers.append(pid)
        return sorted(workers)


@pytest.fixture(scope="module")
def faults():
    python = odoo_python()
    check_odoo(python)
    root = Path(tempfile.mkdtemp(prefix="hH_faults_", dir="/tmp"))
    root.chmod(0o755)
    scratch = root / "odoo"
    scratch.mkdir()
    cluster = Cluster(root, free_port())
    snapshot = os.environ.get("OMNICHANNEL_FAULTS_SNAPSHOT")
    process = None
    try:
        cluster.prepare(snapshot and Path(snapshot) / "pg")
        command = odoo_command(python, scratch)
        env = dict(os.environ, ODOO_RC=str(scratch / "odoo.conf"), TZ="UTC")
        (scratch / "odoo.conf").write_text("[options]\n")
        common = [
            "-d", DB, f"--addons-path={REPO_ROOT}", "--db_host=127.0.0.1",
            f"--db_port={cluster.port}", f"--data-dir={scratch / 'data'}",
        ]  # fmt: skip
        if snapshot:
            shutil.copytree(Path(snapshot) / "data", scratch / "data")
        else:
            # SLOW: about 2 minutes
            install_log = root / "install.log"
            with install_log.open("w") as log:
                install = subprocess.run(
                    [
                        *command, *common, "-i", ",".join(ADDONS), "--without-demo=all",
                        "--stop-after-init", "--no-http", "--max-cron-threads=0",
                        "--log-level=warn",
                    ],
                    stdout=log, stderr=subprocess.STDOUT, env=env, timeout=INSTALL_TIMEOUT,
                    check=False,
                )  # fmt: skip
            assert install.returncode == 0, f"install failed:\n{tail(install_log)}"
        # -d without --db-filter, as setup/run: a db filter makes Odoo list the
        # databases on each request, and on a connection closed by a restart
        # of PostgreSQL that answered 404 (a PBX does not retry that)
        http_port, gevent_port = free_port(), free_port()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        server_log = LOG_DIR / f"{DB}-server.log"
        with server_log.open("w") as log:
            process = subprocess.Popen(
                [
                    *command, *common, "--workers=2", "--max-cron-threads=1",
                    f"--http-port={http_port}", f"--gevent-port={gevent_port}",
                    "--http-interface=127.0.0.1", "--log-level=info",
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
        server = FaultServer(url, DB, process, cluster, http_port)
        server.log = server_log
        yield server
    finally:
        if process is not None:
            stop(process)
        try:
            cluster.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


# ----------------------------------------------------------------------
# A sender that retries as a PBX or Meta does
# ----------------------------------------------------------------------
class Sender:
    """Delivers each request until it is answered below 500: on a connection
    error, a timeout or a 5xx it sends the very same request again (same
    body, so the same event key / external id). Counts what happened."""

    def __init__(self, timeout=15):
        self.timeout = timeout
        self.lock = threading.Lock()
        self.figures = Counter()
        self.failures = Counter()
        self.slowest = 0.0

    def _note(self, failure, took):
        with self.lock:
            self.slowest = max(self.slowest, took)
            if failure:
                self.figures["retried"] += 1
                self.failures[failure] += 1

    def _deliver(self, attempt):
        """``attempt()`` returns ``(done, value, failure)``."""
        deadline = time.monotonic() + DELIVERY_DEADLINE
        tries = 0
        while True:
            tries += 1
            started = time.monotonic()
            done, value, failure = attempt()
            self._note(None if done else failure, time.monotonic() - started)
            if done:
                with self.lock:
                    self.figures["delivered"] += 1
                return value
            assert time.monotonic() < deadline, f"not delivered in {DELIVERY_DEADLINE} s: {failure}"
            time.sleep(min(0.25 * tries, 2))

    def post(self, url, body, headers):
        def attempt():
            request = urllib.request.Request(url, data=body, method="POST", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    status, raw = answer.status, answer.read()
            except urllib.error.HTTPError as error:
                status, raw = error.code, error.read()
                kind = error.headers.get_content_type()
                if status >= 500:
                    return False, None, f"HTTP {status} {kind}"
                if status == 404 and kind != "application/json":
                    # Odoo without its database answers its 404 page (our
                    # webhooks answer JSON): retried, as ami_bridge.py does
                    return False, None, "HTTP 404 without the database"
            except (OSError, http.client.HTTPException) as error:
                # refused, reset, timed out, connection closed mid-answer
                return False, None, type(error).__name__
            try:
                return True, (status, json.loads(raw)), None
            except ValueError:
                raise AssertionError(f"HTTP {status}, not JSON: {raw[:300]!r}") from None

        return self._deliver(attempt)

    def rpc(self, server, model, method, *args):
        def attempt():
            try:
                return True, server.call(model, method, *args), None
            except xmlrpc.client.Fault as fault:
                # a database gone away is worth a retry; a refusal is not
                if "OperationalError" in fault.faultString or "InterfaceError" in fault.faultString:
                    return False, None, "XML-RPC fault (database)"
                raise
            except xmlrpc.client.ProtocolError as error:
                return False, None, f"HTTP {error.errcode}"
            except (OSError, http.client.HTTPException) as error:
                return False, None, type(error).__name__

        return self._deliver(attempt)


def run_threads(jobs, threads):
    """Run the callables from ``threads`` threads; the errors raised."""
    todo, errors, lock = list(jobs), [], threading.Lock()

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                job = todo.pop(0)
            try:
                job()
            except Exception as error:  # noqa: BLE001 - a lost job must show
                with lock:
                    errors.append(repr(error))

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    return pool, errors


def join(pool, timeout):
    deadline = time.monotonic() + timeout
    for thread in pool:
        thread.join(max(deadline - time.monotonic(), 0))
    assert not any(thread.is_alive() for thread in pool), f"the burst took over {timeout} s"


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------
# Contact-center data
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def center(faults):
    rpc = faults
    poland = rpc.call("res.country", "search", [("code", "=", "PL")])[0]
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    group = rpc.ref("omnichannel_cc.group_omnichannel_agent")
    agents = []
    for index in range(6):
        login = unique(f"fault-agent-{index}")
        extension = f"6{index}{uuid.uuid4().int % 1000:03d}"
        user_id = rpc.call(
            "res.users",
            "create",
            {
                "name": login,
                "login": login,
                "password": login,
                "email": f"{login}@faults.example",
                "groups_id": [(6, 0, [group])],
                "omnichannel_extension": extension,
            },
        )
        agents.append({"id": user_id, "login": login, "extension": extension})
    members = [(6, 0, [agent["id"] for agent in agents])]
    queue = rpc.call(
        "omnichannel.queue",
        "create",
        {"name": "Faults", "ring_timeout": 3, "wrapup_seconds": 1, "member_ids": members},
    )
    did = f"+4822{uuid.uuid4().int % 10**7:07d}"
    phone = rpc.call(
        "omnichannel.channel",
        "create",
        {"name": "Faults line", "channel_type": "phone", "address": did, "queue_id": queue},
    )
    (row,) = rpc.call("omnichannel.channel", "read", [phone], fields=["voip_token", "voip_secret"])
    alias = f"{unique('faults')}@faults.example"
    email = rpc.call(
        "omnichannel.channel",
        "create",
        {"name": "Faults mail", "channel_type": "email", "address": alias, "queue_id": queue},
    )
    for agent in agents:
        agent["uid"] = rpc.login(agent["login"], agent["login"])
        rpc.call(
            "omnichannel.agent",
            "action_my_state",
            "available",
            uid=agent["uid"],
            password=agent["login"],
        )
    return {
        "agents": agents,
        "queue": queue,
        "phone": phone,
        "did": did,
        "secret": row["voip_secret"],
        "url": f"{rpc.url}/omnichannel/voip/{row['voip_token']}/event",
        "email": email,
        "alias": alias,
    }


def call_events(center, call_id, agent, answered, start):
    """The PBX's events of one call: ringing, answered (half of them), hangup."""
    base = {"call_id": call_id, "from": "+48601222333", "to": center["did"]}
    events = [dict(base, event="ringing", timestamp=start)]
    if answered:
        events.append(dict(base, event="answered", timestamp=start + 2, agent=agent["extension"]))
    events.append(dict(base, event="hangup", timestamp=start + 5))
    return events


def burst(faults, center, sender, calls, mails, threads=6):
    """Jobs posting ``calls`` calls' events (each call's in order, from one
    thread) and pushing ``mails`` e-mails through ``api_inbound``; returns
    (jobs, the calls {call_id: answered}, the mails' external ids, event count)."""
    start = int(time.time())
    jobs, plan, external_ids, count = [], {}, [], 0
    for index in range(calls):
        call_id = unique(f"fault-call-{index}")
        answered = index % 2 == 0
        plan[call_id] = answered
        events = call_events(
            center, call_id, center["agents"][index % len(center["agents"])], answered, start
        )
        count += len(events)

        def send(events=events):
            for event in events:
                body = json.dumps(event).encode()
                headers = {
                    "Content-Type": "application/json",
                    "X-Omnichannel-Signature": sign(center["secret"], body),
                }
                status, answer = sender.post(center["url"], body, headers)
                assert status == 200, (event, status, answer)
                with sender.lock:
                    sender.figures["duplicate answers"] += bool(answer.get("duplicate"))

        jobs.append(send)
    for index in range(mails):
        external_id = unique(f"fault-mail-{index}")
        external_ids.append(external_id)
        payload = {
            "channel_type": "email",
            "channel_id": center["email"],
            "from": f"customer{index}@faults.example",
            "external_id": external_id,
            "subject": f"Fault test {index}",
            "body": "Where is my parcel?",
        }
        jobs.insert(index * 2 % (len(jobs) + 1), lambda p=payload: sender.rpc(
            faults, "omnichannel.interaction", "api_inbound", p
        ))  # fmt: skip
    return jobs, plan, external_ids, count


def wait_inbox_applied(faults, plan, events, timeout=180):
    """The calls' events are answered once stored in the event inbox; the
    server's cron worker applies them (woken by each receipt, every minute
    at worst): wait until it did, each event's row once, none a dead letter."""
    seen = {}

    def applied():
        (row,) = faults.cluster.sql(
            """SELECT count(*) FILTER (WHERE state = 'done'),
                      count(*) FILTER (WHERE state IN ('pending', 'failed')),
                      count(*) FILTER (WHERE state = 'dead')
                 FROM omnichannel_event_inbox
                WHERE kind = '_voip_event' AND conversation = ANY(%s)""",
            (list(plan),),
        )
        seen.update(done=row[0], waiting=row[1], dead=row[2])
        return row[1] == 0 and row[0] + row[2] >= events

    try:
        wait_for(applied, timeout, "the event inbox's cron", every=POLL)
    except AssertionError:
        raise AssertionError(f"inbox rows of the burst: {seen}") from None
    assert seen == {"done": events, "waiting": 0, "dead": 0}, seen
    return seen["done"]


def check_nothing_lost_or_doubled(faults, center, plan, external_ids, events):
    """One interaction per call and per mail, every event's key once, each
    call in the state its events lead to. Returns the figures."""
    cluster = faults.cluster
    inbox_rows = wait_inbox_applied(faults, plan, events)
    rows = cluster.sql(
        """SELECT external_id, count(*), min(state), min(voip_call_state),
                  bool_and(date_answered IS NOT NULL), bool_and(date_ended IS NOT NULL)
             FROM omnichannel_interaction
            WHERE channel_id = %s AND external_id = ANY(%s)
            GROUP BY external_id""",
        (center["phone"], list(plan)),
    )
    by_call = {row[0]: row[1:] for row in rows}
    lost_calls = set(plan) - set(by_call)
    doubled = {call: row[0] for call, row in by_call.items() if row[0] != 1}
    assert not lost_calls and not doubled, (lost_calls, doubled)
    wrong = {}
    for call_id, answered in plan.items():
        _count, state, call_state, was_answered, ended = by_call[call_id]
        expected = ("wrapup", "done") if answered else ("abandoned",)
        if state not in expected or call_state != "ended" or not ended or was_answered != answered:
            wrong[call_id] = by_call[call_id]
    assert not wrong, f"calls in a state their events do not lead to: {wrong}"
    (keys,) = cluster.sql(
        """SELECT count(*), count(DISTINCT key) FROM omnichannel_event_key
            WHERE scope = %s AND res_id IN (
                  SELECT id FROM omnichannel_interaction
                   WHERE channel_id = %s AND external_id = ANY(%s))""",
        (f"voip:{center['phone']}", center["phone"], list(plan)),
    )
    # each event's key is stored exactly when the event was applied (same transaction)
    assert keys[0] == keys[1] == events, f"{keys[0]} event keys for {events} distinct events"
    mails = cluster.sql(
        """SELECT external_id, count(*) FROM omnichannel_interaction
            WHERE channel_id = %s AND external_id = ANY(%s) GROUP BY external_id""",
        (center["email"], external_ids),
    )
    assert len(mails) == len(external_ids) and all(row[1] == 1 for row in mails), mails
    return {
        "calls": len(plan),
        "inbox rows": inbox_rows,
        "events applied": keys[0],
        "mails": len(mails),
    }


def sweep_leaves_nothing_overdue(faults, center, plan):
    """After the ACD sweep: no pending offer past its expiry, none of the
    burst's calls waiting or ringing (call-backs of the abandoned calls are
    new interactions, offered in their turn)."""
    cron = faults.ref("omnichannel_cc.ir_cron_acd_sweep")
    seen = {}

    def clean():
        try:
            faults.call("ir.cron", "method_direct_trigger", [cron])
        except xmlrpc.client.Fault as fault:
            # the cron worker is running it right now: as good
            assert "currently being executed" in fault.faultString, fault.faultString
        (overdue,) = faults.cluster.sql(
            """SELECT count(*) FROM omnichannel_offer o
                 JOIN omnichannel_interaction i ON i.id = o.interaction_id
                WHERE o.state = 'pending' AND o.date_expire < now() AT TIME ZONE 'UTC'
                  AND i.channel_id IN %s""",
            ((center["phone"], center["email"]),),
        )[0]
        waiting = faults.cluster.sql(
            """SELECT id, external_id, state, voip_call_state FROM omnichannel_interaction
                WHERE channel_id = %s AND state IN ('new', 'queued', 'offered')
                  AND external_id = ANY(%s)""",
            (center["phone"], list(plan)),
        )
        seen.update(overdue=overdue, waiting=waiting)
        return overdue == 0 and not waiting

    try:
        wait_for(clean, 60, "the sweep", every=POLL)
    except AssertionError:
        raise AssertionError(f"after the sweep: {seen}") from None


def report(title, figures):
    print(f"\n[faults] {title}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


# ----------------------------------------------------------------------
# 1. An Odoo worker killed mid-burst
# ----------------------------------------------------------------------
def test_worker_killed_mid_burst(faults, center):
    started = time.monotonic()
    sender = Sender()
    jobs, plan, external_ids, events = burst(faults, center, sender, calls=40, mails=16)
    before = faults.http_workers()
    assert len(before) == 2, before
    total = len(jobs)
    pool, errors = run_threads(jobs, threads=6)
    killed = []
    for share in (0.25, 0.6):
        wait_for(
            lambda share=share: sender.figures["delivered"] >= share * (events + len(external_ids)),
            180,
            f"{share:.0%} of the burst delivered",
            every=POLL,
        )
        victim = faults.http_workers()[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
    join(pool, 240)
    assert not errors, errors
    assert total == 40 + 16

    # the master replaced the killed workers
    def replaced():
        workers = faults.http_workers()
        return workers if len(workers) == 2 and not set(workers) & set(killed) else None

    workers = wait_for(replaced, 60, "two live HTTP workers again", every=POLL)
    figures = check_nothing_lost_or_doubled(faults, center, plan, external_ids, events)
    sweep_leaves_nothing_overdue(faults, center, plan)
    assert sender.slowest < REQUEST_BOUND, sender.slowest
    report(
        "worker kill -9 x2",
        dict(
            figures,
            **{
                "events sent": events,
                "deliveries": sender.figures["delivered"],
                "retried": sender.figures["retried"],
                "answered duplicate on retry": sender.figures["duplicate answers"],
                "duplicates": 0,
                "lost": 0,
                "failures seen": dict(sender.failures),
                "killed": killed,
                "workers now": workers,
                "slowest request s": round(sender.slowest, 1),
                "duration s": round(time.monotonic() - started, 1),
            },
        ),
    )


# ----------------------------------------------------------------------
# 2. PostgreSQL restarted under load
# ----------------------------------------------------------------------
def test_postgresql_restarted_under_load(faults, center):
    started = time.monotonic()
    cluster = faults.cluster
    sender = Sender()
    jobs, plan, external_ids, events = burst(faults, center, sender, calls=16, mails=8)
    old_postmaster = cluster.postmaster_pid()
    pool, errors = run_threads(jobs, threads=4)
    wait_for(
        lambda: sender.figures["delivered"] >= 0.3 * (events + len(external_ids)),
        180,
        "30% of the burst delivered",
        every=POLL,
    )
    restart_started = time.monotonic()
    cluster.restart()
    restart_took = time.monotonic() - restart_started
    (restarted_at,) = cluster.sql("SELECT now() AT TIME ZONE 'UTC'")[0]
    assert cluster.postmaster_pid() != old_postmaster
    join(pool, 240)
    assert not errors, errors
    # what failed failed cleanly: a 5xx (JSON for the webhooks) or a broken connection
    unclean = {
        failure: n
        for failure, n in sender.failures.items()
        if failure.startswith("HTTP")
        and not failure.startswith(("HTTP 5", "HTTP 404 without the database"))
    }
    assert not unclean, unclean
    figures = check_nothing_lost_or_doubled(faults, center, plan, external_ids, events)
    sweep_leaves_nothing_overdue(faults, center, plan)
    assert sender.slowest < REQUEST_BOUND, sender.slowest
    # the cron worker reconnected: the ACD sweep runs again from the cron
    # thread (woken as Odoo's own _trigger wakes it)
    cron = faults.ref("omnichannel_cc.ir_cron_acd_sweep")
    cluster.sql(
        "INSERT INTO ir_cron_trigger (cron_id, call_at) VALUES (%s, now() AT TIME ZONE 'UTC')",
        (cron,),
    )
    cluster.sql("NOTIFY cron_trigger, %s", (DB,))
    wait_for(
        lambda: (
            cluster.sql("SELECT lastcall FROM ir_cron WHERE id = %s", (cron,))[0][0] > restarted_at
        ),
        120,
        "the ACD sweep cron running after the restart",
        every=POLL,
    )
    report(
        "PostgreSQL restart",
        dict(
            figures,
            **{
                "events sent": events,
                "deliveries": sender.figures["delivered"],
                "retried": sender.figures["retried"],
                "answered duplicate on retry": sender.figures["duplicate answers"],
                "duplicates": 0,
                "lost": 0,
                "failures seen": dict(sender.failures),
                "restart s": round(restart_took, 1),
                "slowest request s": round(sender.slowest, 1),
                "duration s": round(time.monotonic() - started, 1),
            },
        ),
    )


# ----------------------------------------------------------------------
# 3. SMTP server down
# ----------------------------------------------------------------------
def closed_port():
    """A loopback port nothing listens on."""
    port = free_port()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return port


def test_smtp_down(faults, center):
    rpc = faults
    for server in rpc.call("ir.mail_server", "search", []):
        rpc.call("ir.mail_server", "write", [server], {"active": False})
    rpc.call(
        "ir.mail_server",
        "create",
        {
            "name": "SMTP down",
            "smtp_host": "127.0.0.1",
            "smtp_port": closed_port(),
            "smtp_encryption": "none",
            "sequence": 1,
        },
    )
    customer = rpc.call(
        "res.partner", "create", {"name": "Customer SMTP", "email": "smtp.down@faults.example"}
    )
    result = rpc.call(
        "omnichannel.interaction",
        "api_inbound",
        {
            "channel_type": "email",
            "channel_id": center["email"],
            "from": "smtp.down@faults.example",
            "external_id": unique("smtp-down"),
            "subject": "Reply please",
        },
    )
    # the answer, written by the manager (the interaction is another agent's)
    started = time.monotonic()
    message_id = rpc.call(
        "omnichannel.interaction",
        "message_post",
        [result["interaction_id"]],
        body="Our answer, which cannot leave yet",
        message_type="comment",
        subtype_xmlid="mail.mt_comment",
        partner_ids=[customer],
    )
    post_took = time.monotonic() - started
    # the mail was created in the request's transaction and tried after its
    # commit (Odoo sends a few notifications at once): the refused connection
    # failed it without failing or holding up the request
    mails = rpc.call(
        "mail.mail", "search_read", [("mail_message_id", "=", message_id)], fields=["state"]
    )
    assert mails and all(m["state"] in ("outgoing", "exception") for m in mails), mails
    assert post_took < 10, post_took
    cron = rpc.ref("mail.ir_cron_mail_scheduler_action")
    attempts = []
    for _attempt in range(2):
        started = time.monotonic()
        assert rpc.call("ir.cron", "method_direct_trigger", [cron])
        attempts.append(round(time.monotonic() - started, 1))
        mails = rpc.call(
            "mail.mail",
            "search_read",
            [("mail_message_id", "=", message_id)],
            fields=["state", "failure_reason"],
        )
        assert all(m["state"] == "exception" for m in mails), mails
        assert all("connect" in (m["failure_reason"] or "").lower() for m in mails), mails
        # the agent sees it failed (red envelope): the notification is in exception
        notifications = rpc.call(
            "mail.notification",
            "search_read",
            [("mail_message_id", "=", message_id), ("res_partner_id", "=", customer)],
            fields=["notification_status", "failure_type"],
        )
        assert notifications and notifications[0]["notification_status"] == "exception"
        # "Retry": back to the queue, and failing visibly again
        rpc.call("mail.mail", "mark_outgoing", [m["id"] for m in mails])
    assert max(attempts) < REQUEST_BOUND, attempts
    report(
        "SMTP down",
        {
            "post s": round(post_took, 2),
            "queue runs s": attempts,
            "failure": " ".join(mails[0]["failure_reason"].split())[:80],
            "sent": 0,
            "lost": 0,
        },
    )


# ----------------------------------------------------------------------
# 4. The social platform failing, then too slow
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def wiremock():
    root = Path(tempfile.mkdtemp(prefix="hH_faults_wiremock_", dir="/tmp"))
    try:
        with wiremock_running(root, "The faults test") as mock:
            yield mock
    finally:
        shutil.rmtree(root, ignore_errors=True)


def whatsapp_message(phone_number_id, text):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-FAULTS",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": phone_number_id},
                            "contacts": [{"profile": {"name": "Ola"}, "wa_id": CUSTOMER_WA_ID}],
                            "messages": [
                                {
                                    "from": CUSTOMER_WA_ID,
                                    "id": unique("wamid.FAULTS"),
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def test_social_platform_failing_then_slow(faults, center, wiremock):
    rpc = faults
    cluster = faults.cluster
    phone_number_id = f"PN{uuid.uuid4().int % 10**12}"
    sends_path = f"/v19.0/{phone_number_id}/messages"
    wiremock.stub(
        {
            "request": {
                "method": "POST",
                "url": sends_path,
                "bodyPatterns": [{"contains": "FAIL-500"}],
            },
            "response": {"status": 500, "jsonBody": {"error": {"message": "Service unavailable"}}},
        }
    )
    wiremock.stub(
        {
            "request": {
                "method": "POST",
                "url": sends_path,
                "bodyPatterns": [{"contains": "SLOW"}],
            },
            # longer than our client's read timeout (tools/social.py TIMEOUT)
            "response": {
                "status": 200,
                "fixedDelayMilliseconds": 14000,
                "jsonBody": {"messages": [{"id": "wamid.TOO-LATE"}]},
            },
        }
    )
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {
            "name": "Faults WhatsApp",
            "channel_type": "social",
            "social_platform": "whatsapp",
            "address": phone_number_id,
            "queue_id": center["queue"],
            "social_api_url": f"{wiremock.url}/v19.0",
            "social_app_secret": APP_SECRET,
            "social_access_token": ACCESS_TOKEN,
        },
    )
    (row,) = rpc.call("omnichannel.channel", "read", [channel], fields=["social_webhook_token"])
    rpc.call("ir.config_parameter", "set_param", "omnichannel_cc.social_retry_minutes", "1")
    rpc.call("ir.config_parameter", "set_param", "omnichannel_cc.social_max_attempts", "3")
    body = json.dumps(whatsapp_message(phone_number_id, "Is my order on its way?")).encode()
    status, answer = Sender().post(
        f"{rpc.url}/omnichannel/social/{row['social_webhook_token']}",
        body,
        {"Content-Type": "application/json", "X-Hub-Signature-256": sign(APP_SECRET, body)},
    )
    # stored in the event inbox; applied by its cron (polled, with a deadline)
    status, answer = outcome(rpc, status, answer)
    assert status == 200 and answer["received"] == 1, answer
    (interaction,) = rpc.call("omnichannel.interaction", "search", [("channel_id", "=", channel)])
    retry_cron = rpc.ref("omnichannel_cc_social.ir_cron_social_retry")

    def reply(text):
        started = time.monotonic()
        message = rpc.call(
            "omnichannel.interaction",
            "message_post",
            [interaction],
            body=text,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        return message, time.monotonic() - started

    def reply_state(message):
        (values,) = rpc.call(
            "mail.message",
            "read",
            [message],
            fields=[
                "omnichannel_social_state",
                "omnichannel_social_attempts",
                "omnichannel_social_error",
            ],
        )
        return (
            values["omnichannel_social_state"],
            values["omnichannel_social_attempts"],
            values["omnichannel_social_error"] or "",
        )

    def sends(marker):
        return [c for c in wiremock.find("POST", sends_path) if marker in c["body"]]

    def age(message, seconds):
        """As if the last attempt had been ``seconds`` earlier."""
        cluster.sql(
            """UPDATE mail_message SET omnichannel_social_queued_at =
                      omnichannel_social_queued_at - make_interval(secs => %s) WHERE id = %s""",
            (seconds, message),
        )

    def run_retry_cron():
        started = time.monotonic()
        while True:
            try:
                rpc.call("ir.cron", "method_direct_trigger", [retry_cron])
                return time.monotonic() - started
            except xmlrpc.client.Fault as fault:
                # the cron worker runs it right now: run it once more after
                assert "currently being executed" in fault.faultString, fault.faultString
                assert time.monotonic() - started < 60
                time.sleep(0.5)

    # the platform answers 500: tried once after the commit, kept for a retry
    failing, took_500 = reply("FAIL-500 your order left today")
    assert took_500 < 8, took_500
    state, attempts, error = reply_state(failing)
    assert (state, attempts) == ("outgoing", 1) and "HTTP 500" in error, (state, attempts, error)
    assert len(sends("FAIL-500")) == 1
    # the delay passed: the cron tries again
    age(failing, 61)
    cron_runs = [run_retry_cron()]
    assert len(sends("FAIL-500")) == 2
    assert reply_state(failing)[:2] == ("outgoing", 2)
    # back-off: the next retry waits twice the delay
    age(failing, 61)
    cron_runs.append(run_retry_cron())
    assert len(sends("FAIL-500")) == 2, "retried before its back-off"
    age(failing, 60)
    cron_runs.append(run_retry_cron())
    assert len(sends("FAIL-500")) == 3
    # out of attempts: visibly failed, with the platform's answer, and no more tries
    state, attempts, error = reply_state(failing)
    assert (state, attempts) == ("failed", 3) and "HTTP 500" in error, (state, attempts, error)
    notes = rpc.call(
        "mail.message",
        "search_count",
        [
            ("model", "=", "omnichannel.interaction"),
            ("res_id", "=", interaction),
            ("body", "ilike", "Not delivered to the customer"),
        ],
    )
    assert notes == 1, notes
    age(failing, 3600)
    cron_runs.append(run_retry_cron())
    assert len(sends("FAIL-500")) == 3

    # the platform too slow: our timeout ends the call, the request answers;
    # the platform may have got the reply, so it is not sent again (never
    # twice) but shown failed at once
    slow, took_slow = reply("SLOW your order left today")
    assert took_slow < REQUEST_BOUND, took_slow
    state, attempts, error = reply_state(slow)
    assert (state, attempts) == ("failed", 1) and "in time" in error, (state, attempts, error)
    age(slow, 3600)
    cron_runs.append(run_retry_cron())
    assert len(sends("SLOW")) == 1
    assert max(cron_runs) < REQUEST_BOUND, cron_runs
    report(
        "social platform 500 / slow",
        {
            "500: sends": len(sends("FAIL-500")),
            "500: final state": "failed after 3 attempts",
            "reply request s": round(took_500, 2),
            "slow: sends": len(sends("SLOW")),
            "slow reply request s": round(took_slow, 1),
            "retry cron runs s": [round(t, 1) for t in cron_runs],
            "duplicates": 0,
            "lost": 0,
        },
    )
