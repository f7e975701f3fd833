"""One satisfaction invitation per closed interaction.

Created in the closing transaction (``scheduled`` or ``skipped`` with the
rule that excluded it), sent after the commit by a cron in batches
(:meth:`_cron_send`, with retries), answered once (:meth:`_record_answer`,
the one entry point of every channel: e-mail page, SMS, and later the phone
keypad and the chat window), expired after the queue's window.
"""

import logging
import secrets
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import satisfaction
from .omnichannel_queue import KIND_SELECTION

_logger = logging.getLogger(__name__)

STATES = [
    ("scheduled", "Scheduled"),
    ("sent", "Sent"),
    ("answered", "Answered"),
    ("expired", "Expired"),
    ("skipped", "Skipped"),
]
TRANSITIONS = {
    "scheduled": {"sent", "answered", "expired", "skipped"},
    "sent": {"answered", "expired"},
    "answered": set(),
    "expired": set(),
    "skipped": set(),
}
SKIP_REASONS = [
    ("sampling", "Not drawn in the sample"),
    ("quiet_period", "Invited recently (quiet period)"),
    ("disposition", "Excluded disposition"),
    ("internal", "Internal contact"),
    ("open_case", "Open complaint"),
    ("short", "Too short"),
    ("no_address", "No address to reach"),
    ("blacklisted", "Number blacklisted"),
    ("failed", "Sending failed"),
]
MAIL_TEMPLATE = "omnichannel_cc_survey.mail_template_survey_invitation"
BATCH_SIZE = 200
MAX_ATTEMPTS = 3
RETRY_MINUTES = 15


