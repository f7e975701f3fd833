"""An agent's turnover (accept the offered call, close it) costs a fixed
number of queries: the agent's console and the benchmark's turnover
(tests/bench/bench_route.py) call these two actions for every contact."""

from odoo.tests import tagged

from .common import OmnichannelCommon

# As the agent, warm registry, cold record cache (a new request), the tracking
# message made as at commit. The accept: the pending offers found, the agent
# locked (their record and state read with the lock), the offer and the call
# claimed (conditional UPDATEs) and written, the call's other offers; the
# chatter's tracking message (author, company, alias domain, message,
# tracking value) and the console's bus notification. The agent, busy since
# the offer, is neither looked up nor refreshed again (three queries less).
# The close: the call read and its record rule checked, the agent locked
# (their record with the lock), the call written, the agent's load, state
# and state periods, the ACD pass for the agent (the queues they are logged
# in to in one query, no longer their membership records), the tracking
# message and the console (two queries less).
# assertQueryCount is an upper bound: run alone these count 16 and 20;
# after the rest of the suite the agent's user record may be read once more
# before the console's notification (the worker's caches as earlier tests
# left them), so one more is allowed. Before: 19 and 22 alone.
ACCEPT_QUERIES = 17
CLOSE_QUERIES = 21


@tagged("post_install", "-at_install")
class TestTurnoverQueries(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False))
        cls.agent = cls.env["omnichannel.agent"]._for_user(cls.agent_sales)
        cls.agent._change_state("available")

    def _offered_call(self, external_id):
        # tracked in the chatter, as in production (the common set-up disables it)
        env = self.env(context=dict(self.env.context, tracking_disable=False, mail_notrack=False))
        result = self._inbound(external_id, "+48 509 333 444", env=env)
        self.assertEqual(result["state"], "offered")
        self.assertEqual(result["agent_id"], self.agent_sales.id)
        self.env.cr.precommit.run()  # the routing request's commit
        return env["omnichannel.interaction"].browse(result["interaction_id"])

    def _turnover(self, call, accept_queries=None, close_queries=None):
        as_agent = call.with_user(self.agent_sales)
        self.env.invalidate_all()
        with self._wallboard_pushed_just_now(), self.assertQueryCount(accept_queries or 99):
            as_agent.action_answer()
            self.env.cr.precommit.run()  # the tracking message, as at commit
        self.assertEqual(call.state, "active")
        self.assertEqual(self.agent.state, "busy")
        self.env.invalidate_all()
        with self._wallboard_pushed_just_now(), self.assertQueryCount(close_queries or 99):
            as_agent.action_close()
            self.env.cr.precommit.run()
        self.assertEqual(call.state, "done")
        self.assertEqual(self.agent.state, "available")

    def test_accept_and_close_query_counts(self):
        self._turnover(self._offered_call("turn-warm-up"))  # fills the registry caches
        call = self._offered_call("turn-1")
        self._turnover(call, ACCEPT_QUERIES, CLOSE_QUERIES)
        self.assertEqual(call.offer_ids.mapped("state"), ["accepted"])
        tracked = call.message_ids.sudo().tracking_value_ids.filtered(
            lambda v: v.field_id.name == "state"
        )
        self.assertEqual(sorted(tracked.mapped("new_value_char")), ["Active", "Done"])

    def _busy_with_one_waiting(self):
        """The agent holds a call at full capacity; another call waits."""
        self.agent.capacity_voice = 1
        held = self._offered_call("turn-held")
        held.with_user(self.agent_sales).action_answer()
        waiting = self.env["omnichannel.interaction"].browse(
            self._inbound("turn-waiting", "+48 509 333 444")["interaction_id"]
        )
        self.assertEqual(waiting.state, "queued")
        return held, waiting

    def test_close_offers_what_waits_in_the_agents_queues(self):
        held, waiting = self._busy_with_one_waiting()
        held.with_user(self.agent_sales).action_close()
        self.assertEqual(waiting.state, "offered")
        self.assertEqual(waiting.offer_ids.user_id, self.agent_sales)

    def test_close_offers_nothing_of_a_queue_the_agent_logged_out_of(self):
        held, waiting = self._busy_with_one_waiting()
        self.env["omnichannel.queue.member"].search(
            [("queue_id", "=", self.queue_sales.id), ("user_id", "=", self.agent_sales.id)]
        ).logged_in = False
        held.with_user(self.agent_sales).action_close()
        self.assertEqual(self.agent.state, "available")
        self.assertEqual(waiting.state, "queued")
        self.assertFalse(waiting.offer_ids)
