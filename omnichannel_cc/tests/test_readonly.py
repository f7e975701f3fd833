"""Read replica (issue 20): the read-heavy entry points run read-only.

Odoo 18 serves ``@api.readonly`` methods called through
``/web/dataset/call_kw`` from a read-only cursor, on the replica when the
server has ``--db_replica_host``. A write there fails on the replica
(``ReadOnlySqlTransaction``) and Odoo runs the whole request again on the
primary: it still works, at twice the price. These tests call each
read-only entry point inside a ``SET TRANSACTION READ ONLY`` transaction, so
any write added to one of them fails here; and they check that the
offer / ACD paths are never read-only (an offer never depends on replica
data).
"""

from contextlib import contextmanager
from unittest.mock import patch

from psycopg2 import errors as pg_errors

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged, users
from odoo.tools import mute_logger

from ..models.omnichannel_queue import OmnichannelQueue
from .common import OmnichannelCommon

# (model, method) the web client calls that may run on a replica
READONLY_ENTRY_POINTS = [
    ("omnichannel.queue", "wallboard_data"),
    ("omnichannel.queue", "wallboard_chart_data"),
    ("res.partner", "omnichannel_identify"),
    ("res.partner", "omnichannel_screen_pop"),
    ("omnichannel.interaction.report", "staffing_suggestion"),
]
# what must read the primary: offers, the ACD, presence, anything that writes
PRIMARY_ENTRY_POINTS = [
    ("omnichannel.offer", "action_accept"),
    ("omnichannel.offer", "action_reject"),
    ("omnichannel.interaction", "api_inbound"),
    ("omnichannel.interaction", "action_queue"),
    ("omnichannel.interaction", "action_supervisor_assign"),
    ("omnichannel.interaction", "action_supervisor_pick"),
    ("omnichannel.agent", "action_console_state"),
    ("omnichannel.agent", "action_my_state"),
    ("omnichannel.queue", "_dispatch"),
]


def is_readonly(env, model, method):
    """What ``/web/dataset/call_kw`` decides (web/controllers/dataset.py
    ``_call_kw_readonly``): the first class of the MRO defining the method
    and flagged ``_readonly``."""
    for cls in type(env[model]).mro():
        function = getattr(cls, method, None)
        if function is not None and hasattr(function, "_readonly"):
            return function._readonly
    return False


