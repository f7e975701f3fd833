"""Asterisk AMI adapter (tools/ami.py) and its event bridge (scripts/ami_bridge.py).

Asterisk cannot run here: it is not packaged in Debian bookworm nor on
PyPI/npm. These tests therefore replay recorded AMI exchanges, written in
Asterisk 20's wire format (banner, ``Response: Success/Error`` with
``Message``, events with ``Privilege``, ``Timestamp``, channel snapshots
with ``Uniqueid``/``Linkedid``), from ``tests/data/ami/*.txt``: a small
threaded TCP server (``peers.ReplayServer``, also used by the repository's
end-to-end tests) plays Asterisk's side, checks every action the client
sends against the recording (all headers; ActionIDs are mapped) and answers
with the recorded lines. The bridge is run as the real
CLI in a subprocess against that server and a local HTTP server that checks
the signatures with hmac.
"""

import hashlib
import hmac
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from odoo.tests import BaseCase, tagged

from odoo.addons.omnichannel_cc.tools import signature

from ..tools import ami
from .peers import ReplayServer, load_transcript

BRIDGE = Path(__file__).resolve().parent.parent / "scripts" / "ami_bridge.py"
AMI_USER = "omnichannel"
AMI_SECRET = "s3cr3t-ami"


# ---------------------------------------------------------------------------
# Replay of recorded exchanges
# ---------------------------------------------------------------------------


def server_messages(name):
    """Every message Asterisk sent in a recording, parsed."""
    wire = b""
    for step in load_transcript(name):
        if step[0] == "send":
            wire += "".join(line + "\r\n" for line in step[1]).encode()
    messages, rest = ami.parse_messages(wire)
    assert not rest, rest
    return messages


def recorded_events(name):
    return [message for message in server_messages(name) if "Event" in message]


class ReplayCase(BaseCase):
    def replay(self, *names):
        server = ReplayServer(*names)

        def check():
            server.close()
            self.assertEqual(server.errors, [], "the client deviated from the recording")

        self.addCleanup(check)
        return server

    def client(self, server, secret=AMI_SECRET, **kwargs):
        return ami.AmiClient("127.0.0.1", server.port, AMI_USER, secret, **kwargs)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------
# Framing
# ---------------------------------------------------------------------------


@tagged("post_install", "-at_install")
class TestAmiFraming(BaseCase):
    def test_banner_and_messages(self):
        wire = (
            b"Asterisk Call Manager/9.0.0\r\n"
            b"Response: Success\r\nActionID: a-1\r\nMessage: Authentication accepted\r\n\r\n"
            b"Event: Hangup\r\nPrivilege: call,all\r\nCause-txt: Normal Clearing\r\n"
            b"AccountCode: \r\n\r\n"
            b"Event: Newstate\r\nChannel: PJSIP/1001-000"
        )
        messages, rest = ami.parse_messages(wire)
        self.assertEqual(
            messages,
            [
                {"Banner": "Asterisk Call Manager/9.0.0"},
                {"Response": "Success", "ActionID": "a-1", "Message": "Authentication accepted"},
                {
                    "Event": "Hangup",
                    "Privilege": "call,all",
                    "Cause-txt": "Normal Clearing",
                    "AccountCode": "",
                },
            ],
        )
        self.assertEqual(rest, b"Event: Newstate\nChannel: PJSIP/1001-000")

    def test_byte_by_byte(self):
        """Messages split anywhere, even inside "\\r\\n", come out whole."""
        wire = "".join(
            line + "\r\n"
            for step in load_transcript("inbound_call.txt")[:6]
            if step[0] == "send"
            for line in step[1]
        ).encode()
        whole, _rest = ami.parse_messages(wire)
        pieces, buffer = [], b""
        for byte in wire:
            messages, buffer = ami.parse_messages(buffer + bytes([byte]))
            pieces += messages
        self.assertEqual(pieces, whole)
        self.assertEqual(buffer, b"")
        self.assertEqual(whole[0], {"Banner": "Asterisk Call Manager/9.0.0"})
        self.assertEqual(whole[2]["Event"], "FullyBooted")

    def test_repeated_keys_and_raw_lines(self):
        messages, _rest = ami.parse_messages(
            b"Response: Success\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nraw output\r\n\r\n"
        )
        self.assertEqual(messages[0]["ChanVariable"], "A=1\nB=2")
        self.assertEqual(messages[0]["Output"], "raw output")

    def test_encode_action(self):
        wire = ami._encode_action(
            "Originate", "x-1", {"Channel": "PJSIP/1001", "Async": True, "Skip": None}
        )
        self.assertEqual(
            wire,
            b"Action: Originate\r\nActionID: x-1\r\nChannel: PJSIP/1001\r\nAsync: true\r\n\r\n",
        )
        with self.assertRaises(ValueError):
            ami._encode_action("Originate", "x-2", {"CallerID": "a\r\nAction: Command"})
        with self.assertRaises(ValueError):
            ami._encode_action("Originate", "x-3", {"Bad Key": "1"})

    def test_variables_are_escaped(self):
        """Asterisk splits Variable headers on commas: values are escaped."""
        self.assertEqual(
            ami.AmiClient._variables({"NOTE": 'a,b "c" (d)', "OMNICHANNEL_INTERACTION": 7}),
            ['NOTE=a\\,b \\"c\\" \\(d\\)', "OMNICHANNEL_INTERACTION=7"],
        )
        with self.assertRaises(ValueError):
            ami.AmiClient._variables({"BAD-NAME": 1})

    def test_normalize_number(self):
        self.assertEqual(ami.normalize_number("+48 (12) 345-67.89"), "+48123456789")
        for bad in ("", "12a3", "+", "1;2", None):
            with self.assertRaises(ValueError):
                ami.normalize_number(bad)


