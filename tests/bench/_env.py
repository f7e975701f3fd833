"""Bootstrap for the benchmarks: a database with the addons, an in-process
Odoo environment, timing helpers. Benchmarks print figures; they never fail
on a number."""

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADDONS = "omnichannel_cc"


def parser(description, default_db):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--db", default=default_db, help="database (created when missing)")
    p.add_argument("--reset", action="store_true", help="drop and recreate the database")
    return p


def db_exists(name):
    out = subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-d",
            "postgres",
            "-Atc",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() == "1"


def ensure_db(name, reset=False):
    if reset and db_exists(name):
        subprocess.run(["dropdb", "-h", "127.0.0.1", name], check=True)
    if db_exists(name):
        return False
    print(f"installing {ADDONS} into {name} (no demo data)...", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, odoo.cli; sys.exit(odoo.cli.main())",
            "-d",
            name,
            f"--addons-path={REPO}",
            "-i",
            ADDONS,
            "--without-demo=all",
            "--stop-after-init",
            "--no-http",
            "--log-level=warn",
            "--db_host=127.0.0.1",
        ],
        check=True,
    )
    print(f"  installed in {time.perf_counter() - started:.0f} s", flush=True)
    return True


@contextlib.contextmanager
def environment(name):
    import odoo
    from odoo import SUPERUSER_ID, api

    if not getattr(environment, "configured", False):
        odoo.tools.config.parse_config(
            [f"--addons-path={REPO}", "--db_host=127.0.0.1", "--log-level=warn"]
        )
        environment.configured = True
    # a fresh registry: the database may have changed since the last one
    odoo.modules.registry.Registry.delete(name)
    registry = odoo.modules.registry.Registry(name)
    with registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})


class QueryClock:
    """Odoo's cursors count and time every query while ``on``: per query
    text (its first 150 characters), how many and the seconds spent waiting
    for PostgreSQL. Used by the in-process profiles. ``capture``: each
    statement is also kept whole, with its parameters, in ``captured`` (to
    EXPLAIN it afterwards)."""

    def __init__(self, capture=False):
        from collections import Counter

        self.counts, self.seconds = Counter(), Counter()
        self.on = False
        self.capture = capture
        self.captured = []

    @contextlib.contextmanager
    def installed(self):
        import odoo

        original = odoo.sql_db.Cursor.execute
        clock = self

        def execute(cr, query, params=None, log_exceptions=True):
            if not clock.on:
                return original(cr, query, params, log_exceptions)
            if isinstance(query, odoo.tools.SQL):
                code, values = query.code, query.params
            else:
                code, values = str(query), params
            if clock.capture:
                clock.captured.append(cr._obj.mogrify(code, values).decode() if values else code)
            text = " ".join(code.split())[:150]
            clock.counts[text] += 1
            started = time.perf_counter()
            try:
                return original(cr, query, params, log_exceptions)
            finally:
                clock.seconds[text] += time.perf_counter() - started

        odoo.sql_db.Cursor.execute = execute
        try:
            yield self
        finally:
            odoo.sql_db.Cursor.execute = original

    def report(self, per, label, frequent=40, slowest=15):
        """The most frequent and the slowest queries, per ``per`` units."""
        print(f"\nmost frequent queries ({label}):")
        for text, n in self.counts.most_common(frequent):
            print(f"  {n:5d}  {text}")
        total = sum(self.seconds.values()) * 1000 / max(per, 1)
        print(f"\nSQL time: {total:.2f} ms per {label} (statements sent and answered)")
        print(f"\nslowest queries (ms per {label}, {per} of them):")
        for text, seconds in self.seconds.most_common(slowest):
            print(f"  {seconds * 1000 / max(per, 1):7.3f}  {self.counts[text]:5d}x  {text}")


def percentiles(samples_ms):
    ordered = sorted(samples_ms)

    def pick(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": len(ordered),
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "mean": statistics.fmean(ordered),
    }


def progress(done, total, started, label):
    rate = done / max(time.perf_counter() - started, 1e-9)
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stdout.write(
        f"\r  {label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} ({rate:,.0f}/s)"
    )
    if done >= total:
        sys.stdout.write("\n")
    sys.stdout.flush()


def table(title, rows, headers):
    print(f"\n{title}")
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def machine():
    return f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
