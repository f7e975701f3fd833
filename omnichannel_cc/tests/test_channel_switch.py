from odoo.tests import tagged

from .common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestChannelSwitch(OmnichannelCommon):
    """A customer who calls, then writes, then chats continues one open case."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.channel_chat = cls.env["omnichannel.channel"].create(
            {
                "name": "Chat (switch test)",
                "channel_type": "chat",
                "address": "switch-test-chat",
                "queue_id": cls.queue_claims.id,
            }
        )
        cls.case = cls.env["omnichannel.case"].create(
            {
                "subject": "Uszkodzona dostawa",
                "partner_id": cls.customer_contact.id,
                "user_id": cls.agent_claims.id,
                "state": "open",
            }
        )

    def _interaction(self, result):
        return self.env["omnichannel.interaction"].browse(result["interaction_id"])

    def test_call_then_email_then_chat_continue_the_case(self):
        call = self._interaction(self._inbound("switch-call", "609 876 543"))
        email = self._interaction(
            self._inbound(
                "<switch-1@tartak-test.example>",
                "jan.testowy@tartak-test.example",
                channel=self.channel_email,
                subject="Zdjęcia szkody",
                body="W załączeniu zdjęcia.",
            )
        )
        # the chat comes from the company's general address: same customer company
        chat = self._interaction(
            self._inbound("switch-chat-1", "biuro@tartak-test.example", channel=self.channel_chat)
        )
        interactions = call | email | chat
        self.assertEqual(interactions.mapped("channel_type"), ["phone", "email", "chat"])
        self.assertEqual(interactions.case_id, self.case)
        self.assertEqual(self.case.interaction_ids, interactions)
        self.assertEqual(self.case.interaction_count, 3)

    def test_closed_or_foreign_cases_are_not_continued(self):
        self.case.state = "solved"
        other_company = self.env["res.company"].create({"name": "Inna spółka"})
        self.env["omnichannel.case"].create(
            {
                "subject": "Sprawa innej spółki",
                "partner_id": self.customer_contact.id,
                "company_id": other_company.id,
                "state": "open",
            }
        )
        call = self._interaction(self._inbound("switch-call-2", "609 876 543"))
        self.assertFalse(call.case_id)

    def test_most_urgent_open_case_wins_and_unknown_callers_get_none(self):
        urgent = self.env["omnichannel.case"].create(
            {
                "subject": "Pilne",
                "partner_id": self.customer_company.id,
                "user_id": self.agent_sales.id,
                "priority": "2",
                "state": "new",
            }
        )
        call = self._interaction(self._inbound("switch-call-3", "609 876 543"))
        self.assertEqual(call.case_id, urgent)
        stranger = self._interaction(self._inbound("switch-call-4", "+48 799 111 222"))
        self.assertFalse(stranger.partner_id)
        self.assertFalse(stranger.case_id)

    def test_redelivery_does_not_relink(self):
        first = self._interaction(self._inbound("switch-call-5", "609 876 543"))
        self.assertEqual(first.case_id, self.case)
        first.case_id = False  # the agent unlinked it on purpose
        again = self._interaction(self._inbound("switch-call-5", "609 876 543"))
        self.assertEqual(again, first)
        self.assertFalse(again.case_id)
