"""The bus's ``NOTIFY`` on a kept connection against Odoo's own way (a new
PostgreSQL connection to the ``postgres`` database for every request that
sent a bus notification), side by side on one server in one run.

Every ``/route`` that offers a call, every accept and every close sends bus
notifications (the agent's console, the wallboard), so each paid for a
connection opened and closed after its commit. The core addon keeps one per
process (``omnichannel_cc/tools/bus_notify.py``); the setting
``omnichannel_cc.bus_notify_kept_connection`` = ``0`` restores Odoo's way
without a restart, which is how this bench switches between the two.

On ``bench_route.py``'s dataset and centre (generated once, reused), one
server ``--workers`` workers, after every agent's caches are warm on every
worker, ``--rounds`` rounds of: for each way, ``--calls`` ``/route`` calls
from one client (each followed by the bare route) and ``--turnovers``
accept + close of a routed call over XML-RPC as its agent, followed by two
bare authenticated XML-RPC calls (``bench_route.py``'s phases). The ways
alternate within each round, so both see the same machine.

    python3 tests/bench/bench_bus_notify.py --db bench_route_q --partners 20000
"""

import os
import shlex
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env
from tests.bench import bench_ingest as ingest
from tests.bench import bench_route as route

KEEP_PARAM = "omnichannel_cc.bus_notify_kept_connection"
WAYS = (("stock: a connection per request", "0"), ("kept connection", "1"))


def parse_args():
    p = _env.parser(__doc__, "bench_route_q")
    p.add_argument("--partners", type=int, default=20_000, help="when generating (x2 invoices)")
    p.add_argument("--workers", type=int, default=2, help="Odoo HTTP workers")
    p.add_argument("--agents", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2, help="rounds of both ways")
    p.add_argument("--calls", type=int, default=200, help="/route calls per way and round")
    p.add_argument("--turnovers", type=int, default=100, help="turnovers per way and round")
    p.add_argument("--clients", type=int, default=4, help="threads of the warm-up turnovers")
    p.add_argument("--port", type=int, default=18600, help="first HTTP port to try")
    p.add_argument("--log-level", default="warn")
    return p.parse_args()


def warm_up(bench, callers):
    """Every agent's password checked and caches filled on every worker
    (``bench_route.warm_turnovers``), and the route warm."""
    route.reset_center(bench.args.db, bench.center)
    route.warm_turnovers(bench, callers, bench.args.clients, first=10**6)
    route.latency_phase(bench, callers, 20, lambda *_args: None)


def main():
    args = parse_args()
    command = ingest.odoo_command()
    scratch = Path(tempfile.mkdtemp(prefix="bench_bus_notify_"))
    (scratch / "odoo.conf").write_text("[options]\n")
    env = dict(os.environ, ODOO_RC=str(scratch / "odoo.conf"), TZ="UTC")
    started_at = datetime.now().astimezone()
    route.ensure_dataset(args, command, env)
    callers = route.sample_callers(args.db)
    args.port_base = args.port
    log_path = scratch / "server.log"
    print(f"starting odoo --workers={args.workers} (log {log_path})...", flush=True)
    process, port = ingest.start_server(args, command, env, log_path)
    samples = {way: {} for way, _value in WAYS}
    problems = []
    try:
        admin = ingest.Rpc(port, args.db, *ingest.ADMIN)
        center = route.setup_center(admin, args.db, args.agents)
        center["logins"] = [
            u["login"] for u in admin("res.users", "read", center["user_ids"], fields=["login"])
        ]
        bench = route.Bench(args, [port], center)
        offset = 0
        for round_ in range(1, args.rounds + 1):
            for way, value in WAYS:
                admin("ir.config_parameter", "set_param", KEEP_PARAM, value)
                print(f"round {round_}/{args.rounds}, {way}...", flush=True)
                # a setting written clears every worker's caches (the agents'
                # checked passwords too): warm again before timing
                warm_up(bench, callers)
                route.reset_center(args.db, center)
                rec, _kinds = route.latency_phase(bench, callers, args.calls, lambda *_args: None)
                route.reset_center(args.db, center)
                route.run_turnovers(bench, callers, args.turnovers, 1, rec, first=offset)
                offset += args.turnovers
                for name, values in rec.latencies.items():
                    samples[way].setdefault(name, []).extend(values)
                if rec.non_200() or rec.bad:
                    problems.append(f"{way}, round {round_}: {rec.non_200()} {dict(rec.bad)}")
        admin("ir.config_parameter", "set_param", KEEP_PARAM, "1")
    finally:
        ingest.stop_server(process)
    rows = []
    measures = [("/route, all kinds", route.KINDS)]
    measures += [(part, (part,)) for part in ("bare", "accept", "close", "turnover", "bare pair")]
    for label, names in measures:
        cells = [label]
        medians = []
        for way, _value in WAYS:
            values = [ms for name in names for ms in samples[way].get(name, [])]
            stats = _env.percentiles(values) if values else {"n": 0, "p50": 0, "p95": 0}
            cells += [f"{stats['n']:,}", f"{stats['p50']:.1f}", f"{stats['p95']:.1f}"]
            medians.append(stats["p50"])
        change = (medians[1] - medians[0]) / medians[0] if medians[0] else 0
        rows.append([*cells, f"{change:+.0%}"])
    _env.table(
        f"bus notifications: Odoo's way against a kept connection, {args.rounds} rounds, "
        f"odoo --workers={args.workers}, database {args.db}",
        rows,
        ["measure (ms)", "n", "stock p50", "stock p95", "n", "kept p50", "kept p95", "p50 change"],
    )
    for way, _value in WAYS:
        ratio = route.turnover_ratio(samples[way].get("bare pair"), samples[way].get("turnover"))
        if ratio:
            print(f"turnover, {way}: {ratio:.0%} of the bare pair's rate")
    print("problems: " + ("; ".join(problems) or "none"))
    print(f"command: python3 {shlex.join(sys.argv)}")
    print(f"date: {started_at:%Y-%m-%d %H:%M:%S %Z}; machine: {ingest.machine()}")
    print(f"server log: {log_path}")


if __name__ == "__main__":
    main()
