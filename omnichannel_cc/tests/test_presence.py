"""Agents without a live session get no offers (issue 14): the ACD offers work
only to agents whose browser is connected (Odoo's bus presence) or whose
console / integration called lately; the sweep sets the others offline."""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.tests import new_test_user, tagged

from .common import OmnichannelCommon

AGENT = "omnichannel_cc.group_omnichannel_agent"


@tagged("post_install", "-at_install")
class TestAgentPresence(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_gone = new_test_user(cls.env, "occ_agent_gone", groups=AGENT, name="Gone Agent")
        cls.queue_sales.write(
            {
                "member_ids": [Command.set((cls.agent_sales | cls.agent_gone).ids)],
                "ring_timeout": 20,
            }
        )
        Agent = cls.env["omnichannel.agent"]
        cls.a_sales = Agent._for_user(cls.agent_sales)
        cls.a_gone = Agent._for_user(cls.agent_gone)
        cls.t0 = datetime(2026, 3, 2, 9, 0, 0)

    def _call(self, external_id):
        result = self._inbound(external_id, "+48 700 100 200")
        return self.env["omnichannel.interaction"].browse(result["interaction_id"])

    def _poll(self, user, when):
        """What Odoo's bus does for a connected browser (bus.presence)."""
        self.env["bus.presence"].search([("user_id", "=", user.id)]).unlink()
        self.env["bus.presence"].create(
            {"user_id": user.id, "last_poll": when, "last_presence": when, "status": "online"}
        )

    def test_agent_without_live_session_gets_no_offer(self):
        with freeze_time(self.t0):
            self.a_gone.with_user(self.agent_gone).action_my_state("available")
        # ten minutes later: no browser, no console call since
        with freeze_time(self.t0 + timedelta(minutes=10)):
            self.a_sales.with_user(self.agent_sales).action_my_state("available")
            for n in range(3):
                interaction = self._call(f"presence-{n}")
                self.assertEqual(interaction.offer_ids.user_id, self.agent_sales)
                interaction.offer_ids.with_user(self.agent_sales).action_reject()
                # rejected: back in the queue, never offered to the absent agent
                self.assertNotIn(self.agent_gone, interaction.offer_ids.user_id)

    def test_nobody_live_nothing_offered(self):
        with freeze_time(self.t0):
            self.a_gone.with_user(self.agent_gone).action_my_state("available")
        with freeze_time(self.t0 + timedelta(minutes=6)):
            interaction = self._call("presence-none")
            self.assertEqual(interaction.state, "queued")
            self.assertFalse(interaction.offer_ids)

    def test_bus_presence_keeps_the_agent_live(self):
        with freeze_time(self.t0):
            self.a_gone.with_user(self.agent_gone).action_my_state("available")
        with freeze_time(self.t0 + timedelta(minutes=30)):
            self._poll(self.agent_gone, self.t0 + timedelta(minutes=29, seconds=30))
            interaction = self._call("presence-bus")
            self.assertEqual(interaction.offer_ids.user_id, self.agent_gone)
            self.assertEqual(self.a_gone.state, "busy")

    def test_console_call_keeps_the_agent_live(self):
        with freeze_time(self.t0):
            self.a_gone.with_user(self.agent_gone).action_my_state("available")
        with freeze_time(self.t0 + timedelta(minutes=4)):
            self.env["omnichannel.agent"].with_user(self.agent_gone).action_console_state()
        self.assertEqual(self.a_gone.last_seen, self.t0 + timedelta(minutes=4))
        with freeze_time(self.t0 + timedelta(minutes=8)):
            interaction = self._call("presence-console")
            self.assertEqual(interaction.offer_ids.user_id, self.agent_gone)

    def test_timeout_is_a_setting(self):
        self.env["ir.config_parameter"].set_param("omnichannel_cc.presence_timeout_minutes", "30")
        with freeze_time(self.t0):
            self.a_gone.with_user(self.agent_gone).action_my_state("available")
        with freeze_time(self.t0 + timedelta(minutes=20)):
            interaction = self._call("presence-30")
            self.assertEqual(interaction.offer_ids.user_id, self.agent_gone)

    def test_sweep_sets_absent_agents_offline(self):
        with freeze_time(self.t0):
            self.a_gone.with_user(self.agent_gone).action_my_state("available")
            self.a_sales.with_user(self.agent_sales).action_my_state("available")
            interaction = self._call("presence-sweep")
            offer = interaction.offer_ids
            self.assertEqual(len(offer), 1)
        holder = offer.user_id
        holder_agent = self.a_gone if holder == self.agent_gone else self.a_sales
        other = self.a_sales if holder_agent == self.a_gone else self.a_gone
        # the other agent's browser stays connected; the holder's does not
        with freeze_time(self.t0 + timedelta(minutes=6)):
            self._poll(other.user_id, self.t0 + timedelta(minutes=5, seconds=30))
            self.env["omnichannel.queue"]._acd_sweep()
            self.assertEqual(holder_agent.state, "offline")
            self.assertEqual(other.state, "busy", "the connected agent got the call instead")
            self.assertEqual(offer.state, "cancelled")
            self.assertEqual(
                interaction.offer_ids.filtered(lambda o: o.state == "pending").user_id,
                other.user_id,
            )
            # the change is in the agent's history, as any other
            log = self.env["omnichannel.agent.state.log"].search(
                [("agent_id", "=", holder_agent.id)], limit=1
            )
            self.assertEqual(log.state, "offline")
            self.assertEqual(log.date_start, self.t0 + timedelta(minutes=6))

    def test_supervisor_setting_available_gives_a_grace_period_only(self):
        with freeze_time(self.t0):
            self.a_gone.with_user(self.supervisor_sales).action_set_state("available")
        with freeze_time(self.t0 + timedelta(minutes=2)):
            self.assertEqual(self._call("presence-grace").offer_ids.user_id, self.agent_gone)
        with freeze_time(self.t0 + timedelta(minutes=7)):
            self.env["omnichannel.queue"]._acd_sweep()
            self.assertEqual(self.a_gone.state, "offline")

    def test_agent_created_available_gets_the_grace_period(self):
        """An agent record created Available (a manager, an integration)
        counts as seen then, like choosing Available; then the timeout applies."""
        user = new_test_user(self.env, "occ_agent_new", groups=AGENT, name="New Agent")
        self.queue_sales.member_ids = [Command.link(user.id)]
        with freeze_time(self.t0):
            agent = self.env["omnichannel.agent"].create({"user_id": user.id, "state": "available"})
            self.assertEqual(agent.last_seen, self.t0)
            self.assertEqual(self._call("presence-created").offer_ids.user_id, user)
        with freeze_time(self.t0 + timedelta(minutes=6)):
            self.env["omnichannel.queue"]._acd_sweep()
            self.assertEqual(agent.state, "offline")
