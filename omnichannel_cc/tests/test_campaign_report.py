"""Campaigns (issue 16): inbound attribution with Odoo's utm, the campaign
analysis (figures recounted in Python), the supervisor's dashboard and the
wallboard's campaign tiles, and who sees them."""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import OmnichannelCommon

T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestCampaignReport(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = cls.env.ref("sales_team.group_sale_salesman")
        cls.agent_sales.groups_id += cls.salesman
        cls.agent_claims.groups_id += cls.salesman
        cls.utm_spring = cls.env["utm.campaign"].create({"name": "Spring radio"})
        cls.utm_calls = cls.env["utm.campaign"].create({"name": "Collections calls"})
        cls.utm_radio = cls.env["utm.source"].create({"name": "Radio Zet"})
        cls.utm_phone = cls.env["utm.medium"].create({"name": "Phone line"})
        cls.channel_phone.write(
            {
                "campaign_id": cls.utm_spring.id,
                "source_id": cls.utm_radio.id,
                "medium_id": cls.utm_phone.id,
            }
        )
        Partner = cls.env["res.partner"]
        cls.p1 = Partner.create({"name": "Anna", "mobile": "601 200 001"})
        cls.p2 = Partner.create({"name": "Bogdan", "mobile": "601 200 002"})
        cls.p3 = Partner.create({"name": "Celina", "mobile": "601 200 003"})
        for partner in cls.p1 | cls.p2 | cls.p3:
            partner.country_id = cls.poland
        cls.product = cls.env["product.product"].create({"name": "Polisa", "list_price": 100.0})
        cls.d_no_answer = cls.env.ref("omnichannel_cc.disposition_no_answer")
        cls.d_resolved = cls.env.ref("omnichannel_cc.disposition_resolved")
        cls.supervisor_claims = new_test_user(
            cls.env, "occ_supervisor_claims", groups="omnichannel_cc.group_omnichannel_supervisor"
        )
        cls.queue_claims.supervisor_ids = [Command.set(cls.supervisor_claims.ids)]

    def _live(self, user):
        self.env["omnichannel.agent"]._for_user(user).with_user(user).action_my_state("available")

    def _answered_call(self, external_id, user):
        self._live(user)
        result = self._inbound(external_id, "+48 609 876 543")
        call = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        call.offer_ids.with_user(user).action_accept()
        self.assertEqual(call.state, "active")
        return call.with_user(user)

    def _order(self, user, context, amount, confirm=False):
        order = (
            self.env["sale.order"]
            .with_user(user)
            .with_context(**context)
            .create(
                {
                    "order_line": [
                        Command.create(
                            {"product_id": self.product.id, "price_unit": amount, "tax_id": []}
                        )
                    ]
                }
            )
        )
        if confirm:
            order.sudo().action_confirm()
        return order

    def _campaign(self, partners, **vals):
        return self.env["omnichannel.campaign"].create(
            dict(
                {
                    "name": "Collections March",
                    "queue_id": self.queue_sales.id,
                    "channel_id": self.channel_phone.id,
                    "target_model": "res.partner",
                    "target_domain": repr([("id", "in", partners.ids)]),
                    "utm_campaign_id": self.utm_calls.id,
                },
                **vals,
            )
        )

    def _work(self, campaign, user, disposition, amount=None):
        """The next contact: dialed, an order of ``amount`` (confirmed) made
        from the call, wrapped up with ``disposition``."""
        self._live(user)
        payload = campaign.with_user(user).action_next_contact()
        contact = self.env["omnichannel.campaign.contact"].browse(payload["contact_id"])
        contact.with_user(user).action_dial()
        call = contact.last_interaction_id.with_user(user)
        order = None
        if amount:
            order = self._order(user, call.action_console_new_quotation()["context"], amount, True)
        contact.with_user(user).action_record_outcome(disposition.id)
        return contact, call, order

    # ------------------------------------------------------------------
    # Inbound attribution
    # ------------------------------------------------------------------
    def test_channel_utm_reaches_interactions_and_orders(self):
        call = self._answered_call("utm-1", self.agent_sales)
        self.assertEqual(
            (call.utm_campaign_id, call.utm_source_id, call.utm_medium_id),
            (self.utm_spring, self.utm_radio, self.utm_phone),
        )
        action = call.action_console_new_quotation()
        self.assertEqual(action["context"]["default_campaign_id"], self.utm_spring.id)
        order = self._order(self.agent_sales, action["context"], 250.0)
        self.assertEqual(call.sale_order_id, order)
        self.assertEqual(
            (order.campaign_id, order.source_id, order.medium_id),
            (self.utm_spring, self.utm_radio, self.utm_phone),
        )
        # a script over XML-RPC: the link alone carries the attribution
        linked = self.env["sale.order"].create(
            {
                "partner_id": self.customer_plain.id,
                "omnichannel_interaction_ids": [Command.link(call.id)],
            }
        )
        self.assertEqual(linked.campaign_id, self.utm_spring)
        # an order given its own campaign keeps it
        other = self.env["utm.campaign"].create({"name": "Newsletter"})
        own = self.env["sale.order"].create(
            {
                "partner_id": self.customer_plain.id,
                "campaign_id": other.id,
                "omnichannel_interaction_ids": [Command.link(call.id)],
            }
        )
        self.assertEqual((own.campaign_id, own.source_id), (other, self.env["utm.source"]))
        # Odoo's own sales analysis shows the revenue per inbound campaign
        order.sudo().action_confirm()
        self.env.flush_all()
        rows = (
            self.env["sale.report"]
            .sudo()
            ._read_group(
                [("campaign_id", "=", self.utm_spring.id), ("state", "=", "sale")],
                [],
                ["price_subtotal:sum"],
            )
        )
        self.assertAlmostEqual(rows[0][0], 250.0)

    def test_outbound_calls_are_not_the_lines_inbound_campaign(self):
        call = self.env["omnichannel.interaction"].create(
            {
                "channel_id": self.channel_phone.id,
                "direction": "outbound",
                "partner_id": self.customer_plain.id,
            }
        )
        self.assertFalse(call.utm_campaign_id)
        self.assertFalse(call.utm_source_id)

    def test_agents_cannot_set_the_attribution(self):
        other = self.env["utm.campaign"].create({"name": "Forged"})
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].with_user(self.agent_sales).create(
                {
                    "channel_id": self.channel_phone.id,
                    "queue_id": self.queue_sales.id,
                    "utm_campaign_id": other.id,
                }
            )

    # ------------------------------------------------------------------
    # Outbound results, report and dashboard
    # ------------------------------------------------------------------
    def _run_campaign(self):
        campaign = self._campaign(self.p1 | self.p2 | self.p3)
        with freeze_time(T0):
            campaign.action_start()
            c1, call1, order1 = self._work(campaign, self.agent_sales, self.d_resolved, 400.0)
            c2, call2, _order2 = self._work(campaign, self.agent_sales, self.d_no_answer)
        return campaign, (c1, c2), (call1, call2), order1

    def test_outbound_campaign_report_and_dashboard(self):
        campaign, (c1, _c2), (call1, _call2), order1 = self._run_campaign()
        self.assertEqual(call1.utm_campaign_id, self.utm_calls, "the campaign's utm campaign")
        self.assertFalse(call1.utm_source_id, "not the line's inbound source")
        self.assertEqual(order1.campaign_id, self.utm_calls)
        # an inbound call on the line, with an unconfirmed quotation
        inbound = self._answered_call("utm-2", self.agent_sales)
        self._order(self.agent_sales, inbound.action_console_new_quotation()["context"], 90.0)
        self.env.flush_all()

        Report = self.env["omnichannel.campaign.report"]
        rows = Report.search([("campaign_id", "=", campaign.id)])
        # recount from the records themselves
        contacts = campaign.contact_ids
        calls = self.env["omnichannel.interaction"].search([("campaign_id", "=", campaign.id)])
        self.assertEqual(sum(rows.mapped("contacts")), len(contacts))
        self.assertEqual(sum(rows.mapped("attempts")), len(calls))
        reached = contacts.filtered(lambda c: c.last_outcome == "done")
        self.assertEqual(reached, c1)
        self.assertEqual(sum(rows.mapped("reached")), len(reached))
        self.assertEqual(sum(rows.mapped("converted")), 1)
        self.assertAlmostEqual(sum(rows.mapped("revenue")), order1.amount_untaxed)
        by_outcome = {
            group[0]: group[1]
            for group in Report._read_group(
                [("campaign_id", "=", campaign.id), ("row_type", "=", "contact")],
                ["outcome"],
                ["contacts:sum"],
            )
        }
        self.assertEqual(by_outcome, {"done": 1, "no_answer": 1, False: 1})
        by_agent = dict(
            Report._read_group([("campaign_id", "=", campaign.id)], ["agent_id"], ["attempts:sum"])
        )
        self.assertEqual(by_agent[self.agent_sales], 2)
        # the same report by utm campaign: outbound and inbound side by side
        by_utm = {
            utm: (n, revenue)
            for utm, n, revenue in Report._read_group(
                [], ["utm_campaign_id"], ["converted:sum", "revenue:sum"]
            )
        }
        self.assertEqual(by_utm[self.utm_calls], (1, order1.amount_untaxed))
        self.assertEqual(by_utm[self.utm_spring], (1, 0.0), "a quotation, no revenue yet")

        # the dashboard
        campaign.invalidate_recordset()
        # Celina not called yet, Bogdan to be called again (no answer)
        self.assertEqual(campaign.dashboard_left, 2)
        self.assertEqual(campaign.dashboard_reached, 1)
        self.assertAlmostEqual(campaign.dashboard_reach_rate, 50.0)
        self.assertEqual(campaign.dashboard_converted, 1)
        self.assertAlmostEqual(campaign.dashboard_conversion_rate, 100.0)
        self.assertAlmostEqual(campaign.dashboard_revenue, order1.amount_untaxed)
        self.assertAlmostEqual(campaign.dashboard_abandon_rate, 0.0)
        self.assertFalse(campaign.dashboard_has_dial_level, "no PBX dialer in the core")
        done = len(contacts.filtered(lambda c: c.state in ("done", "failed")))
        self.assertAlmostEqual(campaign.dashboard_progress, 100.0 * done / len(contacts))

    def test_dashboard_excluded_by_reason(self):
        blacklisted = self.env["res.partner"].create(
            {"name": "Czarna", "mobile": "601 200 009", "country_id": self.poland.id}
        )
        nobody = self.env["res.partner"].create({"name": "Bez numeru"})
        self.env["phone.blacklist"].sudo()._add(["+48601200009"])
        campaign = self._campaign(self.p1 | blacklisted | nobody)
        campaign.action_start()
        self.assertEqual(
            sorted(campaign.dashboard_excluded.split(", ")), ["Blacklisted 1", "No phone number 1"]
        )
        self.assertAlmostEqual(campaign.dashboard_progress, 0.0)
        self.assertEqual(campaign.dashboard_left, 1)

    def test_dashboard_dial_level_of_the_pbx_dialer(self):
        if "omnichannel.campaign.pacing.log" not in self.env:
            self.skipTest("the dial level comes from the telephony addon's pacing log")
        campaign = self._campaign(self.p1, dial_mode="progressive")
        self.assertTrue(campaign.dashboard_has_dial_level)
        self.assertEqual(campaign.dashboard_dial_level, 0.0, "no decision yet")
        Log = self.env["omnichannel.campaign.pacing.log"].sudo()  # the dialer writes it
        Log.create({"campaign_id": campaign.id, "date": T0, "level": 1.5})
        Log.create({"campaign_id": campaign.id, "date": T0 + timedelta(minutes=1), "level": 2.25})
        campaign.invalidate_recordset()
        self.assertEqual(campaign.dashboard_dial_level, 2.25, "the last decision")
        preview = self._campaign(self.p2)
        self.assertFalse(preview.dashboard_has_dial_level, "nothing to pace in preview")

    def test_wallboard_campaign_tiles(self):
        campaign, _contacts, _calls, _order = self._run_campaign()
        # the dialer's call to Celina answered with nobody free (telephony addon)
        celina = campaign.contact_ids.filtered(lambda c: c.partner_id == self.p3)
        with freeze_time(T0):
            self.env["omnichannel.interaction"].create(
                {
                    "channel_id": self.channel_phone.id,
                    "queue_id": self.queue_sales.id,
                    "direction": "outbound",
                    "partner_id": self.p3.id,
                    "campaign_contact_id": celina.id,
                    "state": "abandoned",
                    "end_reason": "no_agent",
                }
            )
            campaign.invalidate_recordset()
            # one call reached Anna, one was abandoned; Bogdan's unanswered call counts not
            self.assertAlmostEqual(campaign.dashboard_abandon_rate, 50.0)
        self.env.flush_all()
        [[rate, abandoned]] = self.env["omnichannel.campaign.report"]._read_group(
            [("campaign_id", "=", campaign.id)], [], ["abandon_rate:avg", "abandoned:sum"]
        )
        self.assertEqual((rate, abandoned), (50.0, 1), "the analysis counts as the dashboard")
        claims = self._campaign(self.p3, name="Claims renewals", queue_id=self.queue_claims.id)
        claims.action_start()
        with freeze_time(T0):
            data = (
                self.env["omnichannel.queue"]
                .with_user(self.supervisor_sales)
                .with_context(tz="Europe/Warsaw")
                .wallboard_data()
            )
        tiles = {tile["name"]: tile for tile in data["campaigns"]}
        self.assertEqual(set(tiles), {"Collections March"}, "only the supervisor's queues")
        tile = tiles["Collections March"]
        self.assertEqual(
            (tile["dial_mode"], tile["left"], tile["reached_today"], tile["abandon_rate"]),
            ("preview", 2, 1, 50.0),
        )
        campaign.action_pause()
        with freeze_time(T0):
            data = self.env["omnichannel.queue"].with_user(self.manager).wallboard_data()
        self.assertEqual([t["name"] for t in data["campaigns"]], ["Claims renewals"])

    # ------------------------------------------------------------------
    # Access
    # ------------------------------------------------------------------
    def test_access_report_and_dashboard(self):
        campaign, _contacts, _calls, _order = self._run_campaign()
        self.env.flush_all()
        Report = self.env["omnichannel.campaign.report"]
        mine = Report.search([("campaign_id", "=", campaign.id)])
        self.assertTrue(mine)
        # the agent: their own rows only, no dashboard figures
        as_agent = Report.with_user(self.agent_sales).search([])
        self.assertEqual(set(as_agent.mapped("agent_id")), {self.agent_sales})
        self.assertFalse(Report.with_user(self.agent_claims).search([]))
        with self.assertRaises(AccessError):
            campaign.with_user(self.agent_sales).read(["dashboard_reach_rate"])
        # the supervisor of the campaign's queue: all of it
        as_supervisor = Report.with_user(self.supervisor_sales).search(
            [("campaign_id", "=", campaign.id)]
        )
        self.assertEqual(as_supervisor, mine)
        self.assertEqual(
            campaign.with_user(self.supervisor_sales).read(["dashboard_reached"])[0][
                "dashboard_reached"
            ],
            1,
        )
        # another team's supervisor: nothing
        self.assertFalse(
            Report.with_user(self.supervisor_claims).search([("campaign_id", "=", campaign.id)])
        )
        # the manager: everything; plain users: nothing
        self.assertEqual(
            Report.with_user(self.manager).search([("campaign_id", "=", campaign.id)]), mine
        )
        with self.assertRaises(AccessError):
            Report.with_user(self.plain_user).search([])
        # the analysis opens for the supervisor, grouped by each dimension
        as_sup = Report.with_user(self.supervisor_sales)
        as_sup.get_views([(False, "pivot"), (False, "graph"), (False, "list"), (False, "search")])
        for dimension in ("campaign_id", "utm_campaign_id", "channel_id", "agent_id", "outcome"):
            groups = as_sup.read_group(
                [], ["contacts:sum", "attempts:sum", "revenue:sum", "abandon_rate:avg"], [dimension]
            )
            self.assertEqual(sum(g["attempts"] for g in groups), sum(mine.mapped("attempts")))
        # from the campaign's form
        action = campaign.with_user(self.supervisor_sales).action_view_report()
        self.assertEqual(
            Report.with_user(self.supervisor_sales).search(action["domain"]), as_supervisor
        )
        # the interaction form shows the attribution to the agent
        self.env["omnichannel.interaction"].with_user(self.agent_sales).get_views([(False, "form")])
