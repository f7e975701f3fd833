"""One number of one customer on a campaign's calling list, and its attempts."""

import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools.misc import formatLang

from ..tools import address as address_tools
from ..tools import campaign as campaign_tools

_logger = logging.getLogger(__name__)

CONTACT_STATES = [
    ("pending", "To call"),
    ("in_progress", "In progress"),
    ("done", "Done"),
    ("excluded", "Excluded"),
    ("failed", "Failed"),
]
# state -> states it may move to
CONTACT_TRANSITIONS = {
    "pending": ("in_progress", "excluded", "failed", "done"),
    "in_progress": ("pending", "done", "excluded", "failed"),
    # back to the list: it matches again, or a supervisor resets it
    "done": ("pending",),
    "excluded": ("pending",),
    "failed": ("pending",),
}
OUTCOMES = [
    ("no_answer", "No answer"),
    ("busy", "Busy"),
    ("machine", "Answering machine"),
    ("abandoned", "Abandoned (nobody free)"),
    ("callback", "Call back requested"),
    ("promise_to_pay", "Promise to pay"),
    ("wrong_number", "Wrong number"),
    ("do_not_call", "Do not call"),
    ("done", "Done"),
    ("skipped", "Skipped"),
]
PROMISE_TO_PAY_DAYS = 7
# context key of the state machine's own writes; its value is an object no
# RPC client can send, so a caller cannot pass the key to skip the machine
STATE_MACHINE_KEY = "omnichannel_campaign_contact_state_machine"
STATE_MACHINE = object()


