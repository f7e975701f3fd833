"""``/route`` answered first, the call written after (a channel's
"Answer routing first"): the answer's agent is reserved until the event
inbox writes the call and its offer, the call's own events are applied after
it, and whatever the fast answer cannot decide takes the answer after
writing."""

import time
from unittest.mock import patch

from odoo import SUPERUSER_ID, fields
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon

from .common import store_event

# /route of a known caller answered first, with a warm registry and a cold
# record cache: the caller identified, the routing rules (kept in the
# registry's cache; none here: no customer facts), the queue, then one
# statement for the call and an earlier answer looked up, the queue's
# waiting calls, its agents (with their capacities) and their loads
# (reservations included); the agent locked and stamped for the round robin,
# returning their extension, in one statement with its savepoint (their
# free slots as read with the loads, not read again), then the inbox row with
# its reservation and the applier's wake-up in one statement. 29 when the
# call is written first (test_route_queries.ROUTE_QUERIES).
FAST_ROUTE_QUERIES = 5


@tagged("post_install", "-at_install")
class TestFastRoute(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False))
        cls.agent_sales.omnichannel_extension = "1001"
        cls.agent_claims.omnichannel_extension = "1002"
        cls.queue_sales.ring_timeout = 30
        cls.channel_phone.voip_fast_route = True
        cls.Agent = cls.env["omnichannel.agent"]
        cls.sales = cls.Agent._for_user(cls.agent_sales)
        cls.sales.capacity_voice = 1
        cls.sales._change_state("available")
        # as the webhook controller: superuser in the channel's company
        env = cls.env(user=SUPERUSER_ID, su=True, context={})
        cls.channel = cls.channel_phone.with_env(env).with_company(cls.company)
        cls.Interaction = cls.channel.env["omnichannel.interaction"]
        cls.Inbox = env["omnichannel.event.inbox"]

    def _route(self, call_id, sender="509 333 444"):
        return self.Interaction._voip_route(
            self.channel,
            {
                "call_id": call_id,
                "from": sender,
                "to": "+48225550101",
                "timestamp": int(time.time()),
            },
        )

    def _event(self, call_id, event, agent=None, at=None):
        """Store one CTI event as ``/event`` does."""
        payload = {
            "event": event,
            "call_id": call_id,
            "from": "509 333 444",
            "to": "+48225550101",
            "timestamp": at or int(time.time()),
        }
        if agent:
            payload["agent"] = agent
        store_event(self.Inbox, self.channel, payload)

    def _call(self, call_id):
        return self.Interaction.search([("external_id", "=", call_id)])

    def _load(self, user):
        return sum(self.Agent._loads_of_users(user.ids).get(user.id, {}).values())

    def test_answer_first_then_written(self):
        answer = self._route("fast-1")
        self.assertIsNone(answer["interaction_id"])
        self.assertEqual(answer["agent"], "1001")
        self.assertEqual(answer["agent_id"], self.agent_sales.id)
        self.assertEqual(answer["state"], "offered")
        self.assertEqual(answer["queue_id"], self.queue_sales.id)
        self.assertEqual(answer["partner_id"], self.customer_plain.id)
        self.assertFalse(self._call("fast-1"), "nothing is written before the answer")
        row = self.Inbox.browse(answer["inbox_id"])
        self.assertEqual(row.kind, "_voip_route_apply")
        self.assertEqual(row.state, "pending")
        self.assertEqual(row.conversation, "fast-1")
        self.assertEqual(row.reserved_user_id, self.agent_sales)
        self.assertEqual(self._load(self.agent_sales), 1, "the reservation is a load")

        self.assertEqual(self.Inbox._apply_batch(), (1, 1))
        call = self._call("fast-1")
        self.assertEqual(call.partner_id, self.customer_plain)
        self.assertEqual(call.queue_id, self.queue_sales)
        self.assertEqual(call.state, "offered")
        self.assertEqual(call.agent_id, self.agent_sales)
        offer = call.offer_ids
        self.assertEqual((offer.user_id, offer.state), (self.agent_sales, "pending"))
        self.assertTrue(offer.date_expire, "the queue's ring timeout holds")
        self.assertEqual(row.state, "done")
        self.assertEqual(row.result["interaction_id"], call.id)
        # the offer replaced the reservation: still one call held, not two
        self.assertEqual(self._load(self.agent_sales), 1)
        self.assertEqual(self.sales.state, "busy")
        # asked again once written: the answer after writing, with its id
        again = self._route("fast-1")
        self.assertEqual(again["interaction_id"], call.id)
        self.assertEqual(again["agent_id"], self.agent_sales.id)

    def test_reservation_holds_the_agents_capacity(self):
        first = self._route("fast-a")
        self.assertEqual(first["agent_id"], self.agent_sales.id)
        # the first call not written yet: nobody waits, and the only agent
        # is full with the reservation, so the second is not sent to her
        second = self._route("fast-b", "+48 601 000 111")
        self.assertFalse(second["agent_id"])
        self.assertEqual(second["state"], "queued")
        # another agent of the queue logged in: she gets the next one
        self.queue_sales.member_ids = [fields.Command.link(self.agent_claims.id)]
        self.Agent._for_user(self.agent_claims)._change_state("available")
        third = self._route("fast-c", "+48 601 000 222")
        self.assertEqual(third["agent_id"], self.agent_claims.id)
        self.Inbox._apply_batch()
        calls = {
            c.external_id: c for c in self.Interaction.search([("external_id", "like", "fast-")])
        }
        self.assertEqual(calls["fast-a"].agent_id, self.agent_sales)
        self.assertEqual(calls["fast-b"].state, "queued")
        self.assertFalse(calls["fast-b"].offer_ids)
        self.assertEqual(calls["fast-c"].agent_id, self.agent_claims)
        self.assertEqual(self._load(self.agent_sales), 1)
        self.assertEqual(self._load(self.agent_claims), 1)

    def test_agent_changed_since_the_snapshot_is_skipped(self):
        """An agent whose row another transaction changed after this one's
        snapshot (an offer, a reservation, a state change on another node)
        cannot be locked (REPEATABLE READ: a serialization failure): the
        next agent is reserved, in the same transaction, and a sweep is
        asked for. Here the failure is raised by the lock's own statement."""
        claims = self.Agent._for_user(self.agent_claims)
        claims._change_state("available")
        self.queue_sales.member_ids = [fields.Command.link(self.agent_claims.id)]
        claims.last_end_date = fields.Datetime.subtract(fields.Datetime.now(), hours=2)
        self.sales.last_end_date = fields.Datetime.subtract(fields.Datetime.now(), hours=1)
        self.env.cr.execute(
            """CREATE FUNCTION pg_temp.changed_since_snapshot() RETURNS int AS $$
               BEGIN RAISE EXCEPTION 'changed' USING ERRCODE = 'serialization_failure'; END
               $$ LANGUAGE plpgsql"""
        )
        Queue = type(self.env["omnichannel.queue"])
        lock_agent_sql = Queue._lock_agent_sql
        locked = []

        def changed_for_claims(queue, user_id):
            locked.append(user_id)
            if user_id == self.agent_claims.id:
                return SQL("SELECT pg_temp.changed_since_snapshot()")
            return lock_agent_sql(queue, user_id)

        sweep = self.env.ref("omnichannel_cc.ir_cron_acd_sweep")
        with patch.object(Queue, "_lock_agent_sql", changed_for_claims):
            answer = self._route("fast-conflict")
        # longest idle first: Claims, whose lock failed, then Sales
        self.assertEqual(locked, [self.agent_claims.id, self.agent_sales.id])
        self.assertEqual(answer["agent_id"], self.agent_sales.id)
        row = self.Inbox.browse(answer["inbox_id"])
        self.assertEqual(row.reserved_user_id, self.agent_sales)
        self.assertTrue(
            self.env["ir.cron.trigger"].search([("cron_id", "=", sweep.id)]),
            "a sweep is asked for: the changed agent may be free",
        )
        self.assertEqual(self.Inbox._apply_batch(), (1, 1))
        self.assertEqual(self._call("fast-conflict").agent_id, self.agent_sales)

    def test_repeated_question_gets_the_same_answer(self):
        answer = self._route("fast-r")
        again = self._route("fast-r")
        self.assertEqual(again, answer)
        rows = self.Inbox.search([("conversation", "=", "fast-r")])
        self.assertEqual(len(rows), 1)
        self.assertEqual(self._load(self.agent_sales), 1, "reserved once")
        self.assertEqual(self.Inbox._apply_batch(), (1, 1))
        self.assertEqual(len(self._call("fast-r")), 1)

    def test_call_events_apply_after_it(self):
        start = int(time.time())
        answer = self._route("fast-e")
        # the PBX's events arrive before the applier ran: stored behind the route
        self._event("fast-e", "ringing", agent="1001", at=start)
        self._event("fast-e", "answered", agent="1001", at=start + 3)
        self.assertEqual(self.Inbox._apply_batch(), (3, 3))
        call = self._call("fast-e")
        self.assertEqual(call.state, "active")
        self.assertEqual(call.agent_id, self.agent_sales)
        self.assertEqual(call.offer_ids.state, "accepted")
        self.assertEqual(call.id, self.Inbox.browse(answer["inbox_id"]).result["interaction_id"])
        self._event("fast-e", "hangup", at=start + 40)
        self.Inbox._apply_batch()
        self.assertEqual(call.state, "wrapup")
        self.assertEqual(call.talk_duration, 37)

    def test_rules_decide_before_writing(self):
        """A debtor goes to collections (claims), a caller with an open case
        to its owner: decided when answering, written as decided."""
        self._create_invoice(self.customer_contact, 500, 12)
        self.env["omnichannel.routing.rule"].create(
            {
                "name": "Debtors to claims",
                "sequence": 1,
                "min_overdue_amount": 0.01,
                "queue_id": self.queue_claims.id,
                "priority": 5,
                "stop": True,
            }
        )
        self.env["omnichannel.routing.rule"].create(
            {
                "name": "Open case to its owner",
                "sequence": 2,
                "require_open_case": True,
                "prefer": "case_owner",
                "preferred_timeout": 60,
            }
        )
        self.env["omnichannel.agent"]._for_user(self.agent_claims)._change_state("available")
        debtor = self._route("fast-debtor", "(60) 987 65 43")
        self.assertEqual(debtor["queue_id"], self.queue_claims.id)
        self.assertEqual(debtor["agent_id"], self.agent_claims.id)
        self.assertEqual(debtor["priority"], 5)
        # the owner of the open case is busy (the debtor's reservation): the
        # call waits for her, on the sales line's queue
        owner_customer = self.env["res.partner"].create(
            {"name": "Wiesława Sprawa", "mobile": "+48 601 700 800"}
        )
        self.env["omnichannel.case"].create(
            {
                "subject": "Damaged parcel",
                "partner_id": owner_customer.id,
                "user_id": self.agent_claims.id,
            }
        )
        waiting = self._route("fast-case", "0048 601 700 800")
        self.assertEqual(waiting["state"], "queued")
        self.assertFalse(waiting["agent_id"])
        self.Inbox._apply_batch()
        call = self._call("fast-debtor")
        self.assertEqual(
            (call.queue_id, call.agent_id, call.priority), (self.queue_claims, self.agent_claims, 5)
        )
        self.assertTrue(call.routing_rule_ids)
        case_call = self._call("fast-case")
        self.assertEqual(case_call.state, "queued")
        self.assertEqual(case_call.preferred_agent_id, self.agent_claims)
        self.assertTrue(case_call.case_id)
        # a call waiting for its case owner is not ahead of the next caller's
        after = self._route("fast-after")
        self.assertIsNone(after["interaction_id"])
        self.assertEqual(after["agent_id"], self.agent_sales.id)

    def test_reserved_agent_gone_before_writing(self):
        """The reserved agent logs out before the applier runs: the call is
        written all the same and waits for the queue's next free agent."""
        self._route("fast-gone")
        self.sales._change_state("offline")
        self.Inbox._apply_batch()
        call = self._call("fast-gone")
        self.assertEqual(call.state, "queued")
        self.assertFalse(call.offer_ids)
        self.sales._change_state("available")
        self.queue_sales._dispatch()
        self.assertEqual(call.state, "offered")

    def test_what_waits_for_writing(self):
        """Calls waiting ahead, a closed queue, ring-all: the answer after writing."""
        self.sales.capacity_voice = 0
        first = self._route("slow-1")  # nobody free, nobody waits: answered first
        self.assertIsNone(first["interaction_id"])
        self.Inbox._apply_batch()
        self.assertEqual(self._call("slow-1").state, "queued")
        behind = self._route("slow-2", "+48 601 000 333")  # a call waits: written first
        self.assertEqual(behind["interaction_id"], self._call("slow-2").id)
        self.assertEqual(behind["state"], "queued")
        self.assertFalse(self.Inbox.search([("conversation", "=", "slow-2")]))
        self.sales.capacity_voice = 1
        self._call("slow-1").unlink()
        self._call("slow-2").unlink()
        self.queue_sales.strategy = "ring_all"
        ring_all = self._route("slow-3")
        self.assertEqual(ring_all["interaction_id"], self._call("slow-3").id)

    def test_query_count(self):
        self._route("warm-up", "+48 601 000 444")
        self.sales.capacity_voice = 5
        self.env.invalidate_all()
        self.channel.voip_secret  # noqa: B018 (the signature check reads it)
        with self._wallboard_pushed_just_now(), self.assertQueryCount(FAST_ROUTE_QUERIES):
            answer = self._route("fast-q")
        self.assertEqual(answer["agent_id"], self.agent_sales.id)
