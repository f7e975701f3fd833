"""The keypad survey through the real PBX webhook, with signed bodies."""

import json
import time

from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.omnichannel_cc.tests.inbox import apply_inbox
from odoo.addons.omnichannel_cc.tools import signature


@tagged("post_install", "-at_install")
class TestSurveyKeypad(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.country_id = cls.env.ref("base.pl")
        cls.agent = new_test_user(
            cls.env, login="keypad_agent", groups="omnichannel_cc.group_omnichannel_agent"
        )
        cls.agent.omnichannel_extension = "2041"
        cls.queue = cls.env["omnichannel.queue"].create(
            {
                "name": "Keypad queue",
                "member_ids": [(6, 0, cls.agent.ids)],
                "satisfaction_kind": "csat",
            }
        )
        cls.channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Keypad hotline",
                "channel_type": "phone",
                "address": "+48 22 999 20 41",
                "queue_id": cls.queue.id,
            }
        )
        cls.token = cls.channel.sudo().voip_token
        cls.secret = cls.channel.sudo().voip_secret
        cls.customer = cls.env["res.partner"].create(
            {"name": "Teresa Klawiatura", "mobile": "+48 601 555 041"}
        )

    def _post(self, kind, payload):
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Omnichannel-Signature": signature.sign(self.secret, body),
        }
        response = self.url_open(
            f"/omnichannel/voip/{self.token}/{kind}", data=body, headers=headers
        )
        # /event is queued in the event inbox: its outcome once applied
        return apply_inbox(self.env, response)

    def _call(self, call_id, answered=True):
        """A call routed, answered by the agent and hung up: the route answer."""
        now = int(time.time())
        numbers = {"call_id": call_id, "from": "+48601555041", "to": "+48229992041"}
        route = self._post("route", dict(numbers, timestamp=now))
        self.assertEqual(route.status_code, 200, route.text)
        if answered:
            for event, extra in (("answered", {"agent": "2041"}), ("hangup", {})):
                response = self._post("event", dict(numbers, event=event, timestamp=now, **extra))
                self.assertEqual(response.status_code, 200, response.text)
        interaction = self.env["omnichannel.interaction"].browse(route.json()["interaction_id"])
        return interaction, route.json()

    def _keypad(self, call_id, digits, timestamp=None):
        return self._post(
            "event",
            {
                "event": "survey_answer",
                "call_id": call_id,
                "digits": digits,
                "timestamp": timestamp or int(time.time()),
            },
        )

    def _answers(self):
        invitations = self.env["omnichannel.survey.invitation"]
        return invitations.search_count(
            [("state", "=", "answered"), ("queue_id", "=", self.queue.id)]
        )

    def test_route_asks_and_keypad_answer_recorded_once(self):
        interaction, route = self._call("kp-1")
        self.assertEqual(interaction.partner_id, self.customer)
        self.assertEqual(route["survey"], {"kind": "csat", "min": 1, "max": 5})
        now = int(time.time())
        response = self._keypad("kp-1", "4", now)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["survey"], "answered")
        self.assertTrue(response.json()["recorded"])
        interaction.invalidate_recordset()
        self.assertEqual(
            (interaction.satisfaction_kind, interaction.satisfaction_value), ("csat", 4)
        )
        invitation = interaction.survey_invitation_ids
        self.assertEqual(len(invitation), 1)
        self.assertEqual((invitation.state, invitation.answer_channel), ("answered", "phone"))
        # the same event again (the PBX retried): a duplicate, nothing changes
        response = self._keypad("kp-1", "4", now)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertTrue(response.json()["duplicate"])
        # re-sent with another time and other digits: the answer's key says duplicate
        response = self._keypad("kp-1", "1", now + 1)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["survey"], "duplicate")
        self.assertFalse(response.json()["recorded"])
        interaction.invalidate_recordset()
        self.assertEqual(interaction.satisfaction_value, 4)
        self.assertEqual(self._answers(), 1)

    def test_out_of_range_and_non_digits_are_400_and_store_nothing(self):
        interaction, _route = self._call("kp-2")
        keys = self.env["omnichannel.event.key"].sudo()
        before = keys.search_count([])
        for digits in ("0", "6", "12", "4a", "*", "١", "12345", "", " "):
            response = self._keypad("kp-2", digits)
            self.assertEqual(response.status_code, 400, (digits, response.text))
        interaction.invalidate_recordset()
        self.assertFalse(interaction.satisfaction_value)
        self.assertFalse(interaction.survey_invitation_ids.filtered(lambda i: i.value))
        self.assertEqual(self._answers(), 0)
        self.assertEqual(keys.search_count([]), before)
        # still answerable in range afterwards
        response = self._keypad("kp-2", "5")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["survey"], "answered")

    def test_unknown_call_is_400_and_creates_nothing(self):
        count = self.env["omnichannel.interaction"].search_count([])
        response = self._keypad("kp-nowhere", "4")
        self.assertEqual(response.status_code, 400, response.text)
        self.assertIn("kp-nowhere", response.json()["error"])
        self.assertEqual(self.env["omnichannel.interaction"].search_count([]), count)

    def test_answer_first_line_asks_after_writing(self):
        """Whether the PBX plays the survey is sampled on the call's id: on a
        line that answers routing first, a queue asking a keypad survey
        takes the answer after writing (with its id and prompt); one that
        asks none is answered first."""
        self.channel.voip_fast_route = True
        interaction, route = self._call("kp-fast-1")
        self.assertTrue(interaction, "written before the answer")
        self.assertEqual(route["survey"], {"kind": "csat", "min": 1, "max": 5})
        self.queue.satisfaction_kind = False
        _none, route = self._call("kp-fast-2", answered=False)
        self.assertIsNone(route["interaction_id"])
        self.assertTrue(route["inbox_id"])
        self.assertIs(route["survey"], False)

    def test_no_measure_on_the_queue_no_prompt(self):
        self.queue.satisfaction_kind = False
        interaction, route = self._call("kp-3", answered=False)
        self.assertIs(route["survey"], False)
        # and a keypad answer for it is refused
        self._post(
            "event",
            {
                "event": "hangup",
                "call_id": "kp-3",
                "from": "+48601555041",
                "to": "+48229992041",
                "timestamp": int(time.time()),
            },
        )
        response = self._keypad("kp-3", "4")
        self.assertEqual(response.status_code, 400, response.text)
        interaction.invalidate_recordset()
        self.assertFalse(interaction.satisfaction_value)
