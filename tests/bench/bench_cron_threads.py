"""PBX events applied while a long cron job runs: one cron thread per node
against two, on the same server and database in one run.

The event inbox answers ``/event`` at once and its applier is a cron job
(``omnichannel_cc.ir_cron_event_inbox``). A node's cron threads run one job
each at a time: while a long job holds a node's only thread (Odoo's digest
e-mails took 11.4 s on the 1M-partner benchmark database, a big import or a
report as long), the events it receives wait, and with them the offers and
screen-pops of the calls they carry.

Each phase starts an Odoo server with ``--max-cron-threads`` 1 and then 2,
starts a long job on it — an ``ir.cron`` of its own whose code waits
``--long-job`` seconds in PostgreSQL (``pg_sleep``): a stand-in for any long
job, there being no stock job of a chosen length — and, once that job runs,
sends PBX call events (ringing, answered, hangup) paced at ``--rate`` events
per second for ``--seconds``. From the inbox rows' own stamps: the delay from
receipt to applied, p50 / p95 / max, for each setting. The other crons of
the database are paused (as in ``bench_ingest.py``) so that only the long
job and the applier compete for the cron threads.

    python3 tests/bench/bench_cron_threads.py
    python3 tests/bench/bench_cron_threads.py --long-job 10 --seconds 15 --rate 20
"""

import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env
from tests.bench import bench_ingest as ingest

LONG_JOB_NAME = "Bench: a long job (pg_sleep)"


def parse_args():
    p = _env.parser(__doc__, "bench_cron_threads")
    p.add_argument("--workers", type=int, default=2, help="Odoo HTTP workers")
    p.add_argument("--clients", type=int, default=2, help="PBX client threads")
    p.add_argument("--agents", type=int, default=8, help="agents with extensions")
    p.add_argument("--rate", type=float, default=20.0, help="PBX events per second")
    p.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    p.add_argument("--long-job", type=float, default=10.0, help="seconds the long job runs")
    p.add_argument("--port", type=int, default=18500, help="first HTTP port to try")
    p.add_argument("--log-level", default="info")
    return p.parse_args()


def sql(db, query, params=()):
    with psycopg2.connect(host=ingest.DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        cr.execute(query, params)
        rows = cr.fetchall() if cr.description else []
    conn.close()
    return rows


def long_job(admin, seconds):
    """The long job's ``ir.cron`` id (made once, its length set each run)."""
    found = admin(
        "ir.cron",
        "search",
        [("name", "=", LONG_JOB_NAME), ("active", "in", [True, False])],
    )
    values = {
        "code": f'env.cr.execute("SELECT pg_sleep({seconds:g})")',
        "interval_number": 1,
        "interval_type": "days",
        "active": True,
        "nextcall": "2999-01-01 00:00:00",
    }
    if found:
        admin("ir.cron", "write", found, values)
        return found[0]
    model = admin("ir.model", "search", [("model", "=", "res.partner")])[0]
    return admin(
        "ir.cron", "create", dict(values, name=LONG_JOB_NAME, model_id=model, state="code")
    )


def start_long_job(db, job_id, timeout=30.0):
    """Make the long job due, wake the cron workers, and wait until it runs
    (its ``pg_sleep`` seen in ``pg_stat_activity``)."""
    sql(
        db,
        "UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC') - interval '1 minute' "
        "WHERE id = %s",
        [job_id],
    )
    ingest.wake_crons(db)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = sql(
            db,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND query LIKE 'SELECT pg_sleep(%%' AND state = 'active'",
            [db],
        )[0][0]
        if running:
            return
        time.sleep(0.05)
    raise SystemExit("the long job did not start: is a cron thread free? see the server log")


def phase(args, command, env, scratch, threads, run):
    log_path = scratch / f"server-{threads}-cron.log"
    print(f"--max-cron-threads={threads}: starting the server (log {log_path})...", flush=True)
    process, port = ingest.start_server(args, command, env, log_path, cron_threads=threads)
    try:
        admin = ingest.Rpc(port, args.db, *ingest.ADMIN)
        center = ingest.setup_center(admin, args.agents)
        ingest.only_inbox_cron(args.db)
        job = long_job(admin, args.long_job)
        ingest.clean_queue(args.db, admin, center)
        load = ingest.Load(args, port, center, run)
        load.stage = f"t{threads}"
        load.pace = args.clients / args.rate
        start_long_job(args.db, job)
        print(
            f"  the long job runs ({args.long_job:g} s); PBX events at {args.rate:g}/s for "
            f"{args.seconds:g} s...",
            flush=True,
        )
        rec, _elapsed = ingest.run_phase(args.clients, args.seconds, load.lifecycle)
        prefix = f"{load.prefix}ev{load.stage}"
        left = ingest.wait_applied(args.db, prefix, timeout=args.long_job + 120)
        figures = ingest.apply_figures(args.db, prefix)
        if not figures["count"]:
            raise SystemExit(f"no event of {prefix} was applied: see {log_path}")
        return {
            "threads": threads,
            "sent": len(load.applied),
            "left": left,
            "non_200": rec.non_200(),
            "bad": dict(rec.bad),
            "delays": figures,
        }
    finally:
        try:
            sql(args.db, "UPDATE ir_cron SET active = false WHERE cron_name = %s", [LONG_JOB_NAME])
        finally:
            ingest.stop_server(process)


def main():
    args = parse_args()
    command = ingest.odoo_command()
    scratch = Path(tempfile.mkdtemp(prefix="bench_cron_threads_"))
    (scratch / "odoo.conf").write_text("[options]\n")
    env = dict(os.environ, ODOO_RC=str(scratch / "odoo.conf"), TZ="UTC")
    ingest.ensure_db(args, command, env)
    run = datetime.now().strftime("%Y%m%d%H%M%S")
    results = [phase(args, command, env, scratch, threads, run) for threads in (1, 2)]
    rows = []
    for result in results:
        d = result["delays"]
        rows.append(
            [
                f"--max-cron-threads={result['threads']}",
                f"{result['sent']:,}",
                f"{d['p50']:,.0f}",
                f"{d['p95']:,.0f}",
                f"{d['max']:,.0f}",
                str(result["left"]),
                str(result["non_200"]),
            ]
        )
    _env.table(
        f"PBX events received while a {args.long_job:g} s cron job runs: receipt -> applied "
        f"(ms), {args.rate:g} events/s for {args.seconds:g} s, odoo --workers={args.workers}, "
        f"database {args.db}",
        rows,
        ["cron threads", "events", "p50 ms", "p95 ms", "max ms", "left", "non-200"],
    )
    for result in results:
        if result["bad"]:
            print(f"problems with {result['threads']} thread(s): {result['bad']}")
    print(f"date: {datetime.now().astimezone():%Y-%m-%d %H:%M:%S %Z}; {ingest.machine()}")
    print(f"server logs: {scratch}")


if __name__ == "__main__":
    main()