# ---------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------


@tagged("post_install", "-at_install")
class TestAmiClient(ReplayCase):
    def test_login_ping_logoff(self):
        server = self.replay("login_ok.txt")
        with self.client(server) as client:
            self.assertEqual(client.banner, "Asterisk Call Manager/9.0.0")
            pong = client.ping()
            self.assertEqual(pong["Ping"], "Pong")
            self.assertEqual(pong["Response"], "Success")
        self.assertFalse(client.connected)
        login = dict(server.received[0])
        self.assertEqual(login["Action"], "Login")
        self.assertEqual(
            (login["Username"], login["Secret"], login["Events"]), (AMI_USER, AMI_SECRET, "off")
        )
        self.assertEqual(server.received[-1][0], ("Action", "Logoff"))

    def test_login_refused(self):
        server = self.replay("login_refused.txt")
        with self.assertRaises(ami.AmiError) as caught:
            self.client(server, secret="wrong-secret").connect()
        message = str(caught.exception)
        self.assertIn(f"127.0.0.1:{server.port}", message)
        self.assertIn("refused the AMI login of user 'omnichannel'", message)
        self.assertIn("Authentication failed", message)
        self.assertIn("Check the channel's AMI settings", message)
        self.assertNotIn("wrong-secret", message)

    def test_connection_refused(self):
        port = _free_port()
        client = ami.AmiClient("127.0.0.1", port, AMI_USER, AMI_SECRET, timeout=2)
        with self.assertRaises(ami.AmiError) as caught:
            client.connect()
        message = str(caught.exception)
        self.assertIn(f"127.0.0.1:{port}", message)
        self.assertIn("connection refused", message)
        self.assertIn("Check the channel's AMI settings", message)
        self.assertFalse(client.connected)

    def test_silent_peer_times_out(self):
        """A port that accepts but never sends the banner (not Asterisk, or hung)."""
        with socket.create_server(("127.0.0.1", 0)) as silent:
            port = silent.getsockname()[1]
            client = ami.AmiClient("127.0.0.1", port, AMI_USER, AMI_SECRET, timeout=0.3)
            started = time.monotonic()
            with self.assertRaises(ami.AmiError) as caught:
                client.connect()
        self.assertLess(time.monotonic() - started, 3)
        self.assertIn("sent no Asterisk banner within 0.3 s", str(caught.exception))
        self.assertIn(f"127.0.0.1:{port}", str(caught.exception))

    def test_not_asterisk(self):
        with socket.create_server(("127.0.0.1", 0)) as http:
            port = http.getsockname()[1]

            def answer():
                conn, _addr = http.accept()
                with conn:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

            thread = threading.Thread(target=answer, daemon=True)
            thread.start()
            with self.assertRaises(ami.AmiError) as caught:
                ami.AmiClient("127.0.0.1", port, AMI_USER, AMI_SECRET, timeout=2).connect()
            thread.join(5)
        self.assertIn("is not an Asterisk manager interface", str(caught.exception))

    def test_originate(self):
        server = self.replay("originate.txt")
        with self.client(server) as client:
            response = client.originate(
                "1001",
                "+48 123 456 789",
                "from-internal",
                caller_id='"Jan Kowalski" <+48123456789>',
                variables={"OMNICHANNEL_INTERACTION": 42},
            )
            self.assertEqual(response["Message"], "Originate successfully queued")
            with self.assertRaises(ami.AmiError) as caught:
                client.originate("1001", "+48123456789", "no-such-context")
            self.assertIn("Extension does not exist.", str(caught.exception))
            self.assertIn("Originate", str(caught.exception))
        originate = dict(server.received[1])
        self.assertEqual(originate["Channel"], "PJSIP/1001")
        self.assertEqual(originate["Exten"], "+48123456789")
        self.assertEqual(originate["Variable"], "OMNICHANNEL_INTERACTION=42")
        # every action got its own ActionID
        action_ids = [dict(message)["ActionID"] for message in server.received]
        self.assertEqual(len(set(action_ids)), len(action_ids))

    def test_originate_validation(self):
        """Bad input is refused before anything is sent (no connection needed)."""
        client = ami.AmiClient("127.0.0.1", 1, AMI_USER, AMI_SECRET)
        for extension in ("10a1", "", "1001&PJSIP/1002", None):
            with self.assertRaises(ValueError):
                client.originate(extension, "+48123456789", "from-internal")
        with self.assertRaises(ValueError):
            client.originate("1001", "0800-CALL-NOW", "from-internal")
        with self.assertRaises(ValueError):
            client.originate("1001", "123", "")
        with self.assertRaises(ValueError):
            client.originate("1001", "123", "from-internal", technology="PJSIP/evil")
        with self.assertRaises(ami.AmiError):
            client.action("Ping")

    def test_redirect_and_blind_transfer(self):
        server = self.replay("redirect.txt")
        with self.client(server) as client:
            self.assertEqual(
                client.redirect("PJSIP/trunk-provider-00000012", "1002", "from-internal")[
                    "Message"
                ],
                "Redirect successful",
            )
            self.assertEqual(
                client.redirect(
                    "PJSIP/trunk-provider-00000012",
                    700,
                    "parking",
                    extra_channel="PJSIP/1001-00000013",
                )["Message"],
                "Dual Redirect successful",
            )
            with self.assertRaises(ami.AmiError) as caught:
                client.redirect("PJSIP/trunk-provider-00000099", "1002", "from-internal")
            self.assertIn(
                "Channel does not exist: PJSIP/trunk-provider-00000099", str(caught.exception)
            )
            response = client.blind_transfer("PJSIP/1001-00000013", "1002", "from-internal")
            self.assertEqual(response["Message"], "Transfer succeeded")

    def test_spy_modes(self):
        server = self.replay("spy.txt")
        with self.client(server) as client:
            for mode in ("listen", "whisper", "barge"):
                response = client.spy("1005", "1001", mode)
                self.assertEqual(response["Response"], "Success")
        data = [dict(message)["Data"] for message in server.received[1:4]]
        self.assertEqual(data, ["PJSIP/1001-,qE", "PJSIP/1001-,qEw", "PJSIP/1001-,qEB"])

    def test_spy_refuses_bad_input(self):
        client = ami.AmiClient("127.0.0.1", 1, AMI_USER, AMI_SECRET)
        with self.assertRaises(ValueError) as caught:
            client.spy("1005", "1001", "coach")
        self.assertIn("listen, whisper, barge", str(caught.exception))
        for supervisor, target in (("1005", "1001,qB"), ("PJSIP/1005", "1001"), ("1005", "")):
            with self.assertRaises(ValueError):
                client.spy(supervisor, target, "listen")

    def test_core_show_channels_and_find_channel(self):
        server = self.replay("core_show_channels.txt")
        with self.client(server) as client:
            channels = client.core_show_channels()
            self.assertEqual(
                [channel["Channel"] for channel in channels],
                [
                    "PJSIP/trunk-provider-00000012",
                    "PJSIP/1001-00000013",
                    "PJSIP/10012-00000021",
                ],
            )
            self.assertEqual(channels[1]["BridgeId"], "6e8a3c0a-4f6b-4c39-9a54-2b4f1e0e5d11")
            self.assertEqual(channels[1]["Linkedid"], "1700000000.34")
            self.assertEqual(client.find_channel("1001"), "PJSIP/1001-00000013")
            # the PBX is idle by now
            self.assertIsNone(client.find_channel("1001"))

    def test_events_are_kept_while_an_action_waits(self):
        """With events on, an OriginateResponse (an event carrying Response and
        the originate's ActionID) is an event, not the answer of the action."""
        server = self.replay("click_to_dial_call.txt")
        with self.client(server, events=True) as client:
            response = client.originate(
                "1001",
                "+48123456789",
                "from-internal",
                caller_id='"Jan Kowalski" <+48123456789>',
                variables={"OMNICHANNEL_INTERACTION": 42},
            )
            self.assertEqual(response["Message"], "Originate successfully queued")
            events = _drain(client)
        names = [event["Event"] for event in events]
        self.assertEqual(names[0], "FullyBooted")
        self.assertIn("OriginateResponse", names)
        self.assertEqual(names[-1], "Hangup")
        self.assertEqual(len(events), len(recorded_events("click_to_dial_call.txt")))

    def test_connection_lost(self):
        server = self.replay("bridge_first_connection.txt")
        client = self.client(server, events=True)
        client.connect()
        events = []
        with self.assertRaises(ami.AmiError) as caught:
            while True:
                event = client.read_event(timeout=5)
                self.assertIsNotNone(event, "the recording ends with a close, not silence")
                events.append(event)
        self.assertEqual(len(events), len(recorded_events("bridge_first_connection.txt")))
        self.assertIn("Asterisk closed the manager connection", str(caught.exception))
        self.assertIn(f"127.0.0.1:{server.port}", str(caught.exception))
        self.assertFalse(client.connected)
        with self.assertRaises(ami.AmiError) as caught:
            client.read_event(timeout=1)
        self.assertIn("Not connected", str(caught.exception))


