"""One real Odoo 18 server per test session, on a throwaway database.

The suite's addons are installed first (``--stop-after-init``), then the server
runs with two HTTP workers and a gevent worker, as in production. Tests talk
to it over XML-RPC only. Nothing here imports odoo: it runs in its own
processes, found through ``ODOO_PYTHON`` (default: this Python).
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xmlrpc.client
from pathlib import Path

import pytest

from tests.conftest import ADDONS, REPO_ROOT

INSTALL_TIMEOUT = int(os.environ.get("OMNICHANNEL_E2E_INSTALL_TIMEOUT", "2400"))
START_TIMEOUT = int(os.environ.get("OMNICHANNEL_E2E_START_TIMEOUT", "300"))
DB_HOST = os.environ.get("PGHOST", "127.0.0.1")
DB_PORT = os.environ.get("PGPORT", "5432")
ADMIN = ("admin", "admin")
LOG_DIR = REPO_ROOT / "setup" / ".run"
PSQL_SCRIPT = """
import sys, psycopg2
c = psycopg2.connect(host=sys.argv[1], port=int(sys.argv[2]), dbname=sys.argv[3])
c.autocommit = True
c.cursor().execute(sys.argv[4])
"""


def odoo_python():
    return os.environ.get("ODOO_PYTHON") or sys.executable


def check_odoo(python):
    """Fail (never skip) when the Python cannot run Odoo 18."""
    try:
        result = subprocess.run(
            [python, "-c", "import odoo.release as r; print(r.version_info[0], r.version)"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except OSError as error:
        pytest.fail(f"cannot run {python}: {error}", pytrace=False)
    major = result.stdout.split()[0] if result.stdout.split() else ""
    if result.returncode or major != "18":
        pytest.fail(
            f"The e2e tests need Odoo 18.0 Community importable by {python} "
            f"(set ODOO_PYTHON to a Python that has it).\n"
            f"'import odoo' gave: {(result.stdout + result.stderr).strip()[-600:]}",
            pytrace=False,
        )


def odoo_command(python, scratch):
    """The command starting Odoo; never ``python -m odoo`` (see ODOO18.md)."""
    real_python = subprocess.run(
        [python, "-c", "import sys; print(sys.executable)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    script = Path(real_python).parent / "odoo"
    candidates = [[str(script)]] if script.is_file() else []
    source = subprocess.run(
        [python, "-c", "import os, odoo; print(os.path.dirname(os.path.dirname(odoo.__file__)))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    odoo_bin = Path(source) / "odoo-bin"
    if odoo_bin.is_file():
        candidates.append([real_python, str(odoo_bin)])
    launcher = scratch / "odoo-launcher.py"
    launcher.write_text(
        '__import__("os").environ["TZ"] = "UTC"\n'
        "from odoo.cli.command import main\n\n"
        'if __name__ == "__main__":\n    main()\n'
    )
    candidates.append([real_python, str(launcher)])
    for command in candidates:
        probe = subprocess.run(
            [*command, "--version"], capture_output=True, text=True, timeout=120, check=False
        )
        if probe.returncode == 0:
            return command
    pytest.fail(f"cannot start Odoo with any of {candidates}", pytrace=False)


def wait_for(predicate, timeout, what, every=0.2, fail=True):
    """Poll ``predicate`` every ``every`` s until it returns something true;
    fail after ``timeout``, or with ``fail=False`` return its last (false)
    value, for a caller whose own assertions say more."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            assert not fail, f"{what}: not within {timeout} s"
            return value
        time.sleep(every)


def run_parallel(jobs, threads, timeout):
    """Run the callables from ``threads`` threads started together; return
    (results, errors). Fail when the burst is not over within ``timeout`` s."""
    results, errors, lock = [], [], threading.Lock()
    todo = list(jobs)
    start = threading.Barrier(threads)

    def worker():
        start.wait()
        while True:
            with lock:
                if not todo:
                    return
                job = todo.pop()
            try:
                value = job()
            except xmlrpc.client.Fault as fault:
                with lock:
                    errors.append(fault.faultString)
            except Exception as error:  # noqa: BLE001 - a lost job must show
                with lock:
                    errors.append(repr(error))
            else:
                with lock:
                    results.append(value)

    # daemon threads: a stuck request must not keep pytest from exiting
    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in pool:
        thread.join(max(deadline - time.monotonic(), 0))
    assert not any(thread.is_alive() for thread in pool), f"the burst took over {timeout} s"
    return results, errors


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def psql(python, dbname, sql):
    subprocess.run(
        [
            python,
            "-c",
            PSQL_SCRIPT,
            DB_HOST,
            DB_PORT,
            dbname,
            sql,
        ],
        check=False,
        capture_output=True,
        timeout=120,
    )


