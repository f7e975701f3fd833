"""Telephony peers for the tests: Kamailio as the PBX, SIPp as phones, and a
recorded-protocol double of Asterisk's manager interface (AMI).

Standard library only and no odoo import: the addon's own tests import it,
and the repository's end-to-end tests load it by file path. Everything runs
on 127.0.0.1 with ports picked free at start.

- :class:`Kamailio` runs the example configuration shipped for integrators,
  ``docs/pbx/kamailio.cfg`` at the repository's root (the very file, not a
  copy), in the foreground, its settings given as command-line defines
  (``-A NAME=value``: an Odoo URL, a phone channel's token and secret, free
  ports ...), and reads back the CTI requests it made (from its log);
- :func:`register`, :func:`uas` and :func:`uac` drive SIPp with the
  scenarios in ``peers/`` (``*.sipp``; they keep the proxy's Record-Route,
  which SIPp's built-in scenarios ignore);
- :class:`ReplayServer` plays Asterisk's side of AMI exchanges recorded
  from Asterisk 20 (``data/ami/*.txt``): Asterisk itself cannot be installed
  here (not packaged in Debian bookworm nor on PyPI/npm).
"""

import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

PEERS_DIR = Path(__file__).resolve().parent / "peers"
AMI_DATA = Path(__file__).resolve().parent / "data" / "ami"
# <repo>/omnichannel_cc_voip/tests/peers.py -> <repo>/docs/pbx/kamailio.cfg
KAMAILIO_CONFIG = Path(__file__).resolve().parents[2] / "docs" / "pbx" / "kamailio.cfg"
HOST = "127.0.0.1"

DEBIAN_PACKAGES = (
    "kamailio",
    "kamailio-websocket-modules",
    "kamailio-utils-modules",
    "kamailio-json-modules",
    "kamailio-extra-modules",
    "kamailio-tls-modules",
    "sip-tester",
)
# Modules of the configuration worth checking one by one (they come in separate
# packages, or not in every build), and the Debian package of each.
MODULE_PACKAGES = {
    "websocket": "kamailio-websocket-modules",
    "http_client": "kamailio-utils-modules",
    "jansson": "kamailio-extra-modules",
    "crypto": "kamailio-tls-modules",
    "xhttp": "kamailio",
    "dialog": "kamailio",
    "nathelper": "kamailio",
}
MODULE_DIRS = (
    "/usr/lib/x86_64-linux-gnu/kamailio/modules",
    "/usr/lib/aarch64-linux-gnu/kamailio/modules",
    "/usr/lib/kamailio/modules",
    "/usr/lib64/kamailio/modules",
    "/usr/local/lib/kamailio/modules",
    "/usr/local/lib64/kamailio/modules",
)
BINARY_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")

CTI_LINE = re.compile(r"CTI POST (\w+) (\{.*?\}) -> (-?\d+) ?(.*)$")
# header of each message in SIPp's -trace_msg file
MESSAGE_HEAD = re.compile(
    r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n\w+ message (sent|received)[^\n]*\n",
    re.MULTILINE,
)


def signed_headers(secret, body):
    """HTTP headers of a request signed as the Kamailio configuration (and
    Odoo, ``omnichannel_cc/tools/signature.py``) signs: the HMAC of the raw
    body, whose ``timestamp`` is therefore signed too.

    :param body: the exact bytes posted.
    """
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Omnichannel-Signature": "sha256=" + digest}


class Tools:
    """Paths of the installed peers."""

    def __init__(self, kamailio, sipp, module_dir):
        self.kamailio = kamailio
        self.sipp = sipp
        self.module_dir = module_dir


def _which(name):
    found = shutil.which(name)
    if found:
        return found
    for folder in BINARY_DIRS:
        path = Path(folder) / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


def _module_dir():
    """The folder of Kamailio's modules (the one that has tm)."""
    for folder in MODULE_DIRS:
        if (Path(folder) / "tm.so").is_file():
            return folder
    return None


