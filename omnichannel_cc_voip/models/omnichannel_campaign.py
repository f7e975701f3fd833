"""The PBX dialer of campaigns: progressive, power and predictive dialing.

A cron (triggered too when a call ends or an agent becomes free) runs each
running automatic campaign: it reads the live figures of the campaign's
queue, asks ``tools/pacing.py`` how many calls to place, stores the
decision, claims that many contacts through ``_claim_next`` (every gate
checked again) and places each call (``omnichannel.campaign.dial``): one
PBX command per call, sent after the commit. The pacing state (statistics
over the window, the adaptive level) is kept on the campaign as JSON and
written only here; the webhooks record outcomes on the dials, fed to the
statistics by the next run.
"""

import logging
from datetime import UTC

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from odoo.addons.omnichannel_cc.models.omnichannel_campaign import DIAL_MODES
from odoo.addons.omnichannel_cc.tools import pacing

_logger = logging.getLogger(__name__)
AUTOMATIC_MODES = ("progressive", "power", "predictive")
# calls one campaign places per run at most (the next run goes on)
MAX_CALLS_PER_RUN = 50
PACING_OUTCOMES = {
    "connected": "connected",
    "abandoned": "abandoned",
    "machine": "machine",
    "busy": "busy",
    "no_answer": "no_answer",
    "failed": "failed",
}


def _seconds(when):
    """Pacing time (Unix seconds) of a naive UTC datetime."""
    return when.replace(tzinfo=UTC).timestamp()


