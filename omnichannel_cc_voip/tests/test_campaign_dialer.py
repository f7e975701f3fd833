"""The PBX dialer of campaigns (issue 16): pacing decisions, dial commands
sent after the commit only, outcomes from the /event webhook, the gates."""

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon

from ..models.omnichannel_voip_command import POSTCOMMIT_KEY
from ..tools import cti

# Monday 2 March 2026, 09:00 UTC: 10:00 in Warsaw
T0 = datetime(2026, 3, 2, 9, 0)
OVERDUE_30 = (
    "[('move_type', '=', 'out_invoice'), ('state', '=', 'posted'), "
    "('payment_state', 'in', ('not_paid', 'partial')), "
    "('invoice_date_due', '<=', (context_today() - relativedelta(days=30)).strftime('%Y-%m-%d'))]"
)


@tagged("post_install", "-at_install")
class TestCampaignDialer(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_sales_2 = new_test_user(
            cls.env,
            "occ_dialer_agent_2",
            groups="omnichannel_cc.group_omnichannel_agent",
            name="Basia Dialer",
        )
        cls.queue_sales.member_ids = [Command.link(cls.agent_sales_2.id)]
        cls.channel_phone.sudo().voip_dial_url = "https://pbx.example.com/dial"
        Partner = cls.env["res.partner"]
        cls.customers = Partner.create(
            [
                {"name": f"Klient {n}", "country_id": cls.poland.id, "mobile": f"60120000{n}"}
                for n in range(1, 5)
            ]
        )

    # helpers
    def _campaign(self, partners=None, **vals):
        values = {
            "name": "Dialer campaign",
            "queue_id": self.queue_sales.id,
            "channel_id": self.channel_phone.id,
            "dial_mode": "progressive",
            "target_model": "res.partner",
            "target_domain": repr([("id", "in", (partners or self.customers).ids)]),
        }
        values.update(vals)
        return self.env["omnichannel.campaign"].create(values)

    def _live(self, *users):
        for user in users:
            self.env["omnichannel.agent"]._for_user(user).with_user(user).action_my_state(
                "available"
            )

    def _decisions(self, campaign):
        return self.env["omnichannel.campaign.pacing.log"].search(
            [("campaign_id", "=", campaign.id)]
        )

    def _event(self, dial, event, **fields):
        payload = {
            "event": event,
            "call_id": dial.call_id,
            "from": "+48225550101",
            "to": dial.contact_id.phone,
            "timestamp": int(datetime.now(UTC).timestamp()),
        }
        payload.update(fields)
        return self.env["omnichannel.interaction"]._voip_event(
            self.channel_phone.sudo(), cti.parse_event(payload)
        )

    # ------------------------------------------------------------------
    def test_start_needs_a_pbx_the_dialer_drives(self):
        self.channel_phone.sudo().voip_dial_url = False
        campaign = self._campaign()
        with self.assertRaisesRegex(UserError, "no dial URL"):
            campaign.action_start()
        self.channel_phone.sudo().voip_dial_url = "https://pbx.example.com/dial"
        campaign.action_start()
        self.assertEqual(campaign.state, "running")
        self.assertEqual(campaign.contact_ids.mapped("state"), ["pending"] * 4)

    def test_progressive_one_call_per_agent_sent_after_commit(self):
        with freeze_time(T0):
            campaign = self._campaign()
            campaign.action_start()
            self._live(self.agent_sales, self.agent_sales_2)
            dials = campaign._dialer_run()
            self.assertEqual(len(dials), 2)
            self.assertEqual(len(dials.contact_id), 2, "two different customers")
            self.assertEqual(set(dials.contact_id.mapped("state")), {"in_progress"})
            commands = self.env["omnichannel.voip.command"].search(
                [("interaction_id", "in", dials.interaction_id.ids)]
            )
            self.assertEqual(len(commands), 2)
            self.assertEqual(set(commands.mapped("state")), {"pending"}, "nothing sent yet")
            self.assertEqual(set(commands.mapped("transport")), {"http"})
            body = commands[0].ami_fields
            self.assertEqual(body["command"], "dial")
            self.assertIn(body["call_id"], dials.mapped("call_id"))
            self.assertTrue(body["to"].startswith("+48601"))
            self.assertEqual(body["caller_id"], "+48225550101")
            # the send waits for the commit
            self.assertEqual(
                sorted(self.env.cr.postcommit.data[POSTCOMMIT_KEY]), sorted(commands.ids)
            )
            log = self._decisions(campaign)
            self.assertEqual(len(log), 1)
            self.assertEqual((log.calls, log.placed, log.agents_available), (2, 2, 2))
            # both lines ringing: nobody else is dialed
            self.assertFalse(campaign._dialer_run())
            self.assertEqual(self._decisions(campaign)[0].calls_ringing, 2)
            self.assertEqual(self._decisions(campaign)[0].calls, 0)
            self.assertTrue(campaign.pacing_state["stats"])

    def test_supervisors_run_the_dialer_agents_do_not(self):
        with freeze_time(T0):
            campaign = self._campaign()
            campaign.action_start()
            self._live(self.agent_sales)
            with self.assertRaises(AccessError):
                campaign.with_user(self.agent_sales).action_dialer_run()
            self.assertEqual(campaign.with_user(self.supervisor_sales).action_dialer_run(), 1)
            decisions = self._decisions(campaign).with_user(self.supervisor_sales)
            self.assertEqual(decisions.read(["calls"])[0]["calls"], 1)
            with self.assertRaises(AccessError):
                self._decisions(campaign).with_user(self.agent_sales).read(["calls"])

    def test_power_dials_its_ratio_of_lines(self):
        with freeze_time(T0):
            campaign = self._campaign(dial_mode="power", power_ratio=1.5)
            campaign.action_start()
            self._live(self.agent_sales, self.agent_sales_2)
            self.assertEqual(len(campaign._dialer_run()), 3)
            self.assertEqual(self._decisions(campaign).reason, "power")

    def test_predictive_counts_agents_soon_free_once_the_guard_lifts(self):
        with freeze_time(T0):
            campaign = self._campaign(dial_mode="predictive")
            campaign.action_start()
            self._live(self.agent_sales, self.agent_sales_2)
            self.env["omnichannel.agent"]._for_user(self.agent_sales_2)._start_wrapup(5)
            # a new window: progressive (the guard) until enough live answers are in
            self.assertEqual(len(campaign._dialer_run()), 1)
            self.assertEqual(self._decisions(campaign)[0].reason, "guard")
            (campaign.dial_ids.contact_id)._set_state("pending")
            campaign.dial_ids.sudo()._set_state("no_answer", pacing_fed=True)
            state = campaign._pacing_load()
            start = T0.replace(tzinfo=UTC).timestamp() - 600
            for second in range(40):
                state.record_attempt(start + second, "connected", 8.0)
            campaign.sudo().pacing_state = state.to_dict()
            dials = campaign._dialer_run()
        decision = self._decisions(campaign)[0]
        self.assertEqual(decision.reason, "predictive")
        self.assertEqual((decision.agents_available, decision.agents_soon_free), (1, 1))
        self.assertEqual(len(dials), 2, "the agent finishing a wrap-up in 5 s counts")

    def test_asterisk_originate_with_answering_machine_detection(self):
        self.channel_phone.sudo().write({"voip_pbx_type": "asterisk"})
        campaign = self._campaign(machine_action="message", machine_message="custom/sorry")
        with self.assertRaisesRegex(UserError, "AMI host"):
            campaign.action_start()
        self.channel_phone.sudo().write(
            {"voip_ami_host": "127.0.0.1", "voip_ami_username": "odoo", "voip_ami_secret": "s"}
        )
        with freeze_time(T0):
            campaign.action_start()
            self._live(self.agent_sales)
            dial = campaign._dialer_run()
        command = (
            self.env["omnichannel.voip.command"]
            .sudo()
            .search([("interaction_id", "=", dial.interaction_id.id)])
        )
        self.assertEqual((command.transport, command.ami_action), ("ami", "Originate"))
        fields = command.ami_fields
        self.assertEqual(fields["Channel"], f"Local/{dial.contact_id.phone}@from-internal")
        self.assertEqual((fields["Context"], fields["Exten"]), ("omnichannel-dialer", "s"))
        self.assertIn(f"OMNICHANNEL_CALL_ID={dial.call_id}", fields["Variable"])
        self.assertIn("OMNICHANNEL_AMD=1", fields["Variable"])
        self.assertIn("OMNICHANNEL_MACHINE=message", fields["Variable"])
        self.assertIn("OMNICHANNEL_MACHINE_MESSAGE=custom/sorry", fields["Variable"])
        self.assertEqual(command.state, "pending")

    def test_answered_by_a_person_goes_to_a_free_agent(self):
        with freeze_time(T0):
            campaign = self._campaign()
            campaign.action_start()
            self._live(self.agent_sales)
            dial = campaign._dialer_run()
            self._event(dial, "ringing")
            self.assertEqual(dial.state, "ringing")
            answer = self._event(dial, "answered", amd="human")
        self.assertEqual(answer["dialer"], {"action": "route"})
        self.assertEqual(dial.state, "connected")
        self.assertEqual(dial.interaction_id.state, "offered")
        self.assertEqual(dial.interaction_id.agent_id, self.agent_sales)
        self.assertEqual(dial.contact_id.user_id, self.agent_sales)
        # the PBX asks where to send the answered call, as for an inbound one
        route = self.env["omnichannel.interaction"]._voip_route(
            self.channel_phone.sudo(),
            cti.parse_route(
                {
                    "call_id": dial.call_id,
                    "from": dial.contact_id.phone,
                    "to": "+48225550101",
                    "timestamp": int(T0.replace(tzinfo=UTC).timestamp()),
                }
            ),
        )
        self.assertEqual(route["interaction_id"], dial.interaction_id.id)
        self.assertEqual(route["agent_id"], self.agent_sales.id)
        interaction = dial.interaction_id
        with freeze_time(T0 + timedelta(seconds=1)):
            interaction.offer_ids.with_user(self.agent_sales).action_accept()
            self.assertEqual(interaction.state, "active")
            campaign._dialer_run()
        state = campaign._pacing_load()
        self.assertEqual((state.stats.totals["live"], state.stats.totals["abandoned"]), (1, 0))
        self.assertEqual(state.stats.totals["handled"], 0, "still talking")
        with freeze_time(T0 + timedelta(seconds=61)):
            self._event(dial, "hangup")
            self.assertEqual(interaction.state, "wrapup")
        with freeze_time(T0 + timedelta(seconds=90)):
            interaction.with_user(self.agent_sales).action_close()
        self.assertEqual(dial.contact_id.state, "done")
        with freeze_time(T0 + timedelta(seconds=100)):
            campaign._dialer_run()
        stats = campaign._pacing_load().stats
        self.assertEqual(stats.totals["handled"], 1)
        self.assertEqual((stats.mean_talk_seconds, stats.mean_wrap_seconds), (60.0, 29.0))

    def test_answered_with_nobody_free_is_abandoned_after_two_seconds(self):
        with freeze_time(T0):
            campaign = self._campaign()
            campaign.action_start()
            self._live(self.agent_sales)
            dial = campaign._dialer_run()
            # the agent leaves before the customer answers
            self.env["omnichannel.agent"]._for_user(self.agent_sales).with_user(
                self.agent_sales
            ).action_my_state("offline")
            self._event(dial, "answered")
            self.assertEqual(dial.state, "waiting")
        with freeze_time(T0 + timedelta(seconds=1)):
            campaign._dialer_run()
            self.assertEqual(dial.state, "waiting", "within 2 s an agent may still come")
        with freeze_time(T0 + timedelta(seconds=3)):
            campaign._dialer_run()
        self.assertEqual(dial.state, "abandoned")
        self.assertEqual(dial.interaction_id.state, "abandoned")
        self.assertEqual(dial.interaction_id.end_reason, "no_agent")
        contact = dial.contact_id
        self.assertEqual(contact.last_outcome, "abandoned")
        self.assertGreaterEqual(contact.date_next_attempt, T0 + timedelta(hours=72))
        hangup = self.env["omnichannel.voip.command"].search([("kind", "=", "campaign_hangup")])
        self.assertEqual(hangup.ami_fields["call_id"], dial.call_id)
        with freeze_time(T0 + timedelta(seconds=10)):
            campaign._dialer_run()
        self.assertEqual(campaign._pacing_load().stats.totals["abandoned"], 1)
        self.assertEqual(campaign.abandon_rate, 1.0)

    def test_machine_busy_and_no_answer_follow_the_retry_rules(self):
        with freeze_time(T0):
            campaign = self._campaign(retry_machine=120, retry_busy=10)
            campaign.action_start()
            self._live(self.agent_sales, self.agent_sales_2)
            machine, busy = campaign._dialer_run()
            answer = self._event(machine, "answered", amd="machine")
            self.assertEqual(answer["dialer"]["action"], "hangup")
            self._event(busy, "failed", reason="busy (486)")
        self.assertEqual(machine.state, "machine")
        self.assertEqual(machine.interaction_id.state, "missed")
        self.assertEqual(machine.contact_id.state, "pending")
        self.assertEqual(machine.contact_id.last_outcome, "machine")
        self.assertEqual(machine.contact_id.date_next_attempt, T0 + timedelta(minutes=120))
        self.assertEqual(busy.state, "busy")
        self.assertEqual(busy.contact_id.last_outcome, "busy")
        self.assertEqual(busy.contact_id.date_next_attempt, T0 + timedelta(minutes=10))
        self.assertEqual(busy.contact_id.attempt_count, 1)
        with freeze_time(T0 + timedelta(seconds=20)):
            third, fourth = campaign._dialer_run()
            self.assertFalse((third | fourth).contact_id & (machine | busy).contact_id)
            self._event(third, "hangup")
        self.assertEqual(third.state, "no_answer")
        self.assertEqual(third.contact_id.last_outcome, "no_answer")
        with freeze_time(T0 + timedelta(seconds=40)):
            campaign._dialer_run()
        state = campaign._pacing_load()
        self.assertEqual(state.stats.totals["attempts"], 3)
        self.assertEqual(state.stats.totals["answered"], 1)

    def test_a_failed_dial_command_is_retried(self):
        with freeze_time(T0):
            campaign = self._campaign()
            campaign.action_start()
            self._live(self.agent_sales)
            dial = campaign._dialer_run()
            command = (
                self.env["omnichannel.voip.command"]
                .sudo()
                .search([("interaction_id", "=", dial.interaction_id.id)])
            )
            command._set_state("sending")
            command._record("the PBX answered HTTP 503")
        self.assertEqual(dial.state, "failed")
        self.assertEqual(dial.interaction_id.state, "missed")
        self.assertEqual(dial.contact_id.state, "pending")
        self.assertEqual(dial.contact_id.last_outcome, "no_answer")

    def test_nobody_outside_the_window_no_blacklisted_number(self):
        self.env["phone.blacklist"].sudo()._add(["+48601200002"])
        with freeze_time(T0):
            campaign = self._campaign()
            campaign.action_start()
        blacklisted = campaign.contact_ids.filtered(lambda c: c.phone == "+48601200002")
        self.assertEqual(blacklisted.excluded_reason, "blacklisted")
        # 21:30 in Warsaw: outside the calling hours, nobody is dialed
        with freeze_time(datetime(2026, 3, 2, 20, 30)):
            self._live(self.agent_sales, self.agent_sales_2)
            self.assertFalse(campaign._dialer_run())
            self.assertEqual(self._decisions(campaign)[0].calls, 2)
            self.assertEqual(self._decisions(campaign)[0].placed, 0)
        self.assertFalse(self.env["omnichannel.voip.command"].search([]))

    def test_payer_removed_mid_campaign_is_not_called(self):
        with freeze_time(T0):
            payer = self._create_invoice(self.customers[0], 100, 40)
            debtor = self._create_invoice(self.customers[1], 200, 35)
            campaign = self._campaign(target_model="account.move", target_domain=OVERDUE_30)
            campaign.action_start()
            self.assertEqual(len(campaign.contact_ids), 2)
            # the customer paid this morning
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=payer.ids
            ).create({})._create_payments()
            self._live(self.agent_sales, self.agent_sales_2)
            dials = campaign._dialer_run()
        self.assertEqual(dials.contact_id.partner_id, debtor.partner_id)
        paid = campaign.contact_ids.filtered(lambda c: c.partner_id == payer.partner_id)
        self.assertEqual(paid.excluded_reason, "no_longer_matches")

    def test_nobody_dialed_twice_at_once(self):
        with freeze_time(T0):
            campaign = self._campaign(partners=self.customers[:1])
            campaign.action_start()
            self._live(self.agent_sales, self.agent_sales_2)
            dial = campaign._dialer_run()
            self.assertEqual(len(dial), 1)
            # even if the contact were put back on the list while its call rings
            dial.contact_id._set_state("pending")
            with (
                self.assertRaises(IntegrityError),
                mute_logger("odoo.sql_db"),
                self.env.cr.savepoint(),
            ):
                campaign._dialer_run()

    def test_pacing_decisions_open_for_supervisors(self):
        campaign = self._campaign()
        action = campaign.with_user(self.supervisor_sales).action_view_pacing_log()
        Log = self.env[action["res_model"]].with_user(self.supervisor_sales)
        for view_type in ("list", "graph"):
            self.assertTrue(Log.get_views([(False, view_type)])["views"][view_type]["arch"])
        form = campaign.with_user(self.agent_sales).get_views([(False, "form")])
        self.assertIn("machine_action", form["views"]["form"]["arch"])

    def test_the_dialer_wakes_when_an_agent_is_free_or_a_call_ends(self):
        cron = self.env.ref("omnichannel_cc_voip.ir_cron_campaign_dialer")
        Trigger = self.env["ir.cron.trigger"].sudo()

        def triggers():
            return Trigger.search_count([("cron_id", "=", cron.id)])

        with freeze_time(T0):
            campaign = self._campaign()
            campaign.action_start()
            before = triggers()
            self._live(self.agent_sales)
            self.assertEqual(triggers(), before + 1, "an agent became available")
            dial = campaign._dialer_run()
            self.env["omnichannel.agent"]._for_user(self.agent_sales).with_user(
                self.agent_sales
            ).action_my_state("offline")
            self._event(dial, "answered")
            self.assertEqual(triggers(), before + 2, "the 2-second deadline of the answer")
        with freeze_time(T0 + timedelta(seconds=1)):
            # the customer hangs up before anybody took the call: abandoned
            self._event(dial, "hangup")
        self.assertEqual(triggers(), before + 3, "a line is free")
        self.assertEqual(dial.state, "abandoned")
        self.assertEqual(dial.interaction_id.state, "abandoned")
        self.assertEqual(dial.contact_id.last_outcome, "abandoned")

    def test_a_failure_reported_while_waiting_for_an_agent_is_an_abandon(self):
        with freeze_time(T0):
            campaign = self._campaign()
            campaign.action_start()
            self._live(self.agent_sales)
            dial = campaign._dialer_run()
            self.env["omnichannel.agent"]._for_user(self.agent_sales).with_user(
                self.agent_sales
            ).action_my_state("offline")
            self._event(dial, "answered", amd="notsure")
            self.assertEqual(dial.state, "waiting", "not sure: a person")
            # the AMI bridge reports a hang-up before any agent answered as "failed"
            self._event(dial, "failed", reason="Normal Clearing")
        self.assertEqual(dial.state, "abandoned")
        self.assertEqual(dial.contact_id.last_outcome, "abandoned")
