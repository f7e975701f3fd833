"""The primary's load with and without a read replica, for a wallboard-heavy
mix (issue 20).

A private primary (``omnichannel_cc`` installed, ``pg_stat_statements``)
and its streaming replica, built as tests/e2e/test_replica.py builds them;
the same Odoo (``--workers``) started twice on them: once plain, once with
``--db_replica_host/--db_replica_port``. Each run plays for ``--seconds``:

- ``--supervisors`` web client sessions refreshing the wallboard
  (``wallboard_data``, every fifth time its charts too) through
  ``/web/dataset/call_kw``, ``--think`` seconds apart;
- ``--agents`` sessions identifying callers and opening their screen-pop;
- ``--writers`` integrations pushing new contacts (``api_inbound``,
  XML-RPC), ``--think``/2 seconds apart: the writes, always on the primary.

Reported per run: calls per second and latencies (p50 / p95) of each kind;
CPU seconds of the primary's and the replica's PostgreSQL processes (from
/proc: the postmaster, its children and its reaped children), their
transactions (``pg_stat_database``) and statements (``pg_stat_statements``);
the machine's load average. Figures only: it never fails on a number.

    python3 tests/bench/bench_replica.py --seconds 40 --supervisors 20 --agents 4

Ports: ``--ports primary,replica,http,gevent`` (free ones by default).
"""

import argparse
import itertools
import os
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.e2e.conftest import free_port
from tests.e2e.test_replica import (
    DB,
    WebClient,
    caught_up,
    inbound,
    odoo_server,
    replicated_clusters,
    wait_for,
)

PG_BENCH = """
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
"""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=40.0, help="length of each run")
    p.add_argument("--warmup", type=float, default=5.0, help="unmeasured start of each run")
    p.add_argument("--supervisors", type=int, default=20)
    p.add_argument("--agents", type=int, default=4)
    p.add_argument("--writers", type=int, default=2)
    p.add_argument("--think", type=float, default=1.0, help="seconds between two calls")
    p.add_argument("--workers", type=int, default=2, help="Odoo HTTP workers")
    p.add_argument("--seed-contacts", type=int, default=300, help="contacts before the runs")
    p.add_argument("--ports", help="primary,replica,http,gevent")
    return p.parse_args()


