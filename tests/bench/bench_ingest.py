"""Inbound events over HTTP: PBX events per second through the VoIP webhook
(/omnichannel/voip/<token>/event and /route) and contacts per second through
``omnichannel.interaction.api_inbound`` (XML-RPC), against a stock Odoo JSON
route that does almost nothing, on the same multi-worker server.

``/event`` is fire-and-forget: it stores the event in the event inbox and
answers; the inbox's cron applies it. Measured apart: the receipt rate with
the applier paused (target: 70 % of the bare route), the applier draining
that backlog in batches (events applied per second, target 100), and a
paced phase with both at once, events sent at ``--paced-rate`` (50 / s, a
rate the applier follows): the delay from receipt to applied, p50 / p95, from
the rows' own stamps, is the pipeline's (trigger, claim, apply, commit), not
a backlog's.

The baseline is ``/web/webclient/version_info`` of the stock ``web`` addon
(type=json, auth=none: a JSON-RPC round trip through the database-bound
request stack, no ORM work). No test route is added to the product.

    python3 tests/bench/bench_ingest.py --workers 4 --clients 8 --seconds 20
    python3 tests/bench/bench_ingest.py --quick            # smoke run
"""

import cProfile
import hashlib
import hmac
import http.client
import io
import itertools
import json
import os
import pstats
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client
from collections import Counter
from datetime import datetime
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env

ADDONS = ("omnichannel_cc", "omnichannel_cc_voip")
DB_HOST = "127.0.0.1"
HOST = "127.0.0.1"
BARE_ROUTE = "/web/webclient/version_info"
# share of the bare route's rate each measure must reach
TARGETS = {
    "voip /event ringing+answered+hangup": 0.70,
    "voip /event duplicates re-posted": 0.70,
    "voip /route": 0.50,
    "api_inbound over XML-RPC": 0.50,
}
# events the inbox's cron must apply per second, in batches
APPLY_TARGET = 100.0
INBOX_CRON = "omnichannel_cc.ir_cron_event_inbox"
ADMIN = ("admin", "admin")
API_LOGIN = "bench-ingest-api"
API_PASSWORD = "bench-ingest-api-password"
QUEUE_NAME = "Bench ingest"
DID = "+48221000300"
EXTENSION_BASE = 80000
FRESH_SECONDS = 280  # the webhook refuses timestamps more than 300 s off


# ----------------------------------------------------------------------
# Database and server
# ----------------------------------------------------------------------
def odoo_command():
    """The ``odoo`` console script (never ``python -m odoo``, see ODOO18.md)."""
    script = Path(sys.executable).parent / "odoo"
    if script.is_file():
        return [str(script)]
    found = shutil.which("odoo")
    if found:
        return [found]
    import odoo  # only to locate odoo-bin

    return [sys.executable, str(Path(odoo.__file__).resolve().parents[1] / "odoo-bin")]