@tagged("post_install", "-at_install")
class TestReadOnly(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._create_invoice(cls.customer_company, 1230.0, due_days_ago=10)
        cls.agent = cls.env["omnichannel.agent"]._for_user(cls.agent_sales)
        cls.agent._change_state("available")
        result = cls._inbound("ro-1", "+48 609 876 543")
        cls.interaction = cls.env["omnichannel.interaction"].browse(result["interaction_id"])

    @contextmanager
    def read_only(self):
        """Run the block in a read-only transaction, as on a replica; undone after."""
        cr = self.env.cr
        self.env.flush_all()
        cr.execute("SAVEPOINT omnichannel_read_only")
        cr.execute("SET TRANSACTION READ ONLY")
        try:
            yield
            # writes left in the ORM's cache would reach the database here
            self.env.flush_all()
        finally:
            cr.execute("ROLLBACK TO SAVEPOINT omnichannel_read_only")
            self.env.invalidate_all()

    def test_entry_points_flagged(self):
        for model, method in READONLY_ENTRY_POINTS:
            with self.subTest(model=model, method=method):
                self.assertTrue(is_readonly(self.env, model, method))
        for model, method in PRIMARY_ENTRY_POINTS:
            with self.subTest(model=model, method=method):
                self.assertTrue(hasattr(self.env[model], method))
                self.assertFalse(is_readonly(self.env, model, method))

    @mute_logger("odoo.sql_db")
    def test_read_only_transaction_refuses_writes(self):
        """The harness itself: a write in the block fails."""
        with self.assertRaises(pg_errors.ReadOnlySqlTransaction), self.read_only():
            self.customer_plain.write({"comment": "written"})

    @users("occ_supervisor_sales")
    def test_wallboard_read_only(self):
        Queue = self.env["omnichannel.queue"]
        with self.read_only():
            board = Queue.wallboard_data()
            charts = Queue.wallboard_chart_data()
        tile = next(q for q in board["queues"] if q["id"] == self.queue_sales.id)
        self.assertEqual(tile["waiting"], 1)  # ringing for the agent
        self.assertIn(self.queue_sales.id, charts["queue_ids"])
        # on the primary the figures are of now
        self.assertFalse(board["replica"])
        self.assertEqual(board["as_of"], board["now"])

    @users("occ_agent_sales")
    def test_identify_and_screen_pop_read_only(self):
        Partner = self.env["res.partner"]
        with self.read_only():
            found = Partner.omnichannel_identify("0048 609-876-543")
            pop = Partner.browse(self.customer_contact.id).omnichannel_screen_pop()
            by_mail = Partner.omnichannel_identify("JAN.TESTOWY@tartak-test.example", "email")
        self.assertEqual(found[0]["id"], self.customer_contact.id)
        self.assertEqual(by_mail[0]["id"], self.customer_contact.id)
        self.assertEqual(pop["commercial_partner"]["id"], self.customer_company.id)
        self.assertEqual(pop["total_due"], 1230.0)

    @users("occ_manager")
    def test_staffing_suggestion_read_only(self):
        with self.read_only():
            rows = self.env["omnichannel.interaction.report"].staffing_suggestion(
                self.queue_sales.id, "2025-03-03", "2025-03-03"
            )
        self.assertEqual(len(rows), 24)

    @mute_logger("odoo.sql_db")
    def test_offer_paths_write(self):
        """The offer and its acceptance are writes: they fail read-only, so
        Odoo can never run them on a replica."""
        offer = self.interaction.offer_ids.filtered(lambda o: o.state == "pending")
        self.assertEqual(offer.user_id, self.agent_sales)
        with self.assertRaises(pg_errors.ReadOnlySqlTransaction), self.read_only():
            offer.with_user(self.agent_sales).action_accept()
        offer.with_user(self.agent_sales).action_accept()
        self.assertEqual(self.interaction.state, "active")

    def test_screen_pop_of_a_ringing_offer_asks_the_primary(self):
        """An agent opens the panel of a customer whose contact rings for
        them and whose history they may not read: the replica may not have
        replayed the offer yet, so on a read-only cursor the check does not
        refuse but raises the error on which Odoo runs the request again on
        the primary."""
        other = new_test_user(
            self.env, "occ_ro_agent", groups="omnichannel_cc.group_omnichannel_agent"
        )
        self.queue_sales.member_ids = [Command.link(other.id)]
        Partner = self.env["res.partner"].with_user(other)
        customer = Partner.browse(self.customer_plain.id)
        with (
            patch.object(type(self.env.cr), "readonly", True, create=True),
            self.assertRaises(pg_errors.ReadOnlySqlTransaction),
        ):
            customer.omnichannel_screen_pop()
        # a customer created a moment ago, not on the replica yet: the same
        missing = Partner.browse(self.customer_plain.id + 10**6)
        with (
            patch.object(type(self.env.cr), "readonly", True, create=True),
            self.assertRaises(pg_errors.ReadOnlySqlTransaction),
        ):
            missing.omnichannel_screen_pop()
        # on the primary: refused, no offer rings for this agent
        with self.assertRaises(AccessError):
            customer.omnichannel_screen_pop()


@tagged("post_install", "-at_install")
class TestReadOnlyHttp(HttpCase):
    """Through the web client's route: the wallboard is served from a
    read-only cursor (the test cursor does ``SET TRANSACTION READ ONLY``)."""

    def test_wallboard_call_kw_read_only(self):
        supervisor = new_test_user(
            self.env,
            "occ_ro_supervisor",
            groups="omnichannel_cc.group_omnichannel_supervisor",
        )
        self.env["omnichannel.queue"].create(
            {"name": "RO queue", "code": "T_RO", "supervisor_ids": [Command.set(supervisor.ids)]}
        )
        self.authenticate("occ_ro_supervisor", "occ_ro_supervisor")
        seen = []
        original = OmnichannelQueue._wallboard_as_of

        def spy(queue, now):
            seen.append(queue.env.cr.readonly)
            return original(queue, now)

        with (
            patch.object(OmnichannelQueue, "_wallboard_as_of", spy),
            self.assertNoLogs("odoo.http", "WARNING"),
        ):
            board = self.make_jsonrpc_request(
                "/web/dataset/call_kw/omnichannel.queue/wallboard_data",
                {
                    "model": "omnichannel.queue",
                    "method": "wallboard_data",
                    "args": [],
                    "kwargs": {},
                },
            )
        # one try, on a read-only cursor: no write made Odoo retry read/write
        self.assertEqual(seen, [True])
        self.assertEqual([q["name"] for q in board["queues"]], ["RO queue"])
        self.assertFalse(board["replica"])
