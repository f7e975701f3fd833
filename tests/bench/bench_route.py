"""PBX routing questions at scale: ``/omnichannel/voip/<token>/route`` on a
database of 1M partners / 2M invoices, against the bare route of the same
server in the same run, then what the ACD does with the routed calls.

Three measures, on one multi-worker server (two on the same database with
``--nodes 2`` for the second one):

1. ``/route`` latency, ONE client thread: new calls from known callers
   dialling in other notations ("0048 509 …", "(22) 555 …", dashes, a SIP
   URI), unknown callers, callers with an overdue balance (a routing rule
   sends them to collections) and callers with an open case (a rule prefers
   the case owner); each request is followed by one request of the bare
   route (``/web/webclient/version_info``), so both see the same load.
   Then the same on the line set to answer routing first
   (``voip_fast_route``: the agent reserved, the call written after the
   answer by the event inbox), with the delay from the answer to the call
   written (its inbox row applied).
2. enqueue-to-offer: ``/route`` answered with the agent the call is offered
   to (the ACD offers inside the request), with ``--agents`` agents
   available, ``--clients`` client threads, on one node and on two; both
   ways (written first, answered first).
3. agent turnover: accept + close of the offered call through XML-RPC as
   the agent, against two bare authenticated XML-RPC calls of the same
   agent (``res.users.check_access_rights`` and ``context_get``), same run,
   one client per node, after every agent's caches are warm on every worker;
   and the floor of any agent action beside them: two calls that each commit
   one field of the agent's own user.

The dataset is made once by ``generate.py`` (cached: a second run reuses the
database) and the telephony addon installed in it:

    python3 tests/bench/bench_route.py --db bench_route_1m --partners 1000000
    python3 tests/bench/bench_route.py --db bench_route_q --partners 20000 --quick

``--profile N``: no server; N routes of each kind in-process, with the SQL
queries counted per call and the slowest functions of cProfile (what a
worker spends on one ``/route``).
"""

import contextlib
import cProfile
import functools
import io
import json
import os
import pstats
import random
import shlex
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
from tests.bench import bench_ingest as ingest

DB_HOST = ingest.DB_HOST
HOST = ingest.HOST
BARE_ROUTE = ingest.BARE_ROUTE
COLLECTIONS_QUEUE = "Bench route collections"
RULE_COLLECTIONS = "Bench route: overdue balance to collections"
RULE_CASE_OWNER = "Bench route: open case to its owner"
AGENT_PASSWORD = "bench-route-agent"
TARGET_P95_MS = 20.0
TARGET_TURNOVER = 0.50
KINDS = ("known", "overdue", "open case", "unknown")
ROUTE_APPLY = "_voip_route_apply"  # the inbox rows of routes answered first
SAMPLE = 3000  # callers of each kind drawn from the database


