#!/usr/bin/env python3
"""Bridge Asterisk's call events into Odoo's contact center.

Connects to the Asterisk Manager Interface (AMI) with events on, turns the
AMI events into the contact center's CTI events (ringing, answered, held,
resumed, transferred, hangup, failed, voicemail, recording) and POSTs each
one, signed, to ``<odoo-url>/omnichannel/voip/<token>/event`` of the phone
channel. Runs beside Asterisk (or anywhere reaching both), outside Odoo:
Python 3.10+ and its standard library only.

- Body: the CTI event as JSON, its ``timestamp`` the event's time; header
  ``X-Omnichannel-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed
  with the channel's secret>``: exactly what Odoo verifies
  (``omnichannel_cc/tools/signature.py``), the signed ``timestamp`` checked
  against Odoo's clock (5 minutes either way).
- Odoo answers 200 as soon as it has stored the event (``{"queued": true,
  "duplicate": <already received>, "inbox_id": ...}``) and applies it in the
  background: a 200 means "stored", a duplicate is a success too (nothing
  is sent again). Odoo refusing the event's data once it applies it (an
  extension no user has) is no longer an answer here: managers see it as a
  dead letter in Contact Center > Configuration > Technical > Event inbox.
- Odoo unreachable or answering 5xx: the event is retried with exponential
  backoff (events keep their order; connection errors are retried until
  Odoo is back, 5xx up to ``--max-attempts``). A 4xx answer is logged and
  the event dropped: sending it again would get the same answer.
- AMI connection lost or refused: reconnects with backoff; the call state is
  kept, so a call that started before the cut ends normally after it.

Example (secrets from the environment, not the command line)::

    export OMNICHANNEL_AMI_SECRET=... OMNICHANNEL_VOIP_SECRET=...
    ami_bridge.py --ami-host 127.0.0.1 --ami-user omnichannel \\
        --odoo-url https://odoo.example.com --token=<channel PBX token>

(``--token=...`` with "=": a token starting with "-" would otherwise read as
an option; tokens made since 2026-12-06 never start with one.)

manager.conf::

    [general]
    enabled = yes
    timestampevents = yes
    [omnichannel]
    secret = ...
    deny = 0.0.0.0/0.0.0.0
    permit = 127.0.0.1/255.255.255.255
    read = call,dialplan
    write = originate,call,reporting
"""

import argparse
import hashlib
import hmac
import importlib.util
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

_logger = logging.getLogger("ami_bridge")

USER_AGENT = "omnichannel-ami-bridge/1.0"


