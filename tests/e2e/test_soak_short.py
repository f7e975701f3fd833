"""The soak of issue 19 in its short form: tests/bench/soak.py for 45 s on a
2-worker server of its own (calls with their PBX event lifecycle, e-mails,
chats and SMS coming in, agents accepting and closing), on a throwaway
database. The PBX events are answered once stored in the event inbox; the
server's one cron thread applies them, and the soak polls (with a deadline)
until none waits before counting. It passes when every contact sent is
stored once, every event applied once (no row waiting, no dead letter), every request
was answered 200 and the server log holds no ERROR (PostgreSQL's refusals of
a concurrent update, which Odoo retries, are counted apart). The 10-minute
soak is the same script (``--minutes 10 --workers 4``), figures in the README.
"""

import os
import secrets
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import check_odoo, drop_database, odoo_python

pytestmark = pytest.mark.e2e

SOAK = REPO_ROOT / "tests" / "bench" / "soak.py"


def test_short_soak_loses_and_doubles_nothing():
    python = odoo_python()
    check_odoo(python)
    db = f"omni_soak_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        run = subprocess.run(
            [python, str(SOAK), "--db", db, "--seconds", "45", "--workers", "2"],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=REPO_ROOT,
            check=False,
        )
    finally:
        drop_database(python, db)
    report = run.stdout[-6000:] + run.stderr[-3000:]
    sys.stdout.write(report)
    assert run.returncode == 0, report
    assert "RESULT: nothing lost, doubled or refused" in run.stdout, report
    assert "0 still waiting, 0 dead letters" in run.stdout, report