def _missing():
    """Debian packages still to install (empty when all is there)."""
    missing = set()
    if not _which("kamailio"):
        missing.add("kamailio")
    if not _which("sipp"):
        missing.add("sip-tester")
    module_dir = _module_dir()
    for module, package in MODULE_PACKAGES.items():
        if not module_dir or not (Path(module_dir) / f"{module}.so").is_file():
            missing.add(package)
    return sorted(missing)


def ensure_installed():
    """Return the :class:`Tools`, installing the Debian packages if needed.

    Installs only as root with apt-get; otherwise raises ``RuntimeError``
    naming the packages to install.
    """
    missing = _missing()
    if missing and os.geteuid() == 0 and _which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        command = ["apt-get", "install", "-y", "--no-install-recommends", *DEBIAN_PACKAGES]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode:
            subprocess.run(
                ["apt-get", "update"], env=env, capture_output=True, text=True, check=False
            )
            subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        missing = _missing()
    if missing:
        raise RuntimeError(
            "The telephony tests need Kamailio 5.6 and SIPp: install the Debian packages "
            + " ".join(DEBIAN_PACKAGES)
            + f" (missing here: {', '.join(missing)}), e.g. "
            "`apt-get install -y " + " ".join(DEBIAN_PACKAGES) + "`."
        )
    return Tools(_which("kamailio"), _which("sipp"), _module_dir())


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (SIP listens on both)."""
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((HOST, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((HOST, port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port for both UDP and TCP on 127.0.0.1")


def _accepts(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _udp_bound(port):
    """Whether some process has bound UDP ``port`` (read from /proc, not probed:
    binding the port to test it could steal it from the process starting)."""
    try:
        table = Path("/proc/net/udp").read_text()
    except OSError:
        time.sleep(0.5)
        return True
    return any(
        line.split()[1].endswith(f":{port:04X}") for line in table.splitlines()[1:] if line.strip()
    )


def _stop_group(process, timeout=10):
    """Stop a child started in its own session, then its whole group."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
    else:
        # children left behind by a main process that already exited
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Kamailio:
    """Kamailio configured as the contact center's PBX, as a child process.

    :param rundir: folder for the configuration and the log (created);
    :param odoo_url: base URL of Odoo, e.g. ``http://127.0.0.1:8069``;
    :param token: the phone channel's ``voip_token``;
    :param secret: the phone channel's ``voip_secret``;
    :param gateway_port: where calls from extensions to customers go (a
        SIPp :func:`uas` standing for the PSTN); a free port when None;
    :param ring_timeout: seconds an agent's phone may ring.
    """

    def __init__(
        self,
        rundir,
        odoo_url,
        token,
        secret,
        sip_port=None,
        ws_port=None,
        gateway_port=None,
        ring_timeout=30,
        http_timeout=10,
        debug=2,
    ):
        for name, value in (("token", token), ("secret", secret)):
            # both go into double-quoted strings of the configuration
            if not value or not re.fullmatch(r"[A-Za-z0-9_\-.~+/=]+", value):
                raise ValueError(f"unexpected characters in the channel's {name}")
        if not re.fullmatch(r"https?://[^\s\"\\]+", odoo_url):
            raise ValueError(f"unexpected Odoo URL {odoo_url!r}")
        self.rundir = Path(rundir)
        self.odoo_url = odoo_url.rstrip("/")
        self.token = token
        self.secret = secret
        self.sip_port = sip_port or free_port()
        self.ws_port = ws_port or free_port()
        self.gateway_port = gateway_port or free_port()
        self.ring_timeout = ring_timeout
        self.http_timeout = http_timeout
        self.debug = debug
        self.config_path = KAMAILIO_CONFIG
        self.log_path = self.rundir / "kamailio.log"
        self.process = None

    @property
    def proxy(self):
        """``host:port`` of the SIP proxy, as SIPp wants it."""
        return f"{HOST}:{self.sip_port}"

    @property
    def ws_url(self):
        return f"ws://{HOST}:{self.ws_port}"

    def defines(self, tools):
        """The ``-A NAME=value`` options giving the configuration this run's
        settings (the names are the ``#!define`` of ``docs/pbx/kamailio.cfg``;
        texts in double quotes, numbers and addresses bare)."""
        values = {
            "ODOO_URL": f'"{self.odoo_url}"',
            "VOIP_TOKEN": f'"{self.token}"',
            "VOIP_SECRET": f'"{self.secret}"',
            "SIP_ADDR": HOST,
            "SIP_PORT": str(self.sip_port),
            "WS_PORT": str(self.ws_port),
            "GATEWAY": f'"sip:{HOST}:{self.gateway_port}"',
            "MPATH": f'"{tools.module_dir}/"',
            "RING_TIMEOUT_MS": str(int(self.ring_timeout * 1000)),
            "HTTP_TIMEOUT": str(int(self.http_timeout)),
            "DBG_LEVEL": str(int(self.debug)),
        }
        options = []
        for name, value in values.items():
            options += ["-A", f"{name}={value}"]
        return options

    def start(self, timeout=20):
        tools = ensure_installed()
        if not self.config_path.is_file():
            raise RuntimeError(
                f"The Kamailio example configuration {self.config_path} is missing: the "
                "telephony tests run the repository's docs/pbx/kamailio.cfg (run them from a "
                "checkout of the repository)."
            )
        self.rundir.mkdir(parents=True, exist_ok=True)
        defines = self.defines(tools)
        check = subprocess.run(
            [tools.kamailio, "-c", "-f", str(self.config_path), *defines],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode:
            raise RuntimeError(
                f"kamailio rejects {self.config_path} with {' '.join(defines)}:\n"
                f"{(check.stdout + check.stderr)[-3000:]}"
            )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    tools.kamailio,
                    "-DD",
                    "-E",
                    "-f",
                    str(self.config_path),
                    *defines,
                    "-Y",
                    str(self.rundir),
                    "-m",
                    "64",
                    "-M",
                    "8",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.rundir,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not (_accepts(self.sip_port) and _accepts(self.ws_port)):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"kamailio exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"kamailio did not listen in {timeout}s:\n{self.log_tail()}")
            time.sleep(0.1)
        return self

    def stop(self):
        if self.process is not None:
            _stop_group(self.process)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines=80):
        return "\n".join(self.log.splitlines()[-lines:])

    def cti_requests(self, call_id=None):
        """The requests Kamailio made to Odoo, in order, from its log.

        Each is ``{"endpoint": "route"|"event", "body": dict, "raw": str,
        "status": int, "answer": str}``; only those of ``call_id`` if given.
        """
        requests = []
        for line in self.log.splitlines():
            match = CTI_LINE.search(line)
            if not match:
                continue
            endpoint, raw, status, answer = match.groups()
            body = json.loads(raw)
            if call_id is not None and body.get("call_id") != call_id:
                continue
            requests.append(
                {
                    "endpoint": endpoint,
                    "body": body,
                    "raw": raw,
                    "status": int(status),
                    "answer": answer,
                }
            )
        return requests

    def wait_for_event(self, call_id, event, timeout=15):
        """The CTI event ``event`` of ``call_id`` once Kamailio has posted it."""
        deadline = time.monotonic() + timeout
        while True:
            for request in self.cti_requests(call_id):
                if request["endpoint"] == "event" and request["body"].get("event") == event:
                    return request
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {event} event for {call_id} in {timeout}s:\n{self.log_tail()}"
                )
            time.sleep(0.1)


