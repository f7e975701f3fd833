from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged, users

from .common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestScreenPop(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice_overdue = cls._create_invoice(cls.customer_company, 4800.0, due_days_ago=60)
        cls.invoice_not_due = cls._create_invoice(
            cls.customer_contact, 300.0, due_days_ago=-10, invoice_days_ago=2
        )
        cls.invoice_draft = cls._create_invoice(
            cls.customer_company, 999.0, due_days_ago=5, post=False
        )
        cls.invoice_paid = cls._create_invoice(cls.customer_company, 100.0, due_days_ago=20)
        cls.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=cls.invoice_paid.ids
        ).create({})._create_payments()
        cls.invoice_other = cls._create_invoice(cls.customer_plain, 50.0, due_days_ago=3)

        product = cls.env["product.product"].create({"name": "Polisa OC", "list_price": 1200.0})
        SaleOrder = cls.env["sale.order"]
        cls.quotation = SaleOrder.create(
            {
                "partner_id": cls.customer_contact.id,
                "order_line": [Command.create({"product_id": product.id, "price_unit": 1200.0})],
            }
        )
        cls.order_cancelled = SaleOrder.create(
            {
                "partner_id": cls.customer_company.id,
                "order_line": [Command.create({"product_id": product.id})],
            }
        )
        cls.order_cancelled._action_cancel()
        cls.case = cls.env["omnichannel.case"].create(
            {
                "subject": "Szkoda",
                "partner_id": cls.customer_contact.id,
                "user_id": cls.agent_claims.id,
                "queue_id": cls.queue_claims.id,
                "state": "open",
            }
        )
        cls.env["omnichannel.case"].create(
            {"subject": "Old", "partner_id": cls.customer_company.id, "state": "solved"}
        )
        cls.interaction = cls._inbound("pop-1", "+48 609 876 543")

    @users("occ_agent_sales")
    def test_screen_pop_payload(self):
        pop = self.env["res.partner"].browse(self.customer_contact.id).omnichannel_screen_pop()
        self.assertEqual(pop["partner"]["id"], self.customer_contact.id)
        self.assertEqual(pop["commercial_partner"]["id"], self.customer_company.id)
        # unpaid posted invoices of the whole customer, oldest due first
        self.assertEqual(
            [inv["id"] for inv in pop["invoices"]],
            [self.invoice_overdue.id, self.invoice_not_due.id],
        )
        overdue = pop["invoices"][0]
        self.assertEqual(overdue["days_overdue"], 60)
        self.assertTrue(overdue["overdue"])
        self.assertAlmostEqual(overdue["amount_residual"], 4800.0)
        self.assertEqual(overdue["name"], self.invoice_overdue.name)
        self.assertEqual(pop["invoices"][1]["days_overdue"], 0)
        self.assertAlmostEqual(pop["overdue_amount"], 4800.0)
        self.assertAlmostEqual(pop["total_due"], 5100.0)
        self.assertTrue(pop["has_overdue"])
        self.assertEqual(pop["currency"]["id"], self.env.company.currency_id.id)
        # open orders only
        self.assertEqual([o["id"] for o in pop["sale_orders"]], [self.quotation.id])
        self.assertEqual(pop["sale_orders"][0]["state"], "draft")
        # open cases with owner
        self.assertEqual(len(pop["cases"]), 1)
        self.assertEqual(pop["cases"][0]["owner_id"], self.agent_claims.id)
        # history across channels
        self.assertEqual(pop["interactions"][0]["id"], self.interaction["interaction_id"])

    @users("occ_agent_sales")
    def test_agent_cannot_read_invoices_directly(self):
        self.assertFalse(self.env.user.has_group("account.group_account_invoice"))
        with self.assertRaises(AccessError):
            self.env["account.move"].browse(self.invoice_overdue.id).read(["amount_residual"])
        # ... but the panel shows them
        pop = self.env["res.partner"].browse(self.customer_company.id).omnichannel_screen_pop()
        self.assertEqual(len(pop["invoices"]), 2)

    @users("occ_plain")
    def test_non_agent_cannot_pop(self):
        with self.assertRaises(AccessError):
            self.env["res.partner"].browse(self.customer_contact.id).omnichannel_screen_pop()

    def test_partial_payment_counts_residual(self):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=self.invoice_overdue.ids
        ).create({"amount": 800.0})._create_payments()
        pop = self.customer_company.omnichannel_screen_pop()
        overdue = next(inv for inv in pop["invoices"] if inv["id"] == self.invoice_overdue.id)
        self.assertEqual(overdue["payment_state"], "partial")
        self.assertAlmostEqual(overdue["amount_residual"], 4000.0)
        self.assertAlmostEqual(pop["overdue_amount"], 4000.0)

    def test_customer_without_debt(self):
        fresh = self.env["res.partner"].create({"name": "Nowy Klient"})
        pop = fresh.omnichannel_screen_pop()
        self.assertEqual(pop["invoices"], [])
        self.assertEqual(pop["overdue_amount"], 0.0)
        self.assertFalse(pop["has_overdue"])
        self.assertEqual(pop["sale_orders"], [])

    @users("occ_agent_sales")
    def test_screen_pop_family_tags_and_labels(self):
        """The panel blocks read with SQL keep the ORM's rules: orders of
        archived contacts (child_of), fully done orders left out, tags and
        country by name, case owner and queue names."""
        admin_env = self.env(su=True)
        tag = admin_env["res.partner.category"].create({"name": "VIP"})
        archived = admin_env["res.partner"].create(
            {"name": "Były pracownik", "parent_id": self.customer_company.id}
        )
        product = admin_env["product.product"].create({"name": "Usługa", "type": "service"})
        old_order = admin_env["sale.order"].create(
            {
                "partner_id": archived.id,
                "order_line": [Command.create({"product_id": product.id, "price_unit": 10.0})],
            }
        )
        archived.active = False
        admin_env["res.partner"].browse(self.customer_company.id).category_id = tag
        pop = self.env["res.partner"].browse(self.customer_contact.id).omnichannel_screen_pop()
        self.assertIn(old_order.id, [o["id"] for o in pop["sale_orders"]])
        order = next(o for o in pop["sale_orders"] if o["id"] == old_order.id)
        self.assertEqual(order["state_label"], "Quotation")
        self.assertEqual(order["currency"], old_order.currency_id.name)
        self.assertEqual(pop["commercial_partner"]["category_names"], ["VIP"])
        self.assertEqual(pop["partner"]["category_names"], [])
        self.assertEqual(pop["partner"]["country"], self.poland.name)
        self.assertEqual(pop["partner"]["name"], self.customer_contact.display_name)
        case = pop["cases"][0]
        self.assertEqual(case["owner_name"], self.agent_claims.name)
        self.assertEqual(case["queue"], self.queue_claims.name)
        self.assertEqual(case["subject"], "Szkoda")
        history = pop["interactions"][0]
        self.assertEqual(history["channel_type"], "phone")
        self.assertIsInstance(history["date"], str)
        self.assertEqual(pop["currency"]["name"], self.env.company.currency_id.name)

    @users("occ_agent_sales")
    def test_screen_pop_with_cold_caches(self):
        # reading labels or rules on a cache miss runs queries: every block
        # must have fetched its rows before
        # every cache, the selection labels' included (they live in another one)
        self.env.registry.clear_all_caches()
        pop = self.env["res.partner"].browse(self.customer_contact.id).omnichannel_screen_pop()
        self.assertEqual([o["id"] for o in pop["sale_orders"]], [self.quotation.id])
        self.assertEqual(len(pop["invoices"]), 2)
        self.assertEqual(len(pop["cases"]), 1)
        self.assertEqual(pop["cases"][0]["state_label"], "In progress")
        self.assertTrue(pop["interactions"])
        self.assertEqual(pop["interactions"][0]["channel_label"], "Phone")
