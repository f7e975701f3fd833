"""Caller identification at scale: omnichannel_identify (indexed E.164
columns) against the stock-Odoo way (ilike on phone / mobile), same data,
same run.

    python3 tests/bench/bench_identify.py --partners 1000000 --lookups 1000
"""

import io
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env

NOTATIONS = (
    lambda d: f"+48 {d[:3]} {d[3:6]} {d[6:]}",
    lambda d: f"{d[:3]}-{d[3:6]}-{d[6:]}",
    lambda d: f"0048{d}",
    lambda d: f"({d[:2]}) {d[2:5]} {d[5:7]} {d[7:]}",
    lambda d: f"+48.{d[:3]}.{d[3:6]}.{d[6:]}",
)


def generate(env, count, batch=100_000):
    """Partners with Polish numbers in mixed notations, written with COPY.

    phone_e164 is written directly (the generator knows the number); this is
    what the install backfill would compute."""
    cr = env.cr
    cr.execute("SELECT count(*) FROM res_partner WHERE ref LIKE 'bench-%%'")
    have = cr.fetchone()[0]
    if have >= count:
        print(f"  {have:,} bench partners already there")
        return
    poland = env.ref("base.pl").id
    company = env.company.id
    rng = random.Random(42)
    started = time.perf_counter()
    done = have
    while done < count:
        n = min(batch, count - done)
        buf = io.StringIO()
        for i in range(done, done + n):
            digits = f"{500000000 + i:09d}"
            phone = NOTATIONS[i % len(NOTATIONS)](digits)
            mobile_digits = f"{700000000 + i:09d}" if rng.random() < 0.5 else None
            buf.write(
                "\t".join(
                    [
                        f"Klient {i}",
                        f"Klient {i}",
                        f"bench-{i}",
                        phone,
                        f"+48{digits}",
                        mobile_digits or "\\N",
                        f"+48{mobile_digits}" if mobile_digits else "\\N",
                        str(poland),
                        str(company),
                        "t",
                        "contact",
                        "1",
                        "ask",
                    ]
                )
                + "\n"
            )
        buf.seek(0)
        cr.copy_from(
            buf,
            "res_partner",
            columns=(
                "name",
                "complete_name",
                "ref",
                "phone",
                "phone_e164",
                "mobile",
                "mobile_e164",
                "country_id",
                "company_id",
                "active",
                "type",
                "customer_rank",
                "autopost_bills",
            ),
        )
        done += n
        _env.progress(done, count, started, "partners")
    cr.execute(
        "UPDATE res_partner SET commercial_partner_id = id WHERE commercial_partner_id IS NULL"
    )
    cr.execute("ANALYZE res_partner")
    cr.commit()


def main():
    p = _env.parser(__doc__, "omnichannel_bench")
    p.add_argument("--partners", type=int, default=1_000_000)
    p.add_argument("--lookups", type=int, default=1000)
    p.add_argument(
        "--stock-lookups",
        type=int,
        default=100,
        help="the stock way is slow: fewer lookups (percentiles still printed)",
    )
    args = p.parse_args()
    _env.ensure_db(args.db, args.reset)
    with _env.environment(args.db) as env:
        print(f"generating {args.partners:,} partners...", flush=True)
        generate(env, args.partners)
        # a Polish company: national numbers are read in Poland
        env.ref("base.main_company").country_id = env.ref("base.pl")
        Partner = env["res.partner"]
        rng = random.Random(7)
        picks = [rng.randrange(args.partners) for _ in range(args.lookups)]
        queries = [NOTATIONS[(k + 1) % len(NOTATIONS)](f"{500000000 + k:09d}") for k in picks]

        ours, found = [], 0
        for text in queries:
            t0 = time.perf_counter()
            matches = Partner.omnichannel_identify(text)
            ours.append((time.perf_counter() - t0) * 1000)
            found += bool(matches)
        stock, stock_found = [], 0
        for _text, k in list(zip(queries, picks, strict=True))[: args.stock_lookups]:
            digits = f"{500000000 + k:09d}"
            t0 = time.perf_counter()
            # what a stock-Odoo integration does: ilike on the typed digits
            tail = digits[-6:]
            matches = Partner.search(
                ["|", ("phone", "ilike", tail), ("mobile", "ilike", tail)], limit=50
            )
            matches.read(["name", "commercial_partner_id"])
            stock.append((time.perf_counter() - t0) * 1000)
            stock_found += bool(matches)
        a, b = _env.percentiles(ours), _env.percentiles(stock)
        _env.table(
            f"Caller identification, {args.partners:,} partners ({_env.machine()})",
            [
                [
                    "omnichannel_identify (E.164 btree)",
                    a["n"],
                    f"{a['p50']:.2f}",
                    f"{a['p95']:.2f}",
                    f"{a['p99']:.2f}",
                    f"{found}/{a['n']}",
                ],
                [
                    "stock: ilike on phone/mobile",
                    b["n"],
                    f"{b['p50']:.2f}",
                    f"{b['p95']:.2f}",
                    f"{b['p99']:.2f}",
                    f"{stock_found}/{b['n']}",
                ],
            ],
            ["method", "lookups", "p50 ms", "p95 ms", "p99 ms", "found"],
        )
        print(f"\nspeed-up at p95: {b['p95'] / a['p95']:.0f}x")
        env.cr.rollback()


if __name__ == "__main__":
    main()
