"""Issue 19: an SMS and a customer name holding HTML/JS show as text in the
agent's SMS conversation, in Chromium (tour ``omnichannel_cc_sms_hostile_tour``):
the payloads would set ``window.__xss`` if a browser ran them."""

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from ..tools.sms_providers import Inbound

AGENT = "omnichannel_cc.group_omnichannel_agent"
IMG = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
SCRIPT = "<script>window.__xss=1</script>"
SVG = '"><svg onload=window.__xss=1>'


@tagged("post_install", "-at_install")
class TestSmsHostileTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.country_id = cls.env.ref("base.pl")
        cls.tour_agent = new_test_user(
            cls.env, "occ_sms_hostile_agent", groups=AGENT, name="SMS Hostile Agent"
        )
        queue = cls.env["omnichannel.queue"].create(
            {
                "name": "SMS hostile",
                "member_ids": [Command.set(cls.tour_agent.ids)],
                "ring_timeout": 600,
            }
        )
        cls.channel = cls.env["omnichannel.channel"].create(
            {
                "name": "SMS hostile line",
                "channel_type": "sms",
                "address": "+48 500 600 701",
                "queue_id": queue.id,
                "sms_provider": "kannel",
                # nothing listens there: nothing is sent in this test
                "sms_base_url": "http://127.0.0.1:9",
                "sms_account": "odoo",
                "sms_secret": "kannel-secret",
            }
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": IMG, "mobile": "601 234 568", "country_id": cls.env.ref("base.pl").id}
        )

    def test_hostile_sms_shows_as_text(self):
        self.env["omnichannel.agent"].with_user(self.tour_agent).action_my_state("available")
        received = self.env["omnichannel.interaction"]._sms_receive(
            self.channel,
            Inbound(
                provider_id="kannel-hostile-1",
                sender="+48601234568",
                recipient="+48500600701",
                text=f"{SCRIPT} {SVG} {IMG}",
            ),
        )
        interaction = self.env["omnichannel.interaction"].browse(received["interaction_id"])
        self.assertEqual(interaction.partner_id, self.customer)
        self.assertEqual(interaction.state, "offered")
        self.start_tour("/odoo", "omnichannel_cc_sms_hostile_tour", login="occ_sms_hostile_agent")
        interaction.invalidate_recordset()
        self.assertEqual(interaction.state, "active")
