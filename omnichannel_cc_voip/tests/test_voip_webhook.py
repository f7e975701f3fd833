"""The PBX webhooks over real HTTP: every error answer, and nothing written on error."""

import importlib.util
import json
import time
import urllib.parse
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import patch

from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.omnichannel_cc.tests.inbox import apply_inbox
from odoo.addons.omnichannel_cc.tools import signature
from odoo.addons.omnichannel_cc_voip.controllers import main

BRIDGE = Path(__file__).resolve().parent.parent / "scripts" / "ami_bridge.py"


@tagged("post_install", "-at_install")
class TestVoipWebhook(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.queue = cls.env["omnichannel.queue"].create({"name": "Hotline queue"})
        cls.env.company.country_id = cls.env.ref("base.pl")
        cls.channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Hotline",
                "channel_type": "phone",
                "address": "+48 22 999 20 30",
                "queue_id": cls.queue.id,
            }
        )
        cls.token = cls.channel.sudo().voip_token
        cls.secret = cls.channel.sudo().voip_secret
        cls.customer = cls.env["res.partner"].create(
            {"name": "Halina Dzwoniąca", "mobile": "+48 601 222 333"}
        )

    def _signed(self, body):
        """The headers of a JSON body signed with the channel's secret."""
        return {
            "Content-Type": "application/json",
            "X-Omnichannel-Signature": signature.sign(self.secret, body),
        }

    def _post(self, kind, payload, secret=None, token=None, raw=None, header=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        sig = header if header is not None else signature.sign(secret or self.secret, body)
        if sig:
            headers["X-Omnichannel-Signature"] = sig
        response = self.url_open(
            f"/omnichannel/voip/{token or self.token}/{kind}", data=body, headers=headers
        )
        # /event is queued: its outcome once the inbox applied it
        return apply_inbox(self.env, response)

    def _count(self):
        interactions = self.env["omnichannel.interaction"].search_count([])
        keys = self.env["omnichannel.event.key"].sudo().search_count([])
        return interactions, keys

    def _event(self, **extra):
        return dict(
            {
                "event": "ringing",
                "call_id": "pbx-1",
                "from": "+48601222333",
                "to": "+48229992030",
                "timestamp": int(time.time()),
            },
            **extra,
        )

    def test_route_and_events(self):
        now = int(time.time())
        response = self._post(
            "route",
            {"call_id": "pbx-1", "from": "601 222 333", "to": "+48229992030", "timestamp": now},
        )
        self.assertEqual(response.status_code, 200, response.text)
        answer = response.json()
        interaction = self.env["omnichannel.interaction"].browse(answer["interaction_id"])
        self.assertEqual(interaction.partner_id, self.customer)
        self.assertEqual(answer["queue"], "Hotline queue")
        self.assertIsNone(answer["agent"])
        response = self._post("event", self._event(event="hangup", timestamp=now + 20))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["interaction_id"], interaction.id)
        self.assertFalse(response.json()["duplicate"])
        interaction.invalidate_recordset()
        self.assertEqual(interaction.state, "abandoned")
        self.assertEqual(interaction.wait_duration, 20)
        # the same event again: 200, a no-op
        again = self._post("event", self._event(event="hangup", timestamp=now + 20))
        self.assertEqual(again.status_code, 200)
        self.assertTrue(again.json()["duplicate"])

    def test_unknown_token(self):
        before = self._count()
        response = self._post("event", self._event(), token="no-such-token")
        self.assertEqual(response.status_code, 404)
        self.assertIn("Unknown", response.json()["error"])
        self.assertEqual(self._count(), before)

    def test_no_database_finds_no_channel(self):
        """The PBX routes are auth="none", which Odoo also serves without a
        database (several databases, none chosen): no channel, a 404."""
        controller = main.OmnichannelVoipController()
        token = self.channel.voip_token
        with patch.object(main, "request", SimpleNamespace(db=None, env=None)):
            self.assertIsNone(controller._webhook_channel(token))
        with patch.object(main, "request", SimpleNamespace(db=self.env.cr.dbname, env=self.env)):
            self.assertEqual(controller._webhook_channel(token), self.channel)

    def test_bad_signatures(self):
        before = self._count()
        for header in ("", "sha256=" + "0" * 64, "sha1=abc"):
            response = self._post("event", self._event(), header=header)
            self.assertEqual(response.status_code, 401, header)
        response = self._post("event", self._event(), secret="not-the-secret")
        self.assertEqual(response.status_code, 401)
        response = self._post("route", self._event(), secret="not-the-secret")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(self._count(), before)

    def test_stale_timestamp(self):
        before = self._count()
        for skew in (-301, 400, -3600):
            response = self._post("event", self._event(timestamp=int(time.time()) + skew))
            self.assertEqual(response.status_code, 401)
            self.assertIn("timestamp", response.json()["error"])
        self.assertEqual(self._count(), before)

    def test_malformed_bodies(self):
        before = self._count()
        cases = [
            (b"not json", "JSON"),
            (b"[1, 2]", "object"),
            (json.dumps(self._event(event="exploded")).encode(), "event"),
            (json.dumps(self._event(call_id="")).encode(), "call_id"),
            (json.dumps(self._event(timestamp="yesterday")).encode(), "timestamp"),
            (json.dumps(self._event(agent="12ab")).encode(), "agent"),
            (json.dumps(self._event(event="recording")).encode(), "recording_url"),
            (json.dumps(self._event(event="transferred")).encode(), "agent"),
            (json.dumps(self._event(**{"from": "<script>"})).encode(), "from"),
            (b"\xff\xfe", "UTF-8"),
        ]
        for raw, word in cases:
            response = self._post("event", None, raw=raw)
            self.assertEqual(response.status_code, 400, raw)
            self.assertIn(word, response.json()["error"], raw)
        self.assertEqual(self._count(), before)

    def test_unknown_agent_is_400_and_writes_nothing(self):
        """Queued (200), then refused by the model: a dead letter with the
        error (400 as apply_inbox shows it); no interaction, no key."""
        before = self._count()
        response = self._post("event", self._event(event="answered", agent="4242"))
        self.assertEqual(response.status_code, 400)
        self.assertIn("4242", response.json()["error"])
        self.assertEqual(self._count(), before)

    def test_oversized_body(self):
        before = self._count()
        raw = json.dumps(self._event(reason="x" * 70000)).encode()
        response = self._post("event", None, raw=raw)
        self.assertEqual(response.status_code, 413)
        self.assertEqual(self._count(), before)

    def test_preamble_refusals_on_both_endpoints(self):
        """The shared webhook preamble (omnichannel_cc/controllers/webhook.py)
        as the PBX sees it: status and JSON error of each refusal, in the
        order of the checks, on /event and /route; nothing is written."""
        before = self._count()
        now = int(time.time())
        route = {"call_id": "pbx-9", "from": "+48601222333", "to": "+48229992030"}
        for kind, payload in (("event", self._event()), ("route", dict(route, timestamp=now))):
            oversized = json.dumps(dict(payload, reason="x" * 70000)).encode()
            cases = [
                ({"raw": oversized}, 413, "The body is larger than 65536 bytes."),
                # the size is checked first, before the token is looked up
                ({"raw": oversized, "token": "no-such-token"}, 413, None),
                ({"token": "no-such-token"}, 404, "Unknown PBX token."),
                ({"secret": "not-the-secret"}, 401, "Missing or bad X-Omnichannel-Signature."),
                ({"raw": b"{not json"}, 400, "The body is not valid UTF-8 JSON"),
                (
                    {"payload": dict(payload, timestamp=now - 3600)},
                    401,
                    "The timestamp is more than 5 minutes off: check the PBX's clock.",
                ),
                # a malformed field is a 400 even when the clock is off too
                ({"payload": dict(payload, timestamp="yesterday")}, 400, "'timestamp'"),
            ]
            for options, status, message in cases:
                options = dict({"payload": payload}, **options)
                response = self._post(kind, options.pop("payload"), **options)
                self.assertEqual(response.status_code, status, (kind, options, response.text))
                self.assertTrue(response.headers["Content-Type"].startswith("application/json"))
                if message:
                    self.assertIn(message, response.json()["error"], (kind, options))
        self.assertEqual(self._count(), before)

    def test_get_is_refused(self):
        response = self.url_open(f"/omnichannel/voip/{self.token}/event")
        self.assertEqual(response.status_code, 405)

    # ------------------------------------------------------------------
    # security review, issue 13
    # ------------------------------------------------------------------
    def test_l1_nul_in_token_is_404(self):
        """A NUL (or another control character) in the URL token never
        reaches the database: 404, as any unknown token."""
        before = self._count()
        body = json.dumps(self._event()).encode()
        headers = self._signed(body)
        for kind in ("event", "route"):
            for token in ("%00", f"{self.token}%00", "%0A", "a%7Fb"):
                response = self.url_open(
                    f"/omnichannel/voip/{token}/{kind}", data=body, headers=headers
                )
                self.assertEqual(response.status_code, 404, (kind, token, response.text))
                self.assertEqual(response.json(), {"error": "Unknown PBX token."})
        self.assertEqual(self._count(), before)

    def test_l2_hostile_signed_bodies_are_400_and_store_nothing(self):
        """Correctly signed, yet hostile: deep nesting, non-finite numbers,
        NUL in a text field. A 400 each, nothing stored."""
        before = self._count()
        event = self._event()
        text = json.dumps(event)
        stamp = str(event["timestamp"])

        def nested(depth):
            return json.dumps(event)[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"

        cases = [
            ("event", nested(5000), "nested more than"),
            ("event", nested(30000), "nested more than"),
            ("route", nested(30000), "nested more than"),
            ("event", text.replace(stamp, "Infinity"), "JSON"),
            ("event", text.replace(stamp, "-Infinity"), "JSON"),
            ("event", text.replace(stamp, "NaN"), "JSON"),
            ("event", text.replace(stamp, "1e400"), "JSON"),
            ("event", json.dumps(self._event(call_id="pbx\x00-1")), "call_id"),
            ("route", json.dumps(self._event(call_id="\x00")), "call_id"),
            ("event", json.dumps(self._event(event="failed", reason="no\x00answer")), "reason"),
            ("event", json.dumps(self._event(call_id="pbx-1\r\nX: y")), "call_id"),
            (
                "event",
                json.dumps(self._event(event="recording", recording_url="https://r/\x00.wav")),
                "recording_url",
            ),
        ]
        for kind, raw, word in cases:
            response = self._post(kind, None, raw=raw.encode())
            self.assertEqual(response.status_code, 400, (kind, raw[:80], response.text))
            self.assertIn(word, response.json()["error"], raw[:80])
        self.assertEqual(self._count(), before)

    def test_l7a_form_encoded_body_is_415_not_401(self):
        """The signature is over the raw body, read before Odoo parses a form
        out of it: a signed body sent as a form hears "send JSON" (415), not
        "bad signature"; an unsigned one is still a 401."""
        before = self._count()
        url = f"/omnichannel/voip/{self.token}/event"
        form = urllib.parse.urlencode(self._event()).encode()
        as_json = json.dumps(self._event()).encode()
        for body, content_type in (
            (form, "application/x-www-form-urlencoded"),
            (as_json, "application/x-www-form-urlencoded"),
            (as_json, "text/plain"),
            (
                b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b--\r\n",
                "multipart/form-data; boundary=b",
            ),
        ):
            headers = {
                "Content-Type": content_type,
                "X-Omnichannel-Signature": signature.sign(self.secret, body),
            }
            response = self.url_open(url, data=body, headers=headers)
            self.assertEqual(response.status_code, 415, (content_type, response.text))
            self.assertIn("Content-Type: application/json", response.json()["error"])
            headers["X-Omnichannel-Signature"] = signature.sign("not-the-secret", body)
            response = self.url_open(url, data=body, headers=headers)
            self.assertEqual(response.status_code, 401, (content_type, response.text))
        self.assertEqual(self._count(), before)
        # the same JSON, declared as JSON, is applied
        response = self._post("event", None, raw=as_json)
        self.assertEqual(response.status_code, 200, response.text)

    def test_l7b_ringing_at_unknown_extension_is_400(self):
        """As the README says: an 'agent' extension no user has is refused
        (a dead letter, 400 as apply_inbox shows it) on ringing as on answered
        and transferred; nothing is applied."""
        agent = new_test_user(
            self.env, login="l7b_agent", groups="omnichannel_cc.group_omnichannel_agent"
        )
        agent.omnichannel_extension = "7781"
        before = self._count()
        for event in ("ringing", "answered", "transferred"):
            response = self._post("event", self._event(event=event, agent="4242"))
            self.assertEqual(response.status_code, 400, (event, response.text))
            error = response.json()["error"]
            self.assertIn("4242", error)
            self.assertIn("extension", error)
        self.assertEqual(self._count(), before)
        # a known extension, or none, rings
        response = self._post("event", self._event(agent="7781"))
        self.assertEqual(response.status_code, 200, response.text)
        response = self._post("event", self._event(call_id="pbx-2"))
        self.assertEqual(response.status_code, 200, response.text)
        # an unknown extension on a hang-up never keeps a call open
        response = self._post("event", self._event(event="hangup", agent="4242"))
        self.assertEqual(response.status_code, 200, response.text)

    def test_l7c_ami_bridge_events_are_accepted(self):
        """The Asterisk bridge's poster against this server: its signature
        is the one the server verifies; the event is applied."""
        spec = importlib.util.spec_from_file_location("ami_bridge_l7c", BRIDGE)
        bridge = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bridge)
        poster = bridge.EventPoster(
            bridge.event_url(self.base_url(), self.token), self.secret, max_attempts=1
        )
        event = self._event(call_id="ami-l7c")
        self.assertTrue(poster.post(event), "accepted, not refused and dropped")
        self.assertEqual(self.env["omnichannel.event.inbox"]._cron_apply(), 1)
        interaction = self.env["omnichannel.interaction"].search(
            [("channel_id", "=", self.channel.id), ("external_id", "=", "ami-l7c")]
        )
        self.assertEqual(len(interaction), 1)
        self.assertEqual(interaction.voip_call_state, "ringing")

    def test_fast_route_answers_before_writing(self):
        """A line that answers routing first: the answer names the reserved
        agent and its inbox row, the call is written by the inbox's applier;
        a forged request stores nothing."""
        self.channel.voip_fast_route = True
        agent_user = new_test_user(
            self.env, "hotline_agent", groups="omnichannel_cc.group_omnichannel_agent"
        )
        agent_user.omnichannel_extension = "2001"
        self.queue.member_ids = [(4, agent_user.id)]
        self.env["omnichannel.agent"].with_user(agent_user)._for_user()._change_state("available")
        Inbox = self.env["omnichannel.event.inbox"].sudo()
        route = {"call_id": "pbx-fast", "from": "601 222 333", "to": "+48229992030"}
        before = (self._count(), Inbox.search_count([]))
        forged = self._post("route", dict(route, timestamp=int(time.time())), secret="x" * 43)
        self.assertEqual(forged.status_code, 401)
        self.assertEqual((self._count(), Inbox.search_count([])), before)
        body = json.dumps(dict(route, timestamp=int(time.time()))).encode()
        headers = self._signed(body)
        url = f"/omnichannel/voip/{self.token}/route"
        response = self.url_open(url, data=body, headers=headers)
        self.assertEqual(response.status_code, 200, response.text)
        answer = response.json()
        self.assertIsNone(answer["interaction_id"])
        self.assertEqual(answer["agent"], "2001")
        self.assertEqual(answer["state"], "offered")
        self.assertEqual(answer["partner_id"], self.customer.id)
        Interaction = self.env["omnichannel.interaction"]
        self.assertFalse(Interaction.search([("external_id", "=", "pbx-fast")]))
        # the PBX asks again before the call is written: the same answer
        self.assertEqual(self.url_open(url, data=body, headers=headers).json(), answer)
        self.assertEqual(Inbox._cron_apply(), 1)
        call = Interaction.search([("external_id", "=", "pbx-fast")])
        self.assertEqual((call.state, call.agent_id), ("offered", agent_user))
        self.assertEqual(call.partner_id, self.customer)
        self.assertEqual(Inbox.browse(answer["inbox_id"]).result["interaction_id"], call.id)

    def test_event_is_queued_then_applied_once(self):
        """/event answers as soon as the event is stored (queued, not yet
        applied); a redelivery stores nothing; the cron applies it once."""
        now = int(time.time())
        route = {"call_id": "pbx-q", "from": "601 222 333", "to": "+48229992030"}
        answer = self._post("route", dict(route, timestamp=now)).json()
        interaction = self.env["omnichannel.interaction"].browse(answer["interaction_id"])
        Inbox = self.env["omnichannel.event.inbox"].sudo()
        event = self._event(call_id="pbx-q", event="hangup", timestamp=now + 5)
        body = json.dumps(event).encode()
        headers = self._signed(body)
        url = f"/omnichannel/voip/{self.token}/event"
        receipt = self.url_open(url, data=body, headers=headers)
        self.assertEqual(receipt.status_code, 200, receipt.text)
        first = receipt.json()
        self.assertEqual(set(first), {"queued", "duplicate", "inbox_id"})
        self.assertTrue(first["queued"])
        self.assertFalse(first["duplicate"])
        row = Inbox.browse(first["inbox_id"])
        self.assertEqual(row.state, "pending")
        self.assertEqual(row.kind, "_voip_event")
        self.assertEqual(row.conversation, "pbx-q")
        self.assertEqual(row.payload["event"], "hangup")
        # not applied yet
        self.assertEqual(interaction.state, "queued")
        again = self.url_open(url, data=body, headers=headers).json()
        self.assertEqual(again, {"queued": True, "duplicate": True, "inbox_id": row.id})
        self.assertEqual(Inbox.search_count([("scope", "=", row.scope), ("key", "=", row.key)]), 1)
        self.assertEqual(Inbox._cron_apply(), 1)
        interaction.invalidate_recordset()
        self.assertEqual(interaction.state, "abandoned")
        self.assertEqual(row.state, "done")
        self.assertEqual(row.result["interaction_id"], interaction.id)
        self.assertEqual(Inbox._cron_apply(), 0)

    def test_events_of_interleaved_calls_in_order(self):
        """Events of two calls received interleaved: each call's in order,
        whatever the other's; one batch."""
        now = int(time.time())
        Inbox = self.env["omnichannel.event.inbox"].sudo()
        for call_id in ("pbx-x", "pbx-y"):
            self._post(
                "route",
                {"call_id": call_id, "from": "601 222 333", "to": "+48229992030", "timestamp": now},
            )
        url = f"/omnichannel/voip/{self.token}/event"
        ids = []
        for call_id, event, delta in (
            ("pbx-x", "ringing", 1),
            ("pbx-y", "ringing", 1),
            ("pbx-x", "hangup", 9),
            ("pbx-y", "hangup", 7),
        ):
            body = json.dumps(self._event(call_id=call_id, event=event, timestamp=now + delta))
            headers = self._signed(body.encode())
            ids.append(self.url_open(url, data=body, headers=headers).json()["inbox_id"])
        self.assertEqual(Inbox._cron_apply(), 4)
        rows = Inbox.browse(ids)
        self.assertEqual(rows.mapped("state"), ["done"] * 4)
        # applied in order of receipt (the claim is by id, per call)
        self.assertEqual(rows.sorted("applied_at").ids, sorted(ids))
        calls = self.env["omnichannel.interaction"].search(
            [("channel_id", "=", self.channel.id), ("external_id", "in", ["pbx-x", "pbx-y"])]
        )
        self.assertEqual(set(calls.mapped("state")), {"abandoned"})
        self.assertEqual(sorted(calls.mapped("wait_duration")), [7, 9])
