"""Campaigns (issue 16): the preview tour of an agent in the web client."""

from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestCampaignUi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        poland = cls.env.ref("base.pl")
        cls.env.company.country_id = poland
        cls.agent = new_test_user(
            cls.env,
            "occ_campaign_tour_agent",
            groups="omnichannel_cc.group_omnichannel_agent",
            name="Campaign Agent",
            tz="Europe/Warsaw",
        )
        queue = cls.env["omnichannel.queue"].create(
            {"name": "Tour collections queue", "member_ids": [Command.set(cls.agent.ids)]}
        )
        line = cls.env["omnichannel.channel"].create(
            {
                "name": "Tour collections line",
                "channel_type": "phone",
                "address": "+48 22 555 44 44",
                "queue_id": queue.id,
            }
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "Piekarnia Tour", "country_id": poland.id, "mobile": "601 555 111"}
        )
        # the agent's day, as the panel counts days overdue (not the server's: they
        # differ for an hour each night)
        today = fields.Date.context_today(cls.customer.with_context(tz=cls.agent.tz))
        cls.invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": cls.customer.id,
                "invoice_date": today - timedelta(days=75),
                "invoice_date_due": today - timedelta(days=45),
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Mąka", "quantity": 1, "price_unit": 640.0, "tax_ids": []}
                    )
                ],
            }
        )
        cls.invoice.action_post()
        cls.campaign = cls.env["omnichannel.campaign"].create(
            {
                "name": "Tour collections",
                "queue_id": queue.id,
                "channel_id": line.id,
                "target_model": "account.move",
                "target_domain": repr(
                    [
                        ("move_type", "=", "out_invoice"),
                        ("state", "=", "posted"),
                        ("payment_state", "in", ("not_paid", "partial")),
                        ("partner_id", "=", cls.customer.id),
                    ]
                ),
                # calls at any hour: the tour may run at night
                "window_start": 0.0,
                "window_end": 24.0,
            }
        )
        cls.campaign.action_start()

    def test_agent_works_a_preview_collections_campaign(self):
        # the agent is live: available, as the console would make them
        self.env["omnichannel.agent"]._for_user(self.agent).with_user(self.agent).action_my_state(
            "available"
        )
        contact = self.campaign.contact_ids
        self.assertEqual((contact.state, contact.phone), ("pending", "+48601555111"))
        self.start_tour(
            "/odoo", "omnichannel_cc_campaign_preview_tour", login="occ_campaign_tour_agent"
        )
        contact.invalidate_recordset()
        self.assertEqual(
            (contact.state, contact.last_outcome, contact.attempt_count),
            ("done", "promise_to_pay", 1),
        )
        self.assertEqual(contact.last_interaction_id.state, "done")
        self.assertEqual(contact.last_interaction_id.agent_id, self.agent)
        activity = self.invoice.activity_ids
        self.assertEqual(len(activity), 1, "the promise to pay, on the overdue invoice")
        self.assertIn("640.00", activity.note)
        self.assertEqual(
            activity.date_deadline, fields.Date.context_today(activity) + timedelta(days=7)
        )
