from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import tagged, users

from .common import OmnichannelCommon


class ScreenPopCommon(OmnichannelCommon):
    """A customer (company and contact) with invoices, orders, a case and a
    contact of the Sales queue, and a case and a contact of the Claims queue
    that Sales agents may not read."""

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
        Case = cls.env["omnichannel.case"]
        # a Sales case owned by a Claims agent: Sales agents read it
        cls.case = Case.create(
            {
                "subject": "Szkoda",
                "partner_id": cls.customer_contact.id,
                "user_id": cls.agent_claims.id,
                "queue_id": cls.queue_sales.id,
                "state": "open",
            }
        )
        # Claims only: Sales agents may not read it
        cls.case_claims = Case.create(
            {
                "subject": "Reklamacja poufna",
                "partner_id": cls.customer_contact.id,
                "user_id": cls.agent_claims.id,
                "queue_id": cls.queue_claims.id,
                "state": "open",
                "priority": "1",
            }
        )
        Case.create({"subject": "Old", "partner_id": cls.customer_company.id, "state": "solved"})
        cls.interaction = cls._inbound("pop-1", "+48 609 876 543")
        # a later e-mail of the same customer, waiting in Claims
        cls.interaction_claims = cls._inbound(
            "pop-claims", "jan.testowy@tartak-test.example", channel=cls.channel_email
        )


@tagged("post_install", "-at_install")
class TestScreenPop(ScreenPopCommon):
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
        # the panel formats it with the currency's symbol ("zł" for PLN)
        self.assertEqual(overdue["currency_id"], self.invoice_overdue.currency_id.id)
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
        self.assertEqual(order["currency_id"], old_order.currency_id.id)
        self.assertEqual(pop["commercial_partner"]["category_names"], ["VIP"])
        self.assertEqual(pop["partner"]["category_names"], [])
        self.assertEqual(pop["partner"]["country"], self.poland.name)
        self.assertEqual(pop["partner"]["name"], self.customer_contact.display_name)
        case = pop["cases"][0]
        self.assertEqual(case["owner_name"], self.agent_claims.name)
        self.assertEqual(case["queue"], self.queue_sales.name)
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


# ---- issue 13, M1: the screen-pop keeps the record rules ----
@tagged("post_install", "-at_install")
class TestSecurityReviewM1ScreenPop(ScreenPopCommon):
    def _pop(self, partner):
        return self.env["res.partner"].browse(partner.id).omnichannel_screen_pop()

    @users("occ_agent_sales")
    def test_m1_cases_and_history_of_another_queue_hidden(self):
        Case = self.env["omnichannel.case"]
        Interaction = self.env["omnichannel.interaction"]
        claims_interaction = Interaction.browse(self.interaction_claims["interaction_id"])
        # what read refuses ...
        with self.assertRaises(AccessError):
            Case.browse(self.case_claims.id).read(["subject"])
        with self.assertRaises(AccessError):
            claims_interaction.read(["subject"])
        # ... the panel does not show
        pop = self._pop(self.customer_contact)
        self.assertEqual([case["id"] for case in pop["cases"]], [self.case.id])
        self.assertEqual(
            [row["id"] for row in pop["interactions"]], [self.interaction["interaction_id"]]
        )
        self.assertNotIn("Reklamacja poufna", str(pop))
        # the company's panel is the same customer's
        pop = self._pop(self.customer_company)
        self.assertEqual([case["id"] for case in pop["cases"]], [self.case.id])
        self.assertNotIn(claims_interaction.id, [row["id"] for row in pop["interactions"]])

    @users("occ_agent_sales")
    def test_m1_unrelated_partner_refused(self):
        # an invoiced partner who never contacted the contact center
        with self.assertRaisesRegex(AccessError, "Zofia Bez Długów is not one of them"):
            self._pop(self.customer_plain)
        # a customer of the Claims queue only
        claims_customer = self.env(su=True)["res.partner"].create(
            {"name": "Klient Reklamacji", "email": "reklamacje@klient.example"}
        )
        self._inbound("pop-claims-only", "reklamacje@klient.example", channel=self.channel_email)
        with self.assertRaises(AccessError):
            self._pop(claims_customer)
        # ... whose panel the Claims agent opens
        pop = claims_customer.with_user(self.agent_claims).omnichannel_screen_pop()
        self.assertEqual(pop["partner"]["id"], claims_customer.id)

    @users("occ_agent_sales")
    def test_m1_own_customer_works(self):
        pop = self._pop(self.customer_contact)
        self.assertEqual(len(pop["invoices"]), 2)
        self.assertEqual([o["id"] for o in pop["sale_orders"]], [self.quotation.id])
        # a customer whose contact of another queue rings for this agent,
        # while the offer rings
        claims_line = self.env(su=True)["omnichannel.channel"].create(
            {
                "name": "Claims line",
                "channel_type": "phone",
                "address": "+48 22 555 01 02",
                "queue_id": self.queue_claims.id,
            }
        )
        offered = self._inbound("pop-offered", "+48 509 333 444", channel=claims_line)
        self.assertEqual(offered["partner_id"], self.customer_plain.id)
        with self.assertRaises(AccessError):
            self._pop(self.customer_plain)
        offer = self.env(su=True)["omnichannel.offer"].create(
            {
                "interaction_id": offered["interaction_id"],
                "user_id": self.agent_sales.id,
                "queue_id": self.queue_claims.id,
            }
        )
        pop = self._pop(self.customer_plain)
        self.assertEqual([inv["id"] for inv in pop["invoices"]], [self.invoice_other.id])
        offer._set_state("cancelled")
        with self.assertRaises(AccessError):
            self._pop(self.customer_plain)

    @users("occ_manager")
    def test_m1_manager_sees_all(self):
        pop = self._pop(self.customer_contact)
        self.assertEqual([case["id"] for case in pop["cases"]], [self.case_claims.id, self.case.id])
        self.assertEqual(
            [row["id"] for row in pop["interactions"]],
            [self.interaction_claims["interaction_id"], self.interaction["interaction_id"]],
        )
        pop = self._pop(self.customer_plain)
        self.assertEqual([inv["id"] for inv in pop["invoices"]], [self.invoice_other.id])


