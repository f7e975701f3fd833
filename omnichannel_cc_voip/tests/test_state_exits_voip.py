"""Every non-final state has an exit (issue 19), telephony: the campaign
dialer's dials, the PBX commands, and the calls the PBX never ends.

The table has the form of ``omnichannel_cc.tests.test_state_exits.EXITS``
and is checked the same way; the interaction rows here are the ones the
telephony adds (a call waiting or talking with no PBX event left: the
watchdog, ``omnichannel_cc.call_watchdog_minutes``).
"""

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon
from odoo.addons.omnichannel_cc.tests.test_state_exits import check_table

from ..models.omnichannel_voip_command import STALE_SECONDS

T0 = datetime(2026, 3, 2, 9, 0)  # a Monday, 10:00 in Warsaw: the dialer's calling hours
WATCHDOG = 240

FINAL = {
    "omnichannel.campaign.dial": {
        "connected": "the call reached an agent (the interaction goes on)",
        "abandoned": "outcome",
        "machine": "outcome",
        "busy": "outcome",
        "no_answer": "outcome",
        "failed": "outcome",
    },
    "omnichannel.voip.command": {"sent": "done", "failed": "done"},
}
EXITS = {
    "omnichannel.campaign.dial": {
        # PBX events (ringing, answered, failed, hangup) move them too; these
        # are the exits when the PBX says nothing
        "dialing": [
            (
                "sweep",
                "omnichannel.voip.command._cron_expire: its dial command never sent",
                "failed",
                "test_dial_command_never_sent",
            ),
            (
                "timeout",
                "omnichannel.interaction._cron_watchdog: no PBX event for the watchdog's time",
                "failed",
                "test_dial_no_event",
            ),
        ],
        "ringing": [
            (
                "timeout",
                "omnichannel.interaction._cron_watchdog: no PBX event for the watchdog's time",
                "failed",
                "test_dial_no_event",
            ),
        ],
        "waiting": [
            (
                "timeout",
                "omnichannel.campaign._cron_dialer 2 s after the answer (_check_deadlines)",
                "abandoned",
                "test_dial_waiting_deadline",
            ),
            (
                "timeout",
                (
                    "omnichannel.interaction._cron_watchdog: its campaign paused (no dialer run) "
                    "and the PBX silent"
                ),
                "abandoned",
                "test_dial_waiting_paused_campaign",
            ),
        ],
    },
    "omnichannel.voip.command": {
        "pending": [
            (
                "sweep",
                "after the commit: voip_send_commands claims it",
                "sending",
                "test_command_sent",
            ),
            (
                "timeout",
                f"_cron_expire after {STALE_SECONDS} s unsent",
                "failed",
                "test_command_expired",
            ),
        ],
        "sending": [
            ("sweep", "the send's outcome recorded", "sent", "test_command_sent"),
            (
                "timeout",
                f"_cron_expire after {STALE_SECONDS} s with no outcome",
                "failed",
                "test_command_expired",
            ),
        ],
    },
}
# the interaction's exits the telephony adds (omnichannel_cc has the others)
CALL_EXITS = {
    "new": [
        (
            "timeout",
            "_cron_watchdog: a call placed from Odoo the PBX never reported",
            "missed",
            "test_click_to_dial_never_reported",
        ),
    ],
    "queued": [
        (
            "timeout",
            "_cron_watchdog: no PBX event (the hang-up was lost)",
            "abandoned",
            "test_waiting_call_no_event",
        ),
    ],
    "offered": [
        (
            "timeout",
            "_cron_watchdog: no PBX event (the hang-up was lost)",
            "abandoned",
            "test_waiting_call_no_event",
        ),
    ],
    "active": [
        (
            "timeout",
            "_cron_watchdog: no PBX event since the watchdog's time",
            "done",
            "test_active_call_no_event",
        ),
    ],
}


