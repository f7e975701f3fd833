"""ACD under real concurrency: a busy Monday morning on a multi-worker server.

``--agents`` agents (200) and ``--waiting`` calls (5,000) already queued; a
real ``odoo --workers=4`` server; ``--clients`` client threads (8) play the
agents over XML-RPC, each with their own login, as the agent console does:

1. log-in wave: every agent sets themselves available at once
   (``omnichannel.agent.action_my_state``): each request offers them a call;
2. turnover, ``--seconds`` long: each agent picks up their offer
   (``action_my_offers``, ``omnichannel.offer.action_accept``) and closes the
   call (``omnichannel.interaction.action_close``, no wrap-up time): the close
   frees the agent and offers them the next call in the same request.

Assignments per second = offers made per second of wall time. Afterwards the
database is checked: no interaction offered to or held by two agents at once,
no agent above capacity at any time, every offered interaction offered once,
no call waiting while an agent is free. Side by side, in the same run:
im_livechat's ``_get_operator`` for the same agents (it only chooses an
operator: no claim, no offer, no lock; two concurrent visitors may get the
same operator).

    python3 tests/bench/bench_acd_workers.py --workers 4 --clients 8 --seconds 30
"""

import argparse
import os
import shlex
import sys
import tempfile
import threading
import time
import xmlrpc.client
from datetime import datetime, timedelta
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env, bench_acd
from tests.bench.bench_ingest import (
    DB_HOST,
    HOST,
    ensure_db,
    odoo_command,
    start_server,
    stop_server,
)

TARGET_RATE = 200  # assignments per second
QUEUE_PREFIX = "Bench ACD workers"
LOGIN_PREFIX = "bench-acd-w"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default="occ_acd_bench")
    p.add_argument("--reset", action="store_true", help="drop and recreate the database")
    p.add_argument("--agents", type=int, default=200)
    p.add_argument("--waiting", type=int, default=5000)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--clients", type=int, default=8, help="client threads")
    p.add_argument("--seconds", type=float, default=30.0, help="length of the turnover phase")
    p.add_argument("--port", type=int, default=18500)
    p.add_argument("--log-level", default="info", help="server log level (info counts retries)")
    return p.parse_args()


# ----------------------------------------------------------------------
# Set-up, in process, committed before the server starts
# ----------------------------------------------------------------------
def setup(args):
    from odoo import fields

    stamp = time.strftime("%Y%m%d%H%M%S")
    with _env.environment(args.db) as env:
        env = env(
            context=dict(
                env.context,
                tracking_disable=True,
                mail_create_nolog=True,
                mail_create_nosubscribe=True,
                mail_notrack=True,
            )
        )
        cr = env.cr
        # earlier runs: their queues closed, their agents offline
        cr.execute(
            "UPDATE omnichannel_queue SET active = false WHERE name->>'en_US' LIKE %s",
            [f"{QUEUE_PREFIX}%"],
        )
        cr.execute(
            """UPDATE omnichannel_agent SET state = 'offline' WHERE user_id IN (
                   SELECT id FROM res_users WHERE login LIKE %s)""",
            [f"{LOGIN_PREFIX}-%"],
        )
        env["res.company"].browse(env.ref("base.main_company").id).country_id = env.ref("base.pl")
        group = env.ref("omnichannel_cc.group_omnichannel_agent")
        logins = [f"{LOGIN_PREFIX}-{stamp}-{i}" for i in range(args.agents)]
        users = env["res.users"].create(
            [{"name": login, "login": login, "groups_id": [(6, 0, group.ids)]} for login in logins]
        )
        # API keys, not passwords: a password check costs 600,000 PBKDF2
        # rounds per worker and user, this is not a log-in benchmark
        expire = fields.Datetime.now() + timedelta(days=1)
        keys = [
            env["res.users.apikeys"].with_user(user).sudo()._generate("rpc", "bench", expire)
            for user in users
        ]
        queue = bench_acd.queue_with_waiting_calls(
            env,
            users,
            args.waiting,
            {"name": f"{QUEUE_PREFIX} {stamp}", "ring_timeout": 3600, "wrapup_seconds": 0},
            f"Bench ACD workers line {stamp}",
            f"bench-acd-w-{stamp}",
        )
        cr.commit()
        return {
            "queue": queue.id,
            "agents": list(zip(users.ids, logins, keys, strict=True)),
        }


