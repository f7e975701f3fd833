"""Two Odoo nodes behind HAProxy, for tests/e2e/test_multinode.py.

Nothing here imports odoo. A node is one ``odoo`` master with its HTTP
workers, a cron worker and the gevent (websocket) worker, in a process group
of its own; both nodes use the same database and the same ``--data-dir``
(filestore and sessions), as docs/deploy.md describes.
"""

import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime
from http.cookies import SimpleCookie

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import START_TIMEOUT, stop, tail, wait_for

DEPLOY = REPO_ROOT / "docs" / "deploy"
# ports of this test (a range of its own, so that parallel suites do not meet)
PORT_RANGE = range(
    int(os.environ.get("OMNICHANNEL_MULTINODE_PORT_MIN", "18200")),
    int(os.environ.get("OMNICHANNEL_MULTINODE_PORT_MAX", "18299")) + 1,
)


def free_ports(count):
    """``count`` ports of PORT_RANGE nobody listens on."""
    found = []
    for port in PORT_RANGE:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise AssertionError(f"fewer than {count} free ports in {PORT_RANGE}")


def fill(template, **values):
    """A config template of docs/deploy with its ${NAME} placeholders filled
    (nginx's own $variables are left alone)."""
    text = (DEPLOY / template).read_text()
    filled = string.Template(text).safe_substitute(values)
    missing = {name for name in values if "${" + name + "}" in filled}
    left = set(re.findall(r"\$\{(\w+)\}", filled))
    assert not missing and not left, f"{template}: placeholders left {missing | left}"
    return filled


