"""Kannel as the SMS gateway of the tests: bearerbox, smsbox, and fakesmsc
playing the operator's SMSC and the customers' phones.

Standard library only, no odoo import. :class:`Kannel` runs the example
configuration shipped for integrators, ``docs/sms/kannel.conf`` (read, not
copied by hand), with this run's values put in: free loopback ports, paths in
the run folder, the SMS channel's token and secret, the Odoo URL, debug logs,
and Kannel's fake SMSC in place of the operator's SMPP connection. A key the
harness sets must already be in the file, so the documented configuration and
the tested one cannot drift apart.

fakesmsc (package ``kannel-extras``) connects to bearerbox's fake SMSC port
and, with no message on its command line, reads lines from its standard
input, one customer message (MO) each: ``sender receiver text|ucs2 data``.
Messages Kannel sends to the SMSC (MT) it prints as ``Got message N:
<sender receiver type data>``; the fake SMSC reports each as delivered, so
bearerbox calls the message's dlr-url with type 8 (accepted by the SMSC)
then 1 (delivered to the phone).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# <repo>/tests/e2e/_kannel.py -> <repo>/docs/sms/kannel.conf
KANNEL_CONFIG = Path(__file__).resolve().parents[2] / "docs" / "sms" / "kannel.conf"
HOST = "127.0.0.1"
DEBIAN_PACKAGES = ("kannel", "kannel-extras")
BINARY_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")
FAKESMSC_PATHS = (
    "/usr/lib/kannel/test/fakesmsc",
    "/usr/local/lib/kannel/test/fakesmsc",
    "/usr/lib64/kannel/test/fakesmsc",
)
# what the example writes where a deployment puts its own values
EXAMPLE_ODOO_URL = "https://odoo.example.com"
TOKEN_PLACEHOLDER = "<sms_token>"
SECRET_PLACEHOLDER = "<sms_secret>"
# a token or secret goes verbatim into Kannel's URLs and quoted values
SAFE_VALUE = re.compile(r"[A-Za-z0-9_\-.~]+")
# fakesmsc reads its standard input with fgets() into 256 bytes
MAX_MO_LINE = 255
# GSM 03.38 basic and extension characters: what a phone sends as 7-bit text
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    "^{}\\[~]|€"
)
SENT_LINE = re.compile(r"fakesmsc: sent message (\d+)")
GOT_LINE = re.compile(r"Got message (\d+): <(.*)>\s*$")
URL_LINE = re.compile(r"Parsing URL `(.*)':\s*$")
# smsbox's access log, one line per MO passed to the service's URL
MO_ANSWER_LINE = re.compile(r"SMS HTTP-request sender:.* url: '(.*)' reply: (-?\d+) ")


class KannelMissing(RuntimeError):
    """Kannel cannot be had on this machine (the message says what to install)."""


@dataclass(frozen=True)
class Tools:
    bearerbox: str
    smsbox: str
    fakesmsc: str


@dataclass(frozen=True)
class Mt:
    """A message Kannel handed to the SMSC, as fakesmsc printed it."""

    sender: str
    receiver: str
    coding: str  # text, data, ucs-2, udh-text, udh-data
    text: str
    raw: str


def _which(name):
    found = shutil.which(name)
    if found:
        return found
    for folder in BINARY_DIRS:
        path = Path(folder) / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


def _fakesmsc():
    for path in (*FAKESMSC_PATHS, _which("fakesmsc")):
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


def _missing():
    missing = []
    if not (_which("bearerbox") and _which("smsbox")):
        missing.append("kannel")
    if not _fakesmsc():
        missing.append("kannel-extras")
    return missing


def ensure_installed():
    """The :class:`Tools`, installing Debian's ``kannel`` and ``kannel-extras``
    when missing (as root, with apt-get); raises :class:`KannelMissing`
    naming what to install otherwise."""
    missing = _missing()
    if missing and os.geteuid() == 0 and _which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        command = ["apt-get", "install", "-y", "--no-install-recommends", *DEBIAN_PACKAGES]
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=900, check=False
        )
        if result.returncode:
            subprocess.run(
                ["apt-get", "update"],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=900, check=False
            )
        missing = _missing()
    if missing:
        raise KannelMissing(
            "The SMS gateway tests need Kannel 1.4 (bearerbox, smsbox) and its fake SMSC "
            "(fakesmsc): install the Debian packages "
            + " ".join(DEBIAN_PACKAGES)
            + f" (missing here: {', '.join(missing)}), e.g. `apt-get install -y "
            + " ".join(DEBIAN_PACKAGES)
            + "`."
        )
    return Tools(_which("bearerbox"), _which("smsbox"), _fakesmsc())


def free_port(avoid=()):
    for _attempt in range(50):
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port
    raise RuntimeError("no free TCP port on 127.0.0.1")


def _accepts(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop_group(process, timeout=15):
    """Stop a child started in its own session, then whatever it left behind."""
    if process is None:
        return
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
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path, lines=60):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ----------------------------------------------------------------------
# The configuration file, read as Kannel reads it
# ----------------------------------------------------------------------
class KannelConfig:
    """Groups of ``key = value`` lines; a blank line ends a group, ``#``
    starts a comment line. Values are kept unquoted."""

    def __init__(self, text, source="kannel.conf"):
        self.source = source
        self.groups = []  # [[name, [[key, value], ...]], ...]
        current = None
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped:
                current = None
                continue
            if stripped.startswith("#"):
                continue
            key, sep, value = stripped.partition("=")
            if not sep:
                raise ValueError(f"{source}:{number}: not a 'key = value' line: {line!r}")
            key, value = key.strip(), value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if current is None:
                if key != "group":
                    raise ValueError(f"{source}:{number}: a group starts with 'group = ...'")
                current = [value, []]
                self.groups.append(current)
            else:
                current[1].append([key, value])

    def _groups(self, name):
        found = [group for group in self.groups if group[0] == name]
        if not found:
            raise KeyError(f"{self.source} has no 'group = {name}'")
        return found

    def get(self, name, key):
        for group in self._groups(name):
            for entry in group[1]:
                if entry[0] == key:
                    return entry[1]
        raise KeyError(f"{self.source} sets no {key} in 'group = {name}'")

    def set(self, name, key, value):
        """Change a value the file sets (in every group of that name)."""
        value = str(value)
        if '"' in value or "\n" in value:
            raise ValueError(f"{name}.{key}: a value cannot hold a double quote or a newline")
        changed = False
        for group in self._groups(name):
            for entry in group[1]:
                if entry[0] == key:
                    entry[1] = value
                    changed = True
        if not changed:
            raise KeyError(
                f"{self.source} sets no {key} in 'group = {name}': the test harness "
                "(tests/e2e/_kannel.py) and the documented configuration disagree"
            )

    def replace_group(self, name, entries):
        """Put ``entries`` in place of the (first) group called ``name``."""
        group = self._groups(name)[0]
        group[1] = [[key, str(value)] for key, value in entries]

    def render(self, header=""):
        lines = [f"# {line}" if line else "#" for line in header.splitlines()]
        for name, entries in self.groups:
            lines.append("")
            lines.append(f"group = {name}")
            for key, value in entries:
                lines.append(f"{key} = {value}" if value.isdigit() else f'{key} = "{value}"')
        return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------
# The gateway
# ----------------------------------------------------------------------
class Kannel:
    """bearerbox + smsbox + fakesmsc, children of the test, on free ports.

    :param rundir: folder for the configuration and the logs (created);
    :param odoo_url: Odoo's base URL, e.g. ``http://127.0.0.1:8069``;
    :param token: the SMS channel's ``sms_token`` (in the MO URL);
    :param secret: the channel's ``sms_secret``: sendsms password and the
        ``secret`` of the MO URL;
    :param account: the channel's ``sms_account``: sendsms user name.

    The channel's ``sms_base_url`` is :attr:`sendsms_url`, known before
    :meth:`start`.
    """

    def __init__(self, rundir, odoo_url, token, secret, account="odoo"):
        for name, value in (("token", token), ("secret", secret), ("account", account)):
            if not value or not SAFE_VALUE.fullmatch(value):
                raise ValueError(f"the channel's {name} must be letters, digits and -_.~")
        if not re.fullmatch(r"https?://[^\s\"\\?#]+", odoo_url):
            raise ValueError(f"unexpected Odoo URL {odoo_url!r}")
        self.rundir = Path(rundir)
        self.odoo_url = odoo_url.rstrip("/")
        self.token, self.secret, self.account = token, secret, account
        ports = []
        for _name in ("admin", "smsbox", "sendsms", "smsc"):
            ports.append(free_port(avoid=ports))
        self.admin_port, self.smsbox_port, self.sendsms_port, self.smsc_port = ports
        self.admin_password = "e2e-admin"
        self.config_path = self.rundir / "kannel.conf"
        self.bearerbox_log = self.rundir / "bearerbox.log"
        self.smsbox_log = self.rundir / "smsbox.log"
        self.smsbox_access_log = self.rundir / "smsbox-access.log"
        self.fakesmsc_log = self.rundir / "fakesmsc.log"
        self.bearerbox = self.smsbox = self.fakesmsc = None
        self.smsc_id = None
        self._sent = 0

    @property
    def sendsms_url(self):
        """What the SMS channel's Gateway URL (``sms_base_url``) is set to."""
        return f"http://{HOST}:{self.sendsms_port}"

    @property
    def inbound_url(self):
        """The MO URL of the configuration, before Kannel's %-escapes are filled."""
        return self.config().get("sms-service", "get-url")

    def config(self):
        """``docs/sms/kannel.conf`` with this run's values."""
        if not KANNEL_CONFIG.is_file():
            raise RuntimeError(
                f"The Kannel example configuration {KANNEL_CONFIG} is missing: the SMS "
                "gateway tests run the repository's docs/sms/kannel.conf."
            )
        config = KannelConfig(KANNEL_CONFIG.read_text(), str(KANNEL_CONFIG))
        run = self.rundir
        for key, value in (
            ("admin-port", self.admin_port),
            ("admin-password", self.admin_password),
            ("smsbox-port", self.smsbox_port),
            ("log-file", run / "bearerbox.log"),
            ("log-level", 0),
            ("access-log", run / "access.log"),
            ("store-location", run / "kannel.store"),
        ):
            config.set("core", key, value)
        for key, value in (
            ("bearerbox-port", self.smsbox_port),
            ("sendsms-port", self.sendsms_port),
            ("log-file", self.smsbox_log),
            ("log-level", 0),
            ("access-log", self.smsbox_access_log),
        ):
            config.set("smsbox", key, value)
        for key, value in (
            ("username", self.account),
            ("password", self.secret),
            ("user-allow-ip", HOST),
        ):
            config.set("sendsms-user", key, value)
        get_url = config.get("sms-service", "get-url")
        for placeholder in (EXAMPLE_ODOO_URL, TOKEN_PLACEHOLDER, SECRET_PLACEHOLDER):
            if placeholder not in get_url:
                raise RuntimeError(
                    f"{KANNEL_CONFIG}: the get-url no longer contains {placeholder}: update "
                    "tests/e2e/_kannel.py with the documented configuration"
                )
        get_url = (
            get_url.replace(EXAMPLE_ODOO_URL, self.odoo_url)
            .replace(TOKEN_PLACEHOLDER, self.token)
            .replace(SECRET_PLACEHOLDER, self.secret)
        )
        config.set("sms-service", "get-url", get_url)
        # the operator: Kannel's fake SMSC, same id, on the loopback
        self.smsc_id = config.get("smsc", "smsc-id")
        config.replace_group(
            "smsc",
            [
                ("smsc", "fake"),
                ("smsc-id", self.smsc_id),
                ("port", self.smsc_port),
                ("connect-allow-ip", HOST),
            ],
        )
        return config

    # ------------------------------------------------------------------
    def start(self, timeout=30):
        tools = ensure_installed()
        self.rundir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            self.config().render(
                f"Generated by tests/e2e/_kannel.py from {KANNEL_CONFIG.name} for one test run."
            )
        )
        deadline = time.monotonic() + timeout
        try:
            self.bearerbox = self._spawn(
                [tools.bearerbox, "-v", "1", str(self.config_path)], "bearerbox.out"
            )
            self._wait(
                lambda: _accepts(self.admin_port) and _accepts(self.smsc_port),
                self.bearerbox,
                "bearerbox did not open its admin and SMSC ports",
                deadline,
            )
            self.smsbox = self._spawn(
                [tools.smsbox, "-v", "1", str(self.config_path)], "smsbox.out"
            )
            self._wait(
                lambda: _accepts(self.sendsms_port),
                self.smsbox,
                "smsbox did not open its sendsms port",
                deadline,
            )
            self.fakesmsc = self._spawn(
                [
                    tools.fakesmsc,
                    "-H",
                    HOST,
                    "-r",
                    str(self.smsc_port),
                    "-i",
                    "0",
                    "-v",
                    "0",
                ],
                self.fakesmsc_log.name,
                stdin=subprocess.PIPE,
            )
            self._wait(
                self._ready,
                self.fakesmsc,
                "bearerbox does not show the fake SMSC online and smsbox connected",
                deadline,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, command, log_name, stdin=subprocess.DEVNULL):
        with (self.rundir / log_name).open("wb") as log:
            return subprocess.Popen(
                command,
                stdin=stdin,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.rundir,
                start_new_session=True,
            )

    def _wait(self, ready, process, what, deadline):
        while not ready():
            for name, child in (
                ("bearerbox", self.bearerbox),
                ("smsbox", self.smsbox),
                ("fakesmsc", self.fakesmsc),
            ):
                if child is not None and child.poll() is not None:
                    raise RuntimeError(f"{name} exited with {child.returncode}:\n{self.logs()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} in time:\n{self.logs()}")
            time.sleep(0.1)

    def _ready(self):
        status = self.status()
        return bool(
            re.search(rf"{re.escape(self.smsc_id)}\[{re.escape(self.smsc_id)}\].*\(online", status)
            and re.search(r"smsbox:.*\(on-line", status)
        )

    def stop(self):
        # the phones and the operator first, then the boxes
        for process in (self.fakesmsc, self.smsbox, self.bearerbox):
            _stop_group(process)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # ------------------------------------------------------------------
    def status(self):
        """bearerbox's status page (text), '' while it does not answer."""
        query = urllib.parse.urlencode({"password": self.admin_password})
        try:
            with urllib.request.urlopen(
                f"http://{HOST}:{self.admin_port}/status.txt?{query}", timeout=5
            ) as answer:
                return answer.read().decode(errors="replace")
        except (urllib.error.URLError, OSError):
            return ""

    def logs(self, lines=40):
        """The end of every log, for a failure message."""
        parts = []
        for path in (
            self.rundir / "bearerbox.out",
            self.bearerbox_log,
            self.rundir / "smsbox.out",
            self.smsbox_log,
            self.fakesmsc_log,
        ):
            parts.append(f"--- {path.name}\n{_tail(path, lines)}")
        return "\n".join(parts)

    def _fakesmsc_output(self):
        try:
            return self.fakesmsc_log.read_text(errors="replace")
        except OSError:
            return ""

    # ------------------------------------------------------------------
    # Customers' phones (MO)
    # ------------------------------------------------------------------
    @staticmethod
    def mo_line(sender, receiver, text):
        """The fakesmsc line of a customer message: 7-bit text as a phone
        sends it when every character is in the GSM alphabet, UCS-2 otherwise."""
        for name, number in (("sender", sender), ("receiver", receiver)):
            if not re.fullmatch(r"\+?[0-9A-Za-z]+", number):
                raise ValueError(f"unexpected {name} {number!r}")
        if text and set(text) <= GSM7 and "\n" not in text and "\r" not in text:
            line = f"{sender} {receiver} text {text}"
        else:
            data = urllib.parse.quote_plus(text.encode("utf-16-be"))
            line = f"{sender} {receiver} ucs2 {data}"
        encoded = line.encode()
        if len(encoded) > MAX_MO_LINE:
            raise ValueError(
                f"a fakesmsc line holds {MAX_MO_LINE} bytes; this message takes {len(encoded)}"
            )
        return encoded + b"\n"

    def send_mo(self, sender, receiver, text, timeout=30):
        """A customer texts ``text`` from ``sender`` to ``receiver``; returns
        ``(url, status)`` once Odoo has answered smsbox: the URL smsbox
        requested (what Kannel requests again on a retry) and Odoo's HTTP
        status (-1: no answer)."""
        before = len(self.mo_answers())
        line = self.mo_line(sender, receiver, text)
        self.fakesmsc.stdin.write(line)
        self.fakesmsc.stdin.flush()
        self._sent += 1
        deadline = time.monotonic() + timeout
        # fakesmsc reads its input line by line with select() + fgets(): the
        # next line is written once this one is on its way
        while self._sent_count() < self._sent:
            self._check_alive(deadline, f"fakesmsc did not send {line!r}")
        while True:
            for url, status in self.mo_answers()[before:]:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
                sent_from = query.get("from", [""])[0]
                if query.get("text") == [text] and sent_from.lstrip("+") == sender.lstrip("+"):
                    return url, status
            self._check_alive(deadline, f"Odoo did not answer smsbox for {text!r} from {sender}")

    def _sent_count(self):
        counts = [int(n) for n in SENT_LINE.findall(self._fakesmsc_output())]
        return max(counts, default=0)

    def _check_alive(self, deadline, what):
        for name, child in (
            ("bearerbox", self.bearerbox),
            ("smsbox", self.smsbox),
            ("fakesmsc", self.fakesmsc),
        ):
            if child is None or child.poll() is not None:
                raise AssertionError(f"{name} is not running:\n{self.logs()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} in time:\n{self.logs()}")
        time.sleep(0.1)

    # ------------------------------------------------------------------
    # What Kannel did
    # ------------------------------------------------------------------
    def odoo_requests(self, path=None):
        """URLs smsbox started to request from Odoo (MO get-url and
        dlr-urls), in order, from its debug log; only those whose path ends
        with ``path`` if given."""
        try:
            text = self.smsbox_log.read_text(errors="replace")
        except OSError:
            return []
        urls = [
            match.group(1)
            for match in map(URL_LINE.search, text.splitlines())
            if match and match.group(1).startswith(self.odoo_url)
        ]
        if path:
            urls = [url for url in urls if urllib.parse.urlsplit(url).path.endswith(path)]
        return urls

    def mo_answers(self):
        """``(url, status)`` of every MO request smsbox made, with Odoo's
        answer, from smsbox's access log."""
        try:
            text = self.smsbox_access_log.read_text(errors="replace")
        except OSError:
            return []
        return [
            (match.group(1), int(match.group(2)))
            for match in map(MO_ANSWER_LINE.search, text.splitlines())
            if match
        ]

    def mt_messages(self):
        """Every message the SMSC received from Kannel, in order."""
        messages = []
        for line in self._fakesmsc_output().splitlines():
            match = GOT_LINE.search(line)
            if match:
                messages.append(self.parse_mt(match.group(2)))
        return messages

    @staticmethod
    def parse_mt(raw):
        sender, receiver, coding, data = (raw.split(" ", 3) + ["", "", "", ""])[:4]
        if coding in ("text", "udh-text"):
            text = data
        else:
            payload = urllib.parse.unquote_to_bytes(data.replace("+", " "))
            if coding == "ucs-2":
                text = payload.decode("utf-16-be", errors="replace")
            else:
                text = payload.decode("utf-8", errors="replace")
        return Mt(sender, receiver, coding, text, raw)

    def wait_for_mt(self, receiver, contains="", count=1, timeout=30):
        """The messages to ``receiver`` (any notation) holding ``contains``,
        once there are at least ``count`` of them."""
        digits = re.sub(r"\D", "", receiver)
        deadline = time.monotonic() + timeout
        while True:
            found = [
                mt
                for mt in self.mt_messages()
                if re.sub(r"\D", "", mt.receiver) == digits and contains in mt.text
            ]
            if len(found) >= count:
                return found
            self._check_alive(
                deadline,
                f"the SMSC did not receive {count} message(s) to {receiver} with {contains!r} "
                f"(it has {[mt.raw for mt in self.mt_messages()]})",
            )

    def counters(self):
        """(received from Kannel by the SMSC, bearerbox's sent counter,
        messages still queued in bearerbox) from the status page."""
        status = self.status()
        match = re.search(
            r"SMS: received \d+ \((\d+) queued\), sent (\d+) \((\d+) queued\)", status
        )
        if not match:
            raise AssertionError(f"unexpected bearerbox status page:\n{status}")
        incoming_queued, sent, outgoing_queued = map(int, match.groups())
        return len(self.mt_messages()), sent, incoming_queued + outgoing_queued

    def wait_idle(self, timeout=30):
        """Until nothing waits in bearerbox and the SMSC has printed every
        message bearerbox sent."""
        deadline = time.monotonic() + timeout
        while True:
            received, sent, queued = self.counters()
            if not queued and received >= sent:
                return
            self._check_alive(
                deadline, f"Kannel still busy (SMSC got {received}, sent {sent}, queued {queued})"
            )


