"""What the agent console says: the offer popup's facts per channel and
direction (inbound, outbound, call-back attempt), the promise-to-pay quick
action refused without a customer, the help of an empty "My work"; and, in
Chromium, the popup's title for each kind of offer."""

from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import OmnichannelCommon

AGENT = "omnichannel_cc.group_omnichannel_agent"


class ConsoleWordingCommon(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.channel_chat = cls.env["omnichannel.channel"].create(
            {
                "name": "Website chat",
                "channel_type": "chat",
                "address": "wording-chat",
                "queue_id": cls.queue_sales.id,
            }
        )

    @classmethod
    def _offer_to(cls, interaction, user, seconds=600):
        """Offer the interaction to ``user`` as the ACD does (whatever their
        presence: the wording does not depend on it)."""
        now = fields.Datetime.now()
        # sudo: the ACD's own writes (interaction state, offer)
        interaction = interaction.sudo()
        interaction._set_state("offered", agent_id=user.id, date_offered=now)
        return (
            cls.env["omnichannel.offer"]
            .sudo()
            .create(
                {
                    "interaction_id": interaction.id,
                    "user_id": user.id,
                    "queue_id": interaction.queue_id.id,
                    "date_offered": now,
                    "date_expire": now + timedelta(seconds=seconds),
                }
            )
        )

    @classmethod
    def _accept(cls, interaction, user):
        cls._offer_to(interaction, user).with_user(user).action_accept()
        assert interaction.state == "active", interaction.state

    @classmethod
    def _interaction(cls, external_id, sender, channel=None, **extra):
        result = cls._inbound(external_id, sender, channel=channel, **extra)
        interaction = cls.env["omnichannel.interaction"].browse(result["interaction_id"])
        assert interaction.state == "queued", interaction.state
        return interaction

    @classmethod
    def _callback_attempt(cls, partner, phone):
        """The first attempt (of 3) of a call-back: an outbound call waiting in Sales."""
        callback = cls.env["omnichannel.callback"]._request(
            phone, cls.queue_sales, "manual", partner=partner
        )
        cls.env["omnichannel.callback"]._process_due(ids=callback.ids)
        attempt = callback.interaction_ids
        assert len(attempt) == 1 and attempt.state == "queued", attempt.mapped("state")
        return callback, attempt

    @classmethod
    def _outbound_call(cls, partner, number):
        # sudo: as the campaign dialer or click-to-dial create their calls
        return (
            cls.env["omnichannel.interaction"]
            .sudo()
            .create(
                {
                    "channel_id": cls.channel_phone.id,
                    "direction": "outbound",
                    "partner_id": partner.id,
                    "contact_address": number,
                    "queue_id": cls.queue_sales.id,
                    "state": "queued",
                }
            )
        )


@tagged("post_install", "-at_install")
class TestConsoleWording(ConsoleWordingCommon):
    def _offer_rows(self, user):
        state = self.env["omnichannel.agent"].with_user(user).action_console_state()
        return {row["interaction_id"]: row for row in state["offers"]}

    def test_offer_facts_per_kind(self):
        phone = self._interaction("wording-phone", "+48 609 876 543")
        chat = self._interaction("wording-chat", "Visitor 17", channel=self.channel_chat)
        callback, attempt = self._callback_attempt(self.customer_plain, "+48 509 333 444")
        outbound = self._outbound_call(self.customer_contact, "+48609876543")
        for interaction in (phone, chat, attempt, outbound):
            self._offer_to(interaction, self.agent_sales)

        rows = self._offer_rows(self.agent_sales)
        self.assertEqual(len(rows), 4)
        facts = ("offer_kind", "direction", "channel_type", "customer_name", "answer_on_phone")
        self.assertEqual(
            {key: rows[phone.id][key] for key in facts},
            {
                "offer_kind": "inbound",
                "direction": "inbound",
                "channel_type": "phone",
                "customer_name": self.customer_contact.display_name,
                "answer_on_phone": False,
            },
        )
        # an unknown visitor: the address they wrote from stands for the name
        self.assertEqual(rows[chat.id]["offer_kind"], "inbound")
        self.assertEqual(rows[chat.id]["channel_type"], "chat")
        self.assertEqual(rows[chat.id]["customer_name"], "Visitor 17")
        self.assertEqual(rows[chat.id]["channel_label"], "Web chat")
        self.assertEqual(
            {key: rows[attempt.id][key] for key in facts},
            {
                "offer_kind": "callback",
                "direction": "outbound",
                "channel_type": "phone",
                "customer_name": self.customer_plain.display_name,
                "answer_on_phone": False,
            },
        )
        self.assertEqual(
            (rows[attempt.id]["callback_attempt"], rows[attempt.id]["callback_max_attempts"]),
            (1, 3),
        )
        self.assertEqual(rows[outbound.id]["offer_kind"], "outbound")
        self.assertEqual(rows[outbound.id]["callback_attempt"], 0)
        self.assertEqual(rows[outbound.id]["customer_name"], self.customer_contact.display_name)

        # the second attempt, after the first went unanswered
        callback.max_attempts = 4
        attempt.sudo().action_abandon()
        self.assertEqual(callback.state, "pending")
        callback.action_call_now()
        second = callback.interaction_ids - attempt
        self.assertEqual(second.state, "queued")
        self._offer_to(second, self.agent_sales)
        row = self._offer_rows(self.agent_sales)[second.id]
        self.assertEqual((row["callback_attempt"], row["callback_max_attempts"]), (2, 4))

    def test_bus_offer_carries_the_wording_facts(self):
        _callback, attempt = self._callback_attempt(self.customer_plain, "+48 509 333 444")
        offer = self._offer_to(attempt, self.agent_sales)
        payload = offer._bus_payload()
        self.assertEqual(payload["offer_kind"], "callback")
        self.assertEqual((payload["callback_attempt"], payload["callback_max_attempts"]), (1, 3))
        self.assertEqual(payload["customer_name"], self.customer_plain.display_name)

    def test_console_interactions_tell_whether_the_customer_is_known(self):
        known = self._interaction("wording-known", "+48 609 876 543")
        visitor = self._interaction("wording-visitor", "Visitor 18", channel=self.channel_chat)
        for interaction in (known, visitor):
            self._accept(interaction, self.agent_sales)
        state = self.env["omnichannel.agent"].with_user(self.agent_sales).action_console_state()
        rows = {row["id"]: row for row in state["interactions"]}
        self.assertEqual(rows[known.id]["commercial_partner_id"], self.customer_company.id)
        self.assertIs(rows[visitor.id]["commercial_partner_id"], False)

    def test_promise_to_pay_needs_an_identified_customer(self):
        visitor = self._interaction("wording-ptp-visitor", "Visitor 19", channel=self.channel_chat)
        self._accept(visitor, self.agent_sales)
        self.assertFalse(visitor.commercial_partner_id)
        with self.assertRaisesRegex(UserError, "Identify the customer first"):
            visitor.with_user(self.agent_sales).action_console_promise_to_pay()
        self.assertFalse(visitor.activity_ids)

        known = self._interaction("wording-ptp-known", "+48 609 876 543")
        self._accept(known, self.agent_sales)
        action = known.with_user(self.agent_sales).action_console_promise_to_pay()
        self.assertEqual(action["res_model"], "mail.activity.schedule")
        self.assertEqual(action["context"]["active_id"], known.id)

    def test_my_work_explains_an_empty_list(self):
        action = self.env.ref("omnichannel_cc.omnichannel_interaction_action_my")
        help_text = str(action.help)
        self.assertIn("Available", help_text)
        self.assertIn("Nothing assigned to you", help_text)
        # no invitation to create: agents receive their work, they do not make it
        self.assertNotIn("o_view_nocontent_smiling_face", help_text)
        self.assertNotIn("Create", help_text)


@tagged("post_install", "-at_install")
class TestConsoleWordingTour(ConsoleWordingCommon, HttpCase):
    """The offer popup in Chromium: one popup per kind of offer, each titled
    with what rings."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tour_agent = new_test_user(
            cls.env, "occ_wording_tour", groups=AGENT, name="Wording Agent"
        )
        (cls.queue_sales | cls.queue_claims).write(
            {"member_ids": [Command.link(cls.tour_agent.id)]}
        )
        agent = cls.tour_agent
        cls.offers = cls.env["omnichannel.offer"]
        phone = cls._interaction("wording-tour-phone", "+48 609 876 543")
        chat = cls._interaction("wording-tour-chat", "Visitor 20", channel=cls.channel_chat)
        email = cls._interaction(
            "wording-tour-email",
            "jan.testowy@tartak-test.example",
            channel=cls.channel_email,
            subject="Invoice copy",
        )
        _callback, attempt = cls._callback_attempt(cls.customer_plain, "+48 509 333 444")
        for interaction in (phone, chat, email, attempt):
            cls.offers |= cls._offer_to(interaction, agent)

    def test_offer_popup_wording_tour(self):
        self.assertEqual(len(self.offers), 4)
        self.start_tour("/odoo", "omnichannel_cc_offer_wording_tour", login="occ_wording_tour")
        # the tour only read: every offer still rings
        self.assertEqual(set(self.offers.mapped("state")), {"pending"})