class OmnichannelCampaignContact(models.Model):
    """One number of one customer on a campaign's list: called, retried,
    excluded (with the reason) or done."""

    _name = "omnichannel.campaign.contact"
    _description = "Campaign contact"
    _inherit = ["omnichannel.state.mixin"]
    _order = "campaign_id, priority desc, date_next_attempt, id"
    _state_transitions = CONTACT_TRANSITIONS

    campaign_id = fields.Many2one(
        "omnichannel.campaign", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="campaign_id.company_id", store=True, index=True)
    queue_id = fields.Many2one(related="campaign_id.queue_id", store=True, index=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade"
    )
    person_id = fields.Many2one(
        "res.partner",
        string="Person called",
        index="btree_not_null",
        ondelete="set null",
        help="Whose number this is (the contact person of the invoice or order); empty: "
        "the customer's.",
    )
    phone = fields.Char(help="The number to call, in E.164 (+48601234567).")
    state = fields.Selection(CONTACT_STATES, required=True, default="pending", index=True)
    excluded_reason = fields.Selection(campaign_tools.EXCLUSION_REASONS, string="Reason")
    source = fields.Selection(
        [("domain", "Campaign filter"), ("import", "Imported"), ("manual", "Added by hand")],
        required=True,
        default="import",
        readonly=True,
        help="Contacts of the campaign's filter are checked against it again before each "
        "dial; imported and hand-added ones are not.",
    )
    res_model = fields.Char(string="Source model", readonly=True)
    res_id = fields.Many2oneReference(
        string="Source record", model_field="res_model", readonly=True
    )
    source_name = fields.Char(compute="_compute_source_name", string="Source document")
    priority = fields.Integer(default=0, help="Higher is called first.")
    attempt_count = fields.Integer(string="Attempts", readonly=True, default=0)
    date_next_attempt = fields.Datetime(
        string="Next attempt", index=True, help="Not called before this time (retry, window)."
    )
    date_last_attempt = fields.Datetime(string="Last attempt", readonly=True)
    date_claimed = fields.Datetime(string="Given to the agent", readonly=True)
    date_abandoned = fields.Datetime(
        string="Last abandoned call",
        readonly=True,
        help="Answered when no agent was free: no new call for 72 hours.",
    )
    last_outcome = fields.Selection(OUTCOMES, readonly=True)
    wrong_number = fields.Boolean(readonly=True, help="Flagged by an agent: not called again.")
    user_id = fields.Many2one(
        "res.users", string="Agent", index="btree_not_null", readonly=True, copy=False
    )
    interaction_ids = fields.One2many(
        "omnichannel.interaction", "campaign_contact_id", string="Attempts made", readonly=True
    )
    last_interaction_id = fields.Many2one(
        "omnichannel.interaction", string="Current call", readonly=True, ondelete="set null"
    )
    attempt_interaction_id = fields.Many2one(
        "omnichannel.interaction",
        string="Last call counted",
        readonly=True,
        ondelete="set null",
        help="Technical: the call last counted as an attempt (dialing twice counts once).",
    )
    callback_id = fields.Many2one(
        "omnichannel.callback", string="Call-back", readonly=True, ondelete="set null"
    )
    callback_date = fields.Datetime(
        string="Call back at", help="When the customer asked to be called back."
    )
    promise_date = fields.Date(string="Promised payment date")
    promise_amount = fields.Float(string="Promised amount")
    notes = fields.Text()

    _sql_constraints = [
        (
            "customer_number_uniq",
            "unique(campaign_id, partner_id, phone)",
            "This customer and number are already on the campaign's list.",
        ),
    ]

    @api.depends("res_model", "res_id")
    def _compute_source_name(self):
        for contact in self:
            name = False
            if contact.res_model in self.env and contact.res_id:
                # sudo: the name of the source record only (invoice number, order)
                record = self.env[contact.res_model].sudo().browse(contact.res_id).exists()
                name = record.display_name if record else False
            contact.source_name = name

    @api.depends("partner_id", "phone")
    def _compute_display_name(self):
        for contact in self:
            contact.display_name = " ".join(
                part for part in (contact.partner_id.name, contact.phone) if part
            )

    # ------------------------------------------------------------------
    # CRUD: imported and hand-added contacts pass the same gates
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("source") == "domain":
                continue
            vals.setdefault("res_model", "res.partner")
            vals.setdefault("res_id", vals.get("partner_id"))
            self._prepare_added(vals)
        return super().create(vals_list)

    def _prepare_added(self, vals):
        """An imported or hand-added contact: its number in E.164 (the
        partner's when none is given) and the reason it may not be called."""
        campaign = self.env["omnichannel.campaign"].browse(vals.get("campaign_id"))
        partner = self.env["res.partner"].browse(vals.get("partner_id"))
        person = self.env["res.partner"].browse(vals.get("person_id")) or partner
        raw = vals.get("phone") or person.mobile or person.phone or False
        region = (
            person.country_id or partner.country_id
        ).code or campaign.company_id.country_id.code
        number = address_tools.normalize_phone_or_none(raw, region) if raw else None
        vals["phone"] = number or raw or False
        if vals.get("state", "pending") != "pending" or vals.get("excluded_reason"):
            return
        blacklist, dnc = campaign._blocked_numbers([number])
        reason = campaign_tools.exclusion_reason(
            number,
            raw,
            blacklist=blacklist,
            do_not_call=dnc,
            marketing=campaign.purpose == "marketing",
            consent=person._omnichannel_has_marketing_consent(),
        )
        if reason:
            vals.update(state="excluded", excluded_reason=reason)

    def write(self, vals):
        if "state" in vals and self.env.context.get(STATE_MACHINE_KEY) is not STATE_MACHINE:
            # every state change goes through the state machine
            vals = dict(vals)
            state = vals.pop("state")
            return self._set_state(state, **vals) is not None
        return super().write(vals)

    def _state_write(self, new_state, vals):
        self.with_context(**{STATE_MACHINE_KEY: STATE_MACHINE}).write(dict(vals, state=new_state))

    # ------------------------------------------------------------------
    # Gates before a dial
    # ------------------------------------------------------------------
    def _still_matching(self):
        """The contacts whose customer still matches the campaign's filter
        (imported and hand-added ones always do). One search per campaign."""
        matching = self.filtered(lambda c: c.source != "domain")
        for campaign in (self - matching).campaign_id:
            contacts = self.filtered(lambda c, campaign=campaign: c.campaign_id == campaign)
            path = campaign._customer_path()
            records = campaign._target_records([(path, "in", contacts.partner_id.ids)])
            if records is None:
                continue
            customers = {}
            # sudo: the customers of records the starting user may read
            for record in records.sudo():
                customer = (
                    record
                    if campaign.target_model == "res.partner"
                    else record.partner_id.commercial_partner_id
                )
                customers.setdefault(customer.id, record.id)
            for contact in contacts:
                if contact.partner_id.id in customers:
                    matching |= contact
                    if contact.res_id not in set(records.ids):
                        # the source record paid, another one still matches
                        contact.res_id = customers[contact.partner_id.id]
        return matching

    def _gate(self, now, matches, weekdays, holidays):
        """(verdict, detail) of ``tools.campaign.dial_gate`` plus the calling
        window in the person's zone."""
        self.ensure_one()
        campaign = self.campaign_id
        person = self.person_id or self.partner_id
        reason = None
        if self.wrong_number:
            reason = "wrong_number"
        else:
            blacklist, dnc = campaign._blocked_numbers([self.phone])
            number = self.phone if self.phone and self.phone.startswith("+") else None
            reason = campaign_tools.exclusion_reason(
                number,
                self.phone,
                blacklist=blacklist,
                do_not_call=dnc,
                marketing=campaign.purpose == "marketing",
                consent=person._omnichannel_has_marketing_consent(),
            )
        verdict, detail = campaign_tools.dial_gate(
            now,
            matches=matches,
            reason=reason,
            attempts=self.attempt_count,
            max_attempts=campaign.max_attempts,
            lockout=campaign_tools.lockout_until(self.date_abandoned),
        )
        if verdict != "dial":
            return verdict, detail
        tz = self._timezone()
        allowed = campaign_tools.next_allowed(
            now,
            tz,
            campaign.window_start,
            campaign.window_end,
            weekdays=weekdays,
            holidays=holidays,
        )
        if allowed is None:
            return "wait", now + timedelta(days=1)
        if allowed > now:
            return "wait", allowed
        return "dial", None

    def _timezone(self):
        self.ensure_one()
        person = self.person_id or self.partner_id
        country = person.country_id or self.partner_id.country_id
        return campaign_tools.contact_timezone(
            person.tz or self.partner_id.tz, country.code, self.campaign_id._company_tz()
        )

    # ------------------------------------------------------------------
    # Preview dialing
    # ------------------------------------------------------------------
    @api.model
    def _my_open_preview(self):
        """The current user's contact being worked now (its call still open)."""
        # sudo: the user's own claimed contact, in whatever company
        contact = self.sudo().search(
            [("user_id", "=", self.env.uid), ("state", "=", "in_progress")], limit=1
        )
        if contact and contact.last_interaction_id.state in ("offered", "active", "wrapup"):
            return contact.with_env(self.env)
        return self.browse()

    def _start_preview(self, user):
        """The claimed contact becomes an outbound interaction of ``user``:
        offered and accepted at once, so the agent's console pops the
        customer as for any call."""
        self.ensure_one()
        campaign = self.campaign_id
        queue = campaign.queue_id
        campaign._check_agent_free(user)
        now = fields.Datetime.now()
        # sudo: the dialer creates the call on the customer for the agent it claimed
        interaction = (
            self.env["omnichannel.interaction"]
            .sudo()
            .with_company(campaign.company_id)
            .create(
                {
                    "channel_id": campaign.channel_id.id,
                    "company_id": campaign.company_id.id,
                    "direction": "outbound",
                    "partner_id": (self.person_id or self.partner_id).id,
                    "contact_address": self.phone,
                    "queue_id": queue.id,
                    "campaign_contact_id": self.id,
                    "script_id": campaign.script_id.id or queue.script_id.id or False,
                    "subject": _(
                        "%(campaign)s: attempt %(attempt)s of %(max)s",
                        campaign=campaign.name,
                        attempt=self.attempt_count + 1,
                        max=campaign.max_attempts,
                    ),
                    "invoice_id": self.res_id if self.res_model == "account.move" else False,
                    "sale_order_id": self.res_id if self.res_model == "sale.order" else False,
                }
            )
        )
        interaction._set_state("offered", agent_id=user.id, date_offered=now)
        # sudo: only the ACD creates offers; this one is accepted at once by its agent
        offer = (
            self.env["omnichannel.offer"]
            .sudo()
            .create(
                {
                    "interaction_id": interaction.id,
                    "user_id": user.id,
                    "queue_id": queue.id,
                    "date_offered": now,
                }
            )
        )
        offer._notify_agents()
        offer.with_user(user).action_accept()
        self.last_interaction_id = interaction
        if self.source_name:
            interaction.message_post(
                body=_(
                    "Campaign %(campaign)s, about %(document)s.",
                    campaign=campaign.name,
                    document=self.source_name,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return interaction

    def _preview_payload(self):
        """What the agent (console, XML-RPC) needs about the claimed contact."""
        self.ensure_one()
        # sudo: the agent's own claimed contact (checked by the callers)
        contact = self.sudo()
        interaction = contact.last_interaction_id
        campaign = contact.campaign_id
        return {
            "contact_id": contact.id,
            "campaign_id": campaign.id,
            "campaign": campaign.name,
            "interaction_id": interaction.id or False,
            "interaction": interaction.name or False,
            "partner_id": contact.partner_id.id,
            "partner_name": contact.partner_id.display_name,
            "person_id": (contact.person_id or contact.partner_id).id,
            "phone": contact.phone or False,
            "caller_id": campaign.caller_id or campaign.channel_id.address or False,
            "attempt_count": contact.attempt_count,
            "max_attempts": campaign.max_attempts,
            "res_model": contact.res_model or False,
            "res_id": contact.res_id or False,
            "source_name": contact.source_name or False,
            "script_id": interaction.script_id.id or False,
            "timezone": contact._timezone(),
        }

    def _check_my_call(self):
        """The current user works this contact now (its claimed agent)."""
        self.ensure_one()
        # sudo: the contact may be outside the user's rules; its agent and state only
        contact = self.sudo()
        if contact.user_id != self.env.user and not self.env.su:
            raise AccessError(_("This campaign contact is worked by another agent."))
        if contact.state != "in_progress" or not contact.last_interaction_id:
            raise UserError(_("This campaign contact is not being worked now."))
        return contact

    def action_dial(self):
        """The agent dials (the softphone or a desk phone; the telephony addon
        places the call): the attempt is counted once per interaction.
        Returns ``{"phone", "caller_id", "interaction_id", "attempt_count"}``."""
        contact = self._check_my_call()
        interaction = contact.last_interaction_id
        if contact._count_attempt(interaction):
            interaction.message_post(
                body=_("Dialed %(phone)s.", phone=contact.phone), subtype_xmlid="mail.mt_note"
            )
        return {
            "phone": contact.phone or False,
            "caller_id": contact.campaign_id.caller_id
            or contact.campaign_id.channel_id.address
            or False,
            "interaction_id": interaction.id,
            "attempt_count": contact.attempt_count,
        }

    def action_dial_tel(self):
        """Button: count the attempt and open the number (``tel:``) in the
        agent's softphone or phone app."""
        result = self.action_dial()
        return {"type": "ir.actions.act_url", "url": f"tel:{result['phone']}", "target": "self"}

    def _count_attempt(self, interaction):
        """Count the attempt ``interaction`` is, once; True when counted now."""
        if self.attempt_interaction_id == interaction:
            return False
        self.write(
            {
                "attempt_count": self.attempt_count + 1,
                "date_last_attempt": fields.Datetime.now(),
                "attempt_interaction_id": interaction.id,
            }
        )
        return True

    def action_skip(self, reason=False):
        """The agent does not call this contact (a reason is required): it
        leaves the list, excluded as skipped, and the interaction closes."""
        if not reason or not str(reason).strip():
            raise UserError(_("Say why you skip this contact."))
        contact = self._check_my_call()
        interaction = contact.last_interaction_id
        note = _("Skipped by %(agent)s: %(reason)s", agent=self.env.user.name, reason=reason)
        contact._set_state(
            "excluded", excluded_reason="skipped", last_outcome="skipped", notes=note
        )
        interaction.message_post(body=note, subtype_xmlid="mail.mt_note")
        interaction.with_user(contact.user_id).action_close()
        return True

    def action_record_outcome(
        self,
        disposition_id,
        notes=False,
        callback_at=False,
        promise_date=False,
        promise_amount=False,
    ):
        """Wrap-up of a campaign call in one call (console, XML-RPC): the
        disposition drives the next step. ``callback_at`` ("YYYY-MM-DD
        HH:MM:SS", UTC) for a call-back; ``promise_date`` / ``promise_amount``
        for a promise to pay (defaults: in 7 days, the oldest overdue
        invoice's residual)."""
        contact = self._check_my_call()
        contact.write(
            {
                "callback_date": fields.Datetime.to_datetime(callback_at) if callback_at else False,
                "promise_date": fields.Date.to_date(promise_date) if promise_date else False,
                "promise_amount": float(promise_amount or 0.0),
            }
        )
        interaction = contact.last_interaction_id.with_user(contact.user_id)
        if interaction.state == "active":
            interaction.action_end()
        interaction.action_console_close(disposition_id=disposition_id, notes=notes)
        return True

    def action_reset(self):
        """Supervisor: back on the list (attempts kept)."""
        self.check_access("write")
        self.filtered(lambda c: c.state in ("done", "excluded", "failed"))._set_state(
            "pending", excluded_reason=False, date_next_attempt=False, wrong_number=False
        )
        return True

    # ------------------------------------------------------------------
    # Outcome of an attempt (called by the interaction when it ends)
    # ------------------------------------------------------------------
    def _attempt_ended(self, interaction, outcome):
        """An attempt ended with ``outcome`` (a disposition outcome, or
        ``abandoned`` / ``no_answer`` from the call's state): decide the
        next step (tools.campaign.after_attempt) and write it back."""
        self.ensure_one()
        if self.state != "in_progress" or interaction != self.last_interaction_id:
            return
        self._count_attempt(interaction)
        campaign = self.campaign_id
        now = fields.Datetime.now()
        vals = {}
        if outcome == "abandoned":
            vals["date_abandoned"] = now
        decision = campaign_tools.after_attempt(
            outcome,
            self.attempt_count,
            campaign.max_attempts,
            now,
            delays={
                "no_answer": campaign.retry_no_answer,
                "no_contact": campaign.retry_no_answer,
                "busy": campaign.retry_busy,
                "machine": campaign.retry_machine,
                "callback": campaign.retry_callback,
            },
            abandoned_at=vals.get("date_abandoned") or self.date_abandoned,
        )
        # the field's selection, not OUTCOMES: an addon's outcome added with
        # selection_add (a crm bridge's "opportunity") is recorded as itself
        known = dict(self._fields["last_outcome"].selection)
        vals.update(
            last_outcome=outcome if outcome in known else "done",
            date_next_attempt=decision.next_attempt or False,
            excluded_reason=decision.reason or False,
        )
        if decision.action == "flag_number":
            vals["wrong_number"] = True
        elif decision.action == "blacklist":
            self._blacklist(interaction)
        elif decision.action == "callback":
            vals["callback_id"] = self._request_callback(interaction).id
        elif decision.action == "promise_to_pay":
            self._promise_to_pay(interaction)
        self._set_state(decision.state, **vals)

    def _blacklist(self, interaction):
        if not self.phone:
            return
        # sudo: agents may not write the blacklist; the customer asked not to be called
        self.env["phone.blacklist"].sudo()._add(
            [self.phone],
            message=_(
                "Do not call: asked during %(interaction)s (campaign %(campaign)s).",
                interaction=interaction.name,
                campaign=self.campaign_id.name,
            ),
        )

    def _request_callback(self, interaction):
        campaign = self.campaign_id
        when = self.callback_date or fields.Datetime.now() + timedelta(
            minutes=campaign.retry_callback
        )
        return self.env["omnichannel.callback"]._request(
            self.phone,
            campaign.queue_id,
            "manual",
            partner=self.person_id or self.partner_id,
            channel=campaign.channel_id,
            when=when,
            origin=interaction,
            notes=_(
                "Asked to be called back during campaign %(campaign)s.", campaign=campaign.name
            ),
        )

    def _promise_to_pay(self, interaction):
        """A to-do on the customer's oldest overdue invoice with the promised
        date and amount (on the interaction when nothing is overdue)."""
        today = fields.Date.context_today(self)
        # sudo: agents may not read invoices; the activity goes on the oldest overdue one
        invoice = (
            self.env["account.move"]
            .sudo()
            .search(
                [
                    ("commercial_partner_id", "=", self.partner_id.id),
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("payment_state", "in", ("not_paid", "partial")),
                    ("invoice_date_due", "<", today),
                    ("company_id", "=", self.company_id.id),
                ],
                order="invoice_date_due, id",
                limit=1,
            )
        )
        date = self.promise_date or today + timedelta(days=PROMISE_TO_PAY_DAYS)
        amount = self.promise_amount or (invoice.amount_residual if invoice else 0.0)
        currency = invoice.currency_id or self.company_id.currency_id
        note = _(
            "Promised %(amount)s by %(date)s (campaign %(campaign)s, %(interaction)s).",
            amount=formatLang(self.env, amount, currency_obj=currency),
            date=fields.Date.to_string(date),
            campaign=self.campaign_id.name,
            interaction=interaction.name,
        )
        agent = interaction.agent_id or self.env.user
        # the follow-up is the agent's when they may open the invoice, else its salesperson's
        owner = agent
        if invoice and not invoice.with_user(agent).has_access("read"):
            owner = invoice.invoice_user_id or agent
        # sudo: the campaign follows its attempts whoever ends them (PBX, cron, agent); the
        # to-do goes on the call itself when nothing is overdue
        target = invoice or interaction.sudo()
        target.activity_schedule(
            "mail.mail_activity_data_todo",
            date_deadline=date,
            summary=_("Promise to pay"),
            note=note,
            user_id=owner.id,
        )
        # sudo: the note goes on the call whoever ends the attempt (PBX, cron, agent)
        interaction.sudo().message_post(body=note, subtype_xmlid="mail.mt_note")
