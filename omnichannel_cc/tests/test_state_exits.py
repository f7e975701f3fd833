"""Every non-final state has an exit (issue 19).

``EXITS`` is the table: for each state machine, each state that is not
final, the ways out of it: a timeout or a sweep (which cron, after what) or a
user action (which method, as whom), and the test below that proves it. The
table is checked against the models: a new state without a row, a row with a
target the model's transitions refuse, a row whose test does not exist, all
fail. The telephony, survey and invitation addons check their own rows
(``test_state_exits_voip``, ``_survey``, ``_invitation``).
"""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.omnichannel_cc.models.omnichannel_callback import CALLBACK_TRANSITIONS

from .common import OmnichannelCommon

T0 = datetime(2026, 3, 2, 9, 0)  # a Monday, 10:00 in Warsaw
WATCHDOG = 240  # omnichannel_cc.call_watchdog_minutes, default

# model -> states that are final, and why they need no exit
FINAL = {
    "omnichannel.interaction": {
        "done": "closed",
        "transferred": "passed on to another interaction",
        "abandoned": "ended unanswered (only a late PBX report corrects it)",
        "missed": "ended unanswered (only a late PBX report corrects it)",
    },
    "omnichannel.offer": {
        "accepted": "answered; becomes transferred only as a mark",
        "rejected": "answered",
        "timeout": "ended",
        "cancelled": "ended",
        "transferred": "ended",
    },
    "omnichannel.callback": {
        "done": "customer reached",
        "failed": "not reached after its attempts (a supervisor may reset it)",
        "cancelled": "cancelled (a supervisor may reset it)",
    },
    "omnichannel.campaign": {"done": "stopped (its list kept as it was)"},
    "omnichannel.campaign.contact": {
        "done": "worked (back to the list only by a supervisor or a new match)",
        "excluded": "left the list with its reason",
        "failed": "attempts used up",
    },
}

