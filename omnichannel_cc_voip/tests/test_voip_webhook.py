"""The PBX webhooks over real HTTP: every error answer, and nothing written on error."""

import json
import time

from odoo.tests import HttpCase, tagged

from odoo.addons.omnichannel_cc.tools import signature


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

    def _post(self, kind, payload, secret=None, token=None, raw=None, header=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        sig = header if header is not None else signature.sign(secret or self.secret, body)
        if sig:
            headers["X-Omnichannel-Signature"] = sig
        return self.url_open(
            f"/omnichannel/voip/{token or self.token}/{kind}", data=body, headers=headers
        )

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
