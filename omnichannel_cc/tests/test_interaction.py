from datetime import datetime

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestInteractionLifecycle(OmnichannelCommon):
    def test_lifecycle_timestamps_and_durations(self):
        with freeze_time("2026-03-02 10:00:00"):
            result = self._inbound("life-1", "+48 609 876 543")
        interaction = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        with freeze_time("2026-03-02 10:00:25"):
            interaction.with_user(self.agent_sales).action_answer()
        self.assertEqual(interaction.state, "active")
        self.assertEqual(interaction.agent_id, self.agent_sales)
        with freeze_time("2026-03-02 10:05:25"):
            interaction.action_end()
        self.assertEqual(interaction.state, "wrapup")
        with freeze_time("2026-03-02 10:06:00"):
            interaction.write(
                {"disposition_id": self.env.ref("omnichannel_cc.disposition_resolved").id}
            )
            interaction.action_close()
        self.assertEqual(interaction.state, "done")
        self.assertEqual(interaction.date_queued, datetime(2026, 3, 2, 10, 0, 0))
        self.assertEqual(interaction.wait_duration, 25)
        self.assertEqual(interaction.talk_duration, 300)
        self.assertEqual(interaction.wrap_duration, 35)

    def test_abandoned_counts_waiting_time(self):
        with freeze_time("2026-03-02 10:00:00"):
            result = self._inbound("ab-1", "+48 609 876 543")
        interaction = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        with freeze_time("2026-03-02 10:01:10"):
            interaction.action_abandon()
        self.assertEqual(interaction.state, "abandoned")
        self.assertEqual(interaction.wait_duration, 70)
        self.assertEqual(interaction.talk_duration, 0)

    def test_impossible_transitions(self):
        result = self._inbound("tr-1", "+48 609 876 543")
        interaction = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        with self.assertRaises(UserError):
            interaction.action_end()
        interaction.action_abandon()
        with self.assertRaises(UserError):
            interaction.action_answer()

    @mute_logger("odoo.sql_db")
    def test_external_id_unique_per_channel(self):
        Interaction = self.env["omnichannel.interaction"]
        vals = {"channel_id": self.channel_phone.id, "external_id": "uniq-1"}
        Interaction.create(vals)
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            Interaction.create(vals)
            self.env.flush_all()

    def test_smart_buttons_and_history(self):
        order = self.env["sale.order"].create({"partner_id": self.customer_contact.id})
        invoice = self._create_invoice(self.customer_company, 10.0, due_days_ago=1)
        first = self._inbound("sb-1", "+48 609 876 543")
        second = self._inbound("sb-2", "biuro@tartak-test.example", channel=self.channel_email)
        Interaction = self.env["omnichannel.interaction"]
        Interaction.browse(first["interaction_id"]).write(
            {"sale_order_id": order.id, "invoice_id": invoice.id}
        )
        case = self.env["omnichannel.case"].create(
            {
                "subject": "Claim",
                "partner_id": self.customer_contact.id,
                "interaction_ids": [Command.link(second["interaction_id"])],
            }
        )
        self.assertEqual(self.customer_company.omnichannel_interaction_count, 2)
        self.assertEqual(self.customer_contact.omnichannel_interaction_count, 2)
        self.assertEqual(self.customer_company.omnichannel_case_count, 1)
        self.assertEqual(order.omnichannel_interaction_count, 1)
        self.assertEqual(invoice.omnichannel_interaction_count, 1)
        self.assertEqual(order.omnichannel_case_count, 1)
        self.assertEqual(invoice.omnichannel_case_count, 1)
        case.action_solve()
        order.invalidate_recordset(["omnichannel_case_count"])
        self.assertEqual(order.omnichannel_case_count, 0)
        self.assertEqual(case.interaction_count, 1)
        history = self.customer_contact.omnichannel_history_ids
        self.assertEqual(set(history.mapped("channel_type")), {"phone", "email"})
        self.assertEqual(history[0].id, second["interaction_id"])  # newest first
        action = self.customer_contact.action_view_omnichannel_interactions()
        self.assertEqual(Interaction.search_count(action["domain"]), 2)
        self.assertEqual(
            len(
                self.env["omnichannel.case"].search(
                    self.customer_company.action_view_omnichannel_cases()["domain"]
                )
            ),
            1,
        )

    def test_case_reference_and_closing(self):
        case = self.env["omnichannel.case"].create(
            {"subject": "Claim", "partner_id": self.customer_contact.id}
        )
        self.assertTrue(case.name.startswith("CASE/"))
        self.assertTrue(case.is_open)
        case.action_solve()
        self.assertFalse(case.is_open)
        self.assertTrue(case.date_closed)