# model -> state -> [(kind, how, target state, test method)]
# kind: "timeout" / "sweep" (a cron, after a time) or "user" (an action).
EXITS = {
    "omnichannel.interaction": {
        "new": [
            ("user", "action_queue (manager, integration)", "queued", "test_interaction_new"),
            ("user", "action_answer (agent)", "active", "test_interaction_new"),
            # the telephony addon: a call placed from Odoo never reported by the PBX
            # (test_state_exits_voip)
        ],
        "queued": [
            ("sweep", "_cron_acd_sweep: dispatch to a free agent", "offered", "test_queued_sweep"),
            (
                "timeout",
                "_cron_acd_sweep after the queue's max_wait_seconds (overflow: call-back)",
                "missed",
                "test_queued_max_wait",
            ),
            (
                "user",
                "action_abandon (integration: the customer left)",
                "abandoned",
                "test_queued_abandon",
            ),
            # the telephony addon: a waiting call with no PBX event for the watchdog's time
        ],
        "offered": [
            (
                "timeout",
                "_cron_acd_sweep after the queue's ring_timeout",
                "queued",
                "test_offered_ring_timeout",
            ),
            (
                "sweep",
                "_cron_acd_sweep: the agent has no live session (_sweep_absent)",
                "queued",
                "test_offered_agent_absent",
            ),
            ("user", "omnichannel.offer.action_accept (agent)", "active", "test_offered_user"),
            ("user", "omnichannel.offer.action_reject (agent)", "queued", "test_offered_user"),
        ],
        "active": [
            ("user", "action_end (agent)", "wrapup", "test_active_user"),
            ("user", "action_close (agent)", "done", "test_active_user"),
            ("user", "action_transfer_queue (agent)", "queued", "test_active_transfer"),
            (
                "timeout",
                (
                    "_cron_watchdog: a phone call answered call_watchdog_minutes ago and still "
                    "active (with the telephony addon: no PBX event since)"
                ),
                "done",
                "test_active_call_watchdog",
            ),
            # Not timed out on purpose: an e-mail (or a fax, an SMS thread) stays
            # active for days while the conversation goes on; only its agent ends
            # it (test_active_email_not_timed_out). A web chat ends when the
            # visitor leaves (omnichannel_cc_livechat).
        ],
        "wrapup": [
            ("user", "action_close / action_console_close (agent)", "done", "test_wrapup_user"),
            (
                "timeout",
                (
                    "_cron_watchdog: open call_watchdog_minutes after the queue's wrap-up time "
                    "(chats: omnichannel_cc_livechat at the wrap-up time itself)"
                ),
                "done",
                "test_wrapup_watchdog",
            ),
        ],
    },
    "omnichannel.offer": {
        "pending": [
            ("user", "action_accept (agent)", "accepted", "test_offered_user"),
            ("user", "action_reject (agent)", "rejected", "test_offered_user"),
            (
                "timeout",
                "_cron_acd_sweep after date_expire (ring_timeout)",
                "timeout",
                "test_offered_ring_timeout",
            ),
            (
                "sweep",
                "_cron_acd_sweep: agent without a live session",
                "cancelled",
                "test_offered_agent_absent",
            ),
        ],
    },
    "omnichannel.callback": {
        "pending": [
            ("timeout", "_cron_process_due at date_next", "in_progress", "test_callback_due"),
            ("user", "action_cancel (supervisor)", "cancelled", "test_callback_cancel"),
        ],
        "in_progress": [
            # the attempt's interaction ends (its own exits, the watchdog included)
            (
                "sweep",
                "the attempt ends unanswered: retried at date_next",
                "pending",
                "test_callback_attempt_ends",
            ),
            ("sweep", "the attempt reaches the customer", "done", "test_callback_attempt_ends"),
            ("user", "action_cancel (supervisor)", "cancelled", "test_callback_cancel"),
        ],
    },
    "omnichannel.campaign": {
        # a campaign runs until its supervisor stops it: no timeout on purpose
        "draft": [("user", "action_start (supervisor)", "running", "test_campaign_states")],
        "running": [
            ("user", "action_pause (supervisor)", "paused", "test_campaign_states"),
            ("user", "action_stop (supervisor)", "done", "test_campaign_states"),
        ],
        "paused": [
            ("user", "action_start (supervisor): resume", "running", "test_campaign_states"),
            ("user", "action_stop (supervisor)", "done", "test_campaign_states"),
        ],
    },
    "omnichannel.campaign.contact": {
        "pending": [
            (
                "user",
                "omnichannel.campaign.action_next_contact (agent)",
                "in_progress",
                "test_contact_pending",
            ),
            (
                "sweep",
                "omnichannel.campaign._cron_refresh: no longer matching",
                "excluded",
                "test_contact_pending",
            ),
            # the telephony addon's dialer cron claims it too (progressive, power,
            # predictive); a stopped campaign keeps its list as it was (final)
        ],
        "in_progress": [
            ("user", "action_record_outcome (agent)", "done", "test_contact_in_progress"),
            ("user", "action_skip (agent)", "excluded", "test_contact_in_progress"),
            (
                "timeout",
                (
                    "its call ends (its own exits, the call watchdog included); answered and "
                    "closed without a disposition: done"
                ),
                "done",
                "test_contact_call_watchdog",
            ),
        ],
    },
}


def transitions(env, model):
    if model == "omnichannel.callback":
        return CALLBACK_TRANSITIONS
    return env[model]._state_transitions


def check_table(case, exits, final):
    """The table against the models: every state either final or with an
    exit, targets the transitions allow, each row's test present."""
    for model, states in exits.items():
        selection = {key for key, _label in case.env[model]._fields["state"].selection}
        case.assertEqual(
            set(states),
            selection - set(final[model]),
            f"{model}: every non-final state has a row in the exits table",
        )
        case.assertLessEqual(set(final[model]), selection, f"{model}: final states exist")
        allowed = transitions(case.env, model)
        for state, rows in states.items():
            case.assertTrue(rows, f"{model}.{state} has no exit")
            for kind, how, target, test in rows:
                case.assertIn(kind, ("timeout", "sweep", "user"), how)
                case.assertIn(target, allowed[state], f"{model}: {state} -> {target} ({how})")
                case.assertTrue(
                    callable(getattr(case, test, None)), f"{model}.{state}: no test {test}"
                )


