"""Old and new wallboard payloads on the same data at the same frozen instant.

The previous implementation of the wallboard's figures (omnichannel_wallboard.py
at --rev, read from git) runs next to the current one on a database made by
generate.py, for several time zones, as superuser and as a supervisor of two
queues, after turning some of today's latest contacts into waiting, ringing and
held ones (rolled back). Prints SAME or the keys that differ.

    python3 tests/bench/compare_wallboard.py --db bench_gen --rev 741cb03
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env

REPO = Path(__file__).resolve().parents[2]
MODULE = "omnichannel_cc/models/omnichannel_wallboard.py"
LIVEN = """
    WITH latest AS (SELECT id, row_number() OVER (ORDER BY date_queued DESC) AS n
                      FROM omnichannel_interaction WHERE date_queued IS NOT NULL
                     ORDER BY date_queued DESC LIMIT 400)
    UPDATE omnichannel_interaction i
       SET state = CASE WHEN n % 5 = 0 THEN 'queued' WHEN n % 5 = 1 THEN 'offered'
                        WHEN n % 5 = 2 THEN 'active' WHEN n % 5 = 3 THEN 'wrapup'
                        ELSE 'new' END,
           date_answered = CASE WHEN n % 5 IN (2, 3) THEN i.date_answered END,
           agent_id = CASE WHEN n % 5 IN (0, 4) THEN NULL ELSE i.agent_id END,
           date_closed = NULL, priority = n % 3
      FROM latest WHERE latest.id = i.id"""


def old_methods(rev):
    src = subprocess.check_output(["git", "-C", str(REPO), "show", f"{rev}:{MODULE}"], text=True)
    src = src.replace("from ..tools import", "from odoo.addons.omnichannel_cc.tools import")
    src = src.replace("from .omnichannel_", "from odoo.addons.omnichannel_cc.models.omnichannel_")
    src = src.replace("class OmnichannelQueue(models.Model):", "class OldWallboard:")
    namespace = {"__name__": "wallboard_old"}
    exec(compile(src, f"{rev}:{MODULE}", "exec"), namespace)  # noqa: S102
    return {
        key: value
        for key, value in vars(namespace["OldWallboard"]).items()
        if key.startswith(("wallboard_data", "_wallboard_"))
    }


def board(env, methods=None):
    cls = type(env["omnichannel.queue"])
    saved = {key: cls.__dict__.get(key) for key in methods or ()}
    for key, value in (methods or {}).items():
        setattr(cls, key, value)
    try:
        env.invalidate_all()
        return env["omnichannel.queue"].wallboard_data()
    finally:
        for key, value in saved.items():
            if value is None:
                delattr(cls, key)
            else:
                setattr(cls, key, value)


def main():
    p = _env.parser(__doc__, "bench_gen")
    p.add_argument("--rev", default="741cb03", help="git revision of the previous wallboard")
    p.add_argument("--runs", type=int, default=30, help="timed refreshes of each, alternated")
    args = p.parse_args()
    if not _env.db_exists(args.db):
        sys.exit(f"no database {args.db}: run tests/bench/generate.py --db {args.db} first")
    with _env.environment(args.db) as env:
        from freezegun import freeze_time

        from odoo import fields

        old = old_methods(args.rev)
        env.cr.execute(LIVEN)
        supervisor = env["res.users"].create(
            {
                "name": "Wallboard compare",
                "login": "wallboard_compare_sup",
                "groups_id": [(4, env.ref("omnichannel_cc.group_omnichannel_supervisor").id)],
            }
        )
        env["omnichannel.queue"].search([], limit=2).write({"supervisor_ids": [(4, supervisor.id)]})
        env.flush_all()
        at = fields.Datetime.now()
        rows, different = [], 0
        for tz in ("UTC", "Europe/Warsaw", "America/New_York"):
            for user in (None, supervisor.id):
                e = env(context={"tz": tz}) if user is None else env(user=user, context={"tz": tz})
                with freeze_time(at):
                    before, after = board(e, old), board(e)
                same = json.dumps(before, sort_keys=True) == json.dumps(after, sort_keys=True)
                different += not same
                rows.append(
                    [
                        tz,
                        "superuser" if user is None else "supervisor of 2 queues",
                        len(after["queues"]),
                        len(after["agents"]),
                        sum(q["offered"] for q in after["queues"]),
                        after["totals"]["handled"],
                        after["totals"]["waiting"],
                        "SAME" if same else "DIFFERENT",
                    ]
                )
                for key in after if not same else ():
                    if before[key] != after[key]:
                        print(f"{tz} {user} {key}:\n  old {before[key]}\n  new {after[key]}")
        _env.table(
            f"Wallboard payload, {args.rev} vs working tree, frozen at {at}",
            rows,
            ["tz", "user", "queues", "agents", "offered", "handled", "waiting", "payload"],
        )
        print("\nall payloads identical" if not different else f"\n{different} DIFFERENT")
        # the two side by side, alternated so that both see the same machine load
        e = env(context={"tz": "UTC"})
        samples = {"previous": [], "current": []}
        for _ in range(args.runs):
            for name, methods in (("previous", old), ("current", None)):
                queries = env.cr.sql_log_count
                t0 = time.perf_counter()
                board(e, methods)
                samples[name].append(
                    ((time.perf_counter() - t0) * 1000, env.cr.sql_log_count - queries)
                )
        _env.table(
            "Refresh as superuser, alternated (ms)",
            [
                [
                    f"{name} ({args.rev if name == 'previous' else 'working tree'})",
                    values[-1][1],
                    f"{min(v for v, _q in values):.2f}",
                    f"{statistics.median(v for v, _q in values):.2f}",
                ]
                for name, values in samples.items()
            ],
            ["wallboard_data()", "queries", "min ms", "p50 ms"],
        )
        env.cr.rollback()


if __name__ == "__main__":
    main()