class Node:
    """One Odoo server (master + workers) of the cluster."""

    def __init__(self, name, command, common, env, log, http_port, gevent_port):
        self.name = name
        self.command = command
        self.common = common
        self.env = env
        self.log = log
        self.http_port = http_port
        self.gevent_port = gevent_port
        self.url = f"http://127.0.0.1:{http_port}"
        self.process = None

    def start(self):
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [
                    *self.command,
                    *self.common,
                    "--workers=2",
                    "--max-cron-threads=1",
                    "--proxy-mode",
                    f"--http-port={self.http_port}",
                    f"--gevent-port={self.gevent_port}",
                    "--http-interface=127.0.0.1",
                    "--log-level=info",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    def wait_ready(self, timeout=START_TIMEOUT):
        def ready():
            assert self.process.poll() is None, f"node {self.name} exited:\n{tail(self.log)}"
            return http_status(f"{self.url}/web/health") == 200 and (
                http_status(f"http://127.0.0.1:{self.gevent_port}/web/health") == 200
            )

        wait_for(ready, timeout, f"node {self.name} answering /web/health", every=1)

    def stop(self):
        if self.process is not None:
            stop(self.process)

    def signal(self, signum=signal.SIGTERM):
        os.killpg(self.process.pid, signum)


def http_status(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, http.client.HTTPException):
        return None


class Balancer:
    """HAProxy from Debian with docs/deploy/haproxy.cfg, in the foreground."""

    def __init__(self, root, port, nodes, log):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.config = root / "haproxy.cfg"
        self.log = log
        values = {"BIND": "127.0.0.1", "PORT": str(port), "HEALTH_HOST": f"127.0.0.1:{port}"}
        for node, key in zip(nodes, ("NODE_A", "NODE_B"), strict=True):
            values.update(
                {
                    f"{key}_HOST": "127.0.0.1",
                    f"{key}_HTTP": str(node.http_port),
                    f"{key}_GEVENT": str(node.gevent_port),
                }
            )
        self.config.write_text(fill("haproxy.cfg", **values))
        self.process = None

    def start(self):
        check = subprocess.run(
            [binary("haproxy"), "-c", "-f", str(self.config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert check.returncode == 0, f"haproxy -c: {check.stdout}{check.stderr}"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [binary("haproxy"), "-db", "-f", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(
            lambda: http_status(f"{self.url}/web/health") == 200,
            30,
            "HAProxy answering /web/health",
        )

    def stop(self):
        if self.process is not None:
            stop(self.process)


class Nginx:
    """nginx from Debian with docs/deploy/nginx.conf, in the foreground."""

    def __init__(self, root, port, nodes):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.run_dir = root / "nginx"
        self.run_dir.mkdir()
        self.config = self.run_dir / "nginx.conf"
        self.log = self.run_dir / "error.log"
        values = {"BIND": "127.0.0.1", "PORT": str(port), "RUN_DIR": str(self.run_dir)}
        self.upstreams = {}
        for node, key in zip(nodes, ("NODE_A", "NODE_B"), strict=True):
            values.update(
                {
                    f"{key}_HOST": "127.0.0.1",
                    f"{key}_HTTP": str(node.http_port),
                    f"{key}_GEVENT": str(node.gevent_port),
                }
            )
            self.upstreams[f"127.0.0.1:{node.http_port}"] = node.name
            self.upstreams[f"127.0.0.1:{node.gevent_port}"] = node.name
        self.config.write_text(fill("nginx.conf", **values))
        self.process = None

    def _command(self, *args):
        return [binary("nginx"), "-p", str(self.run_dir), "-c", str(self.config), *args]

    def start(self):
        check = subprocess.run(
            self._command("-t"), capture_output=True, text=True, timeout=60, check=False
        )
        assert check.returncode == 0, f"nginx -t: {check.stdout}{check.stderr}"
        with (self.run_dir / "stdout.log").open("w") as log:
            self.process = subprocess.Popen(
                self._command("-g", "daemon off;"),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(
            lambda: http_status(f"{self.url}/web/health") == 200,
            30,
            "nginx answering /web/health",
        )

    def stop(self):
        if self.process is not None:
            stop(self.process)


def binary(name):
    return shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


def ensure_package(name):
    """(path of the program ``name``, None), installed from Debian when
    missing and root; (None, why) when it cannot be had (the tests then
    skip, saying why)."""
    if binary(name):
        return binary(name), None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, f"{name} is not installed and apt-get cannot run (not root or no apt)"
    result = subprocess.run(
        ["apt-get", "install", "-y", "-q", name],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
    )
    if result.returncode or not binary(name):
        return None, f"apt-get install {name} failed: {(result.stdout + result.stderr)[-400:]}"
    return binary(name), None


# ----------------------------------------------------------------------
# Browser-like clients: cookie sessions and websockets
# ----------------------------------------------------------------------
class WebSession:
    """A browser's cookie session: JSON-RPC as the web client does it."""

    def __init__(self, url, db):
        self.url = url
        self.db = db
        self.session_id = None
        self.last_node = None
        self.last_upstream = None

    def _post(self, path, params, timeout=30):
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params, "id": 1})
        headers = {"Content-Type": "application/json"}
        if self.session_id:
            headers["Cookie"] = f"session_id={self.session_id}"
        request = urllib.request.Request(
            f"{self.url}{path}", data=body.encode(), headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            self.last_node = answer.headers.get("X-Odoo-Node")
            self.last_upstream = answer.headers.get("X-Odoo-Upstream")
            for header in answer.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie(header)
                if "session_id" in cookie:
                    self.session_id = cookie["session_id"].value
            payload = json.loads(answer.read())
        if "error" in payload:
            raise AssertionError(f"{path}: {payload['error']['data']['message']}")
        return payload["result"]

    def authenticate(self, login, password):
        return self._post(
            "/web/session/authenticate", {"db": self.db, "login": login, "password": password}
        )

    def session_info(self):
        return self._post("/web/session/get_session_info", {})

    def call_kw(self, model, method, args=(), kwargs=None):
        return self._post(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs or {}},
        )


class BusClient:
    """Odoo's bus over a websocket, as the web client's worker uses it."""

    VERSION = "18.0-3"

    def __init__(self, base_url, session_id, timeout=30):
        import websocket

        self.base_url = base_url
        netloc = base_url.split("://", 1)[1]
        self.ws = websocket.create_connection(
            f"ws://{netloc}/websocket?version={self.VERSION}",
            cookie=f"session_id={session_id}",
            origin=base_url,
            timeout=timeout,
        )
        self.node = self.ws.getheaders().get("x-odoo-node")
        self.upstream = self.ws.getheaders().get("x-odoo-upstream")
        self.received = []

    def subscribe(self, last=0):
        self.ws.send(
            json.dumps({"event_name": "subscribe", "data": {"channels": [], "last": last}})
        )

    def wait(self, predicate, timeout, what):
        """The first notification (received so far or to come) matching ``predicate``."""
        import websocket

        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for notification in self.received[seen:]:
                if predicate(notification):
                    return notification
            seen = len(self.received)
            left = deadline - time.monotonic()
            assert left > 0, f"{what}: no such notification within {timeout} s"
            self.ws.settimeout(min(left, 2))
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if raw:
                self.received.extend(json.loads(raw))

    def close(self):
        try:
            self.ws.close()
        except OSError:
            pass


# ----------------------------------------------------------------------
# Cron runs, read from the nodes' logs
# ----------------------------------------------------------------------
CRON_LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?P<pid>\d+) \w+ \S+ "
    r"odoo\.addons\.base\.models\.ir_cron: Job (?P<q>['\"])(?P<name>.+?)(?P=q) "
    r"\((?P<id>\d+)\) "
    r"(?P<what>starting|started manually|done in|done|server action #\d+ failed)"
)


def cron_runs(node, since=None):
    """The runs of cron jobs a node logged, by its cron worker ("cron") or
    by "Run manually" in an HTTP worker ("manual"): tuples (cron id, node,
    pid, start, end, kind), end None while running; ``since`` drops the runs
    started before it."""
    runs, open_runs = [], {}
    for line in node.log.read_text(errors="replace").splitlines():
        match = CRON_LINE.match(line)
        if not match:
            continue
        at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f")
        key = (match["pid"], int(match["id"]))
        if match["what"] == "starting":
            open_runs[key] = (at, "cron")
        elif match["what"] == "started manually":
            open_runs[key] = (at, "manual")
        elif key in open_runs:
            start, kind = open_runs.pop(key)
            runs.append((int(match["id"]), node.name, match["pid"], start, at, kind))
    runs += [
        (cron, node.name, pid, start, None, kind)
        for (pid, cron), (start, kind) in open_runs.items()
    ]
    if since is not None:
        runs = [run for run in runs if run[3] >= since]
    return runs


def overlaps(runs):
    """Pairs of runs of the same cron job whose times overlap."""
    found = []
    by_cron = {}
    for run in runs:
        by_cron.setdefault(run[0], []).append(run)
    for cron_runs_ in by_cron.values():
        cron_runs_.sort(key=lambda run: run[3])
        for before, after in itertools.pairwise(cron_runs_):
            if before[4] is None or after[3] < before[4]:
                found.append((before, after))
    return found