def sql_value(db, query):
    out = subprocess.run(
        ["psql", "-h", DB_HOST, "-d", db, "-Atc", query],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()


# the tables every call writes: what autovacuum keeps lean on a live server
CHURN_TABLES = (
    "omnichannel_interaction",
    "omnichannel_offer",
    "omnichannel_agent",
    "omnichannel_agent_state_log",
    "omnichannel_event_inbox",
    "omnichannel_event_key",
    "ir_cron_trigger",
    "bus_bus",
)


def vacuum(db):
    """VACUUM ANALYZE the tables each call writes, before a measured phase:
    the state autovacuum keeps them in on a server that runs it. Some
    machines run PostgreSQL without autovacuum (this one's CI does); there,
    run after run, every index scan of these tables would wade through the
    row versions of all the earlier runs' calls, and the figures would
    measure the machine's settings instead of the code."""
    conn = psycopg2.connect(host=DB_HOST, dbname=db)
    try:
        conn.autocommit = True
        with conn.cursor() as cr:
            for table in CHURN_TABLES:
                cr.execute(f"VACUUM ANALYZE {table}")
    finally:
        conn.close()


def autovacuum_note():
    """The server's autovacuum setting, for the benchmarks' report."""
    setting = sql_value("postgres", "SHOW autovacuum")
    return f"PostgreSQL autovacuum: {setting} (the tables are vacuumed before each phase)"


def ensure_db(args, command, env, addons=ADDONS):
    """A database with ``addons`` installed (no demo data), reused when it has them."""
    if args.reset and _env.db_exists(args.db):
        subprocess.run(["dropdb", "-h", DB_HOST, args.db], check=True)
    if _env.db_exists(args.db):
        installed = sql_value(
            args.db,
            "SELECT count(*) FROM ir_module_module WHERE state = 'installed' "
            f"AND name IN ({', '.join(repr(a) for a in addons)})",
        )
        if installed == str(len(addons)):
            print(f"reusing database {args.db} (--reset to recreate it)", flush=True)
            return
    print(f"installing {', '.join(addons)} into {args.db} (no demo data)...", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [
            *command,
            "-d",
            args.db,
            f"--addons-path={_env.REPO}",
            f"--db_host={DB_HOST}",
            "-i",
            ",".join(addons),
            "--without-demo=all",
            "--stop-after-init",
            "--no-http",
            "--log-level=warn",
        ],
        env=env,
        check=True,
    )
    print(f"  installed in {time.perf_counter() - started:.0f} s", flush=True)


def cache_signaling(db):
    """Sum of Odoo's cache signaling sequences: grows when a request clears
    the registry caches of every worker."""
    value = sql_value(
        db,
        "SELECT coalesce(sum(last_value), 0) FROM pg_sequences "
        "WHERE sequencename LIKE 'base_%signaling%'",
    )
    return int(value or 0)


def free_port(start, avoid=()):
    for port in range(start, start + 100):
        if port in avoid:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {start}-{start + 99}")


def post_json(port, path, payload, timeout=10):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("POST", path, json.dumps(payload), {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def start_server(args, command, env, log_path, addons_path=None, cron_threads=1):
    """An Odoo server on ``args.db`` with this repository's addons (or those
    of ``addons_path``) and ``cron_threads`` cron workers, returned once its
    bare route answers."""
    http_port = free_port(args.port)
    gevent_port = free_port(http_port + 1, avoid={http_port})
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            *command,
            "-d",
            args.db,
            f"--addons-path={addons_path or _env.REPO}",
            f"--db_host={DB_HOST}",
            f"--workers={args.workers}",
            # one cron thread by default: the event inbox's applier (paused
            # while the receipt alone is measured)
            f"--max-cron-threads={cron_threads}",
            f"--http-port={http_port}",
            f"--gevent-port={gevent_port}",
            f"--http-interface={HOST}",
            # -d alone, as setup/run and docs/deploy.md: with --db-filter Odoo
            # lists the databases on a new PostgreSQL connection for every
            # request without a session (webhooks, XML-RPC), ~6 ms each here
            "--without-demo=all",
            f"--log-level={args.log_level}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while True:
        if process.poll() is not None:
            raise SystemExit(f"the Odoo server exited with {process.returncode}, see {log_path}")
        try:
            status, _body = post_json(http_port, BARE_ROUTE, rpc_body(0))
            if status == 200:
                return process, http_port
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_server(process)
            raise SystemExit(f"the Odoo server did not answer in 300 s, see {log_path}")
        time.sleep(0.5)


def stop_server(process):
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


# ----------------------------------------------------------------------
# Contact center set-up (XML-RPC as admin) and clean-up between phases
# ----------------------------------------------------------------------
class Rpc:
    def __init__(self, port, db, login, password):
        self.url = f"http://{HOST}:{port}"
        self.db = db
        self.password = password
        common = xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/common")
        self.uid = common.authenticate(db, login, password, {})
        if not self.uid:
            raise SystemExit(f"cannot log in to {db} as {login}")
        self.proxy = xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/object", allow_none=True)

    def __call__(self, model, method, *args, **kwargs):
        return self.proxy.execute_kw(
            self.db, self.uid, self.password, model, method, list(args), kwargs
        )

    def ref(self, xmlid):
        module, name = xmlid.split(".")
        rows = self(
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", name)],
            fields=["res_id"],
        )
        return rows[0]["res_id"]


def setup_center(rpc, agents):
    """A phone channel, its queue (no wrap-up time) and ``agents`` users with
    extensions, members of the queue and available; an integration user in
    the manager group for api_inbound. Reused on the next run."""
    rpc("res.company", "write", [rpc.ref("base.main_company")], {"country_id": rpc.ref("base.pl")})
    queue_ids = rpc("omnichannel.queue", "search", [("name", "=", QUEUE_NAME)])
    queue = queue_ids[0] if queue_ids else rpc("omnichannel.queue", "create", {"name": QUEUE_NAME})
    rpc("omnichannel.queue", "write", [queue], {"wrapup_seconds": 0, "ring_timeout": 600})
    agent_group = rpc.ref("omnichannel_cc.group_omnichannel_agent")
    users = rpc(
        "res.users",
        "search_read",
        [("login", "=like", "bench-ingest-agent-%")],
        fields=["login", "omnichannel_extension"],
    )
    have = {u["login"] for u in users}
    missing = [
        {
            "name": f"Bench ingest agent {i}",
            "login": f"bench-ingest-agent-{i}",
            "groups_id": [(6, 0, [agent_group])],
            "omnichannel_extension": str(EXTENSION_BASE + i),
        }
        for i in range(agents)
        if f"bench-ingest-agent-{i}" not in have
    ]
    if missing:
        rpc("res.users", "create", missing)
    users = rpc(
        "res.users",
        "search_read",
        [("login", "in", [f"bench-ingest-agent-{i}" for i in range(agents)])],
        fields=["omnichannel_extension"],
        order="id",
    )
    user_ids = [u["id"] for u in users]
    rpc("omnichannel.queue", "write", [queue], {"member_ids": [(6, 0, user_ids)]})
    known = {
        a["user_id"][0]
        for a in rpc(
            "omnichannel.agent", "search_read", [("user_id", "in", user_ids)], fields=["user_id"]
        )
    }
    new = [{"user_id": uid, "capacity_voice": 1} for uid in user_ids if uid not in known]
    if new:
        rpc("omnichannel.agent", "create", new)
    channel_ids = rpc(
        "omnichannel.channel", "search", [("channel_type", "=", "phone"), ("address", "=", DID)]
    )
    channel = channel_ids[0] if channel_ids else None
    if not channel:
        channel = rpc(
            "omnichannel.channel",
            "create",
            {
                "name": "Bench ingest line",
                "channel_type": "phone",
                "address": DID,
                "queue_id": queue,
            },
        )
    rpc("omnichannel.channel", "write", [channel], {"queue_id": queue})
    [creds] = rpc("omnichannel.channel", "read", [channel], fields=["voip_token", "voip_secret"])
    if not rpc("res.users", "search", [("login", "=", API_LOGIN)]):
        rpc(
            "res.users",
            "create",
            {
                "name": "Bench ingest integration",
                "login": API_LOGIN,
                "password": API_PASSWORD,
                "groups_id": [(6, 0, [rpc.ref("omnichannel_cc.group_omnichannel_manager")])],
            },
        )
    return {
        "queue": queue,
        "channel": channel,
        "token": creds["voip_token"],
        "secret": creds["voip_secret"],
        "extensions": [u["omnichannel_extension"] for u in users],
        "user_ids": user_ids,
    }


class EnvRpc:
    """``Rpc`` in-process: the same calls on an environment (superuser), so
    ``setup_center`` and ``clean_queue`` serve the profile without a server."""

    RECORD_METHODS = {"read", "write", "unlink", "action_set_state"}

    def __init__(self, env):
        self.env = env

    def __call__(self, model, method, *args, **kwargs):
        records = self.env[model]
        if method in self.RECORD_METHODS:
            records, args = records.browse(args[0]), args[1:]
        result = getattr(records, method)(*args, **kwargs)
        if method == "create":
            return result.id if isinstance(args[0], dict) else result.ids
        return result.ids if method == "search" else result

    def ref(self, xmlid):
        return self.env.ref(xmlid).id


def profile_apply(args):
    """``--profile-apply N``: no server. N calls (ringing, answered, hangup:
    3N events) stored in the inbox as the webhook stores them, then applied
    in batches in-process under cProfile: events per second of CPU, SQL
    queries per event, the slowest functions (what the applier spends)."""
    from odoo import SUPERUSER_ID

    with _env.environment(args.db) as env:
        env = env(user=SUPERUSER_ID, su=True)
        rpc = EnvRpc(env)
        center = setup_center(rpc, args.agents)
        env.cr.commit()
        clean_queue(args.db, rpc, center)
        env.cr.commit()
        channel = env["omnichannel.channel"].browse(center["channel"])
        Inbox = env["omnichannel.event.inbox"]
        from odoo.addons.omnichannel_cc_voip.tools import cti

        prefix = f"prof{int(time.time())}-"
        extensions = center["extensions"]
        # --profile-clients K: K calls at a time, their events interleaved
        # (K ringing, then K answered, then K hang-ups), as K clients post them
        group = max(args.profile_clients, 1)
        order = []
        for first in range(0, args.profile_apply, group):
            calls = range(first, min(first + group, args.profile_apply))
            for step in ("ringing", "answered", "hangup"):
                order.extend((n, step) for n in calls)
        for n, event in order:
            call_id = f"{prefix}{n}"
            agent = extensions[n % len(extensions)] if event == "answered" else None
            payload = {"event": event, "call_id": call_id, "from": caller_number(1, n)}
            payload.update(to=DID, timestamp=int(time.time()))
            if agent:
                payload["agent"] = agent
            values = cti.parse_event(payload)
            Inbox._receive(
                channel,
                "_voip_event",
                f"voip:{channel.id}",
                cti.event_key(values),
                call_id,
                values,
            )
        env.cr.commit()
        events = 3 * args.profile_apply
        queries = env.cr.sql_log_count
        profiler, clock = cProfile.Profile(), _env.QueryClock()
        started = time.process_time()
        applied = 0
        with clock.installed():
            while True:
                clock.on = True
                profiler.enable()
                done, claimed = Inbox._apply_batch()
                profiler.disable()
                clock.on = False
                env.cr.commit()
                applied += done
                if not claimed:
                    break
        cpu = time.process_time() - started
        queries = env.cr.sql_log_count - queries
    clock.report(applied, "applied event")
    print(
        f"applied {applied:,} of {events:,} events: {cpu:.2f} s CPU of this process "
        f"({applied / cpu:,.0f} events per CPU second, PostgreSQL's time not included), "
        f"{queries / max(applied, 1):.1f} SQL queries per event"
    )
    out = io.StringIO()
    if args.profile_out:
        profiler.dump_stats(args.profile_out)
        print(f"profile written to {args.profile_out} (python3 -m pstats {args.profile_out})")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(50)
    # where the time is spent itself (the cumulative view repeats the callers)
    stats.sort_stats("tottime").print_stats(30)
    print(out.getvalue())


def only_inbox_cron(db):
    """Of the database's crons only the event inbox's applier runs: the
    server has a cron thread for it, and no sweep (presence, ACD, watchdog)
    may change the measured state behind the load's back."""
    module, name = INBOX_CRON.split(".")
    with psycopg2.connect(host=DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        cr.execute(
            """UPDATE ir_cron SET active = (id = (
                      SELECT res_id FROM ir_model_data WHERE module = %s AND name = %s))""",
            [module, name],
        )
    conn.close()


def set_inbox_cron(db, active):
    """Pause or resume the inbox's applier; resuming wakes the cron thread
    (as ir.cron._trigger does after its commit)."""
    module, name = INBOX_CRON.split(".")
    with psycopg2.connect(host=DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        cr.execute(
            """UPDATE ir_cron SET active = %s, nextcall = now() AT TIME ZONE 'UTC'
                WHERE id = (SELECT res_id FROM ir_model_data WHERE module = %s AND name = %s)""",
            [active, module, name],
        )
    conn.close()
    if active:
        wake_crons(db)


def wake_crons(db):
    """Wake the cron workers of ``db`` (as ir.cron._trigger does after its commit)."""
    with psycopg2.connect(host=DB_HOST, dbname="postgres") as conn, conn.cursor() as cr:
        cr.execute("SELECT pg_notify('cron_trigger', %s)", [db])
    conn.close()


def inbox_rows(db, prefix, kind="_voip_event"):
    """(pending or retrying, done, dead) inbox rows of this run's calls."""
    with psycopg2.connect(host=DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        cr.execute(
            """SELECT count(*) FILTER (WHERE state IN ('pending', 'failed')),
                      count(*) FILTER (WHERE state = 'done'),
                      count(*) FILTER (WHERE state = 'dead')
                 FROM omnichannel_event_inbox
                WHERE kind = %s AND starts_with(conversation, %s)""",
            [kind, prefix],
        )
        row = cr.fetchone()
    conn.close()
    return row


def wait_applied(db, prefix, timeout, kind="_voip_event"):
    """Wait (polling, with a deadline) until no inbox row of ``prefix`` is
    left to apply; the rows still waiting (0 when all were applied)."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = inbox_rows(db, prefix, kind)[0]
        if not waiting or time.monotonic() > deadline:
            return waiting
        time.sleep(0.2)


def apply_figures(db, prefix, kind="_voip_event"):
    """Of the applied rows of ``prefix``: count, applied per second (first
    to last applied), receipt-to-applied delay p50 / p95 / max in ms."""
    with psycopg2.connect(host=DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        cr.execute(
            """SELECT count(*),
                      extract(epoch FROM max(applied_at) - min(applied_at)),
                      percentile_cont(0.5) WITHIN GROUP (
                          ORDER BY extract(epoch FROM applied_at - received_at)),
                      percentile_cont(0.95) WITHIN GROUP (
                          ORDER BY extract(epoch FROM applied_at - received_at)),
                      extract(epoch FROM max(applied_at - received_at))
                 FROM omnichannel_event_inbox
                WHERE kind = %s AND state = 'done'
                  AND starts_with(conversation, %s)""",
            [kind, prefix],
        )
        count, span, p50, p95, slowest = cr.fetchone()
    conn.close()
    span = float(span or 0)
    return {
        "count": count,
        "rate": count / span if span else 0.0,
        "p50": float(p50 or 0) * 1000,
        "p95": float(p95 or 0) * 1000,
        "max": float(slowest or 0) * 1000,
    }


def clean_queue(db, rpc, center, channels=()):
    """Start a phase with an empty queue and every agent available: calls
    (and the contacts of the other ``channels``, ids) left waiting by earlier
    phases or runs are closed directly in SQL, then the tables vacuumed
    (``vacuum``)."""
    channel_ids = (center["channel"], *channels)
    with psycopg2.connect(host=DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        cr.execute(
            """UPDATE omnichannel_offer SET state = 'cancelled',
                      date_response = now() AT TIME ZONE 'UTC'
                WHERE state = 'pending' AND interaction_id IN (
                      SELECT id FROM omnichannel_interaction WHERE channel_id = ANY(%s))""",
            [list(channel_ids)],
        )
        cr.execute(
            """UPDATE omnichannel_interaction
                  SET state = CASE WHEN state = 'active' THEN 'wrapup' ELSE 'abandoned' END,
                      date_ended = now() AT TIME ZONE 'UTC'
                WHERE channel_id = ANY(%s) AND state IN ('new', 'queued', 'offered', 'active')""",
            [list(channel_ids)],
        )
    conn.close()
    agent_ids = rpc("omnichannel.agent", "search", [("user_id", "in", center["user_ids"])])
    rpc("omnichannel.agent", "action_set_state", agent_ids, "available")
    vacuum(db)


# ----------------------------------------------------------------------
# Load generation
# ----------------------------------------------------------------------
def rpc_body(ident):
    return {"jsonrpc": "2.0", "method": "call", "params": {}, "id": ident}


def hmac_header(secret, body):
    """What a PBX sends: HMAC-SHA256 of the raw body (written independently
    of the addon's own tools/signature.py, as a PBX integrator would)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def caller_number(thread, n):
    return f"+48601{(thread * 100_003 + n) % 1_000_000:06d}"


class Recorder:
    """One client thread's answers: latencies per kind, statuses, oddities."""

    def __init__(self):
        self.latencies = {}
        self.statuses = Counter()
        self.errors = Counter()
        self.bad = Counter()

    def add(self, kind, ms, status):
        self.sample(kind, ms)
        self.statuses[status] += 1

    def sample(self, kind, ms):
        self.latencies.setdefault(kind, []).append(ms)

    def merge(self, other):
        for kind, samples in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(samples)
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        self.bad.update(other.bad)

    def all_samples(self):
        return [ms for samples in self.latencies.values() for ms in samples]

    def non_200(self):
        return sum(n for status, n in self.statuses.items() if status != 200)


class Client:
    """One http.client connection per thread; it reconnects by itself when
    the server closes the connection after an answer."""

    closes_after_answer = None

    def __init__(self, port):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)

    def post(self, rec, kind, path, body, headers):
        t0 = time.perf_counter()
        try:
            self.conn.request("POST", path, body, headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.conn.close()
            rec.errors[type(error).__name__] += 1
            rec.add(kind, (time.perf_counter() - t0) * 1000, "transport error")
            return None, None
        if Client.closes_after_answer is None:
            Client.closes_after_answer = f"HTTP/{response.version / 10:.1f}, " + (
                "server closes the connection after each answer"
                if response.will_close
                else "keep-alive honoured"
            )
        rec.add(kind, (time.perf_counter() - t0) * 1000, response.status)
        return response.status, data


def run_phase(clients, seconds, task):
    """Run ``task(index, deadline, recorder)`` in ``clients`` threads."""
    recorders = [Recorder() for _ in range(clients)]
    started = time.perf_counter()
    deadline = started + seconds
    threads = [
        threading.Thread(target=task, args=(i, deadline, recorders[i]), daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = Recorder()
    for rec in recorders:
        total.merge(rec)
    return total, elapsed


class Load:
    """The five kinds of load, sharing the server and the contact center."""

    def __init__(self, args, port, center, run):
        self.args = args
        self.port = port
        self.center = center
        self.prefix = f"bi{run}-"
        self.event_path = f"/omnichannel/voip/{center['token']}/event"
        self.route_path = f"/omnichannel/voip/{center['token']}/route"
        self.calls, self.routed, self.contacts = [], [], []
        self.applied = []  # (timestamp, body, signature) of events answered 200
        # calls of the phase with the applier paused ("b": backlog) or on ("s": steady)
        self.stage = "b"
        # seconds between two events of one client (None: as fast as answered)
        self.pace = None
        self.lock = threading.Lock()
        self.serial = itertools.count()

    def signed(self, payload):
        body = json.dumps(payload).encode()
        return body, {
            "Content-Type": "application/json",
            "X-Omnichannel-Signature": hmac_header(self.center["secret"], body),
        }

    def bare(self, index, deadline, rec):
        client = Client(self.port)
        headers = {"Content-Type": "application/json"}
        while time.perf_counter() < deadline:
            body = json.dumps(rpc_body(next(self.serial)))
            status, data = client.post(rec, "bare", BARE_ROUTE, body, headers)
            if status == 200 and "result" not in json.loads(data):
                rec.bad["JSON-RPC error"] += 1

    def lifecycle(self, index, deadline, rec):
        client = Client(self.port)
        extensions = self.center["extensions"]
        mine = extensions[index :: self.args.clients] or extensions
        n = 0
        # paced: the clients' events spread evenly (client i starts i/clients of a step late)
        next_at = time.perf_counter() + (self.pace or 0) * index / self.args.clients
        while time.perf_counter() < deadline:
            call_id = f"{self.prefix}ev{self.stage}-{next(self.serial)}"
            with self.lock:
                self.calls.append(call_id)
            t0 = time.perf_counter()
            steps = (("ringing", None), ("answered", mine[n % len(mine)]), ("hangup", None))
            for event, agent in steps:
                payload = {
                    "event": event,
                    "call_id": call_id,
                    "from": caller_number(index, n),
                    "to": DID,
                    "timestamp": int(time.time()),
                }
                if agent:
                    payload["agent"] = agent
                if self.pace:
                    # a PBX's own rhythm, not a measurement: wait for this event's turn
                    time.sleep(max(next_at - time.perf_counter(), 0))
                    next_at += self.pace
                    payload["timestamp"] = int(time.time())
                self.post_event(client, rec, payload)
            rec.sample("call", (time.perf_counter() - t0) * 1000)
            n += 1

    def post_event(self, client, rec, payload):
        """Post one new PBX event, signed, to ``/event``: answered 200 as
        no duplicate, it is kept for the checks (``applied``)."""
        body, headers = self.signed(payload)
        status, data = client.post(rec, payload["event"], self.event_path, body, headers)
        if status != 200:
            return
        if json.loads(data).get("duplicate") is not False:
            rec.bad["first event answered as duplicate"] += 1
        with self.lock:
            self.applied.append((payload["timestamp"], body, headers))

    def post_route(self, client, rec, call_id, number):
        """Ask ``/route`` (signed) where a new call from ``number`` goes:
        ``(status, body)`` of the answer."""
        body, headers = self.signed(
            {"call_id": call_id, "from": number, "to": DID, "timestamp": int(time.time())}
        )
        return client.post(rec, "route", self.route_path, body, headers)

    def duplicates(self, index, deadline, rec):
        client = Client(self.port)
        horizon = time.time() - FRESH_SECONDS + self.args.seconds
        fresh = [item for item in self.applied if item[0] >= horizon]
        if not fresh:
            rec.bad["no fresh event to re-post"] += 1
            return
        while time.perf_counter() < deadline:
            _ts, body, headers = fresh[next(self.serial) % len(fresh)]
            status, data = client.post(rec, "duplicate", self.event_path, body, headers)
            if status == 200 and json.loads(data).get("duplicate") is not True:
                rec.bad["re-posted event applied again"] += 1

    def route(self, index, deadline, rec):
        client = Client(self.port)
        n = 0
        while time.perf_counter() < deadline:
            call_id = f"{self.prefix}rt-{next(self.serial)}"
            with self.lock:
                self.routed.append(call_id)
            status, data = self.post_route(client, rec, call_id, caller_number(index + 50, n))
            if status == 200 and not json.loads(data).get("interaction_id"):
                rec.bad["route answer without interaction_id"] += 1
            n += 1

    def api_inbound(self, index, deadline, rec):
        rpc = xmlrpc.client.ServerProxy(f"http://{HOST}:{self.port}/xmlrpc/2/object")
        uid = self.center["api_uid"]
        n = 0
        while time.perf_counter() < deadline:
            external_id = f"{self.prefix}api-{next(self.serial)}"
            with self.lock:
                self.contacts.append(external_id)
            payload = {
                "channel_type": "phone",
                "channel_id": self.center["channel"],
                "from": caller_number(index + 100, n),
                "external_id": external_id,
            }
            t0 = time.perf_counter()
            try:
                result = rpc.execute_kw(
                    self.args.db,
                    uid,
                    API_PASSWORD,
                    "omnichannel.interaction",
                    "api_inbound",
                    [payload],
                )
                status = 200
                if not result.get("interaction_id"):
                    rec.bad["api_inbound without interaction_id"] += 1
            except xmlrpc.client.Fault as fault:
                status = 200
                rec.bad[f"XML-RPC fault: {fault.faultString.splitlines()[-1][:80]}"] += 1
            except xmlrpc.client.ProtocolError as error:
                status = error.errcode
            except (OSError, http.client.HTTPException) as error:
                status = "transport error"
                rec.errors[type(error).__name__] += 1
            rec.add("api_inbound", (time.perf_counter() - t0) * 1000, status)
            n += 1


# ----------------------------------------------------------------------
# Where the CPU went (from /proc) and what the server logged, per phase
# ----------------------------------------------------------------------
TICK = os.sysconf("SC_CLK_TCK")


def snapshot(server_pid, db, log_path):
    """CPU ticks per process, sorted into Odoo's process group, the postgres
    backends of ``db``, this client and the rest; the machine's busy ticks;
    the server log's length."""
    procs, ours = {}, set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2 :].split()
            kind = "other"
            if int(fields[2]) == server_pid:
                kind = "odoo"
            elif int(entry.name) == os.getpid():
                kind = "client"
            elif comm == "postgres":
                cmdline = Path(entry.path, "cmdline").read_bytes().decode(errors="replace")
                kind = "pg" if f" {db} " in cmdline else "other"
        except (OSError, ValueError, IndexError):
            continue
        procs[int(entry.name)] = (kind, int(fields[11]) + int(fields[12]))
        if kind != "other":
            ours.add(int(entry.name))
    cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return {"procs": procs, "busy": sum(cpu) - cpu[3] - cpu[4], "log": log_path.stat().st_size}


def cpu_used(before, after):
    """Ticks used between two snapshots: per kind of process, by the whole
    machine, and by no process at all (kernel work: network, scheduling)."""
    used = {"odoo": 0, "pg": 0, "client": 0, "other": 0}
    for pid, (kind, ticks) in after["procs"].items():
        used[kind] += ticks - before["procs"].get(pid, (kind, 0))[1]
    used["busy"] = after["busy"] - before["busy"]
    used["kernel"] = max(used["busy"] - sum(used[k] for k in ("odoo", "pg", "client", "other")), 0)
    return used


def server_log_counts(log_path, start, end):
    """Serialization-failure retries and refused PBX requests the server logged."""
    with log_path.open("rb") as log:
        log.seek(start)
        text = log.read(end - start).decode(errors="replace")
    return text.count("SERIALIZATION_FAILURE"), text.count("PBX request refused")


# ----------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------
def machine():
    mem = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"{os.cpu_count()} cores, {mem}, load average {load}, Python {sys.version.split()[0]}"


EVENT_KINDS = ("ringing", "answered", "hangup")


def measure(label, unit, phase, kinds=None, summary=True):
    """One table row's figures; ``kinds`` restricts the latency samples,
    ``summary`` rows carry CPU, the ratio to the bare route and the errors."""
    rec, elapsed = phase["rec"], phase["elapsed"]
    samples = (
        [ms for kind in kinds for ms in rec.latencies.get(kind, [])] if kinds else rec.all_samples()
    )
    stats = _env.percentiles(samples) if samples else {"p50": 0, "p95": 0}
    return {
        "label": label,
        "unit": unit,
        "count": len(samples),
        "rate": len(samples) / elapsed if elapsed else 0,
        "p50": stats["p50"],
        "p95": stats["p95"],
        "phase": phase,
        "summary": summary,
    }


def row(m, baseline, target=None):
    cpu = machine_cpu = others = retries = ratio = verdict = errors = ""
    phase = m["phase"]
    if m["summary"]:
        used, seconds = phase["used"], phase["elapsed"]
        if m["count"]:

            def per_request(ticks):
                return f"{ticks * 1000 / TICK / m['count']:.1f}"

            cpu = f"{per_request(used['odoo'])} + {per_request(used['pg'])}"
            machine_cpu = f"{per_request(used['busy'])} ({per_request(used['kernel'])})"
        others = f"{used['other'] / TICK / seconds:.2f}"
        retries = f"{phase['retries']} / {phase['refused']}"
        share = m["rate"] / baseline if baseline else 0
        ratio = f"{share:.0%}"
        if target:
            verdict = f"{'met' if share >= target else 'NOT met'} (>= {target:.0%})"
        errors = f"{phase['rec'].non_200()} / {sum(phase['rec'].bad.values())}"
    return [
        m["label"],
        f"{m['count']:,}",
        f"{m['rate']:,.1f} {m['unit']}/s",
        f"{m['p50']:.1f}",
        f"{m['p95']:.1f}",
        cpu,
        machine_cpu,
        others,
        retries,
        ratio,
        verdict,
        errors,
    ]


HEADERS = [
    "measure",
    "count",
    "rate",
    "p50 ms",
    "p95 ms",
    "CPU ms odoo+pg",
    "box ms (kernel)",
    "others",
    "retries / refused",
    "vs bare",
    "target",
    "non-200 / bad",
]


def verify(db, center, load, results):
    prefix = load.prefix
    with psycopg2.connect(host=DB_HOST, dbname=db) as conn, conn.cursor() as cr:

        def one(query, *params):
            cr.execute(query, params)
            return cr.fetchone()

        def created(kind):
            return one(
                """SELECT count(*), count(DISTINCT external_id) FROM omnichannel_interaction
                    WHERE channel_id = %s AND starts_with(external_id, %s)""",
                center["channel"],
                f"{prefix}{kind}",
            )

        ev, rt, api = created("ev"), created("rt"), created("api")
        cr.execute(
            """SELECT external_id, state, voip_call_state FROM omnichannel_interaction
                WHERE channel_id = %s AND starts_with(external_id, %s)
                  AND (state NOT IN ('wrapup', 'done', 'abandoned')
                       OR voip_call_state IS DISTINCT FROM 'ended')
                ORDER BY id""",
            (center["channel"], f"{prefix}ev"),
        )
        unended = cr.fetchall()
        not_ended = len(unended)
        (keys,) = one(
            "SELECT count(*) FROM omnichannel_event_key WHERE scope = %s AND starts_with(key, %s)",
            f"voip:{center['channel']}",
            f"{prefix}ev",
        )
        (doubled,) = one(
            """SELECT count(*) FROM (SELECT external_id FROM omnichannel_interaction
                WHERE channel_id = %s GROUP BY external_id HAVING count(*) > 1) d""",
            center["channel"],
        )
    conn.close()
    calls, routed, contacts = len(load.calls), len(load.routed), len(load.contacts)
    events_ok = len(load.applied)
    waiting, done, dead = inbox_rows(db, f"{prefix}ev")
    lines = [
        (
            f"voip lifecycles: calls made {calls:,}, interactions {ev[0]:,} "
            f"({ev[1]:,} distinct call ids), not ended (wrap-up, done or abandoned) {not_ended}, "
            f"event keys {keys:,} for {events_ok:,} events answered 200"
        ),
        *(
            f"  not ended: call {call_id} is {state}, PBX state {pbx_state}"
            for call_id, state, pbx_state in unended[:5]
        ),
        f"voip /route: requests {routed:,}, interactions {rt[0]:,} ({rt[1]:,} distinct)",
        f"api_inbound: contacts {contacts:,}, interactions {api[0]:,} ({api[1]:,} distinct)",
        f"call ids with more than one interaction on the channel (all runs): {doubled}",
        (
            f"event inbox: {done:,} rows applied for {events_ok:,} events answered 200, "
            f"{waiting} still waiting, {dead} dead letters"
        ),
    ]
    ok = (
        ev[0] == ev[1] == calls
        and rt[0] == rt[1] == routed
        and api[0] == api[1] == contacts
        and not not_ended
        and keys == events_ok
        and not doubled
        and done == events_ok
        and not waiting
        and not dead
    )
    for name, result in results.items():
        rec = result["rec"]
        problems = {
            **{f"HTTP {s}": n for s, n in rec.statuses.items() if s != 200},
            **rec.errors,
            **rec.bad,
        }
        ok = ok and not problems
        detail = ", ".join(f"{k}: {v}" for k, v in problems.items()) or "none"
        lines.append(f"{name}: non-200 / errors: {detail}")
    return ok, lines


# ----------------------------------------------------------------------
def parse_args():
    p = _env.parser(__doc__, "bench_ingest")
    p.add_argument("--workers", type=int, default=4, help="Odoo HTTP workers")
    p.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase")
    p.add_argument("--warmup", type=float, default=5.0, help="unmeasured load before measuring")
    p.add_argument("--agents", type=int, default=24, help="agents with extensions")
    p.add_argument("--port", type=int, default=18300, help="first HTTP port to try")
    p.add_argument(
        "--log-level", default="info", help="server log level (info: retries are counted)"
    )
    p.add_argument(
        "--paced-rate",
        type=float,
        default=50.0,
        help="events per second of the paced phase (the applier follows: the delay is the "
        "pipeline's, not a backlog's)",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 3 s phases, 1 s warm-up")
    p.add_argument(
        "--profile-apply",
        type=int,
        default=0,
        metavar="N",
        help="no server: N calls (3N events) stored, then applied in-process under cProfile",
    )
    p.add_argument(
        "--profile-clients",
        type=int,
        default=1,
        metavar="K",
        help="with --profile-apply: K calls at a time, their events interleaved (default 1)",
    )
    p.add_argument(
        "--profile-out",
        metavar="FILE",
        help="with --profile-apply: also write the cProfile data to FILE (for pstats' callers)",
    )
    args = p.parse_args()
    if args.quick:
        args.seconds, args.warmup = 3.0, 1.0
    if args.seconds > FRESH_SECONDS / 2:
        p.error(f"--seconds above {FRESH_SECONDS // 2}: re-posted events would be stale")
    return args


def run_all(args, load, rpc, log_path):
    """Warm up, then the measured phases; each writing phase starts from an
    empty queue with every agent available."""
    results, rows = {}, []
    warm = min(args.warmup, 2.0)

    def phase(name, task, seconds=args.seconds, clean=False):
        if clean:
            clean_queue(args.db, rpc, load.center)
        print(f"  {name} ({seconds:g} s, {args.clients} clients)...", flush=True)
        before = snapshot(load.server_pid, args.db, log_path)
        rec, elapsed = run_phase(args.clients, seconds, task)
        after = snapshot(load.server_pid, args.db, log_path)
        retries, refused = server_log_counts(log_path, before["log"], after["log"])
        results[name] = result = {
            "rec": rec,
            "elapsed": elapsed,
            "used": cpu_used(before, after),
            "retries": retries,
            "refused": refused,
        }
        return result

    phase("warm-up: bare route", load.bare, args.warmup)
    rows.append(measure("bare JSON route (start)", "req", phase("bare JSON route", load.bare)))
    # the receipt alone: the inbox's applier paused, the events pile up
    set_inbox_cron(args.db, False)
    phase("warm-up: lifecycles", load.lifecycle, warm, clean=True)
    result = phase("voip /event lifecycles", load.lifecycle, clean=True)
    rows.append(measure("voip /event ringing+answered+hangup", "ev", result, EVENT_KINDS))
    for kind, label in (
        ("ringing", "  ringing (creates, routes)"),
        ("answered", "  answered (agent takes it)"),
        ("hangup", "  hangup (ends, frees agent)"),
        ("call", "  whole call (3 POSTs)"),
    ):
        unit = "calls" if kind == "call" else "ev"
        rows.append(measure(label, unit, result, kinds=[kind], summary=False))
    result = phase("voip /event duplicates", load.duplicates)
    rows.append(measure("voip /event duplicates re-posted", "ev", result))
    # the applier resumed: the backlog applied in batches
    backlog_prefix = f"{load.prefix}evb"
    backlog = inbox_rows(args.db, backlog_prefix)[0]
    print(f"  inbox applier: draining {backlog:,} events...", flush=True)
    vacuum(args.db)
    started = time.perf_counter()
    set_inbox_cron(args.db, True)
    left = wait_applied(args.db, backlog_prefix, timeout=max(300.0, backlog / 20))
    drain = dict(apply_figures(args.db, backlog_prefix), backlog=backlog, left=left)
    drain["wall"] = time.perf_counter() - started
    # receipt and applier at once, at a rate the applier follows: the delay
    # from receipt to applied is the pipeline's (trigger, claim, apply, commit)
    load.stage = "s"
    load.pace = args.clients / args.paced_rate
    result = phase(f"voip /event paced at {args.paced_rate:g} ev/s", load.lifecycle, clean=True)
    load.pace = None
    rows.append(measure("voip /event paced, applier on", "ev", result, EVENT_KINDS, summary=True))
    steady_prefix = f"{load.prefix}evs"
    left = wait_applied(args.db, steady_prefix, timeout=300.0)
    steady = dict(apply_figures(args.db, steady_prefix), left=left, rate_in=args.paced_rate)
    results["inbox"] = {"drain": drain, "steady": steady}
    phase("warm-up: /route", load.route, warm, clean=True)
    result = phase("voip /route", load.route, clean=True)
    rows.append(measure("voip /route", "req", result))
    phase("warm-up: api_inbound", load.api_inbound, warm, clean=True)
    result = phase("api_inbound (XML-RPC)", load.api_inbound, clean=True)
    rows.append(measure("api_inbound over XML-RPC", "contacts", result))
    result = phase("bare JSON route again", load.bare)
    rows.append(measure("bare JSON route (end)", "req", result))
    return results, rows


def main():
    args = parse_args()
    command = odoo_command()
    if args.profile_apply:
        ensure_db(args, command, dict(os.environ, TZ="UTC"))
        profile_apply(args)
        return
    scratch = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    (scratch / "odoo.conf").write_text("[options]\n")
    env = dict(os.environ, ODOO_RC=str(scratch / "odoo.conf"), TZ="UTC")
    started_at = datetime.now().astimezone()
    header = [
        f"command: python3 {shlex.join(sys.argv)}",
        f"date: {started_at:%Y-%m-%d %H:%M:%S %Z}",
        f"machine: {machine()}",
        autovacuum_note(),
    ]
    ensure_db(args, command, env)
    only_inbox_cron(args.db)
    log_path = scratch / "server.log"
    print(f"starting odoo --workers={args.workers} (log {log_path})...", flush=True)
    process, port = start_server(args, command, env, log_path)
    try:
        admin = Rpc(port, args.db, *ADMIN)
        center = setup_center(admin, args.agents)
        center["api_uid"] = Rpc(port, args.db, API_LOGIN, API_PASSWORD).uid
        load = Load(args, port, center, started_at.strftime("%Y%m%d%H%M%S"))
        load.server_pid = process.pid
        print(f"server on port {port}; {len(center['extensions'])} agents; measuring:", flush=True)
        signaling = cache_signaling(args.db)
        results, rows = run_all(args, load, admin, log_path)
        signaling = cache_signaling(args.db) - signaling
        inbox = results.pop("inbox")
        ok, lines = verify(args.db, center, load, results)
    finally:
        stop_server(process)
    ended_load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    baseline = (rows[0]["rate"] + rows[-1]["rate"]) / 2
    _env.table(
        f"Inbound ingestion over HTTP: odoo --workers={args.workers}, {args.clients} client "
        f"threads, {args.seconds:g} s per phase, database {args.db}",
        [row(m, baseline, TARGETS.get(m["label"])) for m in rows],
        HEADERS,
    )
    drain, steady = inbox["drain"], inbox["steady"]
    verdict = "met" if drain["rate"] >= APPLY_TARGET else "NOT met"
    print(
        f"\ninbox applier (one cron thread, batches of 200): {drain['count']:,} of "
        f"{drain['backlog']:,} queued events applied, {drain['rate']:,.1f} ev/s from first to "
        f"last applied ({verdict}: >= {APPLY_TARGET:g} ev/s), {drain['wall']:.1f} s wall "
        f"from resuming; left waiting: {drain['left']}"
    )
    print(
        f"receipt -> applied delay, events paced at {steady['rate_in']:g} ev/s with the applier "
        f"running: p50 {steady['p50']:,.0f} ms, p95 {steady['p95']:,.0f} ms over "
        f"{steady['count']:,} events ({steady['rate']:,.1f} ev/s applied); left waiting: "
        f"{steady['left']}"
    )
    print(
        "'voip /event' rows with the applier paused measure the receipt alone (signature, "
        "checks, one INSERT, 200); the backlog's delay is not a figure of interest."
    )
    print(f"load average at the end: {ended_load}")
    print(
        f"\nbaseline ({baseline:,.1f} req/s) = mean of the two bare runs: stock web "
        f"{BARE_ROUTE} (type=json, auth=none), no test route added to the product."
    )
    print(
        "CPU ms odoo+pg: CPU per request of Odoo's processes and of the PostgreSQL backends of "
        f"{args.db}.\nbox ms (kernel): all CPU the machine spent per request (the client, "
        "Odoo, PostgreSQL, the kernel), and the part no process accounts for (network, "
        "scheduling).\nothers: cores used by unrelated processes during the phase (a shared "
        "machine); well above 0 makes the phase unreliable.\nretries / refused: "
        "SERIALIZATION_FAILURE retries and 'PBX request refused' lines in the server log "
        "(needs --log-level info)."
    )
    print(
        f"/route and api_inbound: once all {len(center['extensions'])} agents hold an offer, "
        "further calls queue without one; the lifecycle row does the full ACD work per call."
    )
    print(f"connections: {Client.closes_after_answer}")
    print(f"registry cache invalidations during the measurement: {signaling}")
    for line in header:
        print(line)
    print(f"\nverification ({'all correct' if ok else 'PROBLEMS'}):")
    for line in lines:
        print(f"  {line}")
    print(f"server log: {log_path}")


if __name__ == "__main__":
    main()