def _load_ami():
    """Import ``tools/ami.py`` by path: the addon package is not importable
    outside Odoo."""
    path = Path(__file__).resolve().parent.parent / "tools" / "ami.py"
    spec = importlib.util.spec_from_file_location("omnichannel_cc_voip_ami", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ami = _load_ami()


def sign(secret, body):
    """``sha256=<hex>`` HMAC-SHA256 of the raw ``body``, as Odoo verifies it
    (the event's ``timestamp`` is in the body, hence signed)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_url(odoo_url, token):
    return f"{odoo_url.rstrip('/')}/omnichannel/voip/{urllib.parse.quote(token, safe='')}/event"


def describe_receipt(body):
    """What Odoo's 200 says of a posted event, for the log: stored (queued
    in its inbox, applied in the background), already received (a
    duplicate: nothing to send again), or applied (an Odoo answering
    synchronously)."""
    try:
        receipt = json.loads(body or b"{}")
    except ValueError:
        receipt = {}
    if not isinstance(receipt, dict):
        receipt = {}
    if receipt.get("duplicate"):
        return f"already received (inbox row {receipt.get('inbox_id')})"
    if receipt.get("queued"):
        return f"queued (inbox row {receipt.get('inbox_id')})"
    return "accepted"


class EventPoster:
    """POST CTI events to Odoo, one at a time, in order."""

    def __init__(
        self,
        url,
        secret,
        retry_delay=0.5,
        max_delay=30.0,
        max_attempts=10,
        timeout=10.0,
        stop=None,
    ):
        self.url = url
        self.secret = secret
        self.retry_delay = retry_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.stop = stop or threading.Event()

    def _request(self, body):
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Omnichannel-Signature": sign(self.secret, body),
        }
        return urllib.request.Request(self.url, data=body, headers=headers, method="POST")

    def post(self, event):
        """Deliver one event; True once Odoo accepted it, False if dropped."""
        body = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
        label = f"{event.get('event')} of call {event.get('call_id')}"
        delay = self.retry_delay
        server_errors = 0
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self._request(body), timeout=self.timeout) as answer:
                    receipt = answer.read(4096)
                _logger.info("posted %s: %s", label, describe_receipt(receipt))
                return True
            except urllib.error.HTTPError as err:
                detail = err.read(300).decode("utf-8", "replace").strip()
                # Odoo's webhooks answer their errors in JSON; a 404 page that
                # is not JSON is Odoo without its database (PostgreSQL
                # restarting): retried like a 5xx, never dropped
                without_database = err.code == 404 and err.headers.get_content_type() != (
                    "application/json"
                )
                if err.code < 500 and not without_database:
                    hint = " (check --token and --secret)" if err.code in (401, 404) else ""
                    _logger.warning(
                        "Odoo refused %s: HTTP %s %s%s; event dropped",
                        label,
                        err.code,
                        detail,
                        hint,
                    )
                    return False
                server_errors += 1
                if server_errors >= self.max_attempts:
                    _logger.error(
                        "Odoo failed %s times on %s (HTTP %s %s); event dropped",
                        server_errors,
                        label,
                        err.code,
                        detail,
                    )
                    return False
                _logger.warning(
                    "Odoo answered HTTP %s to %s; retrying in %.1f s", err.code, label, delay
                )
            except (urllib.error.URLError, OSError) as err:
                reason = getattr(err, "reason", err)
                _logger.warning(
                    "cannot reach Odoo at %s (%s); retrying %s in %.1f s",
                    self.url,
                    reason,
                    label,
                    delay,
                )
            self.stop.wait(delay)
            delay = min(delay * 2, self.max_delay)
        return False


class AmiReader(threading.Thread):
    """Read AMI events, translate them, queue the CTI events; reconnect on
    loss. The translator outlives connections so calls survive a cut."""

    def __init__(self, args, translator, events, stop):
        super().__init__(name="ami-reader", daemon=True)
        self.args = args
        self.translator = translator
        self.events = events
        self.stop = stop

    def run(self):
        delay = self.args.reconnect_delay
        while not self.stop.is_set():
            try:
                self._session()
                delay = self.args.reconnect_delay
            except ami.AmiError as err:
                _logger.warning("AMI: %s; reconnecting in %.1f s", err, delay)
            except Exception:
                _logger.exception("AMI reader failed; reconnecting in %.1f s", delay)
            self.stop.wait(delay)
            delay = min(delay * 2, 60.0)

    def _session(self):
        args = self.args
        client = ami.AmiClient(
            args.ami_host, args.ami_port, args.ami_user, args.ami_secret, events=True
        )
        client.connect()
        _logger.info("connected to %s (%s) as %s", client.address, client.banner, args.ami_user)
        last_traffic = time.monotonic()
        try:
            while not self.stop.is_set():
                event = client.read_event(timeout=1.0)
                if event is None:
                    if time.monotonic() - last_traffic >= args.ping_interval:
                        client.ping()
                        last_traffic = time.monotonic()
                    continue
                last_traffic = time.monotonic()
                for cti in self.translator.feed(event):
                    self.events.put(cti)
        finally:
            client.close()


def _parser():
    parser = argparse.ArgumentParser(
        prog="ami_bridge.py",
        description=(
            "Forward Asterisk call events (AMI) to an Odoo phone channel as signed CTI "
            "events: POST <odoo-url>/omnichannel/voip/<token>/event."
        ),
        epilog=(
            "Secrets are better given in the environment than on the command line: "
            "OMNICHANNEL_AMI_SECRET (AMI secret) and OMNICHANNEL_VOIP_SECRET (the channel's "
            "PBX shared secret, Contact Center / Configuration / Channels, tab Telephony)."
        ),
    )
    ami_group = parser.add_argument_group("Asterisk manager interface")
    ami_group.add_argument("--ami-host", default="127.0.0.1", help="default: %(default)s")
    ami_group.add_argument("--ami-port", type=int, default=5038, help="default: %(default)s")
    ami_group.add_argument("--ami-user", required=True, help="manager.conf user section")
    ami_group.add_argument(
        "--ami-secret",
        default=os.environ.get("OMNICHANNEL_AMI_SECRET"),
        help="its secret (default: $OMNICHANNEL_AMI_SECRET)",
    )
    ami_group.add_argument(
        "--ping-interval",
        type=float,
        default=20.0,
        help="seconds without AMI traffic before a Ping checks the link (default: %(default)s)",
    )
    ami_group.add_argument(
        "--reconnect-delay",
        type=float,
        default=1.0,
        help="first wait before reconnecting, doubled up to 60 s (default: %(default)s)",
    )
    odoo_group = parser.add_argument_group("Odoo")
    odoo_group.add_argument("--odoo-url", required=True, help="e.g. https://odoo.example.com")
    odoo_group.add_argument("--token", required=True, help="the phone channel's PBX token")
    odoo_group.add_argument(
        "--secret",
        default=os.environ.get("OMNICHANNEL_VOIP_SECRET"),
        help="the channel's PBX shared secret (default: $OMNICHANNEL_VOIP_SECRET)",
    )
    # Odoo never accepted a signature of "<timestamp>." + body: the option
    # made it refuse every event. Kept so that existing command lines start.
    odoo_group.add_argument("--timestamp-header", action="store_true", help=argparse.SUPPRESS)
    odoo_group.add_argument(
        "--retry-delay",
        type=float,
        default=0.5,
        help="first wait before retrying a post, doubled up to 30 s (default: %(default)s)",
    )
    odoo_group.add_argument(
        "--max-attempts",
        type=int,
        default=10,
        help="posts of one event answered 5xx before it is dropped (default: %(default)s)",
    )
    translation = parser.add_argument_group("Translation")
    translation.add_argument(
        "--extension-pattern",
        default=r"\d{1,6}",
        help="regular expression of agents' endpoint names (default: %(default)s)",
    )
    translation.add_argument(
        "--recording-base-url",
        help="URL where the Asterisk spool directory is published "
        "(recordings are sent as file:// URLs without it)",
    )
    translation.add_argument(
        "--spool-dir", default="/var/spool/asterisk", help="default: %(default)s"
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR")
    )
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("the channel's shared secret is missing: --secret or $OMNICHANNEL_VOIP_SECRET")
    if not args.ami_secret:
        parser.error("the AMI secret is missing: --ami-secret or $OMNICHANNEL_AMI_SECRET")
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def _stop(signum, _frame):
        _logger.info("signal %s: stopping", signum)
        stop.set()

    if args.timestamp_header:
        _logger.warning(
            "--timestamp-header is ignored: each event's timestamp is in the signed body"
        )
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    translator = ami.AmiEventTranslator(
        extension_pattern=args.extension_pattern,
        recording_base_url=args.recording_base_url,
        spool_dir=args.spool_dir,
    )
    events = queue.Queue()
    poster = EventPoster(
        event_url(args.odoo_url, args.token),
        args.secret,
        retry_delay=args.retry_delay,
        max_attempts=args.max_attempts,
        stop=stop,
    )
    AmiReader(args, translator, events, stop).start()
    while not stop.is_set():
        try:
            event = events.get(timeout=0.5)
        except queue.Empty:
            continue
        poster.post(event)
    if not events.empty():
        _logger.warning("stopped with %s event(s) not posted", events.qsize())
    return 0


if __name__ == "__main__":
    sys.exit(main())
