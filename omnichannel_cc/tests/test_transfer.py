from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import OmnichannelCommon

AGENT = "omnichannel_cc.group_omnichannel_agent"
T0 = datetime(2026, 3, 2, 9, 0, 0)  # a Monday


@tagged("post_install", "-at_install")
class TestTransfer(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_b = new_test_user(cls.env, "occ_transfer_b", groups=AGENT, name="Bartek")
        cls.queue_sales.write(
            {"member_ids": [Command.set((cls.agent_sales | cls.agent_b).ids)], "ring_timeout": 20}
        )
        Agent = cls.env["omnichannel.agent"]
        cls.a_sales = Agent._for_user(cls.agent_sales)
        cls.a_b = Agent._for_user(cls.agent_b)
        cls.a_claims = Agent._for_user(cls.agent_claims)

    def _active_call(self, external_id):
        """A phone call answered by agent_sales, the others still offline."""
        self.a_sales._change_state("available")
        result = self._inbound(external_id, "+48 609 876 543")
        call = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        call.offer_ids.with_user(self.agent_sales).action_accept()
        self.assertEqual(call.state, "active")
        self.assertEqual(call.agent_id, self.agent_sales)
        return call.with_user(self.agent_sales)

    def _snapshot(self, call):
        call.invalidate_recordset()
        return (
            call.state,
            call.agent_id,
            call.queue_id,
            call.hold_since,
            call.hold_duration,
            call.transfer_count,
            call.date_queued,
            len(call.offer_ids),
        )

    def test_hold_resume_accumulates(self):
        with freeze_time(T0):
            call = self._active_call("tr-hold")
            result = call.action_hold()
        self.assertTrue(call.is_on_hold)
        self.assertEqual(call.hold_since, T0)
        self.assertTrue(result["is_on_hold"])
        with freeze_time(T0 + timedelta(seconds=40)):
            result = call.action_resume()
        self.assertFalse(call.is_on_hold)
        self.assertFalse(call.hold_since)
        self.assertEqual(call.hold_duration, 40)
        self.assertEqual(result["hold_duration"], 40)
        with freeze_time(T0 + timedelta(seconds=100)):
            call.action_hold()
            with self.assertRaisesRegex(UserError, "already on hold"):
                call.action_hold()
        with freeze_time(T0 + timedelta(seconds=125)):
            call.action_resume()
            with self.assertRaisesRegex(UserError, "not on hold"):
                call.action_resume()
        self.assertEqual(call.hold_duration, 65)
        # the console shows it
        with freeze_time(T0 + timedelta(seconds=130)):
            call.action_hold()
        with freeze_time(T0 + timedelta(seconds=140)):
            state = self.env["omnichannel.agent"].with_user(self.agent_sales).action_console_state()
            row = next(i for i in state["interactions"] if i["id"] == call.id)
            self.assertTrue(row["is_on_hold"])
            self.assertEqual(row["hold_seconds"], 10)
            # ending the call ends the hold
            call.action_end()
        self.assertFalse(call.is_on_hold)
        self.assertEqual(call.hold_duration, 75)

    def test_transfer_to_queue(self):
        self.a_claims._change_state("available")
        with freeze_time(T0):
            call = self._active_call("tr-queue")
        with freeze_time(T0 + timedelta(minutes=3)):
            targets = call.transfer_targets()
            self.assertIn(self.queue_claims.id, [q["id"] for q in targets["queues"]])
            self.assertNotIn(self.queue_sales.id, [q["id"] for q in targets["queues"]])
            self.assertIn(self.agent_claims.id, [a["id"] for a in targets["agents"]])
            self.assertNotIn(self.agent_sales.id, [a["id"] for a in targets["agents"]])
            result = call.action_transfer_queue(self.queue_claims.id)
        call = call.sudo()  # no longer the agent's: they may not read it
        call.invalidate_recordset()
        self.assertEqual(result["queue_id"], self.queue_claims.id)
        self.assertEqual(call.queue_id, self.queue_claims)
        self.assertEqual(call.transfer_count, 1)
        # a new wait in the target queue, offered at once to its agent
        self.assertEqual(call.date_queued, T0 + timedelta(minutes=3))
        self.assertEqual(call.state, "offered")
        offer = call.offer_ids.filtered(lambda o: o.state == "pending")
        self.assertEqual(offer.user_id, self.agent_claims)
        self.assertEqual(offer.queue_id, self.queue_claims)
        # the first agent is free again
        self.a_sales.invalidate_recordset()
        self.assertEqual(self.a_sales.state, "available")
        self.assertIn("Transferred from Sales to queue Claims", call.message_ids.mapped("body")[0])
        with freeze_time(T0 + timedelta(minutes=3, seconds=5)):
            offer.with_user(self.agent_claims).action_accept()
        self.assertEqual(call.agent_id, self.agent_claims)
        self.assertEqual(call.wait_duration, 5)
        self.assertEqual(call.offer_ids.sorted("id").mapped("state"), ["transferred", "accepted"])

    def test_transfer_to_queue_not_back_to_the_agent(self):
        """Nobody else free in the target queue: it waits there."""
        self.queue_claims.member_ids = [Command.link(self.agent_sales.id)]
        call = self._active_call("tr-queue-wait")
        call.action_transfer_queue(self.queue_claims.id)
        call = call.sudo()
        self.assertEqual(call.state, "queued")
        self.assertFalse(call.agent_id)
        self.assertFalse(call.offer_ids.filtered(lambda o: o.state == "pending"))

    def test_transfer_to_agent(self):
        call = self._active_call("tr-agent")
        self.a_b._change_state("available")
        self.assertIn(self.agent_b.id, [a["id"] for a in call.transfer_targets()["agents"]])
        call.action_transfer_agent(self.agent_b.id)
        call = call.sudo()
        call.invalidate_recordset()
        self.assertEqual(call.state, "offered")
        self.assertEqual(call.transfer_count, 1)
        self.assertEqual(call.queue_id, self.queue_sales)
        offer = call.offer_ids.filtered(lambda o: o.state == "pending")
        self.assertEqual(offer.user_id, self.agent_b)
        self.a_sales.invalidate_recordset()
        self.assertEqual(self.a_sales.state, "available")
        self.assertIn("Transferred from Anna Sales to Bartek", call.message_ids.mapped("body")[0])
        offer.with_user(self.agent_b).action_accept()
        self.assertEqual(call.agent_id, self.agent_b)
        self.assertEqual(call.state, "active")

    def test_supervisor_may_transfer(self):
        call = self._active_call("tr-supervisor")
        self.a_claims._change_state("available")
        call.with_user(self.supervisor_sales).action_transfer_queue(self.queue_claims.id)
        self.assertEqual(call.sudo().queue_id, self.queue_claims)

    def test_refusals_change_nothing(self):
        call = self._active_call("tr-refuse")
        before = self._snapshot(call)
        # not your interaction
        for user in (self.agent_b, self.agent_claims, self.plain_user):
            for method, args in (
                ("action_hold", ()),
                ("action_resume", ()),
                ("action_transfer_queue", (self.queue_claims.id,)),
                ("action_transfer_agent", (self.agent_b.id,)),
                ("transfer_targets", ()),
            ):
                with (
                    self.subTest(user=user.login, method=method),
                    self.assertRaises(AccessError),
                ):
                    getattr(call.with_user(user), method)(*args)
        self.assertEqual(self._snapshot(call), before)
        # target agent busy (offline) or without a free place
        with self.assertRaisesRegex(UserError, "cannot take"):
            call.action_transfer_agent(self.agent_b.id)
        self.a_b._change_state("available")
        self.a_b.capacity_voice = 0
        with self.assertRaisesRegex(UserError, "cannot take"):
            call.action_transfer_agent(self.agent_b.id)
        with self.assertRaises(UserError):
            call.action_transfer_agent(self.plain_user.id)
        with self.assertRaises(UserError):
            call.action_transfer_queue(self.queue_sales.id)
        self.assertEqual(self._snapshot(call), before)
        self.a_sales.invalidate_recordset()
        self.assertEqual(self.a_sales.state, "busy")
        # not active any more
        call.action_end()
        before = self._snapshot(call)
        self.a_b.capacity_voice = 1
        for method, args in (
            ("action_hold", ()),
            ("action_resume", ()),
            ("action_transfer_queue", (self.queue_claims.id,)),
            ("action_transfer_agent", (self.agent_b.id,)),
        ):
            with (
                self.subTest(method=method),
                self.assertRaisesRegex(UserError, "only an active interaction"),
            ):
                getattr(call, method)(*args)
        self.assertEqual(self._snapshot(call), before)
