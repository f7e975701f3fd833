from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import html2plaintext

from .common import OmnichannelSmsCommon


@tagged("post_install", "-at_install")
class TestInteractionSms(OmnichannelSmsCommon):
    def test_recipient_is_caller_number(self):
        info = self.call._sms_get_recipients_info()[self.call.id]
        self.assertEqual(info["partner"], self.customer)
        self.assertEqual(info["sanitized"], self.caller_number)
        self.assertEqual(info["field_store"], "sms_number")

    def test_recipient_falls_back_on_customer_mobile(self):
        """An e-mail address is no number: the customer's mobile is used."""
        self.assertFalse(self.email.sms_number)
        info = self.email._sms_get_recipients_info()[self.email.id]
        self.assertEqual(info["partner"], self.customer)
        self.assertEqual(info["sanitized"], self.customer_mobile_san)
        self.assertTrue(info["partner_store"])

    def test_national_number_uses_interaction_company_country(self):
        """A national number is read in the interaction's company's country,
        not in the sender's company's."""
        anonymous = self.call.copy(
            {"partner_id": False, "contact_address": "0456 77 88 99", "external_id": False}
        )
        french_company = self.env["res.company"].create(
            {"name": "French branch", "country_id": self.env.ref("base.fr").id}
        )
        self.assertEqual(anonymous.company_id.country_id, self.env.ref("base.be"))
        sender_env_record = anonymous.with_company(french_company)
        self.assertEqual(sender_env_record.env.company, french_company)
        self.assertEqual(sender_env_record._phone_format(fname="sms_number"), "+32456778899")

    def test_action_opens_comment_composer(self):
        action = self.call.action_send_sms()
        self.assertEqual(action["res_model"], "sms.composer")
        self.assertEqual(action["target"], "new")
        self.assertEqual(action["context"]["default_composition_mode"], "comment")
        self.assertEqual(action["context"]["default_res_model"], "omnichannel.interaction")
        self.assertEqual(action["context"]["default_res_id"], self.call.id)

    def test_action_needs_someone_to_text(self):
        nobody = self.email.copy({"partner_id": False, "external_id": False})
        with self.assertRaises(UserError):
            nobody.action_send_sms()

    def test_agent_sends_sms_to_caller(self):
        body = "Your parcel leaves today. Reply STOP to opt out."
        composer, messages = self._send_from(self.call, body)
        self.assertEqual(composer.composition_mode, "comment")
        self.assertTrue(composer.comment_single_recipient)
        self.assertEqual(composer.recipient_single_number, self.caller_number)
        self.assertSMSNotification(
            [{"partner": self.customer, "number": self.caller_number}], body, messages
        )
        # logged in the interaction's chatter, authored by the agent
        self.assertEqual(messages.model, "omnichannel.interaction")
        self.assertEqual(messages.res_id, self.call.id)
        self.assertEqual(messages.author_id, self.agent.partner_id)
        self.assertEqual(messages.message_type, "sms")
        self.assertEqual(messages.subtype_id, self.env.ref("mail.mt_note"))
        self.assertEqual(self.call.message_ids[0], messages)
        self.assertEqual(html2plaintext(messages.body).strip(), body)

    def test_agent_sends_sms_from_email_interaction(self):
        body = "We received your e-mail and call you back at 3 pm."
        _composer, messages = self._send_from(self.email, body)
        self.assertSMSNotification(
            [{"partner": self.customer, "number": self.customer_mobile_san}], body, messages
        )
        self.assertEqual(html2plaintext(self.email.message_ids[0].body).strip(), body)

    def test_corrected_number_is_stored_on_interaction(self):
        interaction = self.call.with_user(self.agent)
        action = interaction.action_send_sms()
        composer = (
            self.env["sms.composer"]
            .with_user(self.agent)
            .with_context(**action["context"])
            .create({"body": "Hello"})
        )
        self.assertEqual(composer.recipient_single_number_itf, self.caller_number)
        self.assertEqual(composer.number_field_name, "sms_number")
        # the agent corrects the number in the dialog
        composer.recipient_single_number_itf = "0456 55 44 33"
        with self.mockSMSGateway():
            composer.action_send_sms()
        self.assertEqual(self.call.contact_address, "+32456554433")
        self.assertSMSIapSent(["+32456554433"], "Hello")

    def test_other_agent_cannot_send_on_foreign_interaction(self):
        """Agents text for their own interactions, not for a colleague's."""
        sms_before = self.env["sms.sms"].sudo().search_count([])
        with self.assertRaises(AccessError):
            self._send_from(self.call, "Not mine", user=self.other_agent)
        self.assertEqual(self.env["sms.sms"].sudo().search_count([]), sms_before)
        self.assertFalse(self.call.message_ids.filtered(lambda m: m.message_type == "sms"))

    def test_agent_form_has_send_sms_button(self):
        arch = (
            self.env["omnichannel.interaction"]
            .with_user(self.agent)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertIn('name="action_send_sms"', arch)