# ---- issue 14: open credits, and one rule for the history everywhere ----
@tagged("post_install", "-at_install")
class TestScreenPopBalanceAndHistory(ScreenPopCommon):
    def _credit_note(self, invoice):
        """A credit note of the whole invoice, posted and NOT matched to it
        (as Odoo's demo leaves Deco Addict's): an open credit of the customer."""
        refund = self._create_invoice(
            invoice.partner_id, invoice.amount_total, due_days_ago=0, post=False
        )
        refund.move_type = "out_refund"
        refund.action_post()
        return refund

    def test_open_credits_cover_the_overdue_invoice(self):
        """Deco Addict in Odoo's demo: three unpaid invoices, one overdue, each
        with an unmatched credit note of the same amount, due today. The
        customer owes nothing: total due 0 is right, an overdue of the overdue
        invoice alone was wrong (and sent the customer to collections)."""
        debtor = self.env["res.partner"].create({"name": "Deco Test", "is_company": True})
        overdue = self._create_invoice(debtor, 36512.5, due_days_ago=15)
        not_due = self._create_invoice(debtor, 48012.5, due_days_ago=0)
        for invoice in overdue | not_due:
            self._credit_note(invoice)
        pop = debtor.omnichannel_screen_pop()
        self.assertEqual(pop["total_due"], 0.0)
        self.assertEqual(pop["overdue_amount"], 0.0)
        self.assertFalse(pop["has_overdue"])
        self.assertAlmostEqual(pop["open_credit"], 36512.5 + 48012.5)
        # the invoices still show, as unpaid, beside the credit that covers them
        self.assertEqual(len(pop["invoices"]), 2)
        # and the routing fact says the same: no collections
        Partner = self.env["res.partner"]
        overdue_fact, total = Partner._omnichannel_pop_balance(
            debtor, self.env.company, fields.Date.context_today(Partner)
        )
        self.assertEqual((overdue_fact, total), (0.0, 0.0))

    def test_partial_credit_reduces_the_overdue(self):
        debtor = self.env["res.partner"].create({"name": "Partial Credit", "is_company": True})
        self._create_invoice(debtor, 1000.0, due_days_ago=30)
        self._create_invoice(debtor, 500.0, due_days_ago=-20)
        credit = self._create_invoice(debtor, 300.0, due_days_ago=0, post=False)
        credit.move_type = "out_refund"
        credit.action_post()
        pop = debtor.omnichannel_screen_pop()
        self.assertAlmostEqual(pop["total_due"], 1200.0)
        self.assertAlmostEqual(pop["overdue_amount"], 700.0)
        self.assertAlmostEqual(pop["open_credit"], 300.0)

    def _history_everywhere(self, user, partner):
        """(screen-pop history ids, partner form count, Contact history tab ids) as ``user``."""
        partner = partner.with_user(user)
        pop_ids = [row["id"] for row in partner.omnichannel_screen_pop()["interactions"]]
        partner.invalidate_recordset()
        return pop_ids, partner.omnichannel_interaction_count, partner.omnichannel_history_ids.ids

    def test_history_same_rule_in_screen_pop_and_partner_form(self):
        """What an agent sees of a customer's history is decided by the
        interaction record rules, in the screen-pop as on the partner form
        (count and Contact history tab): the same ids in both places, as the
        interaction moves from offered to closed, and none of another queue."""
        Interaction = self.env["omnichannel.interaction"]
        Agent = self.env["omnichannel.agent"]
        # the call of the common set-up waits in Sales first: out of the way
        Interaction.browse(self.interaction["interaction_id"]).action_abandon()
        Agent._for_user(self.agent_sales).with_user(self.agent_sales).action_my_state("available")
        customer = self.customer_plain
        customer.email = "zofia@bez-dlugow.example"
        call = Interaction.browse(self._inbound("pop-hist", "+48 509 333 444")["interaction_id"])
        claims_mail = Interaction.browse(
            self._inbound("pop-hist-mail", customer.email, channel=self.channel_email)[
                "interaction_id"
            ]
        )
        self.assertEqual((call.partner_id, claims_mail.partner_id), (customer, customer))
        for step in ("offered", "active", "done"):
            if step == "active":
                call.offer_ids.filtered(lambda o: o.state == "pending").with_user(
                    self.agent_sales
                ).action_accept()
            elif step == "done":
                call.with_user(self.agent_sales).action_end()
                call.with_user(self.agent_sales).action_close()
            self.assertEqual(call.state, step)
            pop_ids, count, tab_ids = self._history_everywhere(self.agent_sales, customer)
            self.assertIn(call.id, pop_ids)
            self.assertNotIn(claims_mail.id, pop_ids)
            self.assertEqual(sorted(pop_ids), sorted(tab_ids), step)
            self.assertEqual(count, len(tab_ids), step)
        # a manager sees every interaction of the customer, in both places too
        pop_ids, count, tab_ids = self._history_everywhere(self.manager, customer)
        self.assertIn(claims_mail.id, pop_ids)
        self.assertEqual(sorted(pop_ids), sorted(tab_ids))
        self.assertEqual(count, len(tab_ids))