@tagged("post_install", "-at_install")
class TestStateExits(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.queue_sales.write({"ring_timeout": 20, "wrapup_seconds": 30})
        Agent = cls.env["omnichannel.agent"]
        cls.a_sales = Agent._for_user(cls.agent_sales)
        cls.Interaction = cls.env["omnichannel.interaction"]

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _available(self, agent):
        agent._change_state("available")

    def _call(self, external_id, channel=None, sender="+48 700 100 200"):
        result = self._inbound(external_id, sender, channel=channel)
        return self.Interaction.browse(result["interaction_id"])

    def _answered_call(self, external_id, when=T0):
        """A call offered to and accepted by agent_sales at ``when``."""
        with freeze_time(when):
            self._available(self.a_sales)
            call = self._call(external_id)
            self.assertEqual(call.state, "offered")
            call.offer_ids.with_user(self.agent_sales).action_accept()
        self.assertEqual(call.state, "active")
        return call

    def _assert_requeued(self, call, old_offer):
        """Back in the queue: waiting, or already offered again (a new offer)."""
        if call.state == "offered":
            self.assertTrue(call.offer_ids - old_offer, "offered again, by a new offer")
        else:
            self.assertEqual(call.state, "queued")

    def _sweep(self):
        self.env["omnichannel.queue"]._cron_acd_sweep()

    def _watchdog(self):
        return self.Interaction._cron_watchdog()

    def _notes(self, record):
        return " ".join(record.message_ids.mapped("body"))

    # ------------------------------------------------------------------
    # The table against the models
    # ------------------------------------------------------------------
    def test_table_matches_the_models(self):
        check_table(self, EXITS, FINAL)
        selection = dict(self.Interaction._fields["end_reason"].selection)
        self.assertIn("watchdog", selection, "the watchdog's end reason is a clear one")

    def test_table_check_fails_on_a_new_state(self):
        """A state added to a model without a row fails the check."""
        exits = {model: dict(states) for model, states in EXITS.items()}
        del exits["omnichannel.callback"]["in_progress"]
        with self.assertRaises(AssertionError):
            check_table(self, exits, FINAL)

    # ------------------------------------------------------------------
    # Interaction and offer
    # ------------------------------------------------------------------
    def test_interaction_new(self):
        vals = {"channel_id": self.channel_phone.id, "queue_id": self.queue_sales.id}
        first = self.Interaction.with_user(self.manager).create(vals)
        self.assertEqual(first.state, "new")
        first.with_user(self.manager).action_queue()
        self.assertEqual(first.state, "queued")
        second = self.Interaction.with_user(self.manager).create(dict(vals, direction="outbound"))
        self.assertEqual(second.state, "new")
        second.with_user(self.agent_sales).action_answer()
        self.assertEqual((second.state, second.agent_id), ("active", self.agent_sales))

    def test_queued_sweep(self):
        with freeze_time(T0):
            call = self._call("exit-q-1")
            self.assertEqual(call.state, "queued", "nobody available")
            # the agent is there, but nothing woke the ACD up: the sweep does
            self.a_sales.write({"state": "available", "last_seen": T0})
        with freeze_time(T0 + timedelta(minutes=1)):
            self._sweep()
        self.assertEqual((call.state, call.agent_id), ("offered", self.agent_sales))

    def test_queued_max_wait(self):
        self.queue_sales.write({"max_wait_seconds": 120, "overflow_action": "callback"})
        with freeze_time(T0):
            call = self._call("exit-q-2")
        with freeze_time(T0 + timedelta(seconds=100)):
            self._sweep()
            self.assertEqual(call.state, "queued", "not yet")
        with freeze_time(T0 + timedelta(seconds=130)):
            self._sweep()
        self.assertEqual((call.state, call.end_reason), ("missed", "overflow"))

    def test_queued_abandon(self):
        call = self._call("exit-q-3")
        self.assertEqual(call.state, "queued")
        call.with_user(self.manager).action_abandon()
        self.assertEqual((call.state, call.end_reason), ("abandoned", "customer"))

    def test_offered_ring_timeout(self):
        with freeze_time(T0):
            self._available(self.a_sales)
            call = self._call("exit-o-1")
        offer = call.offer_ids
        self.assertEqual((call.state, offer.state), ("offered", "pending"))
        with freeze_time(T0 + timedelta(seconds=10)):
            self._sweep()
            self.assertEqual(offer.state, "pending", "not yet")
        with freeze_time(T0 + timedelta(seconds=25)):
            self._sweep()
        self.assertEqual(offer.state, "timeout")
        self._assert_requeued(call, offer)

    def test_offered_agent_absent(self):
        self.queue_sales.ring_timeout = 0  # rings until answered
        with freeze_time(T0):
            self._available(self.a_sales)
            call = self._call("exit-o-2")
        offer = call.offer_ids
        self.assertFalse(offer.date_expire)
        with freeze_time(T0 + timedelta(minutes=30)):
            self._sweep()
        self.assertEqual(self.a_sales.state, "offline", "no live session")
        self.assertEqual((offer.state, call.state), ("cancelled", "queued"))

    def test_offered_user(self):
        with freeze_time(T0):
            self._available(self.a_sales)
            call = self._call("exit-o-3")
            rejected = call.offer_ids
            rejected.with_user(self.agent_sales).action_reject()
        self.assertEqual(rejected.state, "rejected")
        self._assert_requeued(call, rejected)
        with freeze_time(T0 + timedelta(seconds=5)):
            call.with_user(self.manager).action_abandon()
            other = self._call("exit-o-4")
            accepted = other.offer_ids
            accepted.with_user(self.agent_sales).action_accept()
        self.assertEqual((accepted.state, other.state), ("accepted", "active"))

    def test_active_user(self):
        call = self._answered_call("exit-a-1")
        with freeze_time(T0 + timedelta(minutes=3)):
            call.with_user(self.agent_sales).action_end()
        self.assertEqual(call.state, "wrapup")
        with freeze_time(T0 + timedelta(minutes=4)):
            call.with_user(self.agent_sales).action_close()
        other = self._answered_call("exit-a-2", T0 + timedelta(minutes=5))
        with freeze_time(T0 + timedelta(minutes=6)):
            other.with_user(self.agent_sales).action_close()
        self.assertEqual(other.state, "done")

    def test_active_transfer(self):
        call = self._answered_call("exit-a-3")
        with freeze_time(T0 + timedelta(minutes=2)):
            call.with_user(self.agent_sales).action_transfer_queue(self.queue_claims.id)
        self.assertEqual((call.state, call.queue_id), ("queued", self.queue_claims))

    def test_active_call_watchdog(self):
        """A PBX that never sends the hang-up: the call is closed with a clear reason."""
        call = self._answered_call("exit-a-4")
        with freeze_time(T0 + timedelta(minutes=WATCHDOG - 5)):
            self.assertFalse(self._watchdog())
        self.assertEqual(call.state, "active", "a long call is not cut early")
        with freeze_time(T0 + timedelta(minutes=WATCHDOG + 5)):
            self.assertEqual(self._watchdog(), call)
        self.assertEqual((call.state, call.end_reason), ("done", "watchdog"))
        self.assertEqual(call.date_ended, T0, "its length: to its last sign of life")
        self.assertEqual(call.date_closed, T0 + timedelta(minutes=WATCHDOG + 5))
        self.assertIn("closed by the watchdog", self._notes(call))
        self.assertNotEqual(self.a_sales.state, "busy", "the agent is free again")
        # the time is a system parameter
        self.env["ir.config_parameter"].set_param("omnichannel_cc.call_watchdog_minutes", "30")
        other = self._answered_call("exit-a-5", T0 + timedelta(minutes=WATCHDOG + 6))
        with freeze_time(T0 + timedelta(minutes=WATCHDOG + 6 + 31)):
            self._watchdog()
        self.assertEqual((other.state, other.end_reason), ("done", "watchdog"))

    def test_active_email_not_timed_out(self):
        """An e-mail conversation may stay active for days: no watchdog."""
        self.queue_claims.ring_timeout = 0
        with freeze_time(T0):
            agent = self.env["omnichannel.agent"]._for_user(self.agent_claims)
            agent._change_state("available")
            mail = self._call("exit-mail-1", channel=self.channel_email, sender="a@example.com")
            mail.offer_ids.with_user(self.agent_claims).action_accept()
        self.assertEqual(mail.state, "active")
        with freeze_time(T0 + timedelta(days=5)):
            self._watchdog()
        self.assertEqual(mail.state, "active")

    def test_wrapup_user(self):
        call = self._answered_call("exit-w-1")
        with freeze_time(T0 + timedelta(minutes=3)):
            call.with_user(self.agent_sales).action_end()
            resolved = self.env.ref("omnichannel_cc.disposition_resolved")
            call.with_user(self.agent_sales).action_console_close(disposition_id=resolved.id)
        self.assertEqual((call.state, call.disposition_id), ("done", resolved))

    def test_wrapup_watchdog(self):
        call = self._answered_call("exit-w-2")
        with freeze_time(T0 + timedelta(minutes=3)):
            call.with_user(self.agent_sales).action_end()
        with freeze_time(T0 + timedelta(minutes=3 + WATCHDOG)):
            self._sweep()  # the agent's wrap-up ended long ago
            self._watchdog()
        self.assertEqual(call.state, "wrapup", "the queue's 30 s wrap-up time comes on top")
        with freeze_time(T0 + timedelta(minutes=4 + WATCHDOG)):
            self.assertEqual(self._watchdog(), call)
        self.assertEqual(call.state, "done")
        self.assertFalse(call.end_reason, "the call did end; only its wrap-up was left open")
        self.assertIn("Wrap-up left open", self._notes(call))

    # ------------------------------------------------------------------
    # Call-backs
    # ------------------------------------------------------------------
    def _callback(self, when):
        return self.env["omnichannel.callback"].create(
            {
                "phone": "+48601234567",
                "queue_id": self.queue_sales.id,
                "channel_id": self.channel_phone.id,
                "date_requested": when,
                "retry_delay": 30,
            }
        )

    def test_callback_due(self):
        with freeze_time(T0):
            callback = self._callback(T0 + timedelta(minutes=10))
            self.env["omnichannel.callback"]._cron_process_due()
            self.assertEqual(callback.state, "pending", "not due yet")
        with freeze_time(T0 + timedelta(minutes=11)):
            self.env["omnichannel.callback"]._cron_process_due()
        self.assertEqual(callback.state, "in_progress")
        self.assertEqual(callback.interaction_ids.state, "queued", "its attempt waits")

    def test_callback_cancel(self):
        with freeze_time(T0):
            pending = self._callback(T0 + timedelta(hours=1))
            started = self._callback(T0)
            started.phone = "+48601234568"
            self.env["omnichannel.callback"]._cron_process_due()
        self.assertEqual(started.state, "in_progress")
        (pending | started).with_user(self.supervisor_sales).action_cancel()
        self.assertEqual((pending | started).mapped("state"), ["cancelled", "cancelled"])

    def test_callback_attempt_ends(self):
        with freeze_time(T0):
            callback = self._callback(T0)
            self.env["omnichannel.callback"]._cron_process_due()
            attempt = callback.interaction_ids
            attempt.with_user(self.manager).action_abandon()
        self.assertEqual(callback.state, "pending", "not reached: retried")
        self.assertEqual(callback.date_next, T0 + timedelta(minutes=30))
        with freeze_time(T0 + timedelta(minutes=31)):
            self.env["omnichannel.callback"]._cron_process_due()
            second = callback.interaction_ids - attempt
            self.assertEqual(callback.state, "in_progress")
            self._available(self.a_sales)
            second.offer_ids.with_user(self.agent_sales).action_accept()
            second.with_user(self.agent_sales).action_close()
        self.assertEqual(callback.state, "done")

    # ------------------------------------------------------------------
    # Campaign contacts
    # ------------------------------------------------------------------
    def _campaign(self, partners):
        partners.write({"ref": "EXIT19"})
        return self.env["omnichannel.campaign"].create(
            {
                "name": "Exits",
                "queue_id": self.queue_sales.id,
                "channel_id": self.channel_phone.id,
                "target_model": "res.partner",
                "target_domain": repr([("ref", "=", "EXIT19"), ("id", "in", partners.ids)]),
            }
        )

    def _next_contact(self, campaign):
        payload = campaign.with_user(self.agent_sales).action_next_contact()
        return self.env["omnichannel.campaign.contact"].browse(payload["contact_id"])

    def test_campaign_states(self):
        first = self._campaign(self.customer_plain).with_user(self.supervisor_sales)
        second = self._campaign(self.customer_contact).with_user(self.supervisor_sales)
        with freeze_time(T0):
            (first | second).action_start()
            self.assertEqual((first | second).mapped("state"), ["running", "running"])
            first.action_stop()
            second.action_pause()
            self.assertEqual((first.state, second.state), ("done", "paused"))
            second.action_start()
            self.assertEqual(second.state, "running")
            second.action_pause()
            second.action_stop()
        self.assertEqual(second.state, "done")

    def test_contact_pending(self):
        partners = self.customer_plain | self.customer_contact
        with freeze_time(T0):
            campaign = self._campaign(partners)
            campaign.action_start()
            self.assertEqual(campaign.contact_ids.mapped("state"), ["pending", "pending"])
            self.customer_contact.ref = False
        with freeze_time(T0 + timedelta(hours=1)):
            self.env["omnichannel.campaign"]._cron_refresh()
        gone = campaign.contact_ids.filtered(lambda c: c.partner_id == self.customer_contact)
        self.assertEqual((gone.state, gone.excluded_reason), ("excluded", "no_longer_matches"))
        with freeze_time(T0 + timedelta(hours=1, minutes=1)):
            self._available(self.a_sales)
            contact = self._next_contact(campaign)
        self.assertEqual((contact.state, contact.user_id), ("in_progress", self.agent_sales))

    def test_contact_in_progress(self):
        with freeze_time(T0):
            campaign = self._campaign(self.customer_plain | self.customer_contact)
            campaign.action_start()
            self._available(self.a_sales)
            first = self._next_contact(campaign)
            first.with_user(self.agent_sales).action_dial()
            resolved = self.env.ref("omnichannel_cc.disposition_resolved")
            first.with_user(self.agent_sales).action_record_outcome(resolved.id)
            self.assertEqual(first.state, "done")
            second = self._next_contact(campaign)
            second.with_user(self.agent_sales).action_skip("Not today")
        self.assertEqual((second.state, second.excluded_reason), ("excluded", "skipped"))

    def test_contact_call_watchdog(self):
        with freeze_time(T0):
            campaign = self._campaign(self.customer_plain)
            campaign.action_start()
            self._available(self.a_sales)
            contact = self._next_contact(campaign)
            contact.with_user(self.agent_sales).action_dial()
        call = contact.last_interaction_id
        self.assertEqual(call.state, "active")
        with freeze_time(T0 + timedelta(minutes=WATCHDOG + 1)):
            self._watchdog()
        self.assertEqual((call.state, call.end_reason), ("done", "watchdog"))
        self.assertNotEqual(contact.state, "in_progress", "the contact follows its call")
        self.assertEqual(contact.last_outcome, "done")
