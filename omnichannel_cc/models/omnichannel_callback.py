import logging
import re
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..tools import address as address_tools

_logger = logging.getLogger(__name__)

CALLBACK_STATES = [
    ("pending", "Pending"),
    ("in_progress", "In progress"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]
OPEN_STATES = ("pending", "in_progress")
# state -> states it may move to
CALLBACK_TRANSITIONS = {
    "pending": ("in_progress", "cancelled"),
    # back to pending: not reached and retried, or the queue was closed
    "in_progress": ("done", "failed", "pending", "cancelled"),
    "done": (),
    "failed": ("pending",),
    "cancelled": ("pending",),
}
STATE_MACHINE_KEY = "omnichannel_callback_state_machine"
# an object no RPC client can send: the key cannot be passed to skip the machine
STATE_MACHINE = object()
SOURCES = [
    ("webform", "Web form"),
    ("chat", "Chat"),
    ("queue_closed", "Queue closed"),
    ("queue_overflow", "Queue overflow"),
    ("pbx", "PBX"),
    ("manual", "Manual"),
    ("api", "Integration"),
]
CRON_BATCH = 50
E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")


class OmnichannelCallback(models.Model):
    """A "call me back" request: becomes an outbound call, retried until answered."""

    _name = "omnichannel.callback"
    _description = "Contact center call-back request"
    _inherit = ["mail.thread"]
    _order = "date_next, id"
    _rec_name = "phone"

    partner_id = fields.Many2one("res.partner", string="Customer", index=True, tracking=True)
    phone = fields.Char(
        required=True, tracking=True, help="The number to call, in E.164 (+48601234567)."
    )
    queue_id = fields.Many2one(
        "omnichannel.queue", required=True, index=True, ondelete="restrict", tracking=True
    )
    channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Phone channel",
        required=True,
        ondelete="restrict",
        domain=[("channel_type", "=", "phone")],
        help="The outbound line the call-back is made on.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    user_id = fields.Many2one(
        "res.users", string="Assigned agent", index="btree_not_null", tracking=True
    )
    date_requested = fields.Datetime(
        string="Requested time", required=True, default=fields.Datetime.now, tracking=True
    )
    date_next = fields.Datetime(
        string="Next attempt", readonly=True, copy=False, index=True, help="When the cron calls."
    )
    source = fields.Selection(SOURCES, required=True, default="manual")
    state = fields.Selection(
        CALLBACK_STATES, required=True, default="pending", index=True, tracking=True
    )
    attempts = fields.Integer(readonly=True, copy=False, default=0)
    max_attempts = fields.Integer(default=3, required=True)
    retry_delay = fields.Integer(string="Retry delay (min)", default=30, required=True)
    origin_interaction_id = fields.Many2one(
        "omnichannel.interaction",
        string="Requested during",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )
    interaction_ids = fields.One2many(
        "omnichannel.interaction", "callback_id", string="Call attempts", readonly=True
    )
    interaction_count = fields.Integer(compute="_compute_interaction_count")
    notes = fields.Text()

    _sql_constraints = [
        ("max_attempts_positive", "CHECK(max_attempts > 0)", "Allow at least one attempt."),
        ("retry_delay_positive", "CHECK(retry_delay >= 0)", "The retry delay cannot be negative."),
    ]

    @api.constrains("phone")
    def _check_phone(self):
        for callback in self:
            if not E164_RE.match(callback.phone or ""):
                raise ValidationError(
                    _(
                        "%(phone)s is not a phone number in international format "
                        "(E.164, e.g. +48601234567).",
                        phone=callback.phone,
                    )
                )

    @api.constrains("channel_id", "queue_id", "company_id")
    def _check_channel(self):
        for callback in self:
            if callback.channel_id.channel_type != "phone":
                raise ValidationError(
                    _(
                        "Call-backs are made on a phone channel, not on %(channel)s.",
                        channel=callback.channel_id.display_name,
                    )
                )
            if callback.queue_id.company_id != callback.company_id:
                raise ValidationError(_("The queue belongs to another company."))

    @api.depends("partner_id", "phone")
    def _compute_display_name(self):
        for callback in self:
            callback.display_name = (
                f"{callback.partner_id.name} ({callback.phone})"
                if callback.partner_id
                else callback.phone
            )

    def _compute_interaction_count(self):
        for callback in self:
            callback.interaction_count = len(callback.interaction_ids)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("phone"):
                vals["phone"] = self._normalize_phone(vals["phone"], vals.get("company_id"))
            if not vals.get("date_next"):
                vals["date_next"] = vals.get("date_requested") or fields.Datetime.now()
        callbacks = super().create(vals_list)
        callbacks._trigger_cron()
        return callbacks

    def write(self, vals):
        if "state" in vals and self.env.context.get(STATE_MACHINE_KEY) is not STATE_MACHINE:
            # every state change goes through the state machine
            vals = dict(vals)
            state = vals.pop("state")
            return self._set_state(state, **vals) is not None
        if vals.get("phone"):
            vals["phone"] = self._normalize_phone(vals["phone"], self.company_id[:1].id)
        if "date_requested" in vals and "date_next" not in vals:
            vals["date_next"] = vals["date_requested"]
        result = super().write(vals)
        if "date_next" in vals or vals.get("state") == "pending":
            self._trigger_cron()
        return result

    @api.model
    def _normalize_phone(self, number, company_id=None):
        """E.164 in the company's country, or a clear ValidationError."""
        company = self.env["res.company"].browse(company_id) if company_id else self.env.company
        region = company.country_id.code
        try:
            return address_tools.normalize_phone(number, region)
        except address_tools.AddressError as error:
            raise ValidationError(
                _(
                    "%(phone)s is not a valid phone number to call back: %(error)s",
                    phone=number,
                    error=error,
                )
            ) from error

    def _trigger_cron(self):
        cron = self.env.ref("omnichannel_cc.ir_cron_callback", raise_if_not_found=False)
        if not cron:
            return
        for when in set(self.filtered(lambda c: c.state == "pending").mapped("date_next")):
            # sudo: only administrators write crons; a trigger only runs the call-back cron sooner
            cron.sudo()._trigger(max(when, fields.Datetime.now()))

    # ------------------------------------------------------------------
    # The state machine
    # ------------------------------------------------------------------
    def _set_state(self, new_state, **vals):
        """The one state machine of call-back requests: checks each transition
        against ``CALLBACK_TRANSITIONS`` and writes through the ORM (tracked,
        the cron re-triggered for pending ones). Returns the records."""
        labels = dict(CALLBACK_STATES)
        for callback in self:
            if (
                new_state != callback.state
                and new_state not in CALLBACK_TRANSITIONS[callback.state]
            ):
                raise UserError(
                    _(
                        "Call-back %(name)s is %(state)s and cannot become %(new)s.",
                        name=callback.display_name,
                        state=labels[callback.state],
                        new=labels[new_state],
                    )
                )
        if self:
            self.with_context(**{STATE_MACHINE_KEY: STATE_MACHINE}).write(
                dict(vals, state=new_state)
            )
        return self

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_cancel(self):
        self.filtered(lambda c: c.state in OPEN_STATES)._set_state("cancelled")
        return True

    def action_reset(self):
        self.filtered(lambda c: c.state in ("failed", "cancelled"))._set_state(
            "pending", attempts=0, date_next=fields.Datetime.now()
        )
        return True

    def action_call_now(self):
        """Make the next attempt now (the cron does the same when it is due)."""
        pending = self.filtered(lambda c: c.state == "pending")
        pending.write({"date_next": fields.Datetime.now()})
        if pending:
            # sudo: the cron's work (attempt, ACD) on these call-backs, which the user may write
            self.env["omnichannel.callback"].sudo()._process_due(ids=pending.ids)
        return True

    def action_view_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_interaction_action"
        )
        action["domain"] = [("callback_id", "=", self.id)]
        return action

    # ------------------------------------------------------------------
    # Sources
    # ------------------------------------------------------------------
    @api.model
    def _phone_channel_for(self, queue, company, preferred=None):
        """The outbound phone line: the given one, the queue's, or the company's first."""
        if preferred and preferred.channel_type == "phone" and preferred.active:
            return preferred
        # sudo: the company's phone lines, looked up for the cron and visitors' requests too
        Channel = self.env["omnichannel.channel"].sudo()
        domain = [("channel_type", "=", "phone"), ("company_id", "=", company.id)]
        return Channel.search(domain + [("queue_id", "=", queue.id)], limit=1) or Channel.search(
            domain, limit=1
        )

    @api.model
    def _request(
        self,
        phone,
        queue,
        source,
        partner=None,
        channel=None,
        when=None,
        origin=None,
        notes=None,
    ):
        """Create (or merge into the open) call-back of this number and queue.

        A customer who calls three times while the queue is closed gets one
        call-back, not three. Returns the call-back record.
        """
        company = queue.company_id
        number = self._normalize_phone(phone, company.id)
        line = self._phone_channel_for(queue, company, channel)
        if not line:
            raise ValidationError(
                _(
                    "No phone channel to call back from in %(company)s: create one under "
                    "Contact Center / Configuration / Channels.",
                    company=company.name,
                )
            )
        # sudo: one open call-back per number, whoever's it is; callers check who may ask
        Callback = self.sudo().with_company(company)
        existing = Callback.search(
            [
                ("phone", "=", number),
                ("queue_id", "=", queue.id),
                ("state", "in", OPEN_STATES),
            ],
            limit=1,
        )
        if existing:
            existing.message_post(
                body=notes or _("Asked again for a call-back."), subtype_xmlid="mail.mt_note"
            )
            if when and existing.state == "pending" and when < existing.date_next:
                existing.date_next = when
            return existing
        return Callback.create(
            {
                "phone": number,
                "partner_id": partner.id if partner else False,
                "queue_id": queue.id,
                "channel_id": line.id,
                "company_id": company.id,
                "source": source,
                "date_requested": when or fields.Datetime.now(),
                "origin_interaction_id": origin.id if origin else False,
                "notes": notes or False,
            }
        )

    @api.model
    def api_request(self, payload):
        """Integrators (XML-RPC, managers): request a call-back.

        ``payload``: ``phone`` (required, any notation; stored E.164),
        ``queue_id`` or ``queue_code``, optional ``partner_id``, ``channel_id``
        (outbound phone channel), ``date_requested`` ("YYYY-MM-DD HH:MM:SS"
        UTC), ``notes``. Returns ``{callback_id, state, phone, date_next}``.
        """
        if not self.env.su and not self.env.user.has_group(
            "omnichannel_cc.group_omnichannel_manager"
        ):
            raise AccessError(_("Only Contact Center managers may request call-backs by API."))
        if not isinstance(payload, dict):
            raise ValidationError(_("The payload must be an XML-RPC struct / JSON object."))
        phone = payload.get("phone")
        if not phone or not isinstance(phone, str):
            raise ValidationError(_("'phone' (the number to call back) is required."))
        Queue = self.env["omnichannel.queue"]
        if payload.get("queue_id"):
            queue = Queue.browse(payload["queue_id"]).exists()
        elif payload.get("queue_code"):
            queue = Queue.search([("code", "=", payload["queue_code"])], limit=1)
        else:
            raise ValidationError(_("Give the queue in 'queue_id' or 'queue_code'."))
        if not queue:
            raise ValidationError(_("No such queue."))
        partner = None
        if payload.get("partner_id"):
            partner = self.env["res.partner"].browse(payload["partner_id"]).exists()
            if not partner:
                raise ValidationError(_("No such partner."))
        channel = None
        if payload.get("channel_id"):
            channel = self.env["omnichannel.channel"].browse(payload["channel_id"]).exists()
            if not channel or channel.channel_type != "phone":
                raise ValidationError(_("channel_id must be a phone channel."))
        when = None
        if payload.get("date_requested"):
            try:
                when = fields.Datetime.to_datetime(payload["date_requested"])
            except (TypeError, ValueError) as error:
                raise ValidationError(
                    _("date_requested must be 'YYYY-MM-DD HH:MM:SS' (UTC).")
                ) from error
        notes = payload.get("notes")
        if notes is not None and not isinstance(notes, str):
            raise ValidationError(_("notes must be text."))
        queue_company = queue.company_id.id
        phone = self._normalize_phone(phone, queue_company)
        if partner is None:
            matches = self.env["res.partner"].omnichannel_identify(phone, channel_type="phone")
            partner = self.env["res.partner"].browse(matches[0]["id"]) if matches else None
        callback = self._request(
            phone, queue, "api", partner=partner, channel=channel, when=when, notes=notes
        )
        return {
            "callback_id": callback.id,
            "state": callback.state,
            "phone": callback.phone,
            "date_next": fields.Datetime.to_string(callback.date_next),
        }

    # ------------------------------------------------------------------
    # The cron: due call-backs become outbound interactions
    # ------------------------------------------------------------------
    def _claim_due(self, limit, ids=None):
        """Claim due call-backs (all, or among ``ids``) for this worker only:
        SKIP LOCKED, then a conditional UPDATE; two workers never call the
        same customer twice."""
        self.flush_model()
        only = SQL("AND id IN %s", tuple(ids)) if ids else SQL()
        self.env.cr.execute(
            SQL(
                """SELECT id FROM omnichannel_callback
                    WHERE state = 'pending' AND date_next <= %s %s
                    ORDER BY date_next, id
                    LIMIT %s
                      FOR UPDATE SKIP LOCKED""",
                fields.Datetime.now(),
                only,
                limit,
            )
        )
        callbacks = self.browse([row[0] for row in self.env.cr.fetchall()])
        # locked by this transaction: the state machine's write cannot race
        callbacks.invalidate_recordset(["state", "attempts"])
        for callback in callbacks:
            callback._set_state("in_progress", attempts=callback.attempts + 1)
        return callbacks

    @api.model
    def _process_due(self, limit=CRON_BATCH, ids=None):
        """One batch: claim due call-backs whose queue is open, create their
        outbound interaction and let the ACD offer it. Returns (done, left)."""
        # sudo: the call-back cron's work, for every queue and company
        Callback = self.sudo()
        claimed = Callback._claim_due(limit, ids)
        interactions = Callback.env["omnichannel.interaction"]
        for callback in claimed:
            queue = callback.queue_id
            if not queue.active or not queue._is_open():
                # closed now: retry when it opens (the next run checks again)
                callback._set_state(
                    "pending",
                    attempts=callback.attempts - 1,
                    date_next=fields.Datetime.now() + timedelta(minutes=15),
                )
                continue
            interactions |= callback._create_attempt()
        interactions.queue_id._dispatch()
        left = Callback.search_count(
            [("state", "=", "pending"), ("date_next", "<=", fields.Datetime.now())]
        )
        return len(claimed), left

    def _create_attempt(self):
        self.ensure_one()
        # sudo: the attempt belongs to the queue, whoever asked for it; the ACD offers it
        interaction = (
            self.env["omnichannel.interaction"]
            .sudo()
            .with_company(self.company_id)
            .create(
                {
                    "channel_id": self.channel_id.id,
                    "company_id": self.company_id.id,
                    "direction": "outbound",
                    "partner_id": self.partner_id.id,
                    "contact_address": self.phone,
                    "queue_id": self.queue_id.id,
                    "state": "queued",
                    "callback_id": self.id,
                    "subject": _(
                        "Call-back %(attempt)s/%(max)s",
                        attempt=self.attempts,
                        max=self.max_attempts,
                    ),
                }
            )
        )
        if self.notes:
            interaction.message_post(body=self.notes, subtype_xmlid="mail.mt_note")
        self.message_post(
            body=_(
                "Attempt %(attempt)s of %(max)s: %(interaction)s.",
                attempt=self.attempts,
                max=self.max_attempts,
                interaction=interaction.name,
            ),
            subtype_xmlid="mail.mt_note",
        )
        return interaction

    @api.model
    def _cron_process_due(self):
        try:
            done, left = self._process_due()
        except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
            _logger.info("Call-back cron met a concurrent update; retrying at the next run")
            self.env.cr.rollback()
            self.env.ref("omnichannel_cc.ir_cron_callback")._trigger()
            return
        _logger.info(
            "Call-back cron: %s call-back(s) turned into outbound calls, %s due left", done, left
        )
        # with progress the cron runs again at once while due call-backs are left
        self.env["ir.cron"]._notify_progress(done=done, remaining=left)

    # ------------------------------------------------------------------
    # Outcome of an attempt (called by the interaction when it ends)
    # ------------------------------------------------------------------
    def _attempt_ended(self, interaction, reached):
        self.ensure_one()
        if self.state != "in_progress":
            return
        if reached:
            self._set_state("done", user_id=interaction.agent_id.id or self.user_id.id)
            self.message_post(
                body=_("Customer reached: %(interaction)s.", interaction=interaction.name),
                subtype_xmlid="mail.mt_note",
            )
        elif self.attempts >= self.max_attempts:
            self._set_state("failed")
            self.message_post(
                body=_(
                    "Not reached after %(attempts)s attempt(s): failed.", attempts=self.attempts
                ),
                subtype_xmlid="mail.mt_note",
            )
        else:
            retry = fields.Datetime.now() + timedelta(minutes=self.retry_delay)
            self._set_state("pending", date_next=retry)
            self.message_post(
                body=_(
                    "Not reached (%(interaction)s); next attempt at %(when)s UTC.",
                    interaction=interaction.name,
                    when=fields.Datetime.to_string(retry),
                ),
                subtype_xmlid="mail.mt_note",
            )