def _drain(client):
    """Read events until the server has been quiet for a moment."""
    events = []
    while True:
        try:
            event = client.read_event(timeout=0.5)
        except ami.AmiError:
            return events
        if event is None:
            return events
        events.append(event)


# ---------------------------------------------------------------------------
# Event translation
# ---------------------------------------------------------------------------


def _cti(event, call_id, caller, called, timestamp, **extra):
    return dict(
        {"event": event, "call_id": call_id, "from": caller, "to": called, "timestamp": timestamp},
        **extra,
    )


def translate(name, translator=None):
    translator = translator or ami.AmiEventTranslator(clock=lambda: 0)
    out = []
    for event in recorded_events(name):
        out += translator.feed(event)
    return out


INBOUND = "1700000000.34"
INBOUND_CTI = [
    _cti(
        "recording",
        INBOUND,
        "+48123456789",
        "+3222903490",
        1700000000,
        recording_url="file:///var/spool/asterisk/monitor/20231114-221320-1700000000.34.wav",
    ),
    _cti("ringing", INBOUND, "+48123456789", "+3222903490", 1700000000, agent="1001"),
    _cti("answered", INBOUND, "+48123456789", "+3222903490", 1700000004, agent="1001"),
    _cti("held", INBOUND, "+48123456789", "+3222903490", 1700000031, agent="1001"),
    _cti("resumed", INBOUND, "+48123456789", "+3222903490", 1700000075, agent="1001"),
    _cti("hangup", INBOUND, "+48123456789", "+3222903490", 1700000142, agent="1001"),
]