@tagged("post_install", "-at_install")
class TestStateExitsVoip(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_sales.omnichannel_extension = "1001"
        cls.queue_sales.write({"ring_timeout": 0, "wrapup_seconds": 30})
        cls.channel_phone.sudo().voip_dial_url = "https://pbx.example.com/dial"
        # click-to-dial uses the company's first phone channel: ours
        cls.env["omnichannel.channel"].search(
            [("channel_type", "=", "phone"), ("id", "!=", cls.channel_phone.id)]
        ).active = False
        cls.Interaction = cls.env["omnichannel.interaction"]
        # sudo: nobody but the superuser writes PBX commands (the crons run as it)
        cls.Command = cls.env["omnichannel.voip.command"].sudo()
        cls.a_sales = cls.env["omnichannel.agent"]._for_user(cls.agent_sales)
        # now, as the PBX's clock and the database's (create_date) have it
        cls.now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    # helpers
    def _event(self, event, call_id, when, **extra):
        values = {
            "event": event,
            "call_id": call_id,
            "from": "+48 509 333 444",
            "to": "+48225550101",
            "timestamp": int(when.replace(tzinfo=UTC).timestamp()),
            "agent": None,
            "recording_url": None,
            "reason": None,
        }
        values.update(extra)
        result = self.Interaction._voip_event(self.channel_phone.sudo(), values)
        return self.Interaction.browse(result["interaction_id"])

    def _watchdog(self, when):
        with freeze_time(when):
            return self.Interaction._cron_watchdog()

    def _notes(self, record):
        return " ".join(record.message_ids.mapped("body"))

    def _dial(self):
        """One progressive call of a campaign, placed at T0."""
        with freeze_time(T0):
            campaign = self.env["omnichannel.campaign"].create(
                {
                    "name": "Exits dialer",
                    "queue_id": self.queue_sales.id,
                    "channel_id": self.channel_phone.id,
                    "dial_mode": "progressive",
                    "target_model": "res.partner",
                    "target_domain": repr([("id", "in", self.customer_plain.ids)]),
                }
            )
            campaign.action_start()
            self.a_sales.with_user(self.agent_sales).action_my_state("available")
            dial = campaign._dialer_run()
        self.assertEqual((dial.state, dial.contact_id.state), ("dialing", "in_progress"))
        return dial

    def _command(self, dial):
        return self.Command.search([("interaction_id", "=", dial.interaction_id.id)])

    # ------------------------------------------------------------------
    def test_table_matches_the_models(self):
        check_table(self, EXITS, FINAL)
        allowed = self.Interaction._state_transitions
        states = dict(self.Interaction._fields["state"].selection)
        for state, rows in CALL_EXITS.items():
            self.assertIn(state, states)
            for _kind, how, target, test in rows:
                self.assertIn(target, allowed[state], how)
                self.assertTrue(callable(getattr(self, test, None)), test)

    # ------------------------------------------------------------------
    # Dials
    # ------------------------------------------------------------------
    def test_dial_command_never_sent(self):
        dial = self._dial()
        command = self._command(dial)
        self.assertEqual(command.state, "pending")
        self.env.cr.postcommit.clear()  # the worker died before its hooks ran
        self.env.flush_all()
        with freeze_time(self.now + timedelta(seconds=STALE_SECONDS + 60)):
            self.Command._cron_expire()
        self.assertEqual(command.state, "failed")
        self.assertEqual(dial.state, "failed")
        self.assertEqual(dial.interaction_id.state, "missed")
        self.assertEqual(dial.contact_id.state, "pending", "called again later")

    def test_dial_no_event(self):
        dialing = self._dial()
        command = self._command(dialing)
        command._claim()
        command._record()
        self.assertEqual(command.state, "sent")
        self.assertFalse(self._watchdog(self.now + timedelta(minutes=WATCHDOG - 10)))
        self.assertEqual(dialing.state, "dialing", "not before the watchdog's time")
        self._watchdog(self.now + timedelta(minutes=WATCHDOG + 10))
        call = dialing.interaction_id
        self.assertEqual(dialing.state, "failed")
        self.assertEqual((call.state, call.end_reason), ("missed", "watchdog"))
        self.assertIn("closed by the watchdog", self._notes(call))
        contact = dialing.contact_id
        self.assertEqual((contact.state, contact.last_outcome), ("pending", "no_answer"))
        # ringing, then silence
        contact.date_next_attempt = False
        with freeze_time(T0 + timedelta(minutes=1)):
            ringing = contact.campaign_id._dialer_run()
        self.assertNotEqual(ringing, dialing)
        self._event("ringing", ringing.call_id, self.now + timedelta(minutes=WATCHDOG))
        self.assertEqual(ringing.state, "ringing")
        self._watchdog(self.now + timedelta(minutes=2 * WATCHDOG - 10))
        self.assertEqual(ringing.state, "ringing", "its last event is recent")
        self._watchdog(self.now + timedelta(minutes=2 * WATCHDOG + 10))
        self.assertEqual(ringing.state, "failed")
        self.assertEqual(ringing.interaction_id.end_reason, "watchdog")

    def test_dial_waiting_deadline(self):
        dial = self._dial()
        with freeze_time(T0):
            self.a_sales.with_user(self.agent_sales).action_my_state("offline")
            self._event("answered", dial.call_id, T0)
        self.assertEqual(dial.state, "waiting")
        with freeze_time(T0 + timedelta(seconds=3)):
            self.env["omnichannel.campaign"]._cron_dialer()
        self.assertEqual(dial.state, "abandoned")
        self.assertEqual(dial.interaction_id.state, "abandoned")

    def test_dial_waiting_paused_campaign(self):
        dial = self._dial()
        with freeze_time(T0):
            self.a_sales.with_user(self.agent_sales).action_my_state("offline")
        self._event("answered", dial.call_id, self.now)
        self.assertEqual(dial.state, "waiting")
        dial.campaign_id.action_pause()
        with freeze_time(self.now + timedelta(seconds=3)):
            self.env["omnichannel.campaign"]._cron_dialer()
        self.assertEqual(dial.state, "waiting", "the dialer runs running campaigns only")
        self._watchdog(self.now + timedelta(minutes=WATCHDOG + 1))
        self.assertEqual(dial.state, "abandoned")
        self.assertEqual(dial.interaction_id.state, "abandoned")
        self.assertEqual(dial.contact_id.state, "pending", "called again later")

    # ------------------------------------------------------------------
    # PBX commands
    # ------------------------------------------------------------------
    def test_command_sent(self):
        command = self._command(self._dial())
        self.assertEqual(command.state, "pending")
        command._claim()
        self.assertEqual(command.state, "sending")
        command._record()
        self.assertEqual(command.state, "sent")

    def test_command_expired(self):
        sending = self._command(self._dial())
        sending._claim()
        pending = self.Command._enqueue(
            "listen:exits", "listen", self.channel_phone, self.supervisor_sales
        )
        self.env.cr.postcommit.clear()  # the worker died before its hooks ran
        self.assertEqual((pending.state, sending.state), ("pending", "sending"))
        self.env.flush_all()
        with freeze_time(self.now + timedelta(seconds=STALE_SECONDS - 60)):
            self.assertFalse(self.Command._cron_expire(), "not before the delay")
        with freeze_time(self.now + timedelta(seconds=STALE_SECONDS + 60)):
            self.Command._cron_expire()
        self.assertEqual((pending.state, sending.state), ("failed", "failed"))
        self.assertIn("Never sent", pending.error)
        self.assertIn("No outcome recorded", sending.error)

    # ------------------------------------------------------------------
    # Calls without an end
    # ------------------------------------------------------------------
    def test_waiting_call_no_event(self):
        queued = self._event("ringing", "wd-queued", self.now)
        self.assertEqual(queued.state, "queued", "nobody available")
        self.a_sales.with_user(self.agent_sales).action_my_state("available")
        self.assertEqual(queued.state, "offered")
        offer = queued.offer_ids
        with freeze_time(self.now + timedelta(minutes=1)):
            self.a_sales._touch_last_seen()
        other = self._event("ringing", "wd-queued-2", self.now + timedelta(minutes=1))
        self.assertEqual(other.state, "queued", "the agent holds the first")
        self._watchdog(self.now + timedelta(minutes=WATCHDOG - 1))
        self.assertEqual((queued.state, other.state), ("offered", "queued"))
        self._watchdog(self.now + timedelta(minutes=WATCHDOG + 2))
        for call in queued | other:
            self.assertEqual((call.state, call.end_reason), ("abandoned", "watchdog"))
            self.assertIn("closed by the watchdog", self._notes(call))
        self.assertEqual(offer.state, "cancelled")
        self.assertNotEqual(self.a_sales.state, "busy")

    def test_active_call_no_event(self):
        self.a_sales.with_user(self.agent_sales).action_my_state("available")
        call = self._event("ringing", "wd-active", self.now)
        self._event("answered", "wd-active", self.now + timedelta(seconds=10), agent="1001")
        self.assertEqual(call.state, "active")
        held = self.now + timedelta(hours=3)
        self._event("held", "wd-active", held)
        self._watchdog(self.now + timedelta(minutes=WATCHDOG + 10))
        self.assertEqual(call.state, "active", "a PBX event 3 h in: alive")
        self._watchdog(held + timedelta(minutes=WATCHDOG + 1))
        self.assertEqual((call.state, call.end_reason), ("done", "watchdog"))
        self.assertEqual(call.date_ended, held, "its length: up to the PBX's last event")
        self.assertFalse(call.is_on_hold)
        self.assertIn("closed by the watchdog", self._notes(call))
        # a hang-up arriving after all changes nothing more
        self._event("hangup", "wd-active", held + timedelta(minutes=WATCHDOG + 2))
        self.assertEqual(call.state, "done")

    def test_click_to_dial_never_reported(self):
        self.agent_sales.omnichannel_softphone = True
        partner = self.env["res.partner"].browse(self.customer_plain.id)
        self.Interaction.with_user(self.agent_sales)._voip_dial(partner)
        call = self.Interaction.search(
            [("agent_id", "=", self.agent_sales.id), ("direction", "=", "outbound")]
        )
        self.assertEqual(call.state, "new")
        self.assertFalse(self._watchdog(self.now + timedelta(minutes=WATCHDOG - 10)))
        self._watchdog(self.now + timedelta(minutes=WATCHDOG + 10))
        self.assertEqual((call.state, call.end_reason), ("missed", "watchdog"))