class OmnichannelSurveyInvitation(models.Model):
    _name = "omnichannel.survey.invitation"
    _description = "Contact center satisfaction invitation"
    _inherit = ["omnichannel.state.mixin"]
    _order = "id desc"
    _rec_name = "interaction_id"
    _state_transitions = TRANSITIONS

    interaction_id = fields.Many2one(
        "omnichannel.interaction", required=True, ondelete="cascade", index=True, readonly=True
    )
    partner_id = fields.Many2one("res.partner", string="Customer", index=True, readonly=True)
    queue_id = fields.Many2one("omnichannel.queue", index=True, readonly=True)
    agent_id = fields.Many2one("res.users", string="Agent", index=True, readonly=True)
    case_id = fields.Many2one(related="interaction_id.case_id", string="Case")
    channel_type = fields.Selection(related="interaction_id.channel_type", string="Channel")
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    kind = fields.Selection(KIND_SELECTION, required=True, readonly=True)
    survey_id = fields.Many2one("survey.survey", readonly=True, ondelete="set null")
    send_channel = fields.Selection(
        [("email", "E-mail")],
        string="Sent by",
        readonly=True,
        help="How the customer is (or was) asked.",
    )
    answer_channel = fields.Char(
        readonly=True, help="Where the answer came from: email, sms, phone, chat..."
    )
    state = fields.Selection(STATES, default="scheduled", required=True, index=True, readonly=True)
    skip_reason = fields.Selection(SKIP_REASONS, readonly=True)
    # the customer's link: an agent holding it could answer her own survey (issue 19)
    access_token = fields.Char(
        required=True,
        readonly=True,
        copy=False,
        default=lambda self: secrets.token_urlsafe(24),
        groups="base.group_system",
    )
    date_scheduled = fields.Datetime(string="Send after", readonly=True, index=True)
    date_sent = fields.Datetime(readonly=True)
    date_expire = fields.Datetime(string="Answer before", readonly=True)
    date_answered = fields.Datetime(readonly=True)
    attempts = fields.Integer(readonly=True, default=0)
    last_error = fields.Char(readonly=True)
    value = fields.Integer(string="Score", readonly=True, aggregator="avg")
    comment = fields.Text(readonly=True)
    is_detractor = fields.Boolean(readonly=True, index=True)
    user_input_id = fields.Many2one("survey.user_input", readonly=True, ondelete="set null")
    rating_id = fields.Many2one("rating.rating", readonly=True, ondelete="set null")
    followup_activity_id = fields.Many2one("mail.activity", readonly=True, ondelete="set null")
    followup_user_id = fields.Many2one("res.users", string="Follow-up by", readonly=True)
    followup_state = fields.Selection(
        [("open", "To do"), ("done", "Done")], string="Follow-up", readonly=True, index=True
    )
    followup_outcome = fields.Text(
        string="Follow-up outcome", help="What the supervisor did about the answer."
    )
    date_followup_done = fields.Datetime(readonly=True)

    _sql_constraints = [
        ("interaction_uniq", "unique(interaction_id)", "An interaction is surveyed once at most."),
        ("access_token_uniq", "unique(access_token)", "The link of an invitation is unique."),
    ]

    def _compute_display_name(self):
        labels = dict(KIND_SELECTION)
        for invitation in self:
            invitation.display_name = "%s - %s" % (
                invitation.interaction_id.name or "",
                labels.get(invitation.kind, ""),
            )

    # ------------------------------------------------------------------
    # State machine
    # ------------------------------------------------------------------
    def _state_write(self, new_state, vals):
        now = fields.Datetime.now()
        if new_state == "sent":
            vals.setdefault("date_sent", now)
        elif new_state == "answered":
            vals.setdefault("date_answered", now)
        super()._state_write(new_state, vals)

    # ------------------------------------------------------------------
    # Scheduling (in the closing transaction: records only)
    # ------------------------------------------------------------------
    @api.model
    def _schedule(self, interactions):
        """Create the invitation of each done interaction of a surveying queue:
        ``scheduled`` for the cron, or ``skipped`` with the rule that excluded
        it. Nothing is sent here."""
        # sudo: the closing agent may not create invitations; the rules decide, not the agent
        interactions = interactions.sudo().filtered(
            lambda i: i.state == "done" and i.partner_id and i._survey_kind()
        )
        if not interactions:
            return self.browse()
        self.env.cr.execute(
            SQL(
                "SELECT id FROM omnichannel_interaction WHERE id IN %s FOR UPDATE",
                tuple(interactions.ids),
            )
        )
        # sudo: the interactions' invitations, also those the closing agent may not read
        done = set(
            self.sudo()
            .search([("interaction_id", "in", interactions.ids)])
            .mapped("interaction_id")
            .ids
        )
        now = fields.Datetime.now()
        vals_list = []
        invited = set()
        for interaction in interactions:
            if interaction.id in done:
                continue
            queue = interaction.queue_id
            reason = self._skip_reason(interaction, now, invited)
            delay = satisfaction.delay_minutes(queue.survey_delay_minutes, interaction.channel_type)
            date_scheduled = now + timedelta(minutes=delay)
            vals_list.append(
                {
                    "interaction_id": interaction.id,
                    "partner_id": interaction.partner_id.id,
                    "queue_id": queue.id,
                    "agent_id": interaction.agent_id.id,
                    "company_id": interaction.company_id.id,
                    "kind": interaction._survey_kind(),
                    "survey_id": interaction._survey_template().id,
                    "state": "skipped" if reason else "scheduled",
                    "skip_reason": reason,
                    "date_scheduled": date_scheduled,
                    "date_expire": date_scheduled + timedelta(days=queue.survey_window_days),
                }
            )
            if not reason:
                invited.add(interaction.partner_id.id)
        # sudo: no user may create invitations; the rules above decided each one
        invitations = self.sudo().create(vals_list)
        if invitations.filtered(lambda i: i.state == "scheduled"):
            self._trigger_send(min(invitations.mapped("date_scheduled")))
        return invitations

    @api.model
    def _skip_reason(self, interaction, now, invited, when_answered=False):
        """The rule that excludes ``interaction`` from the survey, or False.
        ``when_answered``: only the rules known before the end of the call
        (not the disposition, not the duration)."""
        queue = interaction.queue_id
        partner = interaction.partner_id
        if (
            not when_answered
            and interaction.disposition_id in queue.survey_excluded_disposition_ids
        ):
            return "disposition"
        # employees (internal users' partners, the company itself), not portal customers
        if (
            partner.user_ids.filtered(lambda user: not user.share)
            or partner.commercial_partner_id == interaction.company_id.partner_id
        ):
            return "internal"
        if (
            not when_answered
            and queue.survey_min_seconds
            and (interaction.talk_duration or 0) < queue.survey_min_seconds
        ):
            return "short"
        if queue.survey_exclude_open_case and self.env["omnichannel.case"].search_count(
            [
                ("commercial_partner_id", "=", partner.commercial_partner_id.id),
                ("is_open", "=", True),
            ],
            limit=1,
        ):
            return "open_case"
        if not satisfaction.sampled(interaction.id, queue.survey_sample_rate, seed=queue.id):
            return "sampling"
        if partner.id in invited or (
            queue.survey_quiet_days
            and self.search_count(
                [
                    ("partner_id", "=", partner.id),
                    ("state", "in", ("scheduled", "sent", "answered", "expired")),
                    ("create_date", ">=", now - timedelta(days=queue.survey_quiet_days)),
                ],
                limit=1,
            )
        ):
            return "quiet_period"
        return False

    def _trigger_send(self, when=None):
        cron = self.env.ref(
            "omnichannel_cc_survey.ir_cron_survey_invitation_send", raise_if_not_found=False
        )
        if cron:
            # sudo: any closing user wakes the sending cron up
            cron.sudo()._trigger(max(when or fields.Datetime.now(), fields.Datetime.now()))

    # ------------------------------------------------------------------
    # Sending (cron, after the closing transaction committed)
    # ------------------------------------------------------------------
    @api.model
    def _cron_send(self, batch_size=BATCH_SIZE):
        """Send the due invitations, a batch per run; a failed one is
        retried later, then skipped. Expire the unanswered ones."""
        now = fields.Datetime.now()
        self.search([("state", "in", ("scheduled", "sent")), ("date_expire", "<", now)])._set_state(
            "expired", guard=True
        )
        due = self.search(
            [("state", "=", "scheduled"), ("date_scheduled", "<=", now)],
            order="date_scheduled, id",
            limit=batch_size,
        )
        for invitation in due:
            invitation._send_one()
        remaining = self.search_count(
            [("state", "=", "scheduled"), ("date_scheduled", "<=", now)], limit=1
        )
        if remaining:
            self._trigger_send()
        return due

    def _send_one(self):
        """Send one invitation in its own savepoint: an error rolls back only
        its own records and counts as an attempt."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                channel = self._pick_channel()
                if not channel:
                    self._set_state("skipped", guard=True, skip_reason="no_address")
                    return
                skip = getattr(self, f"_send_{channel}")()
                if skip:
                    self._set_state("skipped", guard=True, skip_reason=skip, send_channel=channel)
                else:
                    self._set_state("sent", guard=True, send_channel=channel)
        except Exception as error:  # noqa: BLE001 - any failure is retried, then reported
            _logger.warning("Satisfaction invitation %s not sent: %s", self.id, error)
            attempts = self.attempts + 1
            self.write(
                {
                    "attempts": attempts,
                    "last_error": str(error)[:250],
                    "date_scheduled": fields.Datetime.now() + timedelta(minutes=RETRY_MINUTES),
                }
            )
            if attempts >= MAX_ATTEMPTS:
                self._set_state("skipped", guard=True, skip_reason="failed")

    def _pick_channel(self):
        """The channel the customer is asked on: e-mail here; the SMS bridge
        prefers a text for phone and SMS interactions."""
        self.ensure_one()
        return "email" if self.partner_id.email else False

    def _send_email(self):
        """Queue the e-mail (sent by the mail queue after this commit); returns
        a skip reason or False."""
        template = self.env.ref(MAIL_TEMPLATE)
        template.send_mail(self.id, email_layout_xmlid="mail.mail_notification_light")
        self.interaction_id._log_note(
            _(
                "Satisfaction survey e-mailed to %(customer)s.",
                customer=self.partner_id.display_name,
            )
        )
        return False

    def get_answer_url(self):
        self.ensure_one()
        return f"{self.get_base_url()}/omnichannel/survey/{self.access_token}"

    # ------------------------------------------------------------------
    # Answer (every channel)
    # ------------------------------------------------------------------
    def _public_status(self):
        """What the public page shows: ask, answered, expired or unknown."""
        if not self:
            return "unknown"
        if self.state == "answered":
            return "answered"
        if self.state in ("expired", "skipped") or (
            self.date_expire and self.date_expire < fields.Datetime.now()
        ):
            return "expired"
        return "ask"

    def _record_answer(self, value, comment=None, channel="email", idempotency_key=None):
        """Record the customer's answer once. Returns ``{"recorded": bool,
        "status": "answered" | "duplicate" | "already_answered" | "expired"}``;
        an out-of-range value raises ValueError with nothing stored.

        ``idempotency_key`` (a PBX event id, an SMS message id) makes a
        re-delivered answer a no-op even before the invitation is locked.
        """
        self.ensure_one()
        value = satisfaction.check_value(self.kind, value)
        if idempotency_key:
            # sudo: idempotency keys are technical records no user may write
            keys = self.env["omnichannel.event.key"].sudo()
            if not keys._claim(f"survey:{channel}", str(idempotency_key)[:255], self.id):
                return {"recorded": False, "status": "duplicate"}
        self.env.cr.execute(
            SQL(
                "SELECT id FROM omnichannel_survey_invitation WHERE id = %s FOR UPDATE",
                self.id,
            )
        )
        self.invalidate_recordset()
        status = self._public_status()
        if status != "ask":
            return {
                "recorded": False,
                "status": "already_answered" if status == "answered" else status,
            }
        comment = (comment or "").strip()[:4000] or False
        detractor = self.queue_id._survey_detractor(self.kind, value) if self.queue_id else False
        self._set_state(
            "answered",
            value=value,
            comment=comment,
            answer_channel=channel,
            is_detractor=detractor,
        )
        self.interaction_id._write_trusted(
            {
                "satisfaction_kind": self.kind,
                "satisfaction_value": value,
                "satisfaction_comment": comment,
            }
        )
        self._store_survey_answer()
        if self.kind == "csat":
            self._store_rating()
        # sudo: the respondent (often the public user) may not post on the interaction
        self.interaction_id.sudo().message_post(
            body=_(
                "%(customer)s answered the satisfaction survey (%(kind)s): %(value)s.",
                customer=self.partner_id.display_name or "",
                kind=dict(KIND_SELECTION)[self.kind],
                value=value,
            ),
            author_id=self.partner_id.id,
            subtype_xmlid="mail.mt_note",
        )
        if detractor:
            self._create_followup()
        return {"recorded": True, "status": "answered"}

    def _store_survey_answer(self):
        """The answer in Odoo's survey too (its statistics and printouts)."""
        survey = self.survey_id
        question = survey.question_ids.filtered(lambda q: q.question_type == "scale")[:1]
        if not question:
            return
        try:
            answer = survey._create_answer(
                partner=self.partner_id,
                check_attempts=False,
                omnichannel_interaction_id=self.interaction_id.id,
            )
        except UserError as error:
            _logger.warning("Survey answer of invitation %s not stored: %s", self.id, error)
            return
        answer._save_lines(question, str(self.value))
        text_question = survey.question_ids.filtered(
            lambda q: q.question_type in ("text_box", "char_box")
        )[:1]
        if text_question and self.comment:
            answer._save_lines(text_question, self.comment)
        answer._mark_done()
        self.user_input_id = answer
        self.interaction_id._write_trusted({"survey_user_input_id": answer.id})

    def _store_rating(self):
        """A CSAT answer is a ``rating.rating`` of the agent, as live chat's."""
        model_id = self.env["ir.model"]._get_id("omnichannel.interaction")
        for invitation in self:
            invitation.rating_id = self.env["rating.rating"].create(
                {
                    "res_model_id": model_id,
                    "res_id": invitation.interaction_id.id,
                    "partner_id": invitation.partner_id.id,
                    "rated_partner_id": invitation.agent_id.partner_id.id,
                    "rating": invitation.value,
                    "feedback": invitation.comment or False,
                    "consumed": True,
                }
            )

    # ------------------------------------------------------------------
    # Closed loop
    # ------------------------------------------------------------------
    def _create_followup(self):
        """An activity for the queue's supervisor on the interaction, with the
        customer's comment and case."""
        for invitation in self:
            invitation._create_followup_one()

    def _create_followup_one(self):
        self.ensure_one()
        interaction = self.interaction_id
        supervisor = self.queue_id.supervisor_ids[:1]
        if not supervisor:
            interaction._log_note(
                _("Unhappy customer, but the queue has no supervisor to follow up.")
            )
            return
        note = Markup("<p>%s</p>") % _(
            "%(customer)s answered %(value)s (%(kind)s) about %(interaction)s.",
            customer=self.partner_id.display_name or "",
            value=self.value,
            kind=dict(KIND_SELECTION)[self.kind],
            interaction=interaction.name,
        )
        if self.comment:
            note += Markup("<blockquote>%s</blockquote>") % self.comment
        if interaction.case_id:
            note += Markup("<p>%s</p>") % _("Case: %(case)s", case=interaction.case_id.display_name)
        activity = interaction.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=_("Unhappy customer: call back"),
            note=note,
            user_id=supervisor.id,
        )
        self.write(
            {
                "followup_activity_id": activity.id,
                "followup_user_id": supervisor.id,
                "followup_state": "open",
            }
        )

    def action_followup_done(self, outcome=None):
        """The supervisor records what was done; the activity is marked done."""
        for invitation in self:
            if invitation.followup_state != "open":
                raise UserError(_("This answer has no open follow-up."))
            text = (outcome if outcome is not None else invitation.followup_outcome) or ""
            if not text.strip():
                raise UserError(_("Write the outcome of the follow-up first."))
            invitation.write(
                {
                    "followup_outcome": text,
                    "followup_state": "done",
                    "date_followup_done": fields.Datetime.now(),
                }
            )
            if invitation.followup_activity_id:
                # sudo: the activity may be assigned to another supervisor of the queue
                invitation.followup_activity_id.sudo().action_feedback(feedback=text)
        return True

    def action_open_interaction(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "omnichannel.interaction",
            "res_id": self.interaction_id.id,
            "view_mode": "form",
            "views": [(False, "form")],
        }