def documented_bearerbox(rundir, timeout=30):
    """Run bearerbox on ``docs/sms/kannel.conf`` as an integrator fills it
    in, only ports, paths and the operator's host changed (the loopback,
    where no SMSC listens: the SMPP connection keeps retrying). Returns
    ``(status page, bearerbox's output)`` once the status page answers;
    bearerbox is stopped."""
    tools = ensure_installed()
    rundir = Path(rundir)
    rundir.mkdir(parents=True, exist_ok=True)
    config = KannelConfig(KANNEL_CONFIG.read_text(), str(KANNEL_CONFIG))
    ports = []
    for _name in ("admin", "smsbox", "smsc"):
        ports.append(free_port(avoid=ports))
    admin, smsbox, smsc = ports
    for key, value in (
        ("admin-port", admin),
        ("admin-password", "doc-check"),
        ("smsbox-port", smsbox),
        ("log-file", rundir / "bearerbox.log"),
        ("access-log", rundir / "access.log"),
        ("store-location", rundir / "kannel.store"),
    ):
        config.set("core", key, value)
    config.set("smsc", "host", HOST)
    config.set("smsc", "port", smsc)
    path = rundir / "kannel.conf"
    path.write_text(config.render())
    output = rundir / "bearerbox.out"
    with output.open("wb") as log:
        process = subprocess.Popen(
            [tools.bearerbox, "-v", "1", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=rundir,
            start_new_session=True,
        )
    query = urllib.parse.urlencode({"password": "doc-check"})
    deadline = time.monotonic() + timeout
    status = ""
    try:
        while not status:
            if process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(
                    f"http://{HOST}:{admin}/status.txt?{query}", timeout=5
                ) as answer:
                    status = answer.read().decode(errors="replace")
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
    finally:
        _stop_group(process)
    return status, output.read_text(errors="replace")
