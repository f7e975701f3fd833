"""Installing omnichannel_cc on a database that already has many partners:
the E.164 columns are created empty in the install transaction and filled
afterwards by the backfill cron, in batches, with progress.

    python3 tests/bench/bench_install.py --partners 1000000
"""

import io
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env

# omnichannel_cc's dependencies are installed first: the figure is the cost of
# omnichannel_cc itself, not of account or sale on a large partner table.
BASE_MODULES = "mail,contacts,phone_validation,account,sale_management,im_livechat,bus,web,resource"


def odoo(*args):
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, odoo.cli; sys.exit(odoo.cli.main())",
            f"--addons-path={_env.REPO}",
            "--db_host=127.0.0.1",
            "--log-level=warn",
            "--stop-after-init",
            "--no-http",
            *args,
        ],
        check=True,
    )


def main():
    p = _env.parser(__doc__, "omnichannel_bench_install")
    p.add_argument("--partners", type=int, default=1_000_000)
    p.add_argument("--batches", type=int, default=3, help="backfill cron runs to time")
    args = p.parse_args()
    if _env.db_exists(args.db):
        subprocess.run(["dropdb", "-h", "127.0.0.1", args.db], check=True)
    print(f"database {args.db} with {BASE_MODULES} only...", flush=True)
    odoo("-d", args.db, "-i", BASE_MODULES, "--without-demo=all")
    with _env.environment(args.db) as env:
        cr = env.cr
        poland = env.ref("base.pl").id
        started = time.perf_counter()
        done = 0
        while done < args.partners:
            n = min(100_000, args.partners - done)
            buf = io.StringIO()
            for i in range(done, done + n):
                buf.write(
                    f"Klient {i}\tKlient {i}\t{600000000 + i:09d}\t{poland}\tt\tcontact\task\n"
                )
            buf.seek(0)
            cr.copy_from(
                buf,
                "res_partner",
                columns=(
                    "name",
                    "complete_name",
                    "phone",
                    "country_id",
                    "active",
                    "type",
                    "autopost_bills",
                ),
            )
            done += n
            _env.progress(done, args.partners, started, "partners")
        cr.execute(
            "UPDATE res_partner SET commercial_partner_id = id WHERE commercial_partner_id IS NULL"
        )
        cr.commit()
    print("installing omnichannel_cc", flush=True)
    t0 = time.perf_counter()
    odoo("-d", args.db, "-i", "omnichannel_cc", "--without-demo=all")
    install = time.perf_counter() - t0
    print(f"  installed in {install:.0f} s", flush=True)
    with _env.environment(args.db) as env:
        cr = env.cr
        cr.execute("SELECT count(*), count(phone_e164) FROM res_partner")
        total, filled = cr.fetchone()
        Partner = env["res.partner"]
        remaining = Partner.with_context(active_test=False).search_count(
            Partner._omnichannel_phone_backfill_domain()
        )
        t0 = time.perf_counter()
        processed = Partner._omnichannel_backfill_phone_e164(
            batch_size=2000, max_batches=args.batches
        )
        backfill = time.perf_counter() - t0
        cr.commit()
    rate = processed / backfill if backfill else 0
    _env.table(
        f"Install on {args.partners:,} partners ({_env.machine()})",
        [
            ["install omnichannel_cc", f"{install:.0f} s"],
            ["partners with E.164 filled right after install", f"{filled:,} of {total:,}"],
            ["left to the backfill cron", f"{remaining:,}"],
            [
                f"backfill: {processed:,} partners in {args.batches} batches",
                f"{backfill:.1f} s ({rate:,.0f}/s)",
            ],
            ["estimated full backfill", f"{remaining / rate / 60:.0f} min" if rate else "-"],
        ],
        ["measure", "value"],
    )


if __name__ == "__main__":
    main()