# ----------------------------------------------------------------------
# The agents, over XML-RPC
# ----------------------------------------------------------------------
class AgentClient:
    """One client thread: a few agents, one connection."""

    def __init__(self, port, db, agents):
        url = f"http://{HOST}:{port}"
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
        self.db = db
        self.agents = []
        for _user_id, login, key in agents:
            uid = common.authenticate(db, login, key, {})
            if not uid:
                raise SystemExit(f"cannot log in as {login}")
            self.agents.append((uid, key))
        self.proxy = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)
        self.errors = []
        self.login_ms = []
        self.close_ms = []
        self.accept_ms = []
        self.cycles = 0

    def call(self, agent, model, method, *args):
        uid, key = agent
        return self.proxy.execute_kw(self.db, uid, key, model, method, list(args), {})

    def timed(self, samples, *call):
        t0 = time.perf_counter()
        try:
            result = self.call(*call)
        except xmlrpc.client.Fault as fault:
            self.errors.append(fault.faultString.strip().splitlines()[-1])
            return None
        samples.append((time.perf_counter() - t0) * 1000)
        return result

    def warm_up(self, barrier):
        """Every worker loads its caches (and checks the agents' keys) first."""
        barrier.wait()
        for agent in self.agents:
            self.call(agent, "omnichannel.offer", "action_my_offers")

    def log_in(self, barrier):
        barrier.wait()
        for agent in self.agents:
            self.timed(self.login_ms, agent, "omnichannel.agent", "action_my_state", "available")

    def turnover(self, barrier, deadline):
        barrier.wait()
        while time.monotonic() < deadline:
            idle = True
            for agent in self.agents:
                if time.monotonic() >= deadline:
                    return
                offers = self.call(agent, "omnichannel.offer", "action_my_offers")
                if not offers:
                    continue
                idle = False
                offer = offers[0]
                result = self.timed(
                    self.accept_ms, agent, "omnichannel.offer", "action_accept", [offer["offer_id"]]
                )
                if result is None:
                    continue
                # the close frees the agent: the next offer is made in the same request
                if (
                    self.timed(
                        self.close_ms,
                        agent,
                        "omnichannel.interaction",
                        "action_close",
                        [offer["interaction_id"]],
                    )
                    is not None
                ):
                    self.cycles += 1
            if idle:
                time.sleep(0.05)


def run_threads(clients, target, *args):
    barrier = threading.Barrier(len(clients))
    threads = [threading.Thread(target=getattr(c, target), args=(barrier, *args)) for c in clients]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - t0


