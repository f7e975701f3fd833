from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged, users

from .common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestApiInbound(OmnichannelCommon):
    def test_phone_call_identified_and_queued(self):
        result = self._inbound("call-1", "0048 609-876-543", subject="Pytanie")
        interaction = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        self.assertEqual(
            result,
            {
                "interaction_id": interaction.id,
                "partner_id": self.customer_contact.id,
                "queue_id": self.queue_sales.id,
                "agent_id": False,
                "state": "queued",
            },
        )
        self.assertEqual(interaction.commercial_partner_id, self.customer_company)
        self.assertEqual(interaction.contact_address, "+48609876543")
        self.assertEqual(interaction.channel_type, "phone")
        self.assertTrue(interaction.date_queued)
        self.assertTrue(interaction.name.startswith("INT/"))

    def test_channel_found_by_any_notation_or_id(self):
        first = self.env["omnichannel.interaction"].api_inbound(
            {
                "channel_type": "phone",
                "channel": "0048225550101",
                "from": "+48 509 333 444",
                "external_id": "c-2",
            }
        )
        self.assertEqual(first["partner_id"], self.customer_plain.id)
        by_id = self.env["omnichannel.interaction"].api_inbound(
            {"channel_id": self.channel_phone.id, "from": "+48 509 333 444", "external_id": 77}
        )
        self.assertNotEqual(by_id["interaction_id"], first["interaction_id"])

    def test_email_with_body_goes_to_chatter(self):
        result = self._inbound(
            "<msg-1@example.com>",
            "Jan Testowy <JAN.TESTOWY@tartak-test.example>",
            channel=self.channel_email,
            subject="Szkoda",
            body="Dzień dobry,\n<b>zdjęcia</b> w załączeniu",
        )
        interaction = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        self.assertEqual(result["partner_id"], self.customer_contact.id)
        self.assertEqual(result["queue_id"], self.queue_claims.id)
        message = interaction.message_ids.filtered(lambda m: m.message_type == "comment")
        self.assertEqual(len(message), 1)
        self.assertEqual(message.author_id, self.customer_contact)
        self.assertIn("&lt;b&gt;zdjęcia&lt;/b&gt;", message.body)  # escaped, never raw HTML

    def test_unknown_sender_still_creates_interaction(self):
        result = self._inbound("call-u", "+48 799 999 999")
        self.assertFalse(result["partner_id"])
        chat = self.env["omnichannel.channel"].create(
            {
                "name": "Claims chat",
                "channel_type": "chat",
                "address": "claims-chat-test",
                "queue_id": self.queue_claims.id,
            }
        )
        handle = self._inbound("chat-1", "visitor-42", channel=chat)
        self.assertFalse(handle["partner_id"])
        self.assertEqual(
            self.env["omnichannel.interaction"].browse(handle["interaction_id"]).contact_address,
            "visitor-42",
        )

    def test_idempotent(self):
        first = self._inbound("dup-1", "+48 609 876 543")
        again = self._inbound("dup-1", "+48 609 876 543")
        self.assertEqual(first, again)
        self.assertEqual(
            self.env["omnichannel.interaction"].search_count([("external_id", "=", "dup-1")]), 1
        )
        # same provider id on another channel is another contact
        other = self._inbound(
            "dup-1", "jan.testowy@tartak-test.example", channel=self.channel_email
        )
        self.assertNotEqual(other["interaction_id"], first["interaction_id"])

    def test_bad_input_changes_nothing(self):
        Interaction = self.env["omnichannel.interaction"]
        before = Interaction.search_count([])
        bad_payloads = [
            "not a dict",
            {"channel_type": "pigeon", "channel": "x", "from": "+48609876543", "external_id": "b1"},
            {
                "channel_type": "phone",
                "channel": "+48 22 999 99 99",
                "from": "+48609876543",
                "external_id": "b2",
            },
            {
                "channel_type": "phone",
                "channel": "+48 22 555 01 01",
                "from": "xyz",
                "external_id": "b3",
            },
            {
                "channel_type": "phone",
                "channel": "+48 22 555 01 01",
                "from": "12",
                "external_id": "b4",
            },
            {"channel_type": "phone", "channel": "+48 22 555 01 01", "from": "+48609876543"},
            {
                "channel_type": "phone",
                "channel": "+48 22 555 01 01",
                "from": "+48609876543",
                "external_id": "x" * 300,
            },
            {
                "channel_type": "email",
                "channel": "claims-test@example.com",
                "from": "not-an-email",
                "external_id": "b5",
            },
            {"channel_id": 999999, "from": "+48609876543", "external_id": "b6"},
            {
                "channel_id": self.channel_email.id,
                "channel_type": "phone",
                "from": "+48609876543",
                "external_id": "b7",
            },
        ]
        for payload in bad_payloads:
            with self.assertRaises(ValidationError, msg=str(payload)[:80]):
                Interaction.api_inbound(payload)
        self.assertEqual(Interaction.search_count([]), before)
        self.assertFalse(
            self.env["omnichannel.event.key"].sudo().search_count([("key", "like", "b%")])
        )

    def test_archived_channel_is_refused(self):
        self.channel_phone.active = False
        with self.assertRaises(ValidationError):
            self._inbound("arch-1", "+48609876543")

    @users("occ_agent_sales")
    def test_agent_cannot_push_contacts(self):
        with self.assertRaises(AccessError):
            self._inbound("agent-1", "+48609876543", env=self.env)

    @users("occ_manager")
    def test_manager_pushes_contacts(self):
        result = self._inbound("mgr-1", "+48609876543", env=self.env)
        self.assertEqual(result["state"], "queued")
