from odoo.tests import new_test_user

from odoo.addons.sms.tests.common import SMSCommon


class OmnichannelSmsCommon(SMSCommon):
    """SMSCommon sets the company in Belgium; numbers below are Belgian."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent = new_test_user(
            cls.env,
            login="sms_agent",
            groups="omnichannel_cc.group_omnichannel_agent",
            email="sms.agent@example.com",
        )
        cls.other_agent = new_test_user(
            cls.env,
            login="sms_other_agent",
            groups="omnichannel_cc.group_omnichannel_agent",
        )
        cls.queue = cls.env["omnichannel.queue"].create(
            {"name": "SMS queue", "member_ids": [(6, 0, (cls.agent | cls.other_agent).ids)]}
        )
        cls.phone_channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Hotline",
                "channel_type": "phone",
                "address": "+32 2 290 34 90",
                "queue_id": cls.queue.id,
            }
        )
        cls.email_channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Mailbox",
                "channel_type": "email",
                "address": "help@example.com",
                "queue_id": cls.queue.id,
            }
        )
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Marie Customer",
                "mobile": "0456 11 22 33",
                "country_id": cls.env.ref("base.be").id,
            }
        )
        cls.customer_mobile_san = "+32456112233"
        # the caller rang from another number than the one on file
        cls.caller_number = "+32456998800"
        cls.call = cls.env["omnichannel.interaction"].create(
            {
                "channel_id": cls.phone_channel.id,
                "partner_id": cls.customer.id,
                "contact_address": cls.caller_number,
                "queue_id": cls.queue.id,
                "agent_id": cls.agent.id,
                "state": "active",
            }
        )
        cls.email = cls.env["omnichannel.interaction"].create(
            {
                "channel_id": cls.email_channel.id,
                "partner_id": cls.customer.id,
                "contact_address": "marie@example.com",
                "queue_id": cls.queue.id,
                "agent_id": cls.agent.id,
                "state": "active",
            }
        )

    def _send_from(self, interaction, body, user=None):
        """Open the form button's composer as ``user`` and send ``body``."""
        user = user or self.agent
        interaction = interaction.with_user(user)
        action = interaction.action_send_sms()
        composer = (
            self.env["sms.composer"]
            .with_user(user)
            .with_context(**action["context"])
            .create({"body": body})
        )
        with self.mockSMSGateway():
            messages = composer._action_send_sms()
        return composer, messages