# ----------------------------------------------------------------------
# Verification, in SQL, after the server stopped
# ----------------------------------------------------------------------
def sql(db, query, params=()):
    with psycopg2.connect(host=DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        cr.execute(query, params)
        return cr.fetchall()


def offers_count(db, queue):
    return sql(db, "SELECT count(*) FROM omnichannel_offer WHERE queue_id = %s", [queue])[0][0]


def verify(db, queue):
    checks = []

    def check(label, query, params=(queue,)):
        value = sql(db, query, params)[0][0]
        checks.append((label, value))

    check(
        "interactions with two offers pending/accepted at once",
        """SELECT count(*) FROM (
               SELECT interaction_id FROM omnichannel_offer
                WHERE queue_id = %s AND state IN ('pending', 'accepted') AND NOT ring_all
                GROUP BY interaction_id HAVING count(*) > 1) d""",
    )
    check(
        "interactions offered more than once (every one exactly once)",
        """SELECT count(*) FROM (
               SELECT interaction_id FROM omnichannel_offer WHERE queue_id = %s
                GROUP BY interaction_id HAVING count(*) > 1) d""",
    )
    check(
        "offered interactions without exactly one agent",
        """SELECT count(*) FROM omnichannel_interaction i
            WHERE i.queue_id = %s AND i.state IN ('offered', 'active', 'done')
              AND (i.agent_id IS NULL OR (SELECT count(*) FROM omnichannel_offer o
                                           WHERE o.interaction_id = i.id) <> 1)""",
    )
    check(
        "offer given to another agent than the interaction's",
        """SELECT count(*) FROM omnichannel_offer o
             JOIN omnichannel_interaction i ON i.id = o.interaction_id
            WHERE o.queue_id = %s AND o.user_id <> i.agent_id""",
    )
    check(
        "agents above capacity now",
        """SELECT count(*) FROM (
               SELECT a.id FROM omnichannel_agent a
                 JOIN omnichannel_interaction i
                   ON i.agent_id = a.user_id AND i.state IN ('offered', 'active')
                WHERE i.queue_id = %s
                GROUP BY a.id, a.capacity_voice HAVING count(*) > a.capacity_voice) d""",
    )
    # over the whole run: an agent's next offer came before their previous call was closed
    check(
        "agents above capacity at any time (offer before the previous close)",
        """SELECT count(*) FROM (
               SELECT o.user_id, o.date_offered,
                      lag(i.date_closed) OVER w AS previous_closed,
                      lag(o.id) OVER w AS previous_offer
                 FROM omnichannel_offer o
                 JOIN omnichannel_interaction i ON i.id = o.interaction_id
                WHERE o.queue_id = %s
               WINDOW w AS (PARTITION BY o.user_id ORDER BY o.id)) d
            WHERE previous_offer IS NOT NULL
              AND (previous_closed IS NULL
                   OR previous_closed > date_offered)""",
    )
    check(
        "agents free (available, nothing held) while calls wait",
        """SELECT CASE WHEN EXISTS (SELECT 1 FROM omnichannel_interaction
                                    WHERE queue_id = %s AND state = 'queued')
                       THEN count(*) ELSE 0 END
             FROM omnichannel_agent a
             JOIN omnichannel_queue_member m ON m.user_id = a.user_id AND m.queue_id = %s
            WHERE a.state = 'available' AND m.logged_in
              AND NOT EXISTS (SELECT 1 FROM omnichannel_interaction i
                               WHERE i.agent_id = a.user_id AND i.state IN ('offered', 'active'))
              AND NOT EXISTS (SELECT 1 FROM omnichannel_offer o
                               WHERE o.user_id = a.user_id AND o.state = 'pending')""",
        (queue, queue),
    )
    latency = [
        row[0] * 1000
        for row in sql(
            db,
            """SELECT EXTRACT(EPOCH FROM o.create_date - i.date_queued)
                 FROM omnichannel_offer o
                 JOIN omnichannel_interaction i ON i.id = o.interaction_id
                WHERE o.queue_id = %s""",
            [queue],
        )
    ]
    return checks, latency


def sweep_triggers(db):
    """Immediate ACD sweep triggers (lock conflicts skipped in a dispatch);
    the offers' expiry triggers are an hour ahead and not counted."""
    return sql(
        db,
        """SELECT count(*) FROM ir_cron_trigger t
             JOIN ir_model_data d ON d.model = 'ir.cron' AND d.res_id = t.cron_id
            WHERE d.module = 'omnichannel_cc' AND d.name = 'ir_cron_acd_sweep'
              AND t.call_at < (now() AT TIME ZONE 'UTC') + interval '10 minutes'""",
    )[0][0]


def retries(log_path):
    text = log_path.read_text(errors="replace")
    return text.count("tries left"), text.count("maximum number of tries reached")


def fmt(p):
    if not p:
        return "-", "-", "-"
    return f"p50 {p['p50']:,.0f} ms", f"p95 {p['p95']:,.0f} ms", f"p99 {p['p99']:,.0f} ms"


def main():
    args = parse_args()
    command = odoo_command()
    scratch = Path(tempfile.mkdtemp(prefix="bench_acd_workers_"))
    (scratch / "odoo.conf").write_text("[options]\n")
    env = dict(os.environ, ODOO_RC=str(scratch / "odoo.conf"), TZ="UTC")
    started_at = datetime.now().astimezone()
    ensure_db(args, command, env)
    print(f"setting up {args.agents} agents and {args.waiting:,} waiting calls...", flush=True)
    center = setup(args)
    queue = center["queue"]
    log_path = scratch / "server.log"
    print(f"starting odoo --workers={args.workers} (log {log_path})...", flush=True)
    triggers = sweep_triggers(args.db)
    process, port = start_server(args, command, env, log_path)
    try:
        slices = [center["agents"][i :: args.clients] for i in range(args.clients)]
        clients = [AgentClient(port, args.db, part) for part in slices if part]
        print(f"server on port {port}; {len(clients)} client threads; warm-up...", flush=True)
        run_threads(clients, "warm_up")
        print("log-in wave...", flush=True)
        wave_seconds = run_threads(clients, "log_in")
        wave_offers = offers_count(args.db, queue)
        wave_retries = retries(log_path)
        print(f"turnover for {args.seconds:g} s...", flush=True)
        before = offers_count(args.db, queue)
        turnover_seconds = run_threads(clients, "turnover", time.monotonic() + args.seconds)
        turnover_offers = offers_count(args.db, queue) - before
        all_retries = retries(log_path)
    finally:
        stop_server(process)
    triggers = sweep_triggers(args.db) - triggers
    checks, latency = verify(args.db, queue)
    errors = [e for c in clients for e in c.errors]
    merged = {
        key: _env.percentiles(samples) if samples else None
        for key in ("login_ms", "accept_ms", "close_ms")
        for samples in [[s for c in clients for s in getattr(c, key)]]
    }
    with _env.environment(args.db) as odoo_env:
        agent_users = odoo_env["res.users"].browse([agent[0] for agent in center["agents"]])
        livechat, chosen = bench_acd.livechat_choice(odoo_env, agent_users, 200)
        odoo_env.cr.rollback()

    wave_rate = wave_offers / wave_seconds
    turnover_rate = turnover_offers / turnover_seconds
    total_rate = (wave_offers + turnover_offers) / (wave_seconds + turnover_seconds)
    enqueue = _env.percentiles(latency) if latency else None
    rows = [
        [
            "log-in wave: agents available -> offers",
            wave_offers,
            f"{wave_seconds:.2f} s",
            f"{wave_rate:,.1f} assignments/s",
            f"target >= {TARGET_RATE}: {'MET' if wave_rate >= TARGET_RATE else 'NOT MET'}",
        ],
        [
            "turnover: accept + close + next offer",
            turnover_offers,
            f"{turnover_seconds:.2f} s",
            f"{turnover_rate:,.1f} assignments/s",
            f"target >= {TARGET_RATE}: {'MET' if turnover_rate >= TARGET_RATE else 'NOT MET'}",
        ],
        [
            "whole run",
            wave_offers + turnover_offers,
            f"{wave_seconds + turnover_seconds:.2f} s",
            f"{total_rate:,.1f} assignments/s",
            "",
        ],
        ["available -> own offer (RPC)", *_count(merged["login_ms"]), *fmt(merged["login_ms"])],
        ["accept (RPC)", *_count(merged["accept_ms"]), *fmt(merged["accept_ms"])],
        ["close -> next offer (RPC)", *_count(merged["close_ms"]), *fmt(merged["close_ms"])],
        ["enqueue -> offer (date_queued to offer)", *_count(enqueue), *fmt(enqueue)],
        [
            "im_livechat _get_operator (choice only, one process)",
            livechat["n"],
            f"p50 {livechat['p50']:.1f} ms",
            f"p95 {livechat['p95']:.1f} ms",
            f"~{1000 / livechat['p50']:,.0f} choices/s, {chosen} chosen, no claim",
        ],
    ]
    _env.table(
        f"ACD on odoo --workers={args.workers}: {args.agents} agents, {args.waiting:,} waiting, "
        f"{len(clients)} client threads over XML-RPC ({_env.machine()})",
        rows,
        ["measure", "count", "time / p50", "rate / p95", "note"],
    )
    doubles = sum(value for label, value in checks if "two" in label or "once" in label)
    print(
        f"\ndouble assignments: {doubles} (target 0: {'MET' if doubles == 0 else 'NOT MET'})"
        f"   client errors: {len(errors)}"
        f"   serialization retries: wave {wave_retries[0]}, whole run {all_retries[0]}"
        f" (gave up: {all_retries[1]})"
        f"   lock conflicts skipped (sweep re-triggered): {triggers}"
    )
    print("verification in SQL:")
    for label, value in checks:
        print(f"  {'ok ' if value == 0 else 'BAD'} {value:>5}  {label}")
    for error in sorted(set(errors))[:5]:
        print(f"  client error: {error}")
    print(
        f"enqueue -> offer includes the time a call waited behind the {args.waiting:,}-call "
        "backlog; "
        "'close -> next offer' is the ACD's own latency for a freed agent.\n"
        "The server runs without cron threads: the re-triggered sweeps do not run during the "
        "measurement, and the last check shows no call was left waiting for them.\n"
        "im_livechat's _get_operator only picks an operator (least active among online "
        "users): it claims nothing, makes no offer and does not guard against two concurrent "
        "visitors getting the same operator."
    )
    print(f"command: python3 {shlex.join(sys.argv)}")
    print(f"date: {started_at:%Y-%m-%d %H:%M:%S %Z}   server log: {log_path}")


def _count(p):
    return [p["n"] if p else 0]


if __name__ == "__main__":
    main()
