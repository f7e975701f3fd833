"""Wallboard refresh over a year of contact history, on a database made by
generate.py: omnichannel.queue.wallboard_data() (a few aggregate queries on
today's and waiting contacts) against the stock-Odoo way (read_group on
omnichannel.interaction for the same figures over today).

    python3 tests/bench/bench_wallboard.py --db bench_gen --runs 50
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env
from tests.bench.generate import MARKER

TARGET_P95_MS = 50.0
WAITING = ("new", "queued", "offered")
HOLDING = ("offered", "active", "wrapup")


def ours(env):
    data = env["omnichannel.queue"].wallboard_data()
    return {
        "waiting": data["totals"]["waiting"],
        "handled": data["totals"]["handled"],
        "abandoned": data["totals"]["abandoned"],
        "offered": sum(q["offered"] for q in data["queues"]),
        "answered": sum(q["answered"] for q in data["queues"]),
        "in_sl": sum(q["answered_in_sl"] for q in data["queues"]),
    }


def stock(env, day_start):
    """The same figures the way a stock-Odoo dashboard gets them: read_group calls."""
    Interaction = env["omnichannel.interaction"]
    today = [("date_queued", ">=", day_start)]
    waiting = Interaction.read_group(
        [("state", "in", WAITING)], ["date_queued:min"], ["queue_id"], lazy=False
    )
    offered = Interaction.read_group(
        today, ["wait_duration:sum"], ["queue_id", "state"], lazy=False
    )
    answered = Interaction.read_group(
        [*today, ("date_answered", "!=", False)],
        ["wait_duration:sum"],
        ["queue_id"],
        lazy=False,
    )
    handled = Interaction.read_group(
        [("state", "=", "done"), ("date_closed", ">=", day_start)],
        ["talk_duration:sum"],
        ["queue_id", "agent_id"],
        lazy=False,
    )
    Interaction.read_group([("state", "in", HOLDING)], [], ["agent_id"], lazy=False)
    # service level: one count per queue, each with its own threshold
    in_sl = 0
    for queue in env["omnichannel.queue"].search([]):
        in_sl += Interaction.search_count(
            [
                *today,
                ("queue_id", "=", queue.id),
                ("date_answered", "!=", False),
                ("wait_duration", "<=", queue.service_level_seconds),
            ]
        )
    # agents and their presence, as the board lists them
    env["omnichannel.agent"].search_read([], ["name", "state", "state_since", "user_id"])
    return {
        "waiting": sum(g["__count"] for g in waiting),
        "handled": sum(g["__count"] for g in handled),
        "abandoned": sum(g["__count"] for g in offered if g["state"] == "abandoned"),
        "offered": sum(g["__count"] for g in offered),
        "answered": sum(g["__count"] for g in answered),
        "in_sl": in_sl,
    }


def timed(fn, runs, env):
    samples, result = [], None
    for _ in range(runs):
        env.invalidate_all()
        queries = env.cr.sql_log_count
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
        queries = env.cr.sql_log_count - queries
    stats = _env.percentiles(samples)
    stats["queries"] = queries
    return stats, result


def main():
    p = _env.parser(__doc__, "bench_gen")
    p.add_argument("--runs", type=int, default=50)
    args = p.parse_args()
    if not _env.db_exists(args.db):
        sys.exit(f"no database {args.db}: run tests/bench/generate.py --db {args.db} first")
    with _env.environment(args.db) as env:
        if not env["ir.config_parameter"].sudo().get_param(MARKER):
            sys.exit(f"{args.db} was not made by tests/bench/generate.py")
        from odoo import fields

        from odoo.addons.omnichannel_cc.tools import wallboard

        env = env(context={"tz": "UTC"})
        day_start = wallboard.day_start_utc(fields.Datetime.now(), "UTC")
        cr = env.cr
        cr.execute(
            "SELECT count(*), min(date_queued), max(date_queued) FROM omnichannel_interaction"
        )
        history, first, last = cr.fetchone()
        cr.execute(
            "SELECT count(*) FROM omnichannel_interaction WHERE date_queued >= %s", (day_start,)
        )
        today = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM omnichannel_queue")
        queues = cr.fetchone()[0]
        cr.execute("SELECT count(*) FROM omnichannel_agent")
        agents = cr.fetchone()[0]
        print(
            f"history: {history:,} interactions from {first:%Y-%m-%d} to {last:%Y-%m-%d %H:%M}, "
            f"{today:,} since {day_start:%Y-%m-%d %H:%M} UTC; {queues} queues, {agents} agents"
        )
        ours(env)  # warm-up
        stock(env, day_start)
        a, a_result = timed(lambda: ours(env), args.runs, env)
        b, b_result = timed(lambda: stock(env, day_start), args.runs, env)
        _env.table(
            f"Wallboard refresh over {history:,} interactions ({_env.machine()}, in-process)",
            [
                [
                    "ours: omnichannel.queue.wallboard_data()",
                    a["n"],
                    a["queries"],
                    f"{a['p50']:.2f}",
                    f"{a['p95']:.2f}",
                    f"{a['p99']:.2f}",
                ],
                [
                    "stock: read_group on omnichannel.interaction",
                    b["n"],
                    b["queries"],
                    f"{b['p50']:.2f}",
                    f"{b['p95']:.2f}",
                    f"{b['p99']:.2f}",
                ],
            ],
            ["method", "runs", "queries", "p50 ms", "p95 ms", "p99 ms"],
        )
        keys = list(a_result)
        _env.table(
            "Today's figures (both ways must agree)",
            [
                [k, a_result[k], b_result[k], "yes" if a_result[k] == b_result[k] else "NO"]
                for k in keys
            ],
            ["figure", "ours", "stock", "same"],
        )
        print(
            f"\nours p95 {a['p95']:.2f} ms (target <= {TARGET_P95_MS:.0f} ms whatever the "
            f"history, {today:,} contacts today): "
            f"{'met' if a['p95'] <= TARGET_P95_MS else 'NOT met'}; "
            f"stock / ours at p95: {b['p95'] / a['p95']:.1f}x"
        )
        env.cr.rollback()


if __name__ == "__main__":
    main()
