"""The same PBX ``/route`` calls against two versions of the addons, side by
side: two Odoo servers on one database — this checkout and a git revision
(checked out into a temporary worktree) — with the calls interleaved between
them (which one goes first alternates), each followed by the bare route of
the same server. What one change did, on the same machine in the same
minutes, instead of across days whose machines differ (the machines of this
project vary by 1.5× from one day to the next).

For changes that leave the schema alone (both versions run on the same
database). The database and its bench center are ``bench_route.py``'s; the
line answers routing first during the run unless ``--written-first``; both
servers run the crons (one at a time: Odoo locks each job), so the event
inbox writes the calls answered first whichever server answered them.

    python3 tests/bench/bench_route_ab.py --db bench_route_1m --against 08aff45

Each server's log (Odoo's request lines, with the statements, SQL and other
time of each request at ``--log-level info``) is kept in the scratch folder
printed at the end.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env
from tests.bench import bench_ingest as ingest
from tests.bench import bench_route as br


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default="bench_route_1m", help="made by bench_route.py")
    p.add_argument("--against", required=True, help="the git revision to compare with")
    p.add_argument("--calls", type=int, default=400, help="timed calls per server")
    p.add_argument("--warmup", type=int, default=40, help="untimed calls per server first")
    p.add_argument("--agents", type=int, default=200)
    p.add_argument("--workers", type=int, default=2, help="Odoo HTTP workers per server")
    p.add_argument("--written-first", action="store_true", help="the line answers after writing")
    p.add_argument("--port", type=int, default=18700, help="first HTTP port to try")
    p.add_argument("--log-level", default="info")
    return p.parse_args()


def worktree(revision, scratch):
    """``revision`` checked out into a worktree of this repository (removed
    at the end); a clear error when git does not know it."""
    path = scratch / "against"
    done = subprocess.run(
        ["git", "-C", str(_env.REPO), "worktree", "add", "--detach", str(path), revision],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"cannot check out {revision!r}: {done.stderr.strip()}")
    return path


def main():
    args = parse_args()
    if not _env.db_exists(args.db):
        raise SystemExit(
            f"no database {args.db}: make it first with "
            f"python3 tests/bench/bench_route.py --db {args.db} --partners 1000000"
        )
    scratch = Path(tempfile.mkdtemp(prefix="bench_route_ab_"))
    (scratch / "odoo.conf").write_text("[options]\n")
    env = dict(os.environ, ODOO_RC=str(scratch / "odoo.conf"), TZ="UTC")
    command = ingest.odoo_command()
    against = worktree(args.against, scratch)
    trees = {"this checkout": None, args.against: str(against)}
    processes, ports = [], {}
    try:
        for name, tree in trees.items():
            log_path = scratch / f"server-{len(ports) + 1}.log"
            print(f"starting odoo on {name} (log {log_path})...", flush=True)
            process, port = ingest.start_server(args, command, env, log_path, addons_path=tree)
            processes.append(process)
            ports[name] = port
            args.port = port + 2
        admin = ingest.Rpc(ports["this checkout"], args.db, *ingest.ADMIN)
        center = br.setup_center(admin, args.db, args.agents)
        center["logins"] = [
            u["login"] for u in admin("res.users", "read", center["user_ids"], fields=["login"])
        ]
        br.set_fast_route(admin, center, not args.written_first)
        callers = br.sample_callers(args.db)
        bench = br.Bench(args, list(ports.values()), center)
        clients = {name: ingest.Client(port) for name, port in ports.items()}
        recs = {name: ingest.Recorder() for name in trees}
        br.reset_center(args.db, center)
        offered = waiting = 0
        names = list(trees)
        for n in range(args.warmup + args.calls):
            kind = br.KINDS[n % len(br.KINDS)]
            number = br.caller(callers, kind, n // len(br.KINDS))
            for name in names if n % 2 else reversed(names):
                rec = recs[name] if n >= args.warmup else ingest.Recorder()
                answer = bench.route(clients[name], rec, kind, number)
                bench.bare(clients[name], rec)
                if answer and answer.get("agent_id"):
                    offered += 1
                elif answer:
                    waiting += 1
            if offered >= 0.8 * len(center["user_ids"]) or waiting >= 40:
                br.reset_center(args.db, center)
                offered = waiting = 0
        br.reset_center(args.db, center)
        rows = []
        for name, rec in recs.items():
            routes = [ms for kind in br.KINDS for ms in rec.latencies.get(kind, [])]
            rows.append(br.stats_row(f"{name}: bare route", rec.latencies.get("bare", [])))
            rows.append(br.stats_row(f"{name}: /route all kinds", routes))
            rows += [br.stats_row(f"  {kind}", rec.latencies.get(kind, [])) for kind in br.KINDS]
            problems = sum(rec.bad.values())
            note = f"  non-200: {rec.non_200()}, problems: {problems}"
            rows.append([note, "", "", "", "", "", ""])
        way = "written first" if args.written_first else "answered first"
        _env.table(
            f"/route {way}, {args.calls} calls per server interleaved, database {args.db}:",
            rows,
            ["measure", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms", "note"],
        )
        br.set_fast_route(admin, center, False)
    finally:
        for process in processes:
            ingest.stop_server(process)
        subprocess.run(
            ["git", "-C", str(_env.REPO), "worktree", "remove", "--force", str(against)],
            capture_output=True,
            check=False,
        )
    print(f"server logs: {scratch}")


if __name__ == "__main__":
    main()