@tagged("post_install", "-at_install")
class TestAmiEventTranslator(ReplayCase):
    def test_inbound_call_read_from_the_socket(self):
        """A full inbound call, read through AmiClient with events on."""
        server = self.replay("inbound_call.txt")
        translator = ami.AmiEventTranslator(clock=lambda: 0)
        out = []
        with self.client(server, events=True) as client:
            for event in _drain(client):
                out += translator.feed(event)
        self.assertEqual(dict(server.received[0])["Events"], "on")
        self.assertEqual(out, INBOUND_CTI)
        self.assertEqual(translator.calls, {}, "a finished call is forgotten")

    def test_repeated_events_give_no_duplicates(self):
        translator = ami.AmiEventTranslator(clock=lambda: 0)
        out = []
        for event in recorded_events("inbound_call.txt"):
            out += translator.feed(event)
            out += translator.feed(dict(event))
        self.assertEqual(out, INBOUND_CTI)

    def test_timestamp_from_clock_without_timestampevents(self):
        translator = ami.AmiEventTranslator(clock=lambda: 1234567890.9)
        out = []
        for event in recorded_events("inbound_call.txt"):
            event.pop("Timestamp", None)
            out += translator.feed(event)
        self.assertEqual([cti["timestamp"] for cti in out], [1234567890] * len(INBOUND_CTI))

    def test_recording_url_under_base_url(self):
        translator = ami.AmiEventTranslator(
            clock=lambda: 0, recording_base_url="https://pbx.example.com/spool/"
        )
        out = translate("inbound_call.txt", translator)
        self.assertEqual(
            out[0]["recording_url"],
            "https://pbx.example.com/spool/monitor/20231114-221320-1700000000.34.wav",
        )

    def test_unanswered_calls(self):
        self.assertEqual(
            translate("unanswered_calls.txt"),
            [
                _cti(
                    "ringing",
                    "1700000200.40",
                    "+48600700800",
                    "+3222903490",
                    1700000200,
                    agent="1001",
                ),
                _cti(
                    "failed",
                    "1700000200.40",
                    "+48600700800",
                    "+3222903490",
                    1700000212,
                    reason="Normal Clearing (dial status CANCEL)",
                ),
                _cti(
                    "failed",
                    "1700000230.42",
                    "+48600700801",
                    "+3222903490",
                    1700000233,
                    reason="Normal Clearing",
                ),
            ],
        )

    def test_voicemail(self):
        """VM_MESSAGEFILE gives the file; the MessageWaiting that follows (with
        the caller's channel, Asterisk 18.10+) does not repeat the event."""
        translator = ami.AmiEventTranslator(
            clock=lambda: 0, recording_base_url="https://pbx.example.com/spool"
        )
        call = "1700000300.50"
        self.assertEqual(
            translate("voicemail_call.txt", translator),
            [
                _cti("ringing", call, "+48500600700", "+3222903490", 1700000300, agent="1002"),
                _cti(
                    "voicemail",
                    call,
                    "+48500600700",
                    "+3222903490",
                    1700000342,
                    recording_url=(
                        "https://pbx.example.com/spool/voicemail/default/1002/INBOX/msg0003.wav"
                    ),
                ),
                _cti(
                    "failed",
                    call,
                    "+48500600700",
                    "+3222903490",
                    1700000342,
                    reason="Normal Clearing (dial status NOANSWER)",
                ),
            ],
        )

    def test_voicemail_from_message_waiting_alone(self):
        """Without dialplan events (no VarSet), MessageWaiting still tells."""
        translator = ami.AmiEventTranslator(clock=lambda: 0)
        out = []
        for event in recorded_events("voicemail_call.txt"):
            if event["Event"] not in ("VarSet", "Newexten"):
                out += translator.feed(event)
        self.assertEqual([cti["event"] for cti in out], ["ringing", "voicemail", "failed"])
        self.assertNotIn("recording_url", out[1])

    def test_blind_transfer(self):
        call = "1700000500.60"
        parties = ("+48221234567", "+3222903490")
        self.assertEqual(
            translate("blind_transfer_call.txt"),
            [
                _cti("ringing", call, *parties, 1700000500, agent="1001"),
                _cti("answered", call, *parties, 1700000504, agent="1001"),
                _cti("held", call, *parties, 1700000530, agent="1001"),
                _cti(
                    "transferred",
                    call,
                    *parties,
                    1700000533,
                    agent="1002",
                    reason="blind transfer to 1002",
                ),
                _cti("ringing", call, *parties, 1700000533, agent="1002"),
                _cti("answered", call, *parties, 1700000538, agent="1002"),
                _cti("hangup", call, *parties, 1700000611, agent="1002"),
            ],
        )

    def test_attended_transfer(self):
        """The consultation call 1001 -> 1002 is internal: not reported."""
        call = "1700000700.70"
        parties = ("+48331234567", "+3222903490")
        self.assertEqual(
            translate("attended_transfer_call.txt"),
            [
                _cti("ringing", call, *parties, 1700000700, agent="1001"),
                _cti("answered", call, *parties, 1700000704, agent="1001"),
                _cti("held", call, *parties, 1700000741, agent="1001"),
                _cti(
                    "transferred",
                    call,
                    *parties,
                    1700000760,
                    agent="1002",
                    reason="attended transfer to 1002",
                ),
                _cti("answered", call, *parties, 1700000760, agent="1002"),
                _cti("hangup", call, *parties, 1700000902, agent="1002"),
            ],
        )

    def test_click_to_dial_call(self):
        """Outgoing call placed by originate(): from = agent, to = customer,
        and the interaction id set on the call comes back."""
        call = "1700001000.90"
        parties = ("1001", "+48123456789")
        self.assertEqual(
            translate("click_to_dial_call.txt"),
            [
                _cti("ringing", call, *parties, 1700001002, agent="1001", interaction_id=42),
                _cti("answered", call, *parties, 1700001009, agent="1001", interaction_id=42),
                _cti("hangup", call, *parties, 1700001095, agent="1001", interaction_id=42),
            ],
        )

    def test_recording_before_the_call_reaches_a_customer(self):
        """MixMonitor started on the agent's leg before the trunk is dialled:
        the recording is reported once the call turns out to be a customer's."""
        events = recorded_events("click_to_dial_call.txt")
        varset = dict(
            next(event for event in events if event["Event"] == "Newexten"),
            Event="VarSet",
            Privilege="dialplan,all",
            Timestamp="1700001002.909400",
            Variable="MIXMONITOR_FILENAME",
            Value="/var/spool/asterisk/monitor/out-1700001000.90.wav",
        )
        for key in ("Extension", "Application", "AppData"):
            varset.pop(key)
        dial = next(
            index
            for index, event in enumerate(events)
            if event["Event"] == "DialBegin" and "Channel" in event
        )
        events.insert(dial, varset)
        translator = ami.AmiEventTranslator(clock=lambda: 0)
        out = []
        for event in events:
            out += translator.feed(event)
        self.assertEqual(
            [cti["event"] for cti in out], ["recording", "ringing", "answered", "hangup"]
        )
        self.assertEqual(out[0]["timestamp"], 1700001002)
        self.assertEqual(
            out[0]["recording_url"], "file:///var/spool/asterisk/monitor/out-1700001000.90.wav"
        )
        self.assertEqual(out[0]["from"], "1001")

    def test_calls_between_extensions_are_not_reported(self):
        """A supervisor's ChanSpy call or a consultation call stay internal."""
        translator = ami.AmiEventTranslator(clock=lambda: 0)
        out = []
        for event in recorded_events("attended_transfer_call.txt"):
            if event.get("Linkedid") == "1700000741.72":
                out += translator.feed(event)
        self.assertEqual(out, [])
        self.assertEqual(translator.calls, {})

    def test_extension_of(self):
        translator = ami.AmiEventTranslator()
        self.assertEqual(translator.extension_of("PJSIP/1001-0000002a"), "1001")
        self.assertEqual(translator.extension_of("SIP/204-00000003"), "204")
        self.assertEqual(translator.extension_of("Local/1001@agents-00000003;2"), "1001")
        self.assertIsNone(translator.extension_of("PJSIP/trunk-provider-00000012"))
        self.assertIsNone(translator.extension_of("PJSIP/48123456789-00000012"))
        self.assertIsNone(translator.extension_of("PJSIP/1001"))
        self.assertIsNone(translator.extension_of(None))

    def test_unrelated_events_are_ignored(self):
        translator = ami.AmiEventTranslator(clock=lambda: 0)
        for event in (
            {"Event": "FullyBooted", "Privilege": "system,all"},
            {"Event": "PeerStatus", "Peer": "PJSIP/1001", "PeerStatus": "Reachable"},
            {"Event": "Hangup", "Uniqueid": "1.1", "Linkedid": "1.1", "Channel": "x"},
            {"Event": "Hold", "Uniqueid": "2.2", "Linkedid": "2.2"},
            {},
        ):
            self.assertEqual(translator.feed(event), [])


