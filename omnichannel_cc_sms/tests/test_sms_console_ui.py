"""An SMS conversation in the agent console, in Chromium (tour
``omnichannel_cc_sms_console_tour``): offered, accepted, answered in Polish
with the counter, queued through the channel's gateway, wrapped up."""

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from ..tools.sms_providers import Inbound

AGENT = "omnichannel_cc.group_omnichannel_agent"
# the tour's reply (static/tests/tours/omnichannel_sms_console_tour.js)
SMS_REPLY = "Dzień dobry, paczka wyszła dziś rano. Kurier będzie jutro między 9 a 12."


@tagged("post_install", "-at_install")
class TestSmsConsoleTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.country_id = cls.env.ref("base.pl")
        cls.tour_agent = new_test_user(
            cls.env, "occ_sms_tour_agent", groups=AGENT, name="SMS Agent"
        )
        cls.queue = cls.env["omnichannel.queue"].create(
            {
                "name": "SMS support",
                "member_ids": [Command.set(cls.tour_agent.ids)],
                "ring_timeout": 600,
                "wrapup_seconds": 600,
            }
        )
        cls.channel = cls.env["omnichannel.channel"].create(
            {
                "name": "SMS line",
                "channel_type": "sms",
                "address": "+48 500 600 700",
                "queue_id": cls.queue.id,
                "sms_provider": "kannel",
                # nothing listens there: the queue's action is not run in tests
                "sms_base_url": "http://127.0.0.1:9",
                "sms_account": "odoo",
                "sms_secret": "kannel-secret",
            }
        )
        # the customer's mobile on file in national notation; they text in E.164
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Jan Esemesowy",
                "mobile": "601 234 567",
                "country_id": cls.env.ref("base.pl").id,
            }
        )

    def test_sms_conversation_in_the_console(self):
        # a live agent: their console was seen now (the browser's bus presence keeps it)
        self.env["omnichannel.agent"].with_user(self.tour_agent).action_my_state("available")
        received = self.env["omnichannel.interaction"]._sms_receive(
            self.channel,
            Inbound(
                provider_id="kannel-mo-1",
                sender="+48601234567",
                recipient="+48500600700",
                text="Gdzie jest moja paczka? Zamówienie 1234",
            ),
        )
        interaction = self.env["omnichannel.interaction"].browse(received["interaction_id"])
        self.assertEqual(interaction.partner_id, self.customer)
        self.assertEqual((interaction.state, interaction.agent_id), ("offered", self.tour_agent))

        self.start_tour("/odoo", "omnichannel_cc_sms_console_tour", login="occ_sms_tour_agent")

        interaction.invalidate_recordset()
        self.assertEqual(interaction.state, "done")
        self.assertEqual(interaction.agent_id, self.tour_agent)
        self.assertEqual(
            interaction.disposition_id, self.env.ref("omnichannel_cc.disposition_resolved")
        )
        # the reply went to the queue, through this channel's gateway, as typed
        sms = self.env["sms.sms"].search([("omnichannel_channel_id", "=", self.channel.id)])
        self.assertEqual(len(sms), 1)
        self.assertEqual(sms.body, SMS_REPLY)
        self.assertEqual(sms.number, "+48601234567")
        self.assertEqual(sms.state, "outgoing")
        # and it is the agent's message in the conversation
        self.assertEqual(sms.mail_message_id.model, "omnichannel.interaction")
        self.assertEqual(sms.mail_message_id.res_id, interaction.id)
        self.assertEqual(sms.mail_message_id.author_id, self.tour_agent.partner_id)