def drop_database(python, dbname):
    psql(
        python,
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{dbname}' AND pid <> pg_backend_pid()",
    )
    psql(python, "postgres", f'DROP DATABASE IF EXISTS "{dbname}"')


def tail(path, lines=60):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop(process):
    """Stop the server and its workers (its own process group)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


class OdooServer:
    def __init__(self, url, db):
        self.url = url
        self.db = db
        self.common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common", allow_none=True)
        self.uid = self.login(*ADMIN)

    def login(self, login, password):
        uid = self.common.authenticate(self.db, login, password, {})
        assert uid, f"cannot log in as {login}"
        return uid

    def proxy(self):
        """A new proxy: ServerProxy objects must not be shared between threads."""
        return xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/object", allow_none=True)

    def call(self, model, method, *args, uid=None, password=None, **kwargs):
        return self.proxy().execute_kw(
            self.db,
            uid or self.uid,
            password or ADMIN[1],
            model,
            method,
            list(args),
            kwargs,
        )

    def ref(self, xmlid):
        module, name = xmlid.split(".")
        rows = self.call(
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", name)],
            fields=["res_id"],
            limit=1,
        )
        assert rows, f"no record {xmlid}"
        return rows[0]["res_id"]


@pytest.fixture(scope="session")
def odoo_server(tmp_path_factory):
    python = odoo_python()
    check_odoo(python)
    scratch = tmp_path_factory.mktemp("odoo")
    command = odoo_command(python, scratch)
    db = f"omni_e2e_{os.getpid()}_{secrets.token_hex(3)}"
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    install_log = LOG_DIR / f"{db}-install.log"
    server_log = LOG_DIR / f"{db}-server.log"
    env = dict(os.environ, ODOO_RC=str(scratch / "odoo.conf"), TZ="UTC")
    (scratch / "odoo.conf").write_text("[options]\n")
    common = [
        "-d",
        db,
        f"--addons-path={REPO_ROOT}",
        f"--db_host={DB_HOST}",
        f"--db_port={DB_PORT}",
        f"--data-dir={scratch / 'data'}",
        "--max-cron-threads=0",
    ]
    process = None
    try:
        with install_log.open("w") as log:
            try:
                install = subprocess.run(
                    [
                        *command,
                        *common,
                        "-i",
                        ",".join(ADDONS),
                        "--without-demo=all",
                        "--stop-after-init",
                        "--no-http",
                        "--log-level=warn",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    timeout=INSTALL_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                pytest.fail(
                    f"installing {ADDONS} took over {INSTALL_TIMEOUT}s:\n{tail(install_log)}",
                    pytrace=False,
                )
        if install.returncode:
            pytest.fail(
                f"installing {ADDONS} failed (exit {install.returncode}), log {install_log}:\n"
                f"{tail(install_log)}",
                pytrace=False,
            )
        http_port, gevent_port = free_port(), free_port()
        with server_log.open("w") as log:
            process = subprocess.Popen(
                [
                    *command,
                    *common,
                    "--workers=2",
                    f"--http-port={http_port}",
                    f"--gevent-port={gevent_port}",
                    "--http-interface=127.0.0.1",
                    f"--db-filter=^{db}$",
                    "--without-demo=all",
                    "--log-level=info",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{http_port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"the Odoo server exited with {process.returncode}:\n{tail(server_log)}",
                    pytrace=False,
                )
            try:
                with urllib.request.urlopen(f"{url}/web/login", timeout=10) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the Odoo server did not answer /web/login in {START_TIMEOUT}s:\n"
                    f"{tail(server_log)}",
                    pytrace=False,
                )
            time.sleep(1)
        yield OdooServer(url, db)
    finally:
        if process is not None:
            stop(process)
        drop_database(python, db)
        shutil.rmtree(scratch / "data", ignore_errors=True)


@pytest.fixture(scope="session")
def poland(odoo_server):
    ids = odoo_server.call("res.country", "search", [("code", "=", "PL")])
    assert ids, "Poland is missing from res.country"
    return ids[0]
