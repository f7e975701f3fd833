"""setup/run as a new user runs it, and the proxy it puts in front of workers.

The Odoo tests drive the real script as a subprocess on a database of their
own: the first run creates it from scratch (the Polish company, demo data:
the path of a new user, minutes) and serves it on one free port; later runs
reuse it on other ports, with workers behind setup/proxy.py. Every server is
stopped (Ctrl+C to its process group, or SIGTERM to the proxy alone) and the
database dropped, even on failure.

The proxy's own tests use small stdlib peers instead of Odoo (seconds).
"""

import http.server
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from tests.conftest import ADDONS, REPO_ROOT
from tests.e2e.conftest import (
    DB_HOST,
    DB_PORT,
    INSTALL_TIMEOUT,
    LOG_DIR,
    START_TIMEOUT,
    OdooServer,
    check_odoo,
    drop_database,
    free_port,
    odoo_python,
    tail,
    wait_for,
)

SETUP_RUN = REPO_ROOT / "setup" / "run"
PROXY = REPO_ROOT / "setup" / "proxy.py"
STOP_TIMEOUT = 120
LIVE_TIMEOUT = 60


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --- setup/run driven as a subprocess -----------------------------------------
class SetupRun:
    """One ``setup/run DB --port N ...`` in its own session (process group)."""

    def __init__(self, db, port, *args):
        self.db = db
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{db}-setup-run-{port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNICHANNEL_")}
        env.update(ODOO_PYTHON=odoo_python(), SKIP_PIP="1", PGHOST=DB_HOST, PGPORT=DB_PORT)
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [str(SETUP_RUN), db, "--port", str(port), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=REPO_ROOT,
                start_new_session=True,
            )
        self.pgid = self.process.pid

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout):
        """Until /web/login answers on the printed port; fail if setup/run exits."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(
                    f"setup/run exited with {self.process.returncode} before serving "
                    f"{self.url}:\n{tail(self.log_path, 80)}",
                    pytrace=False,
                )
            try:
                response = requests.get(f"{self.url}/web/login?db={self.db}", timeout=10)
                if response.status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"setup/run did not serve {self.url} in {timeout}s:\n{tail(self.log_path, 80)}",
                    pytrace=False,
                )
            time.sleep(1)

    def banner_value(self, label):
        match = re.search(rf"^ {re.escape(label)}:?\s+(\S+)", self.log(), re.MULTILINE)
        assert match, f"setup/run printed no '{label}' line:\n{tail(self.log_path, 80)}"
        return match.group(1)

    def stop(self, sig=signal.SIGINT, group=True):
        """Ctrl+C (SIGINT to the process group) by default; True when every
        process of the group ended in time (the group is killed otherwise)."""
        if group_alive(self.pgid):
            try:
                if group:
                    os.killpg(self.pgid, sig)
                else:
                    os.kill(self.process.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT
        while group_alive(self.pgid) and time.monotonic() < deadline:
            if self.process.poll() is None:
                try:
                    self.process.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    pass
            else:
                time.sleep(0.2)
        clean = not group_alive(self.pgid)
        kill_group(self.pgid)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        return clean


def drop_demo_database(db):
    """setup/_common.sh's drop_db (database and filestore), then a plain DROP."""
    env = dict(os.environ, ODOO_PYTHON=odoo_python(), PGHOST=DB_HOST, PGPORT=DB_PORT)
    subprocess.run(
        ["bash", "-c", 'source setup/_common.sh && _pick_python && drop_db "$1"', "drop", db],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    drop_database(odoo_python(), db)


@pytest.fixture(scope="module")
def demo_db():
    check_odoo(odoo_python())
    db = f"omni_run_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        yield db
    finally:
        drop_demo_database(db)


@pytest.fixture(scope="module")
def first_run(demo_db):
    """The first ``setup/run DB --port N``: creates the database, then serves it."""
    run = SetupRun(demo_db, free_port())
    try:
        run.wait_ready(INSTALL_TIMEOUT + START_TIMEOUT)
        yield run
    finally:
        run.stop()


def config_param(server, key):
    return server.call("ir.config_parameter", "get_param", key)


def odoo_addons_dirs():
    """The addons folders of the Odoo installation (its Community source)."""
    result = subprocess.run(
        [
            odoo_python(),
            "-c",
            (
                "import json, os, odoo.addons; "
                "print(json.dumps([os.path.realpath(p) for p in odoo.addons.__path__]))"
            ),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [Path(p) for p in json.loads(result.stdout)]


# --- 3. a new database: a Polish company --------------------------------------
@pytest.mark.e2e
def test_new_database_is_a_polish_company_with_demo_data(first_run):
    server = OdooServer(first_run.url, first_run.db)  # admin / admin
    company = server.call(
        "res.company",
        "search_read",
        [("id", "=", server.ref("base.main_company"))],
        fields=["country_code", "currency_id", "chart_template"],
    )[0]
    assert company["country_code"] == "PL", company
    assert company["currency_id"][1] == "PLN", company
    assert company["chart_template"] == "pl", company
    admin = server.call("res.users", "read", [server.uid], fields=["lang", "tz"])[0]
    assert (admin["lang"], admin["tz"]) == ("pl_PL", "Europe/Warsaw"), admin
    assert server.call("res.lang", "search", [("code", "=", "pl_PL"), ("active", "=", True)])
    modules = server.call(
        "ir.module.module",
        "search_read",
        [("state", "=", "installed")],
        fields=["name", "demo"],
    )
    installed = {m["name"]: m for m in modules}
    assert "l10n_pl" in installed, "account did not install the Polish localisation"
    for addon in ADDONS:
        assert installed.get(addon, {}).get("demo"), f"{addon} is not installed with demo data"
    # Only Community: every module comes from Odoo's own source or this repository.
    community = odoo_addons_dirs()
    for name in installed:
        assert any((folder / name).is_dir() for folder in [*community, REPO_ROOT]), (
            f"installed module {name} is neither in Odoo Community ({community}) nor here"
        )
    install_log = (LOG_DIR / f"install-{first_run.db}.log").read_text(errors="replace")
    errors = [line for line in install_log.splitlines() if re.search(r" (ERROR|CRITICAL) ", line)]
    assert not errors, "\n".join(errors[:20])
    banner = first_run.log()
    assert "the demo is in Polish (pl_PL)" in banner
    assert "Preferences > Language" in banner
    # issue 14: demo agents start offline (no offers without a live session),
    # and the demo's people and customers speak Polish
    assert "Agents start offline" in banner
    agents = server.call("omnichannel.agent", "search_read", [], fields=["name", "state"])
    assert agents and {a["state"] for a in agents} == {"offline"}, agents
    people = server.call(
        "res.users",
        "search_read",
        [("login", "in", ["anna", "piotr", "ewa", "tomasz", "katarzyna", "marek"])],
        fields=["login", "lang"],
    )
    assert len(people) == 6 and {p["lang"] for p in people} == {"pl_PL"}, people
    customer = server.call(
        "res.partner", "read", [server.ref("omnichannel_cc.partner_tartak")], fields=["lang"]
    )[0]
    assert customer["lang"] == "pl_PL", customer
    # issue 18: the customer panel counts in złoty (a manager may open any customer's)
    marek = server.login("marek", "marek")
    pop = server.call(
        "res.partner",
        "omnichannel_screen_pop",
        [server.ref("omnichannel_cc.partner_tartak")],
        uid=marek,
        password="marek",
    )
    assert (pop["currency"]["name"], pop["currency"]["symbol"]) == ("PLN", "zł"), pop["currency"]
    assert pop["invoices"] and {i["currency"] for i in pop["invoices"]} == {"PLN"}, pop["invoices"]
    pln = server.call("res.currency", "search_read", [("name", "=", "PLN")], fields=["position"])
    assert pln[0]["position"] == "after", pln
    polish = server.call(
        "res.lang", "search_read", [("code", "=", "pl_PL")], fields=["decimal_point", "date_format"]
    )[0]
    assert (polish["decimal_point"], polish["date_format"]) == (",", "%d.%m.%Y"), polish
    # four weeks of simulated history behind the reports, charts and staffing plan
    assert "weeks of simulated contact history" in banner
    history = server.call(
        "omnichannel.interaction.report",
        "read_group",
        [("date", "<", time.strftime("%Y-%m-%d"))],
        ["nbr:sum", "service_level:avg"],
        ["weekday"],
    )
    per_weekday = {row["weekday"]: row["nbr"] for row in history}
    # counted in the company's time zone (set by setup/create_db.py): business hours
    hours = server.call(
        "omnichannel.interaction.report",
        "read_group",
        [("date", "<", time.strftime("%Y-%m-%d"))],
        ["nbr:sum"],
        ["hour_of_day"],
    )
    assert {row["hour_of_day"] for row in hours} <= {f"{h:02d}" for h in range(8, 19)}, hours
    assert sum(per_weekday.values()) > 1000 and "7" not in per_weekday, per_weekday
    assert 0 < history[0]["service_level"] < 100, history
    breaks = server.call(
        "omnichannel.agent.state.report", "search_count", [("state", "=", "break")]
    )
    assert breaks > 50, breaks


# --- 1. web.base.url follows the printed URL -----------------------------------
SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=\"([^\"]+)\"")


@pytest.mark.e2e
def test_chat_page_loads_its_scripts_from_the_printed_port(first_run):
    url = first_run.url
    assert first_run.banner_value("URL") == f"{url}/web/login?db={first_run.db}"
    chat_url = first_run.banner_value("Web chat (as a customer)")
    assert chat_url.startswith(f"{url}/im_livechat/support/"), chat_url
    page = requests.get(chat_url, timeout=60)
    assert page.status_code == 200, page.status_code
    sources = SCRIPT_SRC.findall(page.text)
    loaders = [src for src in sources if "/im_livechat/loader/" in src]
    assert loaders, f"no loader script in the chat page: {sources}"
    assert any(src.endswith("/im_livechat/assets_embed.js") for src in sources), sources
    absolute = [src for src in sources if urllib.parse.urlsplit(src).netloc]
    assert absolute, sources
    for src in absolute:
        assert src.startswith(f"{url}/"), f"{src} is not served by {url}"
    loader = requests.get(loaders[0], timeout=60)
    assert loader.status_code == 200, loader.status_code
    assert f'serverUrl: "{url}"' in loader.text

    server = OdooServer(url, first_run.db)
    assert config_param(server, "web.base.url") == url
    assert config_param(server, "web.base.url.freeze") == "True"
    # Frozen: an administrator's login from another address does not move it.
    response = requests.post(
        f"{url}/web/session/authenticate",
        json={
            "jsonrpc": "2.0",
            "method": "call",
            "params": {
                "db": first_run.db,
                "login": "admin",
                "password": "admin",
            },
        },
        headers={"Host": f"localhost:{first_run.port}"},
        timeout=60,
    )
    assert response.json().get("result", {}).get("uid") == server.uid, response.text[:500]
    assert config_param(server, "web.base.url") == url


# --- 2. workers behind the proxy: live updates over /websocket -----------------
def open_bus(url, db):
    """Log in as admin and open the bus websocket as Odoo's web client does."""
    try:
        import websocket  # websocket-client, from requirements.txt
    except ImportError as error:
        pytest.fail(
            f"websocket-client is missing ({error}): pip install websocket-client", pytrace=False
        )
    session = requests.Session()
    response = session.post(
        f"{url}/web/session/authenticate",
        json={
            "jsonrpc": "2.0",
            "method": "call",
            "params": {
                "db": db,
                "login": "admin",
                "password": "admin",
            },
        },
        timeout=60,
    )
    info = response.json()["result"]
    ws_url = (
        url.replace("http://", "ws://") + f"/websocket?version={info['websocket_worker_version']}"
    )
    connection = websocket.create_connection(
        ws_url,
        cookie=f"session_id={session.cookies['session_id']}",
        origin=url,
        timeout=30,
    )
    return session, connection


def wait_bus_message(connection, predicate, timeout):
    import websocket

    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        connection.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            frame = connection.recv()
        except websocket.WebSocketTimeoutException:
            break
        for notification in json.loads(frame):
            seen.append(notification["message"]["type"])
            if predicate(notification["message"]):
                return notification["message"]
    pytest.fail(f"no such bus message within {timeout}s; received types: {seen}", pytrace=False)


@pytest.mark.e2e
def test_workers_behind_the_proxy_push_live_updates(first_run):
    assert first_run.stop(), "Ctrl+C left processes of the first setup/run behind"
    run = SetupRun(first_run.db, free_port(), "--workers", "2")
    try:
        run.wait_ready(START_TIMEOUT)
        log = run.log()
        assert re.search(
            r"Server:\s+2 HTTP workers \(127\.0\.0\.1:\d+\) and the websocket worker", log
        ), tail(run.log_path, 80)
        server = OdooServer(run.url, run.db)
        # every run sets the URL it prints (the port changed)
        assert config_param(server, "web.base.url") == run.url
        token = f"live-{secrets.token_hex(4)}"
        channel_id = server.call("discuss.channel", "create", {"name": f"setup-run {token}"})
        session, connection = open_bus(run.url, run.db)
        try:
            connection.send(
                json.dumps({"event_name": "subscribe", "data": {"channels": [], "last": 0}})
            )
            # posted as the web client does, through the proxy to an HTTP worker
            response = session.post(
                f"{run.url}/mail/message/post",
                json={
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {
                        "thread_model": "discuss.channel",
                        "thread_id": channel_id,
                        "post_data": {
                            "body": token,
                            "message_type": "comment",
                            "subtype_xmlid": "mail.mt_comment",
                        },
                    },
                },
                timeout=60,
            )
            assert "error" not in response.json(), response.text[:1000]
            message = wait_bus_message(
                connection,
                lambda m: (
                    m["type"] == "discuss.channel/new_message" and token in json.dumps(m["payload"])
                ),
                LIVE_TIMEOUT,
            )
            assert message["payload"]["id"] == channel_id
        finally:
            connection.close()
        log = run.log()
        assert "KeyError: 'socket'" not in log
        assert "Couldn't bind the websocket" not in log
    finally:
        # the proxy alone is stopped: it must stop Odoo (workers, gevent) too
        assert run.stop(signal.SIGTERM, group=False), "stopping the proxy left Odoo running"


@pytest.mark.e2e
def test_workers_given_to_odoo_after_double_dash(first_run):
    """The README's former example: the options after -- are handled the same way."""
    first_run.stop()
    gevent_port = free_port()
    run = SetupRun(first_run.db, free_port(), "--", "--workers=2", f"--gevent-port={gevent_port}")
    try:
        run.wait_ready(START_TIMEOUT)
        assert re.search(rf"\(127\.0\.0\.1:{gevent_port}\) behind setup/proxy\.py", run.log()), (
            tail(run.log_path, 80)
        )
        _session, connection = open_bus(run.url, run.db)
        connection.close()
        assert "KeyError: 'socket'" not in run.log()
    finally:
        assert run.stop(), "Ctrl+C left processes behind"


# --- setup/proxy.py against stdlib peers ----------------------------------------
class RecordingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []

    def do_GET(self):
        self.seen.append((self.path, dict(self.headers)))
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


def upgrade_echo_server(sock, stop):
    """Answers an upgrade with 101, then echoes every byte (a websocket's stand-in)."""
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _addr = sock.accept()
        except OSError:
            continue
        with conn:
            conn.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(4096)
            request, _, rest = head.partition(b"\r\n\r\n")
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nX-Request: " + request.split(b"\r\n")[0] + b"\r\n\r\n"
            )
            if rest:
                conn.sendall(rest)
            while data := conn.recv(4096):
                conn.sendall(data)


@pytest.fixture
def proxy_peers():
    RecordingHandler.seen = []
    http_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    ws_sock = socket.socket()
    ws_sock.bind(("127.0.0.1", 0))
    ws_sock.listen()
    stop = threading.Event()
    threads = [
        threading.Thread(target=http_server.serve_forever, daemon=True),
        threading.Thread(target=upgrade_echo_server, args=(ws_sock, stop), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield http_server.server_address[1], ws_sock.getsockname()[1]
    finally:
        stop.set()
        http_server.shutdown()
        http_server.server_close()
        ws_sock.close()


def start_proxy(http_port, ws_port, *command):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(PROXY),
            "--listen",
            f"127.0.0.1:{port}",
            "--http",
            f"127.0.0.1:{http_port}",
            "--websocket",
            f"127.0.0.1:{ws_port}",
            "--",
            *command,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def listening():
        if process.poll() is not None:
            pytest.fail(f"the proxy exited: {process.stdout.read().decode()}", pytrace=False)
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_for(listening, 30, "the proxy does not listen")
    return port, process


def stop_process_group(process):
    kill_group(process.pid)
    process.wait(timeout=30)


SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def test_proxy_forwards_http_with_forwarded_headers(proxy_peers):
    http_port, ws_port = proxy_peers
    port, process = start_proxy(http_port, ws_port, *SLEEPER)
    try:
        response = requests.post(
            f"http://127.0.0.1:{port}/web/dataset/call_kw?x=1",
            data=b"payload",
            headers={"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil.example"},
            timeout=30,
        )
        assert response.status_code == 200
        assert response.json() == {"path": "/web/dataset/call_kw?x=1"}
        assert response.headers["Connection"] == "close"
        path, headers = RecordingHandler.seen[-1]
        assert path == "/web/dataset/call_kw?x=1"
        assert headers["X-Forwarded-For"] == "127.0.0.1"
        assert headers["X-Forwarded-Host"] == f"127.0.0.1:{port}"
        assert headers["X-Forwarded-Proto"] == "http"
        assert headers["Connection"] == "close"
        assert headers["Host"] == f"127.0.0.1:{port}"
        # a plain (non-upgrade) /websocket/... route goes to the websocket port,
        # like nginx's "location /websocket" in Odoo's deployment docs
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /websocket/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"X-Request: GET /websocket/health" in sock.recv(4096)
    finally:
        stop_process_group(process)


def test_proxy_pipes_a_websocket_upgrade_both_ways(proxy_peers):
    http_port, ws_port = proxy_peers
    port, process = start_proxy(http_port, ws_port, *SLEEPER)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"GET /websocket?version=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                b"Upgrade: websocket\r\n\r\n"
            )
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(4096)
            head, _, rest = head.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101"), head
            assert b"X-Request: GET /websocket?version=1" in head
            assert b"Connection: Upgrade" in head
            assert rest == b""
            for chunk in (b"frame-1", b"frame-2" * 50000):
                sock.sendall(chunk)
                echoed = b""
                while len(echoed) < len(chunk):
                    echoed += sock.recv(65536)
                assert echoed == chunk
    finally:
        stop_process_group(process)


def test_proxy_stops_when_its_command_exits(proxy_peers):
    http_port, ws_port = proxy_peers
    _port, process = start_proxy(
        http_port, ws_port, sys.executable, "-c", "import sys, time; time.sleep(1); sys.exit(3)"
    )
    try:
        assert process.wait(timeout=30) == 3
    finally:
        kill_group(process.pid)


def test_proxy_stopped_alone_stops_its_command(proxy_peers, tmp_path):
    http_port, ws_port = proxy_peers
    marker = tmp_path / "stopped"
    ready = tmp_path / "ready"
    child = (
        "import pathlib, signal, sys, time\n"
        "def stop(*_):\n"
        f"    pathlib.Path({str(marker)!r}).write_text('SIGTERM')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        f"pathlib.Path({str(ready)!r}).write_text('ready')\n"
        "time.sleep(600)\n"
    )
    _port, process = start_proxy(http_port, ws_port, sys.executable, "-c", child)
    try:
        wait_for(ready.exists, 30, "the proxy's command did not start")
        os.kill(process.pid, signal.SIGTERM)  # the proxy only, not its group
        assert process.wait(timeout=30) == 0
        assert marker.read_text() == "SIGTERM"
        assert not group_alive(process.pid)
    finally:
        kill_group(process.pid)
