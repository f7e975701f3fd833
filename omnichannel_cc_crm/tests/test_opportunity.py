"""Opportunities from interactions (issue 16): the utm attribution of the
inbound channel reaches the lead, the "opportunity" disposition makes one
lead and converts a campaign contact, and only salespeople create leads."""

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged, users

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestOpportunity(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Anna sells; Tomasz (claims) is an agent but no salesman
        cls.agent_sales.groups_id += cls.env.ref("sales_team.group_sale_salesman")
        cls.team = cls.env["crm.team"].create(
            {"name": "Telesales", "member_ids": [Command.link(cls.agent_sales.id)]}
        )
        cls.utm_spring = cls.env["utm.campaign"].create({"name": "Spring radio"})
        cls.utm_radio = cls.env["utm.source"].create({"name": "Radio Zet"})
        cls.utm_phone = cls.env["utm.medium"].create({"name": "Phone line"})
        cls.channel_phone.write(
            {
                "campaign_id": cls.utm_spring.id,
                "source_id": cls.utm_radio.id,
                "medium_id": cls.utm_phone.id,
            }
        )
        cls.d_opportunity = cls.env.ref("omnichannel_cc_crm.disposition_opportunity")
        cls.d_resolved = cls.env.ref("omnichannel_cc.disposition_resolved")

    def _live(self, user):
        self.env["omnichannel.agent"]._for_user(user).with_user(user).action_my_state("available")

    def _answered_call(self, external_id, user, sender="+48 609 876 543", **extra):
        self._live(user)
        result = self._inbound(external_id, sender, **extra)
        call = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        call.offer_ids.with_user(user).action_accept()
        self.assertEqual(call.state, "active")
        return call.with_user(user)

    def _leads(self, call):
        return self.env["crm.lead"].sudo().search([("omnichannel_interaction_ids", "in", call.ids)])

    def test_utm_from_the_channel_through_the_interaction_to_the_lead(self):
        call = self._answered_call("crm-utm-1", self.agent_sales, subject="Fleet insurance")
        self.assertEqual(
            (call.utm_campaign_id, call.utm_source_id, call.utm_medium_id),
            (self.utm_spring, self.utm_radio, self.utm_phone),
        )
        call.sudo().message_post(
            body="Please quote 12 vans",
            author_id=call.sudo().partner_id.id,
            message_type="comment",
        )
        action = call.action_new_opportunity()
        lead = self.env["crm.lead"].browse(action["res_id"])
        self.assertEqual((action["res_model"], lead.type), ("crm.lead", "opportunity"))
        self.assertEqual(
            (lead.campaign_id, lead.source_id, lead.medium_id),
            (self.utm_spring, self.utm_radio, self.utm_phone),
        )
        self.assertEqual(lead.partner_id, self.customer_contact, "the caller identified")
        self.assertEqual((lead.user_id, lead.team_id), (self.agent_sales, self.team))
        self.assertEqual(lead.name, "Fleet insurance")
        self.assertIn("Fleet insurance", lead.description)
        self.assertIn("Please quote 12 vans", lead.description)
        self.assertEqual(call.lead_id, lead)
        self.assertEqual(lead.omnichannel_interaction_ids, call)
        self.assertEqual(lead.omnichannel_interaction_count, 1)
        # asked again (XML-RPC), the same lead
        self.assertEqual(call.api_create_opportunity(), lead.id)
        self.assertEqual(len(self._leads(call)), 1)

    def test_unknown_caller_gets_the_number_on_the_lead(self):
        call = self._answered_call("crm-utm-2", self.agent_sales, sender="+48 501 999 888")
        self.assertFalse(call.partner_id)
        lead = self.env["crm.lead"].browse(call.api_create_opportunity())
        self.assertEqual(lead.phone, call.contact_address)
        self.assertEqual(lead.campaign_id, self.utm_spring)

    def test_lead_linked_by_hand_inherits_the_utm(self):
        call = self._answered_call("crm-utm-3", self.agent_sales)
        lead = (
            self.env["crm.lead"]
            .with_user(self.agent_sales)
            .create({"name": "By hand", "omnichannel_interaction_ids": [Command.link(call.id)]})
        )
        self.assertEqual((lead.campaign_id, lead.medium_id), (self.utm_spring, self.utm_phone))

    def test_disposition_opportunity_creates_exactly_one_lead(self):
        call = self._answered_call("crm-disp-1", self.agent_sales)
        call.action_end()
        call.action_console_close(disposition_id=self.d_opportunity.id)
        self.assertEqual(call.state, "done")
        leads = self._leads(call)
        self.assertEqual(len(leads), 1)
        self.assertEqual(call.lead_id, leads)
        self.assertEqual(leads.campaign_id, self.utm_spring)
        # a manager's later correction does not make a second one
        call.with_user(self.manager).write({"notes": "checked", "disposition_id": False})
        call.with_user(self.manager).write({"disposition_id": self.d_opportunity.id})
        self.assertEqual(len(self._leads(call)), 1)

    def test_disposition_keeps_the_lead_made_during_the_call(self):
        call = self._answered_call("crm-disp-2", self.agent_sales)
        lead = self.env["crm.lead"].browse(call.api_create_opportunity())
        call.action_console_close(disposition_id=self.d_opportunity.id)
        self.assertEqual(self._leads(call), lead)

    def test_other_disposition_makes_no_lead(self):
        call = self._answered_call("crm-disp-3", self.agent_sales)
        call.action_console_close(disposition_id=self.d_resolved.id)
        self.assertFalse(self._leads(call))

    def test_campaign_contact_converted(self):
        campaign = self.env["omnichannel.campaign"].create(
            {
                "name": "Renewals",
                "queue_id": self.queue_sales.id,
                "channel_id": self.channel_phone.id,
                "target_model": "res.partner",
                "target_domain": repr([("id", "=", self.customer_plain.id)]),
                "utm_campaign_id": self.utm_spring.id,
                # any hour: the test runs at any time of day (the calling
                # hours have their own tests in omnichannel_cc)
                "window_start": 0.0,
                "window_end": 24.0,
            }
        )
        campaign.action_start()
        self._live(self.agent_sales)
        payload = campaign.with_user(self.agent_sales).action_next_contact()
        contact = self.env["omnichannel.campaign.contact"].browse(payload["contact_id"])
        contact.with_user(self.agent_sales).action_dial()
        call = contact.last_interaction_id
        contact.with_user(self.agent_sales).action_record_outcome(self.d_opportunity.id)
        self.assertEqual((contact.state, contact.last_outcome), ("done", "opportunity"))
        lead = self._leads(call)
        self.assertEqual(len(lead), 1)
        self.assertEqual(
            (lead.partner_id, lead.campaign_id), (self.customer_plain, self.utm_spring)
        )
        # the supervisors' dashboard counts it beside quotations and orders
        campaign.invalidate_recordset(["dashboard_opportunities"])
        self.assertEqual(campaign.dashboard_opportunities, 1)

    @users("occ_agent_claims")
    def test_agent_without_sales_rights_creates_no_lead(self):
        call = self._answered_call(
            "crm-acl-1",
            self.agent_claims,
            "jan.testowy@tartak-test.example",
            channel=self.channel_email,
        )
        with self.assertRaises(AccessError):
            call.action_new_opportunity()
        with self.assertRaises(AccessError):
            call.action_console_close(disposition_id=self.d_opportunity.id)
        self.assertFalse(self._leads(call))

    @users("occ_agent_sales")
    def test_salesman_agent_only_on_own_interaction(self):
        self._live(self.agent_claims)
        self.agent_claims.groups_id += self.env.ref("sales_team.group_sale_salesman")
        other = self._answered_call(
            "crm-acl-2",
            self.agent_claims,
            "jan.testowy@tartak-test.example",
            channel=self.channel_email,
        )
        with self.assertRaises(AccessError):
            other.with_user(self.agent_sales).action_new_opportunity()
        mine = self._answered_call("crm-acl-3", self.agent_sales)
        lead = self.env["crm.lead"].browse(mine.api_create_opportunity())
        self.assertEqual(lead.create_uid, self.agent_sales)
        state = self.env["omnichannel.agent"].with_user(self.agent_sales).action_console_state()
        self.assertTrue(state["access"]["crm_lead_create"])