# ---------------------------------------------------------------------------
# Bridge
# ---------------------------------------------------------------------------


class _OdooStub(BaseHTTPRequestHandler):
    """Plays Odoo's /omnichannel/voip/<token>/event: checks the signature,
    answers 503 to the first post, Odoo's HTML 404 page (no database) to the
    second and 400 to "held"; else 200 as Odoo's inbox does: queued, and a
    duplicate for "resumed" (as if an earlier run had delivered it)."""

    def do_POST(self):
        server = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = "sha256=" + hmac.new(server.secret, body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(self.headers.get("X-Omnichannel-Signature", ""), expected)
        event = json.loads(body)
        with server.lock:
            server.requests.append((self.path, signed, body, event))
            first = len(server.requests) == 1
            second = len(server.requests) == 2
        if not signed:
            status = 401
        elif first:
            status = 503
        elif second:
            # Odoo without its database (PostgreSQL restarting) answers its
            # HTML 404 page, not the webhook's JSON
            page = b"<!doctype html><title>404 Not Found</title>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        elif event["event"] == "held":
            status = 400
        else:
            status = 200
        if status == 200:
            with server.lock:
                inbox_id = len(server.requests)
            answer = {"queued": True, "duplicate": event["event"] == "resumed"}
            answer = json.dumps(dict(answer, inbox_id=inbox_id)).encode()
        else:
            answer = json.dumps({"error": "refused"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def _load_bridge():
    spec = importlib.util.spec_from_file_location("ami_bridge_under_test", BRIDGE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestAmiBridge(ReplayCase):
    SECRET = "voip-shared-secret"

    def _run(self, *args, env=None):
        return subprocess.run(
            [sys.executable, str(BRIDGE), *args],
            capture_output=True,
            text=True,
            timeout=30,
            env=dict(os.environ, **(env or {})),
            check=False,
        )

    def test_help(self):
        result = self._run("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        for option in (
            "--ami-host",
            "--ami-port",
            "--ami-user",
            "--ami-secret",
            "--odoo-url",
            "--token",
            "--secret",
            "OMNICHANNEL_VOIP_SECRET",
            "OMNICHANNEL_AMI_SECRET",
        ):
            self.assertIn(option, result.stdout)

    def test_missing_secret(self):
        env = {"OMNICHANNEL_VOIP_SECRET": "", "OMNICHANNEL_AMI_SECRET": "x"}
        result = self._run(
            "--ami-user", "u", "--odoo-url", "http://127.0.0.1:9", "--token", "t", env=env
        )
        self.assertEqual(result.returncode, 2)
        self.assertIn("OMNICHANNEL_VOIP_SECRET", result.stderr)

    def test_sign_and_url(self):
        bridge = _load_bridge()
        body = b'{"event":"ringing"}'
        self.assertEqual(
            bridge.sign("k", body),
            "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest(),
        )
        # what the server verifies (a former "<ts>." + body scheme never was)
        self.assertTrue(signature.verify("k", body, bridge.sign("k", body)))
        self.assertEqual(
            bridge.event_url("https://odoo.example.com/", "a/b c"),
            "https://odoo.example.com/omnichannel/voip/a%2Fb%20c/event",
        )
        # Odoo's 200: stored in its inbox, or already there
        receipt = bridge.describe_receipt
        self.assertEqual(
            receipt(b'{"queued": true, "duplicate": false, "inbox_id": 7}'),
            "queued (inbox row 7)",
        )
        self.assertEqual(
            receipt(b'{"queued": true, "duplicate": true, "inbox_id": 7}'),
            "already received (inbox row 7)",
        )
        self.assertEqual(receipt(b'{"interaction_id": 3}'), "accepted")
        self.assertEqual(receipt(b"OK"), "accepted")

    def _run_bridge(self, ami_server, odoo, log):
        """Run the CLI until Odoo got the hang-up; return its log.

        The bridge posts one event at a time, in order, retrying an event
        before the next: once the hang-up (the last event) arrived, every
        earlier event was settled, and a retry that did not come before it
        never will."""
        process = subprocess.Popen(
            [
                sys.executable,
                str(BRIDGE),
                "--ami-port",
                str(ami_server.port),
                "--ami-user",
                AMI_USER,
                "--odoo-url",
                f"http://127.0.0.1:{odoo.server_address[1]}/",
                "--token",
                "tok-123",
                "--retry-delay",
                "0.05",
                "--reconnect-delay",
                "0.1",
            ],
            stdout=log,
            stderr=log,
            env=dict(
                os.environ,
                OMNICHANNEL_AMI_SECRET=AMI_SECRET,
                OMNICHANNEL_VOIP_SECRET=self.SECRET,
            ),
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and process.poll() is None:
                with odoo.lock:
                    done = [request[3]["event"] for request in odoo.requests][-1:] == ["hangup"]
                if done:
                    break
                time.sleep(0.05)
        finally:
            process.terminate()
            process.wait(10)
        log.seek(0)
        output = log.read()
        self.assertEqual(process.returncode, 0, output)
        return output

    def test_bridge_posts_signed_events(self):
        """The real CLI: AMI replayed over two connections (the first one is
        cut mid-call), events posted signed; a 503 is retried, a 400 is not."""
        ami_server = self.replay("bridge_first_connection.txt", "bridge_second_connection.txt")
        odoo = ThreadingHTTPServer(("127.0.0.1", 0), _OdooStub)
        odoo.secret = self.SECRET.encode()
        odoo.requests = []
        odoo.lock = threading.Lock()
        threading.Thread(target=odoo.serve_forever, daemon=True).start()
        self.addCleanup(odoo.server_close)
        self.addCleanup(odoo.shutdown)

        with tempfile.TemporaryFile(mode="w+") as log:
            output = self._run_bridge(ami_server, odoo, log)
        self.assertIn("stopping", output, "SIGTERM stops the bridge cleanly")

        paths = {request[0] for request in odoo.requests}
        self.assertEqual(paths, {"/omnichannel/voip/tok-123/event"})
        self.assertTrue(all(request[1] for request in odoo.requests), "every post is signed")
        posted = [request[3] for request in odoo.requests]
        call = "1700000900.80"
        parties = ("+48123000111", "+3222903490")
        self.assertEqual(
            posted,
            [
                _cti("ringing", call, *parties, 1700000900, agent="1001"),  # 503
                _cti("ringing", call, *parties, 1700000900, agent="1001"),  # HTML 404
                _cti("ringing", call, *parties, 1700000900, agent="1001"),  # retried
                _cti("answered", call, *parties, 1700000903, agent="1001"),
                _cti("held", call, *parties, 1700000920, agent="1001"),  # 400, not retried
                _cti("resumed", call, *parties, 1700000931, agent="1001"),
                _cti("hangup", call, *parties, 1700000960, agent="1001"),
            ],
            output,
        )
        self.assertEqual(odoo.requests[0][2], odoo.requests[1][2], "a retry sends the same body")
        # a 200 is "stored", a duplicate a success too: neither is posted again
        self.assertIn("posted answered of call 1700000900.80: queued (inbox row 4)", output)
        self.assertIn("posted resumed of call 1700000900.80: already received", output)
        self.assertEqual(ami_server.connections, 2, "the bridge reconnected after the cut")
        self.assertIn("HTTP 503", output)
        self.assertIn("HTTP 404", output)
        self.assertIn("Odoo refused held of call 1700000900.80: HTTP 400", output)
        self.assertIn("Asterisk closed the manager connection", output)
