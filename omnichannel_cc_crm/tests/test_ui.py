from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestOpportunityTour(OmnichannelCommon, HttpCase):
    """The console's "New opportunity" quick action in Chromium."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tour_agent = new_test_user(
            cls.env,
            "occ_crm_tour",
            groups="omnichannel_cc.group_omnichannel_agent,sales_team.group_sale_salesman",
            name="Selling Agent",
        )
        cls.queue_sales.write(
            {"member_ids": [Command.set(cls.tour_agent.ids)], "ring_timeout": 600}
        )
        cls.env["omnichannel.agent"]._for_user(cls.tour_agent)._change_state("offline")
        result = cls._inbound("crm-tour", "+48 609 876 543", subject="Fleet insurance")
        cls.call = cls.env["omnichannel.interaction"].browse(result["interaction_id"])

    def test_new_opportunity_from_the_console(self):
        self.assertFalse(self.call.lead_id)
        self.start_tour("/odoo", "omnichannel_cc_crm_opportunity_tour", login="occ_crm_tour")
        self.call.invalidate_recordset()
        lead = self.call.lead_id
        self.assertTrue(lead)
        self.assertEqual((lead.partner_id, lead.user_id), (self.customer_contact, self.tour_agent))
        self.assertEqual(lead.name, "Fleet insurance")
