from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from odoo.addons.omnichannel_cc_sms.tools.sms_providers import Inbound
from odoo.addons.omnichannel_cc_survey.tests.common import OmnichannelSurveyCommon


@tagged("post_install", "-at_install")
class TestSurveySms(OmnichannelSurveyCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.country_id = cls.env.ref("base.pl")
        # only this test's SMS channel (Odoo's own sending): not the demo gateways
        cls.env["omnichannel.channel"].search([("channel_type", "=", "sms")]).action_archive()
        cls.sms_channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Survey SMS",
                "channel_type": "sms",
                "address": "+48 22 555 07 07",
                "queue_id": cls.queue.id,
            }
        )
        cls.phone_channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Hotline",
                "channel_type": "phone",
                "address": "+48 22 555 08 08",
                "queue_id": cls.queue.id,
            }
        )

    def _sent_sms(self, invitation):
        return self.env["sms.sms"].search([("body", "ilike", invitation.access_token)])

    def test_phone_customer_gets_the_link_by_sms(self):
        customer = self._new_customer("Phone customer")
        interaction = self._closed(
            partner=customer, channel_id=self.phone_channel.id, contact_address="+48601200300"
        )
        invitation = self._invitation(interaction)
        # phone: no delay; nothing is texted before the cron
        self.assertFalse(self._sent_sms(invitation))
        self.Invitation._cron_send()
        self.assertEqual((invitation.state, invitation.send_channel), ("sent", "sms"))
        sms = self._sent_sms(invitation)
        self.assertEqual(len(sms), 1)
        self.assertEqual(sms.number, "+48601200300")
        self.assertEqual(sms.state, "outgoing")
        self.assertIn(invitation.get_answer_url(), sms.body)
        self.assertFalse(
            self.env["mail.mail"].search(
                [("model", "=", invitation._name), ("res_id", "=", invitation.id)]
            )
        )

    def test_blacklisted_number_skipped(self):
        self.env["phone.blacklist"].sudo().add("+48601200301")
        interaction = self._closed(
            partner=self._new_customer("Opted out"),
            channel_id=self.sms_channel.id,
            contact_address="+48601200301",
        )
        invitation = self._invitation(interaction)
        # SMS: an hour after closing by default
        self.assertFalse(self.Invitation._cron_send())
        with freeze_time(fields.Datetime.now() + timedelta(minutes=61)):
            self.Invitation._cron_send()
        self.assertEqual(
            (invitation.state, invitation.skip_reason, invitation.send_channel),
            ("skipped", "blacklisted", "sms"),
        )
        self.assertFalse(self._sent_sms(invitation))

    def test_chat_customer_still_by_email(self):
        customer = self._new_customer("Chat customer")
        customer.mobile = "+48601200302"
        interaction = self._closed(partner=customer)
        invitation = self._invitation(interaction)
        self.Invitation._cron_send()
        self.assertEqual(invitation.send_channel, "email")
        self.assertFalse(self._sent_sms(invitation))

    def test_phone_customer_without_number_by_email(self):
        interaction = self._closed(
            partner=self._new_customer("Anonymous caller"), channel_id=self.phone_channel.id
        )
        invitation = self._invitation(interaction)
        self.Invitation._cron_send()
        self.assertEqual(invitation.send_channel, "email")

    def test_digit_reply_is_the_answer(self):
        customer = self._new_customer("Texting customer")
        interaction = self._closed(
            partner=customer, channel_id=self.phone_channel.id, contact_address="+48601200304"
        )
        invitation = self._invitation(interaction)
        self.Invitation._cron_send()
        self.assertIn("from 0 (worst) to 10 (best)", self._sent_sms(invitation).body)
        Interaction = self.env["omnichannel.interaction"]
        before = Interaction.search_count([])

        def reply(provider_id, text):
            return Interaction._sms_receive(
                self.sms_channel,
                Inbound(
                    provider_id=provider_id,
                    sender="+48 601 200 304",
                    recipient="+48225550707",
                    text=text,
                ),
            )

        # out of range: a message for the agents, the invitation still waits
        self.assertNotIn("survey_answer", reply("mo-1", "11"))
        self.assertEqual(invitation.state, "sent")
        self.assertEqual(Interaction.search_count([]), before + 1)
        result = reply("mo-2", " 9 ")
        self.assertEqual(result["survey_answer"], True)
        self.assertEqual((invitation.state, invitation.value), ("answered", 9))
        self.assertEqual(invitation.answer_channel, "sms")
        self.assertEqual(interaction.satisfaction_value, 9)
        # the gateway delivers it again: nothing changes
        self.assertTrue(reply("mo-2", "9")["duplicate"])
        # no conversation opened for the answer
        self.assertEqual(Interaction.search_count([]), before + 1)
        # a later digit is a message as any other
        self.assertNotIn("survey_answer", reply("mo-3", "5"))
        self.assertEqual(invitation.value, 9)