class OmnichannelCampaign(models.Model):
    _inherit = "omnichannel.campaign"

    power_ratio = fields.Float(
        string="Lines per agent",
        default=1.5,
        help="Power dialing: calls placed per available agent (1.0 to 3.0).",
    )
    abandon_target = fields.Float(
        string="Abandon rate target (%)",
        default=3.0,
        help="Predictive dialing keeps the share of answered calls not connected to an agent "
        "within 2 seconds under this rate.",
    )
    abandon_window = fields.Selection(
        [("24h", "24 hours"), ("30d", "30 days")],
        string="Measured over",
        default="24h",
        required=True,
    )
    max_dial_level = fields.Float(
        string="Maximum dial level",
        default=3.0,
        help="Predictive dialing: at most this many calls per agent.",
    )
    ring_seconds = fields.Integer(string="Ring for (s)", default=30)
    machine_action = fields.Selection(
        [("hangup", "Hang up"), ("message", "Leave a message")],
        string="Answering machine",
        default="hangup",
        required=True,
    )
    machine_message = fields.Char(
        help="Leave message: the PBX's sound file (or message reference) played to the machine."
    )
    pacing_state = fields.Json(readonly=True, copy=False, groups="base.group_system")
    dial_level = fields.Float(readonly=True, copy=False, digits=(6, 3))
    abandon_rate = fields.Float(
        string="Abandon rate", readonly=True, copy=False, digits=(6, 4), help="Over the window."
    )
    dial_ids = fields.One2many("omnichannel.campaign.dial", "campaign_id", string="Dialer calls")
    pacing_log_ids = fields.One2many(
        "omnichannel.campaign.pacing.log", "campaign_id", string="Pacing decisions"
    )

    @api.constrains("power_ratio", "abandon_target", "max_dial_level", "dial_mode", "ring_seconds")
    def _check_pacing_settings(self):
        for campaign in self.filtered(lambda c: c.dial_mode in AUTOMATIC_MODES):
            campaign._pacing_settings()
            if not 5 <= campaign.ring_seconds <= 120:
                raise ValidationError(_("Ring for 5 to 120 seconds."))

    # ------------------------------------------------------------------
    # Starting: the automatic modes need a PBX the dialer can drive
    # ------------------------------------------------------------------
    def _check_can_start(self):
        self.ensure_one()
        if self.campaign_type != "outbound" or self.dial_mode not in AUTOMATIC_MODES:
            return super()._check_can_start()
        # the core refuses the automatic modes (it has no dialer): the checks are made here
        if self.state not in ("draft", "paused"):
            raise UserError(_("%(name)s is already running or done.", name=self.name))
        if not self.queue_id:
            raise UserError(_("Choose the queue whose agents work %(name)s.", name=self.name))
        line = self.channel_id or self._phone_line()
        if not line:
            raise UserError(
                _(
                    "No phone line to call from in %(company)s: create a phone channel "
                    "under Contact Center / Configuration / Channels.",
                    company=self.company_id.name,
                )
            )
        problem = line._voip_dialer_problem()
        if problem:
            mode = dict(DIAL_MODES)[self.dial_mode]
            raise UserError(
                _(
                    "%(mode)s dialing: the PBX dialer cannot place calls on this line. %(problem)s",
                    mode=mode,
                    problem=problem,
                )
            )
        self._pacing_settings()
        if not self.channel_id:
            self.channel_id = line

    def _pacing_settings(self):
        self.ensure_one()
        try:
            return pacing.PacingSettings(
                mode=self.dial_mode,
                power_ratio=self.power_ratio,
                abandon_target=self.abandon_target / 100.0,
                window_seconds=pacing.WINDOW_30D
                if self.abandon_window == "30d"
                else pacing.WINDOW_24H,
                max_level=self.max_dial_level,
            )
        except pacing.PacingError as error:
            raise ValidationError(str(error)) from error

    def _pacing_load(self):
        """The campaign's pacing state, with its current settings."""
        self.ensure_one()
        settings = self._pacing_settings()
        # sudo: the pacing state is administrators-only (group_system); the dialer's to read
        data = self.sudo().pacing_state
        if not data:
            return pacing.PacingState(settings)
        state = pacing.PacingState.from_dict(data)
        if state.settings == settings:
            return state
        if state.settings.window_seconds != settings.window_seconds:
            # another window: the statistics start again
            return pacing.PacingState(settings, level=state.level)
        return pacing.PacingState(
            settings,
            level=min(max(state.level, 1.0), settings.max_level),
            integral=state.integral,
            last_adapt=state.last_adapt,
            guard=state.guard,
            stats=state.stats,
            recent=state.recent,
        )

    # ------------------------------------------------------------------
    # The dialer
    # ------------------------------------------------------------------
    def _dialer_trigger(self):
        """Run the dialer soon (a call ended, an agent is free)."""
        if self.filtered(lambda c: c.state == "running" and c.dial_mode in AUTOMATIC_MODES):
            self.env.ref("omnichannel_cc_voip.ir_cron_campaign_dialer")._trigger()

    @api.model
    def _cron_dialer(self):
        """Scheduled action: one dialer run per running automatic campaign."""
        # sudo: the dialer works every company's campaigns; lists keep their starter's rights
        campaigns = self.sudo().search(
            [
                ("state", "=", "running"),
                ("campaign_type", "=", "outbound"),
                ("dial_mode", "in", AUTOMATIC_MODES),
            ]
        )
        for campaign in campaigns:
            try:
                with self.env.cr.savepoint():
                    campaign.with_company(campaign.company_id)._dialer_run()
            except (AccessError, UserError, ValidationError) as error:
                _logger.warning("Campaign %s: dialer run failed: %s", campaign.id, error)

    def action_dialer_run(self):
        """Run the dialer of these campaigns now (supervisors, scripts; the
        cron runs it every minute and when an agent becomes free or a call
        ends). Returns the number of calls placed."""
        self.check_access("write")
        placed = 0
        # sudo: the dialer's work (claims, calls, PBX commands) is not the supervisor's to write
        for campaign in self.sudo():
            placed += len(campaign.with_company(campaign.company_id)._dialer_run())
        return placed

    def _dialer_lock(self):
        """One dialer run per campaign at a time (row lock, SKIP LOCKED)."""
        self.flush_recordset()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM omnichannel_campaign WHERE id = %s "
                        "FOR NO KEY UPDATE SKIP LOCKED",
                        self.id,
                    ),
                    log_exceptions=False,
                )
                return bool(self.env.cr.fetchone())
        except pg_errors.SerializationFailure:
            # changed since this transaction began (a supervisor's edit): the next run dials
            return False

    def _dialer_run(self):
        """Decide, record, claim and dial; returns the dials placed."""
        self.ensure_one()
        # sudo: no user may create or write dials; they are the dialer's
        Dial = self.env["omnichannel.campaign.dial"].sudo()
        if self.state != "running" or self.dial_mode not in AUTOMATIC_MODES:
            return Dial
        if not self._dialer_lock():
            return Dial
        Dial._check_deadlines(self)
        state = self._pacing_load()
        self._pacing_feed(state)
        now = fields.Datetime.now()
        decision = state.decide(self._pacing_inputs(now))
        dials = Dial
        if decision.calls:
            self._refresh_if_due()
            # no agent yet: the contact becomes the agent's when the call reaches one
            nobody = self.env["res.users"]
            for _index in range(min(decision.calls, MAX_CALLS_PER_RUN)):
                contact = self._claim_next(nobody)
                if not contact:
                    break
                dials |= Dial._place(contact)
        # sudo: no user may write the pacing log; the dialer records each decision
        self.env["omnichannel.campaign.pacing.log"].sudo()._log(self, decision, now, len(dials))
        # sudo: the pacing figures are the dialer's to write, not the supervisor's
        self.sudo().write(
            {
                "pacing_state": state.to_dict(),
                "dial_level": decision.level,
                "abandon_rate": decision.abandon_rate,
            }
        )
        return dials

    def _pacing_feed(self, state):
        """Feed the finished dials not yet counted to the statistics, once."""
        # sudo: no user may write dials; the dialer marks the ones it counted
        dials = (
            self.env["omnichannel.campaign.dial"]
            .sudo()
            .search(
                [
                    ("campaign_id", "=", self.id),
                    ("state", "in", list(PACING_OUTCOMES)),
                    ("pacing_fed", "=", False),
                ],
                order="date_dialed, id",
            )
        )
        for dial in dials:
            outcome = PACING_OUTCOMES[dial.state]
            answer_seconds = 0.0
            if dial.date_answered and dial.date_dialed:
                answer_seconds = max((dial.date_answered - dial.date_dialed).total_seconds(), 0.0)
            when = dial.date_done or dial.date_dialed
            state.record_attempt(_seconds(when), outcome, answer_seconds)
        dials.write({"pacing_fed": True})
        # conversations over (wrap-up done): talk and wrap-up times, for the look-ahead
        # sudo: as above, the dialer marks the dials it counted
        handled = (
            self.env["omnichannel.campaign.dial"]
            .sudo()
            .search(
                [
                    ("campaign_id", "=", self.id),
                    ("state", "=", "connected"),
                    ("handled_fed", "=", False),
                    ("interaction_id.state", "=", "done"),
                ]
            )
        )
        for dial in handled:
            call = dial.interaction_id
            if not (call.date_answered and call.date_ended):
                continue
            closed = max(call.date_closed or call.date_ended, call.date_ended)
            state.record_handled(
                _seconds(closed),
                max((call.date_ended - call.date_answered).total_seconds(), 0.0),
                (closed - call.date_ended).total_seconds(),
            )
        handled.write({"handled_fed": True})

    def _pacing_inputs(self, now):
        """The live figures of the campaign's queue now."""
        self.ensure_one()
        Agent = self.env["omnichannel.agent"]
        self.env["omnichannel.queue.member"].flush_model()
        Agent.flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT agent.state, agent.wrapup_until
                     FROM omnichannel_agent agent
                     JOIN omnichannel_queue_member member ON member.user_id = agent.user_id
                    WHERE member.queue_id = %(queue)s AND member.logged_in
                      AND agent.state IN ('available', 'wrapup') AND %(live)s""",
                queue=self.queue_id.id,
                live=Agent._live_condition("agent", now),
            )
        )
        available = 0
        wrapup = []
        for state, until in self.env.cr.fetchall():
            if state == "available":
                available += 1
            else:
                wrapup.append(max((until - now).total_seconds(), 0.0) if until else 0.0)
        # sudo: agents may not read dials; the calls in progress of this campaign are counted
        counts = dict(
            self.env["omnichannel.campaign.dial"]
            .sudo()
            ._read_group(
                [("campaign_id", "=", self.id), ("state", "in", ("dialing", "ringing", "waiting"))],
                ["state"],
                ["__count"],
            )
        )
        return pacing.PacingInput(
            now=_seconds(now),
            agents_available=available,
            wrapup_seconds_left=tuple(wrapup),
            calls_ringing=counts.get("dialing", 0) + counts.get("ringing", 0),
            calls_waiting=counts.get("waiting", 0),
        )

    def action_view_pacing_log(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Pacing decisions"),
            "res_model": "omnichannel.campaign.pacing.log",
            "view_mode": "list,graph",
            "domain": [("campaign_id", "=", self.id)],
        }
