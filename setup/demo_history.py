"""Write weeks of simulated contact-center history into a demo database.

Run by the Python that has Odoo 18.0 (setup/run does it once for a new demo
database)::

    python3 setup/demo_history.py DBNAME --weeks 4 -- <odoo options>

Contacts of every queue of the main company arrive by hour of day and
weekday, agents on shift take them, callers who wait too long hang up; the
agents' busy / wrap-up / break periods go with them. The reports, the
Dashboards app, the wallboard's charts, the staffing plan and the agents'
scorecards then have a past to show (the demo's staffing plans are computed
from it). The simulation is seeded: the same
command gives the same history. A database that already has it is left alone.
"""

import argparse
import sys
import time

MARKER = "omnichannel_cc.demo_history"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="Odoo options follow --."
    )
    parser.add_argument("db", help="an Odoo database with omnichannel_cc and its demo data")
    parser.add_argument("--weeks", type=int, default=4, help="weeks before today (default 4)")
    parser.add_argument(
        "--daily", type=int, default=45, help="contacts per queue on a weekday (default 45)"
    )
    parser.add_argument("--seed", type=int, default=18, help="random seed (default 18)")
    odoo_args = []
    if "--" in argv:
        argv, odoo_args = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    args = parser.parse_args(argv)
    if not 0 < args.weeks <= 26:
        parser.error("--weeks must be between 1 and 26")
    args.odoo_args = odoo_args
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(args.odoo_args, setup_logging=True)
    registry = Registry(args.db)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        params = env["ir.config_parameter"]
        if params.get_param(MARKER):
            print(f"{args.db} already has its demo history ({params.get_param(MARKER)})")
            return
        started = time.monotonic()
        last = [0.0]

        def progress(done, total):
            if done == total or time.monotonic() - last[0] > 2:
                last[0] = time.monotonic()
                print(f"  history: {done}/{total} rows written", flush=True)

        counts = env["omnichannel.interaction"]._demo_generate_history(
            days=7 * args.weeks, daily=args.daily, seed=args.seed, progress=progress
        )
        # the demo's staffing plans, from that history
        env["omnichannel.staffing.plan"].search([]).action_compute()
        params.set_param(
            MARKER,
            f"{counts['interactions']} contacts, {counts['periods']} agent periods, "
            f"{args.weeks} weeks, seed {args.seed}",
        )
        print(
            f"{counts['interactions']} contacts and {counts['periods']} agent periods "
            f"over {args.weeks} weeks in {time.monotonic() - started:.0f} s"
        )
    odoo.sql_db.close_all()


if __name__ == "__main__":
    main()
