"""CTI events and routing answers applied to interactions (no HTTP here)."""

import time
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged, users

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon

from ..tools import cti


@tagged("post_install", "-at_install")
class TestCtiEvents(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_sales.omnichannel_extension = "1001"
        cls.supervisor_sales.omnichannel_extension = "1900"
        cls.queue_sales.write({"ring_timeout": 30, "wrapup_seconds": 60})
        cls.queue_collections = cls.env["omnichannel.queue"].create(
            {"name": "Collections", "code": "T_COLL", "member_ids": [(6, 0, cls.agent_claims.ids)]}
        )
        cls.agent_claims.omnichannel_extension = "1002"
        cls.env["omnichannel.routing.rule"].create(
            {
                "name": "Debtors to collections",
                "min_overdue_amount": 0.01,
                "queue_id": cls.queue_collections.id,
            }
        )
        cls.Interaction = cls.env["omnichannel.interaction"]
        cls.a_sales = cls.env["omnichannel.agent"]._for_user(cls.agent_sales)
        cls.t0 = int(time.time()) - 120

    def _event(self, event, call_id, ts, sender="+48 509 333 444", to="+48225550101", **extra):
        values = {
            "event": event,
            "call_id": call_id,
            "from": sender,
            "to": to,
            "timestamp": ts,
            "agent": None,
            "recording_url": None,
            "reason": None,
        }
        values.update(extra)
        return self.Interaction._voip_event(self.channel_phone, values)

    def _interaction(self, result):
        return self.Interaction.browse(result["interaction_id"])

    def test_route_offers_to_available_agent(self):
        self.a_sales._change_state("available")
        answer = self.Interaction._voip_route(
            self.channel_phone,
            {"call_id": "c-1", "from": "509333444", "to": "+48225550101", "timestamp": self.t0},
        )
        interaction = self._interaction(answer)
        self.assertEqual(interaction.partner_id, self.customer_plain, "caller identified")
        self.assertEqual(answer["queue_id"], self.queue_sales.id)
        self.assertEqual(answer["agent"], "1001")
        self.assertEqual(answer["agent_id"], self.agent_sales.id)
        self.assertEqual(interaction.state, "offered")
        # asking again for the same call gives the same interaction
        again = self.Interaction._voip_route(
            self.channel_phone,
            {"call_id": "c-1", "from": "509333444", "to": "+48225550101", "timestamp": self.t0},
        )
        self.assertEqual(again["interaction_id"], interaction.id)
        self.assertEqual(self.Interaction.search_count([("external_id", "=", "c-1")]), 1)

    def test_route_debtor_to_collections(self):
        self._create_invoice(self.customer_contact, 500, 12)
        self.env["omnichannel.agent"]._for_user(self.agent_claims)._change_state("available")
        answer = self.Interaction._voip_route(
            self.channel_phone,
            {"call_id": "c-d", "from": "0048609876543", "to": "+48225550101", "timestamp": self.t0},
        )
        self.assertEqual(answer["queue_id"], self.queue_collections.id)
        self.assertEqual(answer["agent"], "1002")
        self.assertEqual(answer["partner_id"], self.customer_contact.id)

    def test_route_without_agent(self):
        answer = self.Interaction._voip_route(
            self.channel_phone,
            {"call_id": "c-2", "from": "+48509333444", "to": "+48225550101", "timestamp": self.t0},
        )
        self.assertIsNone(answer["agent"])
        self.assertEqual(answer["state"], "queued")

    def test_full_call_durations_from_pbx(self):
        self.a_sales._change_state("available")
        t0 = self.t0
        self._event("ringing", "c-3", t0, agent="1001")
        self._event("answered", "c-3", t0 + 7, agent="1001")
        self._event("held", "c-3", t0 + 20, agent="1001")
        self._event("resumed", "c-3", t0 + 35, agent="1001")
        result = self._event("hangup", "c-3", t0 + 67, agent="1001")
        interaction = self._interaction(result)
        self.assertEqual(interaction.state, "wrapup")
        self.assertEqual(interaction.agent_id, self.agent_sales)
        self.assertEqual(interaction.talk_duration, 60)
        self.assertEqual(interaction.hold_duration, 15)
        self.assertEqual(interaction.wait_duration, 7)
        self.assertEqual(interaction.voip_call_state, "ended")
        self.assertEqual(self.a_sales.state, "wrapup")

    def test_duplicate_event_is_noop(self):
        self.a_sales._change_state("available")
        self._event("answered", "c-4", self.t0, agent="1001")
        first = self._event("hangup", "c-4", self.t0 + 30, agent="1001")
        notes = len(self._interaction(first).message_ids)
        second = self._event("hangup", "c-4", self.t0 + 30, agent="1001")
        self.assertTrue(second["duplicate"])
        self.assertFalse(first["duplicate"])
        interaction = self._interaction(first)
        self.assertEqual(len(interaction.message_ids), notes)
        self.assertEqual(interaction.talk_duration, 30)

    def test_event_keys_and_chatter_of_a_lifecycle(self):
        """Every applied event's key points at the call; the answer is in the
        tracking (state, agent), not in an extra note; a ringing at an
        extension is noted; a caller number is never taken for an extension."""
        self.a_sales._change_state("available")
        self._event("ringing", "c-keys", self.t0, agent="1001")
        answered = self._event("answered", "c-keys", self.t0 + 5, agent="1001")
        self._event("hangup", "c-keys", self.t0 + 20)
        interaction = self._interaction(answered)
        keys = self.env["omnichannel.event.key"].search([("scope", "=like", "voip:%")])
        mine = keys.filtered(lambda k: k.key.startswith("c-keys|"))
        self.assertEqual(len(mine), 3)
        self.assertEqual(set(mine.mapped("res_id")), {interaction.id})
        bodies = " ".join(interaction.message_ids.mapped("body"))
        self.assertIn("Ringing at", bodies)
        self.assertNotIn("Answered by", bodies)
        # who answered is in the tracking (disabled in these tests' set-up)
        self.assertLessEqual({"state", "agent_id"}, set(interaction._track_get_fields()))
        Interaction = self.Interaction
        self.assertEqual(
            Interaction._voip_agents_by_extension(self.channel_phone, "+48509333444", "1001"),
            {"1001": self.agent_sales},
        )
        self.assertFalse(Interaction._voip_agent_by_extension(self.channel_phone, "+1001"))

    def test_out_of_order_hangup_before_answered(self):
        """hangup (t+40) arrives before answered (t+5): still an answered call."""
        result = self._event("hangup", "c-5", self.t0 + 40)
        interaction = self._interaction(result)
        self.assertEqual(interaction.state, "abandoned")
        callback = interaction.callback_request_ids
        self.assertEqual(callback.state, "pending", "an abandoned call becomes a call-back")
        self.assertEqual((callback.source, callback.phone), ("pbx", "+48509333444"))
        self._event("answered", "c-5", self.t0 + 5, agent="1001")
        self.assertEqual(interaction.state, "wrapup")
        self.assertEqual(interaction.agent_id, self.agent_sales)
        self.assertEqual(interaction.talk_duration, 35)
        self.assertEqual(callback.state, "cancelled", "no call-back for an answered call")

    def test_hangup_after_the_agent_closed_in_odoo(self):
        """The agent took the offer and closed the contact in Odoo while the
        PBX still rang: the PBX's answer and hang-up, applied later, end the
        call (it stayed "ringing" for ever before) and keep the closure."""
        self.a_sales._change_state("available")
        answer = self.Interaction._voip_route(
            self.channel_phone,
            {"call_id": "c-cl", "from": "509333444", "to": "+48225550101", "timestamp": self.t0},
        )
        interaction = self._interaction(answer)
        self._event("ringing", "c-cl", self.t0 + 1, agent="1001")
        self.assertEqual(interaction.voip_call_state, "ringing")
        offer = interaction.offer_ids.filtered(lambda o: o.state == "pending")
        offer.with_user(self.agent_sales).action_accept()
        interaction.with_user(self.agent_sales).action_close()
        self.assertEqual(interaction.state, "done")
        closed_at = interaction.date_ended
        self._event("answered", "c-cl", self.t0 + 2, agent="1001")
        self._event("hangup", "c-cl", int(closed_at.timestamp()) + 30)
        self.assertEqual(interaction.state, "done")
        self.assertEqual(interaction.voip_call_state, "ended")
        self.assertGreater(interaction.date_ended, closed_at, "the call lasted until the hang-up")

    def test_answered_before_ringing(self):
        self._event("answered", "c-6", self.t0 + 3, agent="1001")
        result = self._event("ringing", "c-6", self.t0, agent="1001")
        interaction = self._interaction(result)
        self.assertEqual(interaction.state, "active")
        self.assertEqual(interaction.voip_call_state, "talking")

    def test_missed_call_becomes_callback(self):
        self._event("ringing", "c-7", self.t0)
        result = self._event("failed", "c-7", self.t0 + 25, reason="no answer")
        interaction = self._interaction(result)
        self.assertEqual(interaction.state, "missed")
        self.assertEqual(interaction.wait_duration, 25)
        callback = interaction.callback_request_ids
        self.assertEqual(len(callback), 1)
        self.assertEqual(callback.channel_id, self.channel_phone)
        self.assertIn("no answer", callback.notes)

    def test_voicemail_and_recording_attached_with_access(self):
        result = self._event(
            "voicemail", "c-8", self.t0 + 30, recording_url="https://pbx.example.com/vm/c-8.wav"
        )
        interaction = self._interaction(result)
        self.assertEqual(interaction.state, "missed")
        self.assertEqual(interaction.voip_call_state, "voicemail")
        self.assertEqual(interaction.voip_recording_count, 1)
        self.assertEqual(interaction.callback_request_ids.state, "pending")
        attachment = self.env["ir.attachment"].search(
            [("res_model", "=", interaction._name), ("res_id", "=", interaction.id)]
        )
        self.assertEqual(attachment.url, "https://pbx.example.com/vm/c-8.wav")
        # the same recording twice: one attachment
        self._event(
            "recording", "c-8", self.t0 + 31, recording_url="https://pbx.example.com/vm/c-8.wav"
        )
        self.assertEqual(interaction.voip_recording_count, 1)
        # a plain user cannot read the interaction, hence not its recording
        with self.assertRaises(AccessError):
            attachment.with_user(self.plain_user).read(["url"])

    def test_transfer_on_pbx(self):
        self._event("answered", "c-9", self.t0, agent="1001")
        result = self._event("transferred", "c-9", self.t0 + 10, agent="1002")
        interaction = self._interaction(result)
        self.assertEqual(interaction.agent_id, self.agent_claims)
        self.assertEqual(interaction.transfer_count, 1)

    def test_unknown_agent_extension_changes_nothing(self):
        count = self.Interaction.search_count([])
        with self.assertRaises(UserError), self.env.cr.savepoint():
            self._event("answered", "c-10", self.t0, agent="9999")
        self.assertEqual(self.Interaction.search_count([]), count)

    def test_outbound_binds_click_to_dial(self):
        self.agent_sales.groups_id  # noqa: B018  (prefetch)
        self.Interaction.with_user(self.agent_sales)._voip_dial(self.customer_plain)
        pending = self.Interaction.search(
            [("direction", "=", "outbound"), ("agent_id", "=", self.agent_sales.id)]
        )
        self.assertEqual(len(pending), 1)
        self.assertEqual(pending.contact_address, "+48509333444")
        self.assertEqual(pending.state, "new")
        self._event("ringing", "out-1", self.t0, sender="1001", to="+48509333444")
        self._event("answered", "out-1", self.t0 + 4, sender="1001", to="+48509333444")
        self._event("hangup", "out-1", self.t0 + 64, sender="1001", to="+48509333444")
        self.assertEqual(pending.external_id, "out-1")
        self.assertEqual(pending.state, "wrapup")
        self.assertEqual(pending.talk_duration, 60)

    def test_outbound_without_click_creates_interaction(self):
        result = self._event("ringing", "out-2", self.t0, sender="1001", to="+48 509 333 444")
        interaction = self._interaction(result)
        self.assertEqual(interaction.direction, "outbound")
        self.assertEqual(interaction.partner_id, self.customer_plain)
        self.assertEqual(interaction.agent_id, self.agent_sales)

    def test_click_to_dial_sends_bus_and_links_record(self):
        invoice = self._create_invoice(self.customer_plain, 100, 5)
        # collection agents read invoices
        self.agent_sales.groups_id += self.env.ref("account.group_account_invoice")
        Users = self.registry["res.users"]
        with patch.object(Users, "_bus_send", autospec=True) as bus_send:
            action = invoice.with_user(self.agent_sales).action_voip_dial()
        self.assertEqual(action["tag"], "display_notification")
        interaction = self.Interaction.search([("invoice_id", "=", invoice.id)])
        self.assertEqual(interaction.direction, "outbound")
        bus_send.assert_called_once()
        user, kind, payload = bus_send.call_args.args
        self.assertEqual(user, self.agent_sales)
        self.assertEqual(kind, "omnichannel_voip/dial")
        self.assertEqual(payload["number"], "+48509333444")
        self.assertEqual(payload["interaction_id"], interaction.id)

    def test_click_to_dial_refusals(self):
        with self.assertRaises(AccessError):
            self.Interaction.with_user(self.plain_user)._voip_dial(self.customer_plain)
        self.agent_claims.omnichannel_extension = False
        with self.assertRaisesRegex(UserError, "extension"):
            self.Interaction.with_user(self.agent_claims)._voip_dial(self.customer_plain)
        nobody = self.env["res.partner"].create({"name": "No Phone"})
        with self.assertRaisesRegex(UserError, "no phone number"):
            self.Interaction.with_user(self.agent_sales)._voip_dial(nobody)
        with self.assertRaisesRegex(UserError, "cannot be dialled"):
            self.Interaction.with_user(self.agent_sales)._voip_dial(nobody, number="12")

    @users("occ_agent_sales")
    def test_agent_cannot_spy(self):
        self.env = self.env(user=self.agent_sales)
        result = self._event("answered", "c-11", self.t0, agent="1001")
        interaction = self.Interaction.with_user(self.agent_sales).browse(result["interaction_id"])
        with self.assertRaises(AccessError):
            interaction.action_voip_spy("listen")

    def test_spy_needs_drivable_pbx(self):
        result = self._event("answered", "c-12", self.t0, agent="1001")
        interaction = self._interaction(result).with_user(self.supervisor_sales)
        with self.assertRaisesRegex(UserError, "only sends events"):
            interaction.action_voip_spy("listen")
        with self.assertRaisesRegex(UserError, "Unknown listening mode"):
            interaction.action_voip_spy("shout")

    def test_event_key_is_stable(self):
        values = {"call_id": "x", "event": "held", "timestamp": 5, "agent": "1001"}
        self.assertEqual(cti.event_key(values), "x|held|5|1001")
        self.assertNotEqual(cti.event_key(dict(values, timestamp=6)), cti.event_key(values))

    def test_missed_call_end_reason_says_who_gave_up(self):
        """Nobody free (the PBX gives up): "no agent available", not "customer
        left"; a caller who hangs up while it rings: "customer"; voicemail."""
        no_agent = self._interaction(
            self._event("failed", "c-na", self.t0 + 1, reason="no agent available")
        )
        self.assertEqual(no_agent.state, "missed")
        self.assertEqual(no_agent.end_reason, "no_agent")
        self._event("ringing", "c-nr", self.t0, agent="1001")
        no_answer = self._interaction(
            self._event("failed", "c-nr", self.t0 + 30, agent="1001", reason="no answer")
        )
        self.assertEqual(no_answer.end_reason, "no_agent")
        self._event("ringing", "c-cl", self.t0, agent="1001")
        caller_left = self._interaction(
            self._event("failed", "c-cl", self.t0 + 5, agent="1001", reason="caller hung up")
        )
        self.assertEqual(caller_left.state, "missed")
        self.assertEqual(caller_left.end_reason, "customer")
        hung_up = self._interaction(self._event("hangup", "c-hu", self.t0 + 9))
        self.assertEqual(hung_up.end_reason, "customer")
        voicemail = self._interaction(self._event("voicemail", "c-vm", self.t0 + 40))
        self.assertEqual(voicemail.end_reason, "voicemail")

    def test_survey_answer_needs_a_known_call_and_the_survey_addon(self):
        """A keypad answer never creates a call; the voip addon alone refuses it."""
        from ..models.omnichannel_interaction import OmnichannelInteraction as VoipInteraction

        count = self.Interaction.search_count([])
        with self.assertRaises(UserError):
            self._event("survey_answer", "c-none", self.t0, sender=None, to=None, digits="4")
        self.assertEqual(self.Interaction.search_count([]), count)
        call = self._interaction(self._event("hangup", "c-kp", self.t0 + 9))
        # the voip addon's own handler (an installed survey addon overrides it)
        with self.assertRaisesRegex(UserError, "No survey addon installed"):
            VoipInteraction._voip_on_survey_answer(call, {"digits": "4"}, self.env["res.users"])