# ----------------------------------------------------------------------
# Load of a PostgreSQL cluster
# ----------------------------------------------------------------------
def _stat(pid):
    """(ppid, own CPU ticks, reaped children's CPU ticks) of a process."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return ppid, utime + stime, cutime + cstime


def cluster_cpu(cluster):
    """CPU seconds used so far by a cluster: postmaster, backends and the
    backends that already exited (reaped by the postmaster)."""
    postmaster = cluster.postmaster_pid()
    _ppid, own, reaped = _stat(postmaster)
    total = own + reaped
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid, ticks, _reaped = _stat(entry)
        except OSError:
            continue
        if ppid == postmaster:
            total += ticks
    return total / CLOCK_TICKS


def cluster_counters(cluster):
    """{cpu, transactions, statements} of a cluster so far (database DB)."""
    ((xacts, statements),) = cluster.sql(
        """SELECT d.xact_commit + d.xact_rollback,
                  (SELECT COALESCE(sum(s.calls), 0)::bigint FROM pg_stat_statements s
                    WHERE s.dbid = d.datid)
             FROM pg_stat_database d WHERE d.datname = %s""",
        (DB,),
        dbname=DB,
    )
    return {"cpu": cluster_cpu(cluster), "transactions": xacts, "statements": int(statements)}


def delta(after, before):
    return {key: after[key] - before[key] for key in after}


# ----------------------------------------------------------------------
# The contact center and its users
# ----------------------------------------------------------------------
def setup_center(server, args):
    poland = server.call("res.country", "search", [("code", "=", "PL")])[0]
    server.call("res.company", "write", [server.ref("base.main_company")], {"country_id": poland})
    group = "omnichannel_cc.group_omnichannel_"
    supervisors, agents = [], []
    stamp = uuid.uuid4().hex[:6]
    for role, count, logins in (
        ("supervisor", args.supervisors, supervisors),
        # managers open the panel of any customer (no interaction of theirs needed)
        ("manager", args.agents, agents),
    ):
        for index in range(count):
            login = f"bench-{role}-{index}-{stamp}"
            server.call(
                "res.users",
                "create",
                {
                    "name": login,
                    "login": login,
                    "password": login,
                    "groups_id": [(6, 0, [server.ref(group + role)])],
                },
            )
            logins.append(login)
    supervisor_ids = server.call("res.users", "search", [("login", "in", supervisors)])
    queues = [
        server.call(
            "omnichannel.queue",
            "create",
            {"name": f"Bench {name}", "supervisor_ids": [(6, 0, supervisor_ids)]},
        )
        for name in ("Sales", "Collections", "Claims")
    ]
    dids = []
    for index, queue in enumerate(queues):
        did = f"+4822{uuid.uuid4().int % 10**7:07d}"
        server.call(
            "omnichannel.channel",
            "create",
            {
                "name": f"Bench line {index}",
                "channel_type": "phone",
                "address": did,
                "queue_id": queue,
            },
        )
        dids.append(did)
    phones = [f"+48 60{index % 10} {100000 + index:06d}"[:16] for index in range(200)]
    customers = server.call(
        "res.partner",
        "create",
        [
            {"name": f"Bench customer {i}", "country_id": poland, "phone": p}
            for i, p in enumerate(phones)
        ],
    )
    counter = itertools.count()
    seeded = [
        inbound(
            server, dids[i % len(dids)], phones[i % len(phones)], f"seed-{stamp}-{next(counter)}"
        )
        for i in range(args.seed_contacts)
    ]
    return {
        "supervisors": supervisors,
        "agents": agents,
        "dids": dids,
        "phones": phones,
        "customers": customers,
        "counter": counter,
        "stamp": stamp,
        "seeded": len(seeded),
    }


# ----------------------------------------------------------------------
# One run
# ----------------------------------------------------------------------
class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples = {}
        self.errors = {}
        self.measuring = False

    def timed(self, kind, call):
        started = time.perf_counter()
        try:
            call()
        except Exception as error:  # noqa: BLE001 - counted and shown, never hidden
            with self.lock:
                self.errors.setdefault(kind, []).append(repr(error)[:200])
            return
        took = time.perf_counter() - started
        if self.measuring:
            with self.lock:
                self.samples.setdefault(kind, []).append(took)


def play(server, center, args, primary, replica):
    recorder = Recorder()
    sessions = {
        login: WebClient(server.url, DB, login, login)
        for login in center["supervisors"] + center["agents"]
    }
    stop_at = time.monotonic() + args.warmup + args.seconds

    def supervisor(login):
        client = sessions[login]
        for turn in itertools.count():
            if time.monotonic() >= stop_at:
                return
            recorder.timed("wallboard", lambda: client.call("omnichannel.queue", "wallboard_data"))
            if turn % 5 == 0:
                recorder.timed(
                    "charts", lambda: client.call("omnichannel.queue", "wallboard_chart_data")
                )
            time.sleep(args.think * random.uniform(0.8, 1.2))

    def agent(login):
        client = sessions[login]
        while time.monotonic() < stop_at:
            index = random.randrange(len(center["phones"]))
            recorder.timed(
                "identify",
                lambda i=index: client.call(
                    "res.partner", "omnichannel_identify", center["phones"][i]
                ),
            )
            recorder.timed(
                "screen_pop",
                lambda i=index: client.call(
                    "res.partner", "omnichannel_screen_pop", [center["customers"][i]]
                ),
            )
            time.sleep(args.think * random.uniform(0.8, 1.2))

    def writer():
        while time.monotonic() < stop_at:
            number = next(center["counter"])
            recorder.timed(
                "new_contact",
                lambda number=number: inbound(
                    server,
                    random.choice(center["dids"]),
                    random.choice(center["phones"]),
                    f"bench-{center['stamp']}-{number}",
                ),
            )
            time.sleep(args.think / 2 * random.uniform(0.8, 1.2))

    threads = [threading.Thread(target=supervisor, args=(s,)) for s in center["supervisors"]]
    threads += [threading.Thread(target=agent, args=(a,)) for a in center["agents"]]
    threads += [threading.Thread(target=writer) for _ in range(args.writers)]
    for thread in threads:
        thread.daemon = True
        thread.start()
    time.sleep(args.warmup)
    before = {"primary": cluster_counters(primary), "replica": cluster_counters(replica)}
    load_before = os.getloadavg()
    recorder.measuring = True
    started = time.monotonic()
    for thread in threads:
        thread.join(max(stop_at - time.monotonic(), 0) + 60)
    recorder.measuring = False
    elapsed = time.monotonic() - started
    after = {"primary": cluster_counters(primary), "replica": cluster_counters(replica)}
    return {
        "elapsed": elapsed,
        "samples": recorder.samples,
        "errors": recorder.errors,
        "primary": delta(after["primary"], before["primary"]),
        "replica": delta(after["replica"], before["replica"]),
        "load": (load_before, os.getloadavg()),
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def report(name, result):
    elapsed = result["elapsed"]
    print(f"\n== {name} ({elapsed:.0f} s measured)")
    for kind in ("wallboard", "charts", "identify", "screen_pop", "new_contact"):
        values = result["samples"].get(kind, [])
        errors = len(result["errors"].get(kind, []))
        if not values:
            print(f"  {kind:12s} no call{f', {errors} errors' if errors else ''}")
            continue
        print(
            f"  {kind:12s} {len(values) / elapsed:6.1f}/s  "
            f"p50 {statistics.median(values) * 1000:6.0f} ms  "
            f"p95 {percentile(values, 0.95) * 1000:6.0f} ms"
            f"{f'  {errors} errors' if errors else ''}"
        )
    calls = max(sum(len(values) for values in result["samples"].values()), 1)
    for cluster in ("primary", "replica"):
        figures = result[cluster]
        print(
            f"  {cluster:8s} PostgreSQL CPU {figures['cpu']:6.1f} s "
            f"({figures['cpu'] / elapsed * 100:5.1f} % of a core, "
            f"{figures['cpu'] / calls * 1000:5.1f} ms per call), "
            f"{figures['transactions'] / elapsed:7.1f} transactions/s "
            f"({figures['transactions'] / calls:4.2f} per call), "
            f"{figures['statements'] / elapsed:8.1f} statements/s "
            f"({figures['statements'] / calls:5.1f} per call)"
        )
    (before, after) = result["load"]
    print(f"  load average {before[0]:.2f} -> {after[0]:.2f} (1 min), {os.cpu_count()} cores")
    for kind, errors in result["errors"].items():
        print(f"  first {kind} error: {errors[0]}")


def main():
    args = parse_args()
    ports = (
        [int(p) for p in args.ports.split(",")] if args.ports else [free_port() for _ in range(4)]
    )
    primary_port, replica_port, http_port, gevent_port = ports
    print("building the primary (installing omnichannel_cc) and its replica...", flush=True)
    with replicated_clusters(
        primary_port, replica_port, settings=PG_BENCH, log_statements=False
    ) as (primary, replica, *odoo):
        primary.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", dbname=DB)
        results = {}
        center = None
        for name, use_replica in (("without replica", False), ("with replica", True)):
            with odoo_server(
                *odoo,
                http_port,
                gevent_port,
                replica=replica if use_replica else None,
                workers=args.workers,
                log_name=f"bench-{'replica' if use_replica else 'plain'}",
            ) as server:
                if center is None:
                    print("creating users, queues, customers and contacts...", flush=True)
                    center = setup_center(server, args)
                wait_for(lambda: caught_up(primary, replica), 60, "the replica catching up")
                print(f"run {name}...", flush=True)
                results[name] = play(server, center, args, primary, replica)
        print(
            f"\nMix: {args.supervisors} supervisors refreshing the wallboard every "
            f"~{args.think:g} s (charts every 5th), {args.agents} agents identifying + "
            f"opening the screen-pop every ~{args.think:g} s, {args.writers} integrations "
            f"writing a contact every ~{args.think / 2:g} s; Odoo --workers={args.workers}; "
            f"{center['seeded']} contacts seeded."
        )
        for name, result in results.items():
            report(name, result)
        # the rates depend on the machine's other load: compare per call served too
        plain, replicated = results["without replica"], results["with replica"]
        for key in ("cpu", "transactions", "statements"):
            for unit, scale in (("second", "elapsed"), ("call", "calls")):
                was = plain["primary"][key] / _scale(plain, scale)
                now = replicated["primary"][key] / _scale(replicated, scale)
                change = (now - was) / was * 100 if was else 0.0
                print(f"primary {key} per {unit}: {was:.3f} -> {now:.3f} ({change:+.0f} %)")


def _scale(result, scale):
    if scale == "elapsed":
        return result["elapsed"]
    return max(sum(len(values) for values in result["samples"].values()), 1)


if __name__ == "__main__":
    main()