# ----------------------------------------------------------------------
# Dataset
# ----------------------------------------------------------------------
def ensure_dataset(args, command, env):
    """The generated database (made once), with the telephony addon."""
    if args.reset and _env.db_exists(args.db):
        subprocess.run(["dropdb", "-h", DB_HOST, args.db], check=True)
    if not _env.db_exists(args.db):
        n = args.partners
        print(f"generating {args.db}: {n:,} partners, {2 * n:,} invoices...", flush=True)
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--generate",
                "--db",
                args.db,
                "--partners",
                str(n),
                "--invoices",
                str(2 * n),
                "--orders",
                str(max(n // 10, 10)),
                "--interactions",
                str(max(n // 5, 10)),
            ],
            env=env,
            check=True,
        )
    args.reset = False
    ingest.ensure_db(args, command, env)


def generate_fast(argv):
    """generate.py's dataset, loaded without PostgreSQL's per-row foreign-key
    checks (``session_replication_role = replica``, a superuser setting):
    the COPY of 4M invoice lines otherwise ends with ~28 foreign-key checks
    per row, which on a shared machine took longer than the rest of the
    load together. The generator's rows are consistent by construction."""
    from tests.bench import generate

    environment = _env.environment

    @contextlib.contextmanager
    def without_fk_checks(name):
        with environment(name) as env:
            env.cr.execute("SET session_replication_role = replica")
            yield env

    _env.environment = without_fk_checks
    sys.argv = [generate.__file__, *argv]
    generate.main()


# Polish numbers as callers dial them: national digits d (9 of them)
NOTATIONS = (
    lambda d: f"0048 {d[:3]} {d[3:6]} {d[6:]}",
    lambda d: f"({d[:2]}) {d[2:5]} {d[5:7]} {d[7:]}",
    lambda d: f"{d[:3]}-{d[3:6]}-{d[6:]}",
    lambda d: f"+48 {d[:2]} {d[2:5]} {d[5:7]} {d[7:]}",
    lambda d: f"sip:0048{d}@pbx.example.com",
    lambda d: f"{d[:3]} {d[3:6]} {d[6:]}",
)

OVERDUE_SQL = """
    SELECT DISTINCT line.partner_id
      FROM account_move_line line
      JOIN account_account account ON account.id = line.account_id
     WHERE account.account_type = 'asset_receivable' AND line.parent_state = 'posted'
       AND NOT line.reconciled AND line.date_maturity < current_date
"""


def sample_callers(db, seed=7):
    """E.164 numbers of each kind of caller, drawn once per run."""
    rng = random.Random(seed)
    with psycopg2.connect(host=DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        cr.execute(
            f"""SELECT p.phone_e164 FROM ({OVERDUE_SQL} LIMIT %s) o
                  JOIN res_partner p ON p.id = o.partner_id
                 WHERE p.phone_e164 LIKE '+48%%'""",
            [SAMPLE * 3],
        )
        overdue = [r[0] for r in cr.fetchall()]
        cr.execute(
            f"""SELECT DISTINCT p.phone_e164
                  FROM omnichannel_case c
                  JOIN res_partner p ON p.id = c.commercial_partner_id
                 WHERE c.is_open AND c.user_id IS NOT NULL AND p.phone_e164 LIKE '+48%%'
                   AND p.id NOT IN ({OVERDUE_SQL})
                 LIMIT %s""",
            [SAMPLE],
        )
        cases = [r[0] for r in cr.fetchall()]
        cr.execute(
            f"""SELECT p.phone_e164 FROM res_partner p TABLESAMPLE SYSTEM (5)
                 WHERE p.phone_e164 LIKE '+48%%' AND p.active
                   AND p.commercial_partner_id NOT IN ({OVERDUE_SQL})
                   AND NOT EXISTS (SELECT 1 FROM omnichannel_case c
                                    WHERE c.commercial_partner_id = p.commercial_partner_id
                                      AND c.is_open)
                 LIMIT %s""",
            [SAMPLE],
        )
        known = [r[0] for r in cr.fetchall()]
    conn.close()
    unknown = [f"+487{rng.randrange(10**8):08d}" for _ in range(SAMPLE)]
    callers = {"known": known, "overdue": overdue, "open case": cases, "unknown": unknown}
    for kind, numbers in callers.items():
        if not numbers:
            raise SystemExit(f"no caller of kind {kind!r} in {db}")
        rng.shuffle(numbers)
    return callers


def caller(callers, kind, n):
    """The n-th caller of a kind as the PBX passes it: another notation each time."""
    numbers = callers[kind]
    e164 = numbers[n % len(numbers)]
    return NOTATIONS[n % len(NOTATIONS)](e164[3:])


# ----------------------------------------------------------------------
# Contact center: bench_ingest's queue, channel and agents, plus a
# collections queue and two routing rules
# ----------------------------------------------------------------------
def setup_center(rpc, db, agents):
    center = ingest.setup_center(rpc, agents)
    found = rpc("omnichannel.queue", "search", [("name", "=", COLLECTIONS_QUEUE)])
    collections = (
        found[0] if found else rpc("omnichannel.queue", "create", {"name": COLLECTIONS_QUEUE})
    )
    rpc(
        "omnichannel.queue",
        "write",
        [collections],
        {"wrapup_seconds": 0, "ring_timeout": 600, "member_ids": [(6, 0, center["user_ids"])]},
    )
    rules = {
        RULE_COLLECTIONS: {
            "sequence": 1,
            "min_overdue_amount": 0.01,
            "queue_id": collections,
            "stop": True,
        },
        RULE_CASE_OWNER: {
            "sequence": 2,
            "require_open_case": True,
            "prefer": "case_owner",
            "preferred_timeout": 30,
            "stop": True,
        },
    }
    for name, values in rules.items():
        values = dict(values, name=name, channel_ids=[(6, 0, [center["channel"]])])
        found = rpc("omnichannel.routing.rule", "search", [("name", "=", name)])
        if found:
            rpc("omnichannel.routing.rule", "write", found, values)
        else:
            rpc("omnichannel.routing.rule", "create", values)
    center["collections"] = collections
    # the agents' password, hashed once with few rounds: logging in 200
    # agents on every worker must not cost 200 full key derivations
    from passlib.hash import pbkdf2_sha512

    hashed = pbkdf2_sha512.using(rounds=1000).hash(AGENT_PASSWORD)
    with psycopg2.connect(host=DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        cr.execute(
            "UPDATE res_users SET password = %s WHERE id = ANY(%s)", [hashed, center["user_ids"]]
        )
    conn.close()
    return center


def reset_center(db, center):
    """Every bench call ended, every agent available and seen now (SQL, not
    measured): the next phase starts with ``--agents`` free agents. The
    calls of routes answered first are written before (their inbox rows
    applied): none is offered after the reset."""
    left = ingest.wait_applied(db, "", timeout=120, kind=ROUTE_APPLY)
    if left:
        raise SystemExit(f"{left} routes answered first were not written in 120 s")
    with psycopg2.connect(host=DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        channel = center["channel"]
        cr.execute(
            """UPDATE omnichannel_offer SET state = 'cancelled',
                      date_response = now() AT TIME ZONE 'UTC'
                WHERE state = 'pending' AND interaction_id IN (
                      SELECT id FROM omnichannel_interaction
                       WHERE channel_id = %s
                         AND state IN ('new', 'queued', 'offered', 'active'))""",
            [channel],
        )
        cr.execute(
            """UPDATE omnichannel_interaction
                  SET state = 'abandoned', date_ended = now() AT TIME ZONE 'UTC',
                      date_closed = now() AT TIME ZONE 'UTC'
                WHERE channel_id = %s
                  AND state IN ('new', 'queued', 'offered', 'active', 'wrapup')""",
            [channel],
        )
        cr.execute(
            """UPDATE omnichannel_agent
                  SET state = 'available', last_seen = now() AT TIME ZONE 'UTC',
                      wrapup_until = NULL, capacity_voice = 1
                WHERE user_id = ANY(%s)""",
            [center["user_ids"]],
        )
        cr.execute(
            """UPDATE omnichannel_queue_member SET logged_in = true
                WHERE user_id = ANY(%s)""",
            [center["user_ids"]],
        )
    conn.close()
    ingest.vacuum(db)


# ----------------------------------------------------------------------
# Load
# ----------------------------------------------------------------------
class Bench:
    def __init__(self, args, ports, center):
        self.args = args
        self.ports = ports
        self.center = center
        self.route_path = f"/omnichannel/voip/{center['token']}/route"
        self.serial = iter(range(10**9))
        self.lock = threading.Lock()
        self.prefix = f"br{datetime.now():%Y%m%d%H%M%S}-"
        self.agent_by_id = dict(zip(center["user_ids"], center["logins"], strict=True))

    def next_id(self):
        with self.lock:
            return next(self.serial)

    def route(self, client, rec, kind, number):
        body = json.dumps(
            {
                "call_id": f"{self.prefix}{self.next_id()}",
                "from": number,
                "to": ingest.DID,
                "timestamp": int(time.time()),
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Omnichannel-Signature": ingest.hmac_header(self.center["secret"], body),
        }
        status, data = client.post(rec, kind, self.route_path, body, headers)
        if status != 200:
            return None
        answer = json.loads(data)
        if not answer.get("interaction_id") and not answer.get("inbox_id"):
            rec.bad["route answer without interaction_id nor inbox_id"] += 1
        return answer

    def bare(self, client, rec, kind="bare"):
        body = json.dumps(ingest.rpc_body(self.next_id()))
        status, data = client.post(
            rec, kind, BARE_ROUTE, body, {"Content-Type": "application/json"}
        )
        if status == 200 and "result" not in json.loads(data):
            rec.bad["bare: JSON-RPC error"] += 1


def set_fast_route(rpc, center, on):
    """The bench line answers routing first (True) or after writing the call."""
    rpc("omnichannel.channel", "write", [center["channel"]], {"voip_fast_route": on})


def latency_phase(bench, callers, calls, check):
    """ONE client: route, bare, route, bare... Agents are freed (SQL, not
    timed) before they are all ringing."""
    rec = ingest.Recorder()
    client = ingest.Client(bench.ports[0])
    bare = ingest.Client(bench.ports[0])
    offered = waiting = 0
    kinds = Counter()
    for n in range(calls):
        kind = KINDS[n % len(KINDS)]
        answer = bench.route(client, rec, kind, caller(callers, kind, n // len(KINDS)))
        bench.bare(bare, rec)
        if answer:
            kinds[(kind, answer.get("queue") or "-", bool(answer.get("agent_id")))] += 1
            check(kind, answer, rec)
            if answer.get("agent_id"):
                offered += 1
            else:
                waiting += 1
        if offered >= 0.8 * len(bench.center["user_ids"]) or waiting >= 40:
            reset_center(bench.args.db, bench.center)
            offered = waiting = 0
    return rec, kinds


def offer_phase(bench, callers, calls, clients):
    """``clients`` threads post new calls (known and unknown callers) to the
    nodes in turn; a call offered inside the request gives one
    enqueue-to-offer sample. Rounds of at most 3/4 of the agents, each from
    a reset center."""
    rec = ingest.Recorder()
    agents = len(bench.center["user_ids"])
    per_round = max(int(agents * 0.75), clients)
    done = 0
    started = time.perf_counter()
    while done < calls:
        reset_center(bench.args.db, bench.center)
        size = min(per_round, calls - done)
        counter = iter(range(size))
        counter_lock = threading.Lock()

        def work(index, size=size, counter=counter, counter_lock=counter_lock, done=done):
            client = ingest.Client(bench.ports[index % len(bench.ports)])
            own = ingest.Recorder()
            while True:
                with counter_lock:
                    n = next(counter, None)
                if n is None:
                    break
                kind = ("known", "unknown")[n % 2]
                t0 = time.perf_counter()
                answer = bench.route(client, own, "route", caller(callers, kind, done + n))
                ms = (time.perf_counter() - t0) * 1000
                if answer is None:
                    continue
                if answer.get("agent_id"):
                    own.sample("offered", ms)
                else:
                    own.bad["a free agent existed, the call was not offered"] += 1
            with counter_lock:
                rec.merge(own)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done += size
    return rec, time.perf_counter() - started


WARM_CALLS = 8  # per agent and port: both workers of a node answer some, 4 at a time


def warm_agents(bench):
    """Every agent authenticated on every worker before the turnover is
    timed: a worker checks a password once (PBKDF2, ~0.3 s here) and caches
    it; the accept, an agent's first call of the phase, would otherwise pay
    that check where the bare pair after it never does. Calls go 4 at a
    time, so that every worker of a node gets some of each agent's."""
    db = bench.args.db
    jobs = [
        (port, uid)
        for uid in bench.center["user_ids"]
        for port in bench.ports
        for _ in range(WARM_CALLS)
    ]
    todo = iter(jobs)
    lock = threading.Lock()

    def warm():
        proxies = {}
        while True:
            with lock:
                job = next(todo, None)
            if job is None:
                return
            port, uid = job
            if port not in proxies:
                proxies[port] = xmlrpc.client.ServerProxy(f"http://{HOST}:{port}/xmlrpc/2/object")
            proxies[port].execute_kw(db, uid, AGENT_PASSWORD, "res.users", "context_get", [])

    print(f"  authenticating {len(bench.center['user_ids'])} agents on every worker...", flush=True)
    threads = [threading.Thread(target=warm) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


WARM_TURNOVERS = 2  # per agent and worker, before the timing (see turnover_phase)
# the floor of any agent action: two XML-RPC calls that each commit the
# smallest write an agent may make (one field of their own user, through the
# ORM), timed after the bare pair in each turnover
WRITE_FLOOR_PARTS = ("first", "second")


def turnover_phase(bench, callers, calls, clients):
    """One client per node: route a call (known or unknown caller), then as
    the agent it was offered to, accept and close it (two XML-RPC calls),
    then two bare authenticated XML-RPC calls of the same agent, then the
    floor of any action of theirs: two calls that each commit one field of
    their own user (``res.users.write`` of the signature, which needs no
    rights but their own and clears no cache).

    Timed in the steady state of a working day: first every agent's password
    checked on every worker (:func:`warm_agents`), then an untimed pass of
    turnovers in which each agent takes about ``WARM_TURNOVERS`` calls per
    worker (the ACD offers to the longest idle agent: the agents take turns).
    A worker caches per user what an agent's accept and close read (record
    rules, model access, the user's groups and companies, defaults): an
    agent's first turnover on a worker costs ~46 statements and ~1.8× the
    time of the next ones (31 statements; in-process, 2026-12-06), which an
    agent at work pays once per worker and day, not per call."""
    rec = ingest.Recorder()
    reset_center(bench.args.db, bench.center)
    warm_turnovers(bench, callers, clients, first=calls)
    reset_center(bench.args.db, bench.center)
    started = time.perf_counter()
    # timed with one client per node: with more clients than a node's
    # workers, the accept, the close and the bare calls also wait for a free
    # worker behind each other, and the ratio measures that queue (4 clients
    # on 2 workers gave 54 %, one client 29 %, 2026-12-06)
    run_turnovers(bench, callers, calls, len(bench.ports), rec)
    return rec, time.perf_counter() - started


def warm_turnovers(bench, callers, clients, first):
    """The untimed part of :func:`turnover_phase`: every agent's password
    checked on every worker, then about ``WARM_TURNOVERS`` turnovers per
    agent and worker from ``clients`` threads (callers from index ``first``)."""
    warm_agents(bench)
    workers = bench.args.workers * len(bench.ports)
    warm = len(bench.center["user_ids"]) * WARM_TURNOVERS * workers
    print(f"  {warm} untimed turnovers (each agent's caches warm on every worker)...", flush=True)
    run_turnovers(bench, callers, warm, clients, ingest.Recorder(), first=first)


def turnover_ratio(pair, turnover):
    """The turnover's rate as a share of the two bare calls' (from their
    mean times in ms); 0 without samples of both."""
    if not pair or not turnover:
        return 0
    return (sum(pair) / len(pair)) / (sum(turnover) / len(turnover))


def run_turnovers(bench, callers, calls, clients, rec, first=0):
    """``calls`` turnovers from ``clients`` threads, recorded in ``rec``;
    ``first``: the index of the first caller (the warm-up uses others)."""
    counter = iter(range(first, first + calls))
    lock = threading.Lock()
    db = bench.args.db

    def work(index):
        port = bench.ports[index % len(bench.ports)]
        client = ingest.Client(port)
        proxy = xmlrpc.client.ServerProxy(f"http://{HOST}:{port}/xmlrpc/2/object")
        own = ingest.Recorder()

        def call(uid, model, method, *args):
            return proxy.execute_kw(db, uid, AGENT_PASSWORD, model, method, list(args))

        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            kind = ("known", "unknown")[n % 2]
            answer = bench.route(client, own, "route", caller(callers, kind, 7 * n + 3))
            uid = answer and answer.get("agent_id")
            if not uid:
                own.bad["routed call not offered (turnover skipped)"] += 1
                continue
            interaction = answer["interaction_id"]
            try:
                t0 = time.perf_counter()
                call(uid, "omnichannel.interaction", "action_answer", [interaction])
                t1 = time.perf_counter()
                call(uid, "omnichannel.interaction", "action_close", [interaction])
                t2 = time.perf_counter()
                call(uid, "res.users", "check_access_rights", "read", False)
                call(uid, "res.users", "context_get")
                t4 = time.perf_counter()
                for part in WRITE_FLOOR_PARTS:
                    call(uid, "res.users", "write", [uid], {"signature": f"<p>{part} {n}</p>"})
                t5 = time.perf_counter()
            except xmlrpc.client.Fault as fault:
                own.bad[f"XML-RPC fault: {fault.faultString.splitlines()[-1][:100]}"] += 1
                continue
            own.sample("accept", (t1 - t0) * 1000)
            own.sample("close", (t2 - t1) * 1000)
            own.sample("turnover", (t2 - t0) * 1000)
            own.sample("bare pair", (t4 - t2) * 1000)
            own.sample("write pair", (t5 - t4) * 1000)
        with lock:
            rec.merge(own)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ----------------------------------------------------------------------
# In-process profile (no server)
# ----------------------------------------------------------------------
def profile(args, callers, center):
    """In-process: ``args.profile`` routes of each kind (after two warm-up
    calls), then the turnover of each routed call as its agent; SQL queries
    counted and timed, and cProfile's slowest functions, for each part."""
    from odoo import SUPERUSER_ID

    counts, turn_counts = {}, []
    clock, turn_clock = _env.QueryClock(), _env.QueryClock()
    profiler, turn_profiler = cProfile.Profile(), cProfile.Profile()
    with _env.environment(args.db) as env, clock.installed(), turn_clock.installed():
        # importable once the environment has set Odoo's addons path
        from odoo.addons.omnichannel_cc_voip.tools import cti

        env = env(user=SUPERUSER_ID, su=True)
        channel = env["omnichannel.channel"].browse(center["channel"])
        channel = channel.with_company(channel.company_id)
        Interaction = channel.env["omnichannel.interaction"]
        with _env.QueryClock(capture=True).installed() as breakdown_clock:
            breakdown(args, callers, center, Interaction, channel, cti, breakdown_clock)
            turnover_breakdown(args, callers, center, Interaction, channel, cti, breakdown_clock)
        for kind in KINDS:
            reset_center(args.db, center)
            env.cr.commit()
            per_call = []
            for n in range(args.profile + 2):
                values = {
                    "call_id": f"prof{time.time_ns()}",
                    "from": cti.sip_user(caller(callers, kind, n)),
                    "to": ingest.DID,
                    "timestamp": int(time.time()),
                }
                measured = n >= 2  # two warm-up calls per kind
                env.invalidate_all()
                before = env.cr.sql_log_count
                clock.on = measured
                if measured:
                    profiler.enable()
                answer = Interaction._voip_route(channel, values)
                env.flush_all()
                env.cr.precommit.run()
                profiler.disable()
                clock.on = False
                if measured:
                    per_call.append(env.cr.sql_log_count - before)
                env.cr.commit()
                if measured and answer["agent_id"]:
                    # the turnover: accept and close as the agent offered the call
                    taken = env(user=answer["agent_id"], su=False)["omnichannel.interaction"]
                    taken = taken.browse(answer["interaction_id"])
                    env.invalidate_all()
                    before = env.cr.sql_log_count
                    turn_clock.on = True
                    turn_profiler.enable()
                    taken.action_answer()
                    taken.action_close()
                    env.flush_all()
                    env.cr.precommit.run()
                    turn_profiler.disable()
                    turn_clock.on = False
                    turn_counts.append(env.cr.sql_log_count - before)
                    env.cr.commit()
            counts[kind] = per_call
    print("\nSQL queries per /route (in-process, after two warm-up calls):")
    for kind, per_call in counts.items():
        mean = sum(per_call) / len(per_call)
        print(f"  {kind:<10} min {min(per_call)} max {max(per_call)} mean {mean:.1f}")
    clock.report(sum(len(per_call) for per_call in counts.values()), "/route, all kinds")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
    print(out.getvalue())
    if turn_counts:
        mean = sum(turn_counts) / len(turn_counts)
        print(f"\nturnover (action_answer + action_close as the agent), {len(turn_counts)} calls:")
        print(f"  SQL queries: min {min(turn_counts)} max {max(turn_counts)} mean {mean:.1f}")
        turn_clock.report(len(turn_counts), "turnover")
        out = io.StringIO()
        pstats.Stats(turn_profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())


def timed(clock, call):
    """Run ``call()`` counted by the installed ``clock`` (a ``QueryClock``
    that captures): ``(wall ms, ms waiting for PostgreSQL, its statements)``."""
    clock.captured.clear()
    sql_before = sum(clock.seconds.values())
    clock.on = True
    started = time.perf_counter()
    try:
        call()
    finally:
        wall = time.perf_counter() - started
        clock.on = False
    return wall * 1000, (sum(clock.seconds.values()) - sql_before) * 1000, list(clock.captured)


def breakdown_cells(walls, sql_ms, statements):
    """The cells p50 ms, p95 ms, SQL ms, statements, Python ms of the
    breakdown tables (means but the percentiles; Python: wall minus SQL)."""
    wall = _env.percentiles(walls)
    mean_sql = sum(sql_ms) / len(sql_ms)
    return [
        f"{wall['p50']:.1f}",
        f"{wall['p95']:.1f}",
        f"{mean_sql:.1f}",
        f"{sum(statements) / len(statements):.1f}",
        f"{wall['mean'] - mean_sql:.1f}",
    ]


def breakdown(args, callers, center, Interaction, channel, cti, clock):
    """Where one ``/route`` goes, without cProfile's overhead: per kind,
    ``args.profile`` routes timed in-process (flush and pre-commit included,
    the commit not), the part spent waiting for PostgreSQL, the statements,
    and for the last route of each kind what PostgreSQL spends planning and
    executing its SELECTs (EXPLAIN ANALYZE of each, run again afterwards).
    ``clock``: an installed ``QueryClock`` that captures statements."""
    env = Interaction.env
    rows = []
    ways = ((False, "written first"), (True, "answered first"))
    for (fast, way), kind in ((way, kind) for way in ways for kind in KINDS):
        # the calls answered first written (no server, no cron: here)
        env["omnichannel.event.inbox"]._cron_apply()
        channel.voip_fast_route = fast
        env.cr.commit()
        reset_center(args.db, center)
        env.cr.commit()
        walls, sql_ms, statements = [], [], []
        for n in range(args.profile + 2):
            values = {
                "call_id": f"brk{time.time_ns()}",
                "from": cti.sip_user(caller(callers, kind, n)),
                "to": ingest.DID,
                "timestamp": int(time.time()),
            }
            env.invalidate_all()

            def route(values=values):
                Interaction._voip_route(channel, values)
                env.flush_all()
                env.cr.precommit.run()

            wall, sql, captured = timed(clock, route)
            env.cr.commit()
            if n >= 2:  # two warm-up calls per kind
                walls.append(wall)
                sql_ms.append(sql)
                statements.append(len(captured))
        planning = executing = 0.0
        selects = [
            text
            for text in captured
            if text.lstrip().startswith(("SELECT", "WITH RECURSIVE"))
            and "FOR UPDATE" not in text
            and "nextval" not in text
        ]
        for text in selects:
            env.cr.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + text)
            plan = env.cr.fetchone()[0][0]
            planning += plan["Planning Time"]
            executing += plan["Execution Time"]
        env.cr.rollback()
        rows.append(
            [
                f"{way}: {kind}",
                *breakdown_cells(walls, sql_ms, statements),
                f"{len(selects)}: {planning:.2f} / {executing:.2f}",
            ]
        )
    env["omnichannel.event.inbox"]._cron_apply()
    channel.voip_fast_route = False
    env.cr.commit()
    _env.table(
        f"/route in-process, {args.profile} calls per kind (no profiler, commit not included):",
        rows,
        [
            "kind",
            "p50 ms",
            "p95 ms",
            "SQL ms",
            "statements",
            "Python ms",
            "SELECTs: plan / exec ms",
        ],
    )


def turnover_breakdown(args, callers, center, Interaction, channel, cti, clock):
    """Where an agent's turnover goes: each call as a worker serves an
    XML-RPC request without its HTTP, XML and password check
    (``odoo.service.model.execute_kw``: its own cursor, retried on
    conflicts, committed): the accept and the close of a call offered by an
    in-process ``/route``, and the bench's two bare calls. Every agent first
    takes two untimed turnovers (warm per-user caches, as on a worker after
    the first minutes of a day), then ``args.profile`` are timed. The route
    itself is neither timed nor counted."""
    from odoo.service import model as service

    env = Interaction.env
    db = env.cr.dbname
    reset_center(args.db, center)
    env.cr.commit()
    warm = 2 * len(center["user_ids"])
    parts = ("accept", "close", "bare pair", "write pair")
    walls = {part: [] for part in parts}
    sql_ms = {part: [] for part in parts}
    statements = {part: [] for part in parts}
    calls = {
        "accept": lambda uid, i: service.execute_kw(
            db, uid, "omnichannel.interaction", "action_answer", [[i]]
        ),
        "close": lambda uid, i: service.execute_kw(
            db, uid, "omnichannel.interaction", "action_close", [[i]]
        ),
        "bare pair": lambda uid, i: (
            service.execute_kw(db, uid, "res.users", "check_access_rights", ["read", False]),
            service.execute_kw(db, uid, "res.users", "context_get", []),
        ),
        "write pair": lambda uid, i: [
            service.execute_kw(
                db, uid, "res.users", "write", [[uid], {"signature": f"<p>{part} {i}</p>"}]
            )
            for part in WRITE_FLOOR_PARTS
        ],
    }
    last = {}  # the statements of the last timed call of each part
    n = 0
    while len(walls["accept"]) < args.profile:
        values = {
            "call_id": f"trn{time.time_ns()}",
            "from": cti.sip_user(caller(callers, "known", n)),
            "to": ingest.DID,
            "timestamp": int(time.time()),
        }
        n += 1
        env.invalidate_all()
        answer = Interaction._voip_route(channel, values)
        env.cr.commit()
        if not answer["agent_id"]:
            raise SystemExit("turnover breakdown: a known caller's call was not offered")
        for part in parts:
            call = functools.partial(calls[part], answer["agent_id"], answer["interaction_id"])
            if n <= warm:
                call()
                continue
            wall, sql, last[part] = timed(clock, call)
            walls[part].append(wall)
            sql_ms[part].append(sql)
            statements[part].append(len(last[part]))
    rows = [[part, *breakdown_cells(walls[part], sql_ms[part], statements[part])] for part in parts]
    _env.table(
        f"turnover in-process (execute_kw: commit included, no HTTP), {args.profile} calls "
        f"after {warm} untimed:",
        rows,
        ["call", "p50 ms", "p95 ms", "SQL ms", "statements", "Python ms"],
    )
    for part in ("accept", "close"):
        print(f"\nthe statements of the last {part}:")
        for text in last[part]:
            print("  " + " ".join(text.split())[:140])


# ----------------------------------------------------------------------
def stats_row(label, samples, extra=""):
    if not samples:
        return [label, "0", "", "", "", "", extra]
    s = _env.percentiles(samples)
    return [
        label,
        f"{s['n']:,}",
        f"{s['p50']:.1f}",
        f"{s['p95']:.1f}",
        f"{s['p99']:.1f}",
        f"{s['mean']:.1f}",
        extra,
    ]


def parse_args():
    p = _env.parser(__doc__, "bench_route")
    p.add_argument("--partners", type=int, default=1_000_000, help="when generating (x2 invoices)")
    p.add_argument("--workers", type=int, default=2, help="Odoo HTTP workers per node")
    p.add_argument("--nodes", type=int, default=2, choices=(1, 2), help="also measure on 2 nodes")
    p.add_argument("--agents", type=int, default=200)
    p.add_argument("--calls", type=int, default=800, help="/route calls of the latency phase")
    p.add_argument("--offer-calls", type=int, default=600, help="calls of the offer phase")
    p.add_argument(
        "--turnovers", type=int, default=300, help="accept + close of the turnover phase"
    )
    p.add_argument(
        "--clients",
        type=int,
        default=4,
        help="threads of the offer phase and the turnovers warm-up",
    )
    p.add_argument("--port", type=int, default=18400, help="first HTTP port to try")
    p.add_argument("--log-level", default="warn")
    p.add_argument("--profile", type=int, default=0, help="N in-process routes per kind, no server")
    p.add_argument("--quick", action="store_true", help="smoke run: few calls")
    args = p.parse_args()
    if args.quick:
        args.calls, args.offer_calls, args.turnovers = 120, 120, 60
    return args


def main():
    args = parse_args()
    command = ingest.odoo_command()
    scratch = Path(tempfile.mkdtemp(prefix="bench_route_"))
    (scratch / "odoo.conf").write_text("[options]\n")
    env = dict(os.environ, ODOO_RC=str(scratch / "odoo.conf"), TZ="UTC")
    started_at = datetime.now().astimezone()
    ensure_dataset(args, command, env)
    with psycopg2.connect(host=DB_HOST, dbname=args.db) as conn, conn.cursor() as cr:
        cr.execute("SELECT count(*) FROM res_partner")
        partners = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM account_move WHERE move_type = 'out_invoice'")
        invoices = cr.fetchone()[0]
    conn.close()
    callers = sample_callers(args.db)
    processes = []
    rows, lines = [], []
    try:
        log_path = scratch / "server-1.log"
        print(f"starting odoo --workers={args.workers} (log {log_path})...", flush=True)
        args.port_base = args.port
        process, port = ingest.start_server(args, command, env, log_path)
        processes.append(process)
        admin = ingest.Rpc(port, args.db, *ingest.ADMIN)
        center = setup_center(admin, args.db, args.agents)
        center["logins"] = [
            u["login"] for u in admin("res.users", "read", center["user_ids"], fields=["login"])
        ]
        if args.profile:
            ingest.stop_server(process)
            processes.clear()
            profile(args, callers, center)
            return
        # the first phases answer after writing, whatever an earlier run left
        set_fast_route(admin, center, False)
        bench = Bench(args, [port], center)

        def check(kind, answer, rec):
            if kind == "unknown" and answer.get("partner_id"):
                rec.bad["unknown caller identified"] += 1
            if kind != "unknown" and not answer.get("partner_id"):
                rec.bad[f"{kind} caller not identified"] += 1
            if kind == "overdue" and answer.get("queue_id") != center["collections"]:
                rec.bad["overdue caller not sent to collections"] += 1
            if kind == "open case" and answer.get("agent_id"):
                rec.bad["open-case caller offered to another agent than the owner"] += 1

        print("warming up...", flush=True)
        latency_phase(bench, callers, 40, check)
        load_before = os.getloadavg()
        print(f"/route latency: {args.calls} calls, one client...", flush=True)
        rec, kinds = latency_phase(bench, callers, args.calls, check)
        load_after = os.getloadavg()
        bare = rec.latencies.get("bare", [])
        routes = [ms for kind in KINDS for ms in rec.latencies.get(kind, [])]
        p95 = _env.percentiles(routes)["p95"] if routes else 0
        verdict = f"p95 {'<=' if p95 <= TARGET_P95_MS else '>'} {TARGET_P95_MS:g} ms"
        rows.append(stats_row("bare route (interleaved)", bare))
        rows.append(stats_row("/route all kinds", routes, verdict))
        for kind in KINDS:
            rows.append(stats_row(f"  {kind}", rec.latencies.get(kind, [])))
        lines.append(
            f"latency phase: load average {load_before[0]:.2f} -> {load_after[0]:.2f}; "
            f"non-200: {rec.non_200()}; problems: {dict(rec.bad) or 'none'}"
        )
        lines.append(
            "answers (kind, queue, offered): "
            + ", ".join(
                f"{k[0]}/{k[1]}/{'offered' if k[2] else 'waiting'}: {v}"
                for k, v in sorted(kinds.items())
            )
        )
        # the same calls on the line answering routing first
        set_fast_route(admin, center, True)
        fast_bench = Bench(args, [port], center)
        latency_phase(fast_bench, callers, 40, check)
        print(f"/route answered first: {args.calls} calls, one client...", flush=True)
        rec, kinds = latency_phase(fast_bench, callers, args.calls, check)
        reset_center(args.db, center)
        written = ingest.apply_figures(args.db, fast_bench.prefix, ROUTE_APPLY)
        set_fast_route(admin, center, False)
        fast = [ms for kind in KINDS for ms in rec.latencies.get(kind, [])]
        p95 = _env.percentiles(fast)["p95"] if fast else 0
        verdict = f"p95 {'<=' if p95 <= TARGET_P95_MS else '>'} {TARGET_P95_MS:g} ms"
        rows.append(stats_row("bare route (interleaved, 2nd phase)", rec.latencies.get("bare", [])))
        rows.append(stats_row("/route answered first, all kinds", fast, verdict))
        for kind in KINDS:
            rows.append(stats_row(f"  {kind}", rec.latencies.get(kind, [])))
        rows.append(
            [
                "  answer to call written (inbox)",
                f"{written['count']:,}",
                f"{written['p50']:.1f}",
                f"{written['p95']:.1f}",
                "",
                "",
                "the offer in Odoo",
            ]
        )
        lines.append(
            f"answered-first phase: non-200: {rec.non_200()}; problems: {dict(rec.bad) or 'none'}; "
            "answers: "
            + ", ".join(
                f"{k[0]}/{k[1]}/{'offered' if k[2] else 'waiting'}: {v}"
                for k, v in sorted(kinds.items())
            )
        )
        for nodes in range(1, args.nodes + 1):
            if nodes == 2:
                log2 = scratch / "server-2.log"
                args.port = port + 2
                print(f"starting a second node (log {log2})...", flush=True)
                process2, port2 = ingest.start_server(args, command, env, log2)
                processes.append(process2)
                bench.ports = [port, port2]
                latency_phase(Bench(args, [port2], center), callers, 20, check)
            print(f"enqueue-to-offer on {nodes} node(s): {args.offer_calls} calls...", flush=True)
            load_before = os.getloadavg()
            rec, elapsed = offer_phase(bench, callers, args.offer_calls, args.clients)
            offered = rec.latencies.get("offered", [])
            rows.append(
                stats_row(
                    f"enqueue-to-offer, {nodes} node(s), {args.clients} clients",
                    offered,
                    f"{len(offered) / elapsed:.1f} offers/s",
                )
            )
            lines.append(
                f"offer phase, {nodes} node(s): load average {load_before[0]:.2f} -> "
                f"{os.getloadavg()[0]:.2f}; non-200: {rec.non_200()}; "
                f"problems: {dict(rec.bad) or 'none'}"
            )
            set_fast_route(admin, center, True)
            rec, elapsed = offer_phase(bench, callers, args.offer_calls, args.clients)
            reset_center(args.db, center)
            set_fast_route(admin, center, False)
            offered = rec.latencies.get("offered", [])
            rows.append(
                stats_row(
                    f"  answered first, {nodes} node(s)",
                    offered,
                    f"{len(offered) / elapsed:.1f} offers/s",
                )
            )
            lines.append(
                f"offer phase answered first, {nodes} node(s): non-200: {rec.non_200()}; "
                f"problems: {dict(rec.bad) or 'none'}"
            )
            print(f"agent turnover on {nodes} node(s): {args.turnovers} calls...", flush=True)
            rec, elapsed = turnover_phase(bench, callers, args.turnovers, args.clients)
            turnover = rec.latencies.get("turnover", [])
            pair = rec.latencies.get("bare pair", [])
            ratio = turnover_ratio(pair, turnover)
            met = "met" if ratio >= TARGET_TURNOVER else "NOT met"
            verdict = f"{ratio:.0%} of the bare pair's rate ({met}, >= {TARGET_TURNOVER:.0%})"
            rows.append(stats_row(f"turnover accept+close, {nodes} node(s)", turnover, verdict))
            rows.append(stats_row("  accept", rec.latencies.get("accept", [])))
            rows.append(stats_row("  close", rec.latencies.get("close", [])))
            rows.append(stats_row("  two bare XML-RPC calls (same agent)", pair))
            floor = rec.latencies.get("write pair", [])
            rows.append(
                stats_row(
                    "  two one-field writes (same agent)",
                    floor,
                    f"{turnover_ratio(pair, floor):.0%} of the bare pair's rate: the floor",
                )
            )
            lines.append(
                f"turnover phase, {nodes} node(s): {len(turnover)} turnovers in {elapsed:.1f} s; "
                f"non-200: {rec.non_200()}; problems: {dict(rec.bad) or 'none'}"
            )
    finally:
        for process in processes:
            ingest.stop_server(process)
    _env.table(
        f"/route on {partners:,} partners / {invoices:,} invoices: odoo --workers="
        f"{args.workers}, database {args.db}",
        rows,
        ["measure", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms", "note"],
    )
    for line in lines:
        print(line)
    print(f"command: python3 {shlex.join(sys.argv)}")
    print(f"date: {started_at:%Y-%m-%d %H:%M:%S %Z}; machine: {ingest.machine()}")
    print(ingest.autovacuum_note())
    print(f"server logs: {scratch}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        generate_fast(sys.argv[2:])
    else:
        with contextlib.suppress(KeyboardInterrupt):
            main()