class Sipp:
    """One SIPp run (a child process) and its traces."""

    def __init__(self, name, args, rundir, timeout):
        self.name = name
        self.rundir = Path(rundir)
        self.rundir.mkdir(parents=True, exist_ok=True)
        stamp = f"{name}-{time.monotonic_ns()}"
        self.messages_path = self.rundir / f"{stamp}-messages.log"
        self.errors_path = self.rundir / f"{stamp}-errors.log"
        self.log_path = self.rundir / f"{stamp}-logs.log"
        self.stats_path = self.rundir / f"{stamp}-screen.log"
        tools = ensure_installed()
        self.command = [
            tools.sipp,
            *args,
            "-nostdin",
            "-timeout",
            f"{int(timeout)}s",
            "-timeout_error",
            "-trace_msg",
            "-message_file",
            str(self.messages_path),
            "-trace_err",
            "-error_file",
            str(self.errors_path),
            "-trace_logs",
            "-log_file",
            str(self.log_path),
        ]
        self.started = time.time()
        with self.stats_path.open("wb") as screen:
            self.process = subprocess.Popen(
                self.command,
                stdout=screen,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.rundir,
                start_new_session=True,
            )
        self.ended = None

    def wait(self, timeout=None):
        """Exit code of SIPp (0: every call went as the scenario says)."""
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.ended is None and self.process.poll() is not None:
                self.ended = time.time()
        return code

    @property
    def returncode(self):
        return self.process.poll()

    def stop(self):
        _stop_group(self.process, timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    @staticmethod
    def _read(path):
        try:
            return path.read_text(errors="replace")
        except OSError:
            return ""

    @property
    def messages(self):
        """The SIP messages SIPp sent and received (``-trace_msg``)."""
        return self._read(self.messages_path)

    @property
    def errors(self):
        return self._read(self.errors_path)

    def report(self):
        """Everything worth showing when a test fails."""
        return (
            f"$ {' '.join(self.command)}\nexit: {self.returncode}\n"
            f"--- errors\n{self.errors[-3000:]}\n--- logs\n{self._read(self.log_path)[-2000:]}"
            f"\n--- screen\n{self._read(self.stats_path)[-2000:]}"
            f"\n--- messages\n{self.messages[-6000:]}"
        )

    def check(self, timeout=None):
        """Wait and raise ``AssertionError`` with the traces unless SIPp succeeded."""
        code = self.wait(timeout)
        if code != 0:
            raise AssertionError(f"SIPp {self.name} failed:\n{self.report()}")
        return self

    def call_ids(self):
        return list(
            dict.fromkeys(
                re.findall(r"^Call-ID: *(\S+)", self.messages, re.MULTILINE | re.IGNORECASE)
            )
        )

    def message_log(self):
        """``(unix time, "sent"|"received", start line, CSeq method)`` per message."""
        parts = MESSAGE_HEAD.split(self.messages)
        log = []
        # split() gives [before, stamp, direction, text, stamp, direction, text, ...]
        for stamp, direction, text in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
            when = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
            lines = [line.strip() for line in text.strip().splitlines()]
            cseq = next(
                (line.split()[-1] for line in lines if line.lower().startswith("cseq:")), ""
            )
            log.append((when, direction, lines[0] if lines else "", cseq))
        return log

    def talk_seconds(self):
        """Seconds from the 200 OK of the INVITE to the first BYE, as SIPp saw them."""
        answered = hangup = None
        for when, _direction, start, cseq in self.message_log():
            if answered is None and start.startswith("SIP/2.0 200") and cseq == "INVITE":
                answered = when
            elif answered is not None and start.startswith("BYE "):
                hangup = when
                break
        if answered is None or hangup is None:
            return None
        return hangup - answered

    def statuses(self):
        """Status codes of the responses SIPp received, in order."""
        return [
            int(code)
            for code in re.findall(
                r"message received \[\d+\] bytes :\s*SIP/2\.0 (\d{3})", self.messages
            )
        ]


def _scenario(name):
    path = PEERS_DIR / f"{name}.sipp"
    if not path.is_file():
        raise ValueError(f"no SIPp scenario {path}")
    return str(path)


def register(ext, contact_port, proxy, rundir, expires=3600, timeout=10):
    """Register extension ``ext`` at ``proxy`` (``host:port``), reachable at
    ``127.0.0.1:contact_port``; waits and returns the finished :class:`Sipp`."""
    run = Sipp(
        f"register-{ext}",
        [
            proxy,
            "-sf",
            _scenario("register"),
            "-i",
            HOST,
            "-p",
            str(free_port()),
            "-m",
            "1",
            "-key",
            "ext",
            str(ext),
            "-key",
            "contact_port",
            str(contact_port),
            "-key",
            "expires",
            str(expires),
        ],
        rundir,
        timeout,
    )
    run.wait(timeout + 5)
    return run


UAS_SCENARIOS = {
    "answer": "uas_answer",  # answers, waits for the caller's BYE
    "answer_bye": "uas_answer_bye",  # answers, hangs up after hold_seconds
    "noanswer": "uas_noanswer",  # rings until cancelled
}


def uas(
    port,
    rundir,
    scenario="answer",
    answer_after_ms=500,
    hold_seconds=0,
    calls=1,
    timeout=120,
):
    """Start a phone answering on ``127.0.0.1:port`` (background :class:`Sipp`).

    ``scenario``: ``"answer"`` (rings ``answer_after_ms``, answers, waits for
    BYE), ``"answer_bye"`` (same, then hangs up after ``hold_seconds``) or
    ``"noanswer"`` (rings until CANCEL). SIPp exits after ``calls`` calls.
    """
    name = UAS_SCENARIOS.get(scenario)
    if not name:
        raise ValueError(f"scenario must be one of {sorted(UAS_SCENARIOS)}")
    args = ["-sf", _scenario(name), "-i", HOST, "-p", str(port), "-m", str(calls)]
    # SIPp refuses values for globals a scenario does not declare
    if scenario != "noanswer":
        args += ["-set", "answer_ms", str(int(answer_after_ms))]
    if scenario == "answer_bye":
        args += ["-set", "hold_ms", str(int(hold_seconds * 1000))]
    run = Sipp(f"uas-{port}", args, rundir, timeout)
    # server mode: ready once SIPp has bound the UDP port
    deadline = time.monotonic() + 10
    while run.returncode is None and time.monotonic() < deadline:
        if _udp_bound(port):
            return run
        time.sleep(0.05)
    run.stop()
    raise RuntimeError(f"SIPp uas did not bind {port}:\n{run.report()}")


UAC_SCENARIOS = {
    "answer": "uac_call",
    "answer_wait_bye": "uac_call_wait_bye",
    "reject": "uac_rejected",
}


def uac(
    from_number,
    to_number,
    proxy,
    rundir,
    call_seconds=3,
    expect="answer",
    call_id=None,
    timeout=60,
):
    """Start a customer's call from ``from_number`` to ``to_number`` through
    ``proxy`` (background :class:`Sipp`; ``wait()`` or ``check()`` it).

    ``expect``: ``"answer"`` (talks ``call_seconds`` then hangs up),
    ``"answer_wait_bye"`` (talks until the other side hangs up) or
    ``"reject"`` (the call is refused: 404, 408, 480, 486, 487, 503, 603).
    ``call_id``: the Call-ID to use (default: a new unique one).
    """
    scenario = UAC_SCENARIOS.get(expect)
    if not scenario:
        raise ValueError(f"expect must be one of {sorted(UAC_SCENARIOS)}")
    call_id = call_id or f"cc-{os.getpid()}-{time.monotonic_ns()}@{HOST}"
    run = Sipp(
        f"uac-{expect}",
        [
            proxy,
            "-sf",
            _scenario(scenario),
            "-i",
            HOST,
            "-p",
            str(free_port()),
            "-m",
            "1",
            "-s",
            str(to_number),
            "-key",
            "caller",
            str(from_number),
            "-cid_str",
            call_id.replace("%", "%%"),
            "-d",
            str(int(call_seconds * 1000)),
        ],
        rundir,
        timeout,
    )
    run.call_id = call_id
    return run


# ---------------------------------------------------------------------------
# Asterisk manager interface: replay of recorded exchanges
# ---------------------------------------------------------------------------


def load_transcript(name):
    """Steps of a recording in ``data/ami``: ("send", [lines]),
    ("expect", [(key, value)]), ("close",)."""
    steps = []
    client_lines = []
    for raw in (AMI_DATA / name).read_text().splitlines():
        if raw.startswith("#") or not raw.strip():
            continue
        if raw == "-- close":
            steps.append(("close",))
            continue
        side, _colon, text = raw.partition(":")
        text = text.removeprefix(" ")
        if side == "S":
            if steps and steps[-1][0] == "send":
                steps[-1][1].append(text)
            else:
                steps.append(("send", [text]))
        elif side == "C":
            if text:
                client_lines.append(text)
            else:
                steps.append(("expect", _pairs(client_lines)))
                client_lines = []
        else:
            raise ValueError(f"{name}: unexpected line {raw!r}")
    return steps


def _pairs(lines):
    pairs = []
    for line in lines:
        key, _colon, value = line.partition(":")
        pairs.append((key.strip(), value.strip()))
    return pairs


class ReplayServer:
    """Plays Asterisk's side of recordings, one per accepted connection, on
    ``127.0.0.1:port``; every action the client sends must be the recorded
    one (all headers; ActionIDs are mapped), else the deviation is kept in
    ``errors``. ``received`` keeps every action as ``[(key, value)]``.

    :param placeholders: ``{"WORD": regex}``: a recorded value holding WORD
        matches whatever the regex matches there (e.g. an interaction id
        known only once the test runs).
    """

    def __init__(self, *names, placeholders=None):
        self.transcripts = [load_transcript(name) for name in names]
        self.placeholders = placeholders or {}
        self.errors = []
        self.received = []
        self.connections = 0
        self.sock = socket.create_server((HOST, 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        for steps in self.transcripts:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(15)
                try:
                    self._replay(conn, steps)
                except (AssertionError, OSError) as err:  # reported through self.errors
                    self.errors.append(f"connection {self.connections}: {err!r}")

    def _matches(self, expected, got):
        """Whether the pairs ``got`` are the recorded ``expected`` ones (in
        any order; placeholders in recorded values match their regex)."""
        if len(expected) != len(got):
            return False
        for (key, value), (got_key, got_value) in zip(sorted(expected), sorted(got), strict=True):
            pattern = re.escape(value)
            for word, regex in self.placeholders.items():
                pattern = pattern.replace(re.escape(word), f"(?:{regex})")
            if key != got_key or not re.fullmatch(pattern, got_value):
                return False
        return True

    def _replay(self, conn, steps):
        ids = {}
        buffer = b""
        for step in steps:
            if step[0] == "send":
                out = []
                for line in step[1]:
                    if line.startswith("ActionID: "):
                        recorded = line[len("ActionID: ") :]
                        line = "ActionID: " + ids.get(recorded, recorded)
                    out.append(line + "\r\n")
                conn.sendall("".join(out).encode())
            elif step[0] == "close":
                conn.shutdown(socket.SHUT_RDWR)
                return
            else:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(4096)
                    if not chunk:
                        raise AssertionError(f"client closed, expected {step[1]}")
                    buffer += chunk
                raw, buffer = buffer.split(b"\r\n\r\n", 1)
                got = _pairs(raw.decode().split("\r\n"))
                self.received.append(got)
                expected = dict(step[1])
                sent = dict(got)
                if "ActionID" in expected:
                    if not sent.get("ActionID"):
                        raise AssertionError(f"action without ActionID: {got}")
                    ids[expected["ActionID"]] = sent["ActionID"]
                    expected["ActionID"] = sent["ActionID"]
                if not self._matches(list(expected.items()), got):
                    raise AssertionError(f"expected {sorted(expected.items())}, got {sorted(got)}")
        # the client must not send anything after the end of the recording
        while True:
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                raise AssertionError("the client did not close the connection") from None
            if not chunk:
                return
            raise AssertionError(f"unexpected data after the recording: {chunk!r}")

    def actions(self, name):
        """The actions ``name`` (e.g. "Originate") received so far, as dicts."""
        return [dict(got) for got in self.received if dict(got).get("Action") == name]

    def wait_done(self, timeout=15):
        """Wait until every recording was played (or the server closed);
        AssertionError naming what is missing otherwise."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(
                f"{self.connections} of {len(self.transcripts)} recorded AMI connections "
                f"made in {timeout}s; received {self.received}"
            )

    def close(self):
        self.sock.close()
        self.thread.join(5)
