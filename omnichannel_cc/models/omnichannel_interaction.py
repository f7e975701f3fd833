import logging
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..tools import address as address_tools
from ..tools import routing
from .omnichannel_channel import CHANNEL_TYPES, PHONE_CHANNEL_TYPES

_logger = logging.getLogger(__name__)

STATES = [
    ("new", "New"),
    ("queued", "Queued"),
    ("offered", "Offered"),
    ("active", "Active"),
    ("wrapup", "Wrap-up"),
    ("done", "Done"),
    ("abandoned", "Abandoned"),
    ("missed", "Missed"),
    ("transferred", "Transferred"),
]
WAITING_STATES = ("new", "queued", "offered")
FINAL_STATES = ("done", "abandoned", "missed", "transferred")
# state -> states it may move to
TRANSITIONS = {
    "new": ("queued", "offered", "active", "abandoned", "missed"),
    "queued": ("offered", "active", "abandoned", "missed", "transferred"),
    "offered": ("queued", "active", "abandoned", "missed"),
    "active": ("wrapup", "done", "transferred"),
    "wrapup": ("done",),
    "done": (),
    "abandoned": (),
    "missed": (),
    "transferred": (),
}
MAX_EXTERNAL_ID = 255
MAX_BODY = 100000


class OmnichannelInteraction(models.Model):
    """One contact with a customer on one channel. Its chatter is the conversation."""

    _name = "omnichannel.interaction"
    _description = "Contact center interaction"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"
    _rec_names_search = ["name", "subject", "contact_address", "partner_id"]

    name = fields.Char(string="Reference", required=True, copy=False, readonly=True, default="/")
    subject = fields.Char()
    channel_id = fields.Many2one(
        "omnichannel.channel", required=True, ondelete="restrict", index=True, tracking=True
    )
    channel_type = fields.Selection(related="channel_id.channel_type", store=True, index=True)
    direction = fields.Selection(
        [("inbound", "Inbound"), ("outbound", "Outbound")], default="inbound", required=True
    )
    partner_id = fields.Many2one("res.partner", string="Customer", index=True, tracking=True)
    commercial_partner_id = fields.Many2one(
        "res.partner",
        compute="_compute_commercial_partner_id",
        store=True,
        index=True,
        string="Customer company",
    )
    contact_address = fields.Char(
        help="The customer's address on this channel: E.164 number, e-mail, handle."
    )
    external_id = fields.Char(
        copy=False, readonly=True, help="The provider's id of this contact (call id, message id)."
    )
    queue_id = fields.Many2one("omnichannel.queue", index=True, tracking=True)
    agent_id = fields.Many2one("res.users", index=True, tracking=True)
    state = fields.Selection(STATES, default="new", required=True, index=True, tracking=True)
    priority = fields.Integer(default=0, index=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    date_queued = fields.Datetime(readonly=True, copy=False, index=True)
    date_offered = fields.Datetime(readonly=True, copy=False)
    date_answered = fields.Datetime(readonly=True, copy=False)
    date_ended = fields.Datetime(readonly=True, copy=False)
    date_closed = fields.Datetime(readonly=True, copy=False)
    wait_duration = fields.Integer(
        string="Wait (s)", compute="_compute_durations", store=True, aggregator="avg"
    )
    talk_duration = fields.Integer(
        string="Handle (s)", compute="_compute_durations", store=True, aggregator="avg"
    )
    wrap_duration = fields.Integer(
        string="Wrap-up (s)", compute="_compute_durations", store=True, aggregator="avg"
    )
    disposition_id = fields.Many2one("omnichannel.disposition", tracking=True)
    notes = fields.Text()
    case_id = fields.Many2one("omnichannel.case", index="btree_not_null", tracking=True)
    sale_order_id = fields.Many2one("sale.order", index="btree_not_null")
    invoice_id = fields.Many2one(
        "account.move",
        index="btree_not_null",
        domain=[("move_type", "in", ("out_invoice", "out_refund"))],
    )

    # Routing
    required_skill_id = fields.Many2one("omnichannel.skill", string="Required skill")
    preferred_agent_id = fields.Many2one(
        "res.users",
        string="Preferred agent",
        help="Offered to this agent first (case owner, last agent).",
    )
    preferred_until = fields.Datetime(help="After this, any agent of the queue may take it.")
    routing_rule_ids = fields.Many2many(
        "omnichannel.routing.rule", string="Matched routing rules", readonly=True, copy=False
    )
    offer_ids = fields.One2many("omnichannel.offer", "interaction_id", string="Offers")
    end_reason = fields.Selection(
        [
            ("closed", "Queue closed"),
            ("overflow", "Queue full or wait too long"),
            ("customer", "Customer left"),
        ],
        readonly=True,
        copy=False,
    )
    overflow_count = fields.Integer(readonly=True, copy=False)

    _sql_constraints = [
        (
            "external_id_uniq",
            "unique(channel_id, external_id)",
            "This channel already has an interaction with this provider id.",
        ),
    ]

    @api.depends("partner_id.commercial_partner_id")
    def _compute_commercial_partner_id(self):
        for interaction in self:
            interaction.commercial_partner_id = interaction.partner_id.commercial_partner_id

    @api.depends("date_queued", "date_answered", "date_ended", "date_closed", "create_date")
    def _compute_durations(self):
        def seconds(start, end):
            return max(int((end - start).total_seconds()), 0) if start and end else 0

        for rec in self:
            start = rec.date_queued or rec.create_date
            rec.wait_duration = seconds(start, rec.date_answered or rec.date_ended)
            rec.talk_duration = seconds(rec.date_answered, rec.date_ended)
            rec.wrap_duration = seconds(rec.date_ended, rec.date_closed)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = (
                    self.env["ir.sequence"].next_by_code("omnichannel.interaction") or "/"
                )
            if vals.get("state") in WAITING_STATES and not vals.get("date_queued"):
                vals["date_queued"] = fields.Datetime.now()
        return super().create(vals_list)

    # ------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------
    def _set_state(self, new_state, **vals):
        for rec in self:
            if new_state not in TRANSITIONS[rec.state]:
                raise UserError(
                    _(
                        "Interaction %(name)s is %(state)s and cannot become %(new)s.",
                        name=rec.name,
                        state=dict(STATES)[rec.state],
                        new=dict(STATES)[new_state],
                    )
                )
        self.write(dict(vals, state=new_state))

    def action_queue(self):
        now = fields.Datetime.now()
        for rec in self:
            rec._set_state("queued", date_queued=rec.date_queued or now)
        return True

    def action_answer(self):
        """The agent takes the interaction: it becomes theirs and active.

        With a pending offer for the current user this is an accept (exactly
        one accept wins); otherwise the agent picks it up directly.
        """
        now = fields.Datetime.now()
        for rec in self:
            offer = rec.offer_ids.filtered(
                lambda o: o.state == "pending" and o.user_id == self.env.user
            )
            if offer:
                offer[:1].action_accept()
                continue
            rec._set_state("active", date_answered=now, agent_id=rec.agent_id.id or self.env.uid)
            rec.offer_ids.filtered(lambda o: o.state == "pending")._close(
                "cancelled", requeue=False
            )
            rec._agent_record()._refresh_state()
        return True

    def action_end(self):
        """The customer side is over; the agent wraps up for the queue's wrap-up time."""
        self._set_state("wrapup", date_ended=fields.Datetime.now())
        for rec in self:
            rec._agent_record()._start_wrapup(rec.queue_id.wrapup_seconds)
        return True

    def action_close(self):
        now = fields.Datetime.now()
        agents = self.env["omnichannel.agent"].sudo()
        for rec in self:
            vals = {"date_closed": now}
            if not rec.date_ended:
                vals["date_ended"] = now
            was_wrapup = rec.state == "wrapup"
            rec._set_state("done", **vals)
            agent = rec._agent_record()
            if not was_wrapup and agent:
                agent.sudo().write({"last_end_date": now})
            agents |= agent
        # closing ends the wrap-up: the agent is free again
        agents.filtered("wrapup_until")._end_wrapup()
        for agent in agents.sudo():
            agent._refresh_state()
            if agent.state in ("available", "busy"):
                agent._dispatch_for_me()
        return True

    def action_abandon(self):
        """The customer left before an agent answered."""
        now = fields.Datetime.now()
        self._set_state("abandoned", date_ended=now, date_closed=now, end_reason="customer")
        offers = self.sudo().offer_ids.filtered(lambda o: o.state == "pending")
        offers._close("cancelled", requeue=False)
        agents = self.sudo().agent_id | offers.user_id
        self.env["omnichannel.agent"].sudo().search(
            [("user_id", "in", agents.ids)]
        )._refresh_state()
        return True

    def _agent_record(self):
        self.ensure_one()
        if not self.agent_id:
            return self.env["omnichannel.agent"]
        return self.env["omnichannel.agent"]._for_user(self.agent_id)

    def _requeue(self):
        """Back to waiting (offer rejected or not answered), keeping its place."""
        self.sudo().write({"state": "queued", "agent_id": False, "date_offered": False})

    # ------------------------------------------------------------------
    # Routing
    # ------------------------------------------------------------------
    def _routing_facts(self):
        self.ensure_one()
        partner = self.partner_id
        channel = self.channel_id
        if not partner:
            return routing.Facts(channel_id=channel.id, channel_type=channel.channel_type)
        commercial = partner.commercial_partner_id
        Partner = self.env["res.partner"].sudo()
        today = fields.Date.context_today(self)
        overdue, _total = Partner._omnichannel_pop_balance(commercial, self.company_id, today)
        unpaid = (
            self.env["account.move"]
            .sudo()
            .search_count(
                [
                    ("commercial_partner_id", "=", commercial.id),
                    ("company_id", "=", self.company_id.id),
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("payment_state", "in", ("not_paid", "partial")),
                ]
            )
        )
        open_orders = (
            self.env["sale.order"]
            .sudo()
            .search_count(
                [
                    ("partner_id", "child_of", commercial.id),
                    ("company_id", "=", self.company_id.id),
                    "|",
                    ("state", "in", ("draft", "sent")),
                    "&",
                    ("state", "=", "sale"),
                    ("invoice_status", "!=", "invoiced"),
                ]
            )
        )
        case = (
            self.env["omnichannel.case"]
            .sudo()
            .search(
                [
                    ("commercial_partner_id", "=", commercial.id),
                    ("company_id", "=", self.company_id.id),
                    ("is_open", "=", True),
                    ("user_id", "!=", False),
                ],
                order="priority desc, write_date desc",
                limit=1,
            )
        )
        last = self.sudo().search(
            [
                ("commercial_partner_id", "=", commercial.id),
                ("company_id", "=", self.company_id.id),
                ("agent_id", "!=", False),
                ("date_answered", "!=", False),
                ("id", "not in", self.ids),  # also for a new record (live chat preview)
            ],
            order="date_answered desc",
            limit=1,
        )
        age_days = (
            (fields.Datetime.now() - last.date_answered).total_seconds() / 86400 if last else 0.0
        )
        return routing.Facts(
            channel_id=channel.id,
            channel_type=channel.channel_type,
            lang=partner.lang or "",
            country_id=partner.country_id.id or commercial.country_id.id or 0,
            category_ids=frozenset((partner.category_id | commercial.category_id).ids),
            overdue_amount=overdue,
            unpaid_count=unpaid,
            open_order_count=open_orders,
            customer_rank=commercial.customer_rank or 0,
            case_owner_id=case.user_id.id or 0,
            last_agent_id=last.agent_id.id or 0,
            last_agent_age_days=age_days,
            identified=True,
        )

    def _route(self):
        """Apply the routing rules, check opening hours and queue limits, then
        offer at once to a free agent."""
        Rule = self.env["omnichannel.routing.rule"].sudo()
        for rec in self.sudo():
            rules = Rule.search([("company_id", "=", rec.company_id.id)])
            # without rules the facts decide nothing: do not gather them
            facts = rec._routing_facts() if rules else routing.Facts()
            decision = routing.decide(rules._to_plain(), facts, rec.queue_id.id)
            vals = {
                "queue_id": decision.queue_id or rec.queue_id.id,
                "priority": rec.priority + decision.priority,
                "required_skill_id": decision.skill_id or False,
                "routing_rule_ids": [fields.Command.set(decision.rule_ids)],
            }
            if decision.preferred_agent_id:
                vals["preferred_agent_id"] = decision.preferred_agent_id
                vals["preferred_until"] = fields.Datetime.now() + timedelta(
                    seconds=max(decision.preferred_timeout, 0)
                )
                if decision.preferred_timeout > 0:
                    self.env.ref("omnichannel_cc.ir_cron_acd_sweep")._trigger(
                        vals["preferred_until"]
                    )
            rec.write(vals)
            queue = rec.queue_id
            if not queue._is_open():
                rec._apply_closed_action()
            elif queue.max_queue_length and queue.waiting_count > queue.max_queue_length:
                rec._overflow(_("the queue holds %(count)s contacts", count=queue.max_queue_length))
        queues = self.filtered(lambda i: i.state == "queued").queue_id
        queues._dispatch()

    def _apply_closed_action(self):
        self.ensure_one()
        queue = self.queue_id
        action = queue.closed_action
        if action == "voicemail":
            now = fields.Datetime.now()
            self.write(
                {"state": "missed", "end_reason": "closed", "date_ended": now, "date_closed": now}
            )
        elif action == "callback":
            now = fields.Datetime.now()
            self.write(
                {"state": "missed", "end_reason": "closed", "date_ended": now, "date_closed": now}
            )
            self._schedule_callback(
                _("Contact received while %(queue)s was closed.", queue=queue.name)
            )
        elif action == "auto_reply" and self.partner_id:
            self.message_post(
                body=queue.closed_message or "",
                partner_ids=self.partner_id.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )

    def _overflow(self, reason):
        """Too many waiting or waited too long: overflow queue or call-back."""
        for rec in self:
            queue = rec.queue_id
            target = queue.overflow_queue_id
            if (
                queue.overflow_action == "queue"
                and target
                and target != queue
                and rec.overflow_count < 3
            ):
                rec.write({"queue_id": target.id, "overflow_count": rec.overflow_count + 1})
                rec.message_post(
                    body=_(
                        "Moved from %(queue)s to %(target)s: %(reason)s.",
                        queue=queue.name,
                        target=target.name,
                        reason=reason,
                    ),
                    subtype_xmlid="mail.mt_note",
                )
                target._dispatch()
            elif queue.overflow_action == "callback":
                now = fields.Datetime.now()
                rec.write(
                    {
                        "state": "missed",
                        "end_reason": "overflow",
                        "date_ended": now,
                        "date_closed": now,
                    }
                )
                rec._schedule_callback(
                    _("Not answered in %(queue)s: %(reason)s.", queue=queue.name, reason=reason)
                )

    def _schedule_callback(self, note):
        """A call-back task for the queue's supervisors (or managers)."""
        self.ensure_one()
        user = self.queue_id.supervisor_ids[:1] or self.env.ref("base.user_admin")
        self.activity_schedule(
            "mail.mail_activity_data_call",
            summary=_(
                "Call back %(customer)s",
                customer=self.partner_id.display_name or self.contact_address,
            ),
            note=note,
            user_id=user.id,
        )

    # ------------------------------------------------------------------
    # External API
    # ------------------------------------------------------------------
    @api.model
    def api_inbound(self, payload):
        """Create (or find again) the interaction of one inbound contact.

        ``payload``: ``channel_type``, ``channel`` (the channel's address) or
        ``channel_id``, ``from`` (the customer's address), ``external_id``
        (the provider's id), optional ``subject`` and ``body``.
        The same channel and external id always give the same interaction.
        """
        if not self.env.su and not self.env.user.has_group(
            "omnichannel_cc.group_omnichannel_manager"
        ):
            raise AccessError(
                _(
                    "Only Contact Center managers may push inbound contacts: give the "
                    "integration user the Contact Center / Manager group."
                )
            )
        values = self._api_inbound_parse(payload)
        # the integration user is not made a follower of every contact it
        # pushes (as OdooBot is not for the webhooks): it would be notified
        # of every customer message
        Interaction = self.with_context(mail_create_nosubscribe=True)
        interaction, _created = Interaction._inbound_once(
            values["channel"],
            values["external_id"],
            lambda: Interaction._api_inbound_create(values),
        )
        return interaction._api_result()

    @api.model
    def _inbound_once(self, channel, external_id, create, known_new=False):
        """The one entry point of every channel adapter: find or create the
        interaction of one inbound contact, exactly once.

        ``create()`` builds the interaction (not yet routed) when this is the
        first delivery of ``(channel, external_id)``; the new interaction is
        then linked to the customer's open case and routed. Returns
        ``(interaction, created)``. Racing deliveries of the same contact
        serialize on the idempotency key (see ``omnichannel.event.key``).
        ``known_new``: the caller searched ``(channel, external_id)`` in this
        transaction and found nothing, so the first search is skipped (the
        claim below still decides).
        """
        if not known_new:
            existing = self._api_inbound_find(channel, external_id)
            if existing:
                return existing, False
        keys = self.env["omnichannel.event.key"].sudo()
        scope = f"interaction:{channel.id}"
        if not keys._claim(scope, external_id):
            existing = self._api_inbound_find(channel, external_id)
            if existing:
                return existing, False
            raise ValidationError(
                _(
                    "Contact %(external_id)s of channel %(channel)s was already "
                    "received and its interaction was deleted.",
                    external_id=external_id,
                    channel=channel.display_name,
                )
            )
        interaction = create()
        keys._set_res_id(scope, external_id, interaction.id)
        interaction._attach_open_case()
        interaction._route()
        return interaction, True

    def _attach_open_case(self):
        """A customer who switches channel (call, then e-mail, then chat)
        continues their open case: link it unless a case is already set."""
        Case = self.env["omnichannel.case"].sudo()
        for rec in self.sudo().filtered(lambda i: not i.case_id and i.partner_id):
            case = Case.search(
                [
                    ("commercial_partner_id", "=", rec.partner_id.commercial_partner_id.id),
                    ("company_id", "=", rec.company_id.id),
                    ("is_open", "=", True),
                ],
                order="priority desc, write_date desc, id desc",
                limit=1,
            )
            if case:
                rec.case_id = case

    def _api_result(self):
        self.ensure_one()
        rec = self.sudo()
        return {
            "interaction_id": rec.id,
            "partner_id": rec.partner_id.id or False,
            "queue_id": rec.queue_id.id or False,
            "agent_id": rec.agent_id.id or False,
            "state": rec.state,
        }

    @api.model
    def _api_inbound_find(self, channel, external_id):
        return (
            self.sudo()
            .with_context(active_test=False)
            .search([("channel_id", "=", channel.id), ("external_id", "=", external_id)], limit=1)
        )

    @api.model
    def _api_inbound_parse(self, payload):
        """Checked, normalised values from a raw payload; ValidationError otherwise."""
        if not isinstance(payload, dict):
            raise ValidationError(_("The payload must be a JSON object / XML-RPC struct."))
        channel_type = payload.get("channel_type")
        known_types = dict(CHANNEL_TYPES)
        channel_model = self.env["omnichannel.channel"]
        if payload.get("channel_id"):
            if not isinstance(payload["channel_id"], int):
                raise ValidationError(_("channel_id must be an integer."))
            channel = channel_model.browse(payload["channel_id"]).exists()
            if not channel or not channel.active:
                raise ValidationError(
                    _("No active channel has id %(id)s.", id=payload["channel_id"])
                )
            if channel_type and channel_type != channel.channel_type:
                raise ValidationError(
                    _(
                        "Channel %(channel)s is of type %(type)s, not %(given)s.",
                        channel=channel.display_name,
                        type=channel.channel_type,
                        given=channel_type,
                    )
                )
        else:
            if channel_type not in known_types:
                raise ValidationError(
                    _(
                        "Unknown channel type %(type)r: use one of %(types)s.",
                        type=channel_type,
                        types=", ".join(known_types),
                    )
                )
            address = payload.get("channel")
            if not address or not isinstance(address, str):
                raise ValidationError(
                    _("Give the channel's address in 'channel' or its id in 'channel_id'.")
                )
            channel = channel_model._find_by_address(channel_type, address)
            if not channel:
                raise ValidationError(
                    _(
                        "No %(type)s channel has the address %(address)s: create it under "
                        "Contact Center / Configuration / Channels first.",
                        type=known_types[channel_type],
                        address=address,
                    )
                )
        external_id = payload.get("external_id")
        if isinstance(external_id, int) and not isinstance(external_id, bool):
            external_id = str(external_id)
        if not external_id or not isinstance(external_id, str) or not external_id.strip():
            raise ValidationError(_("external_id (the provider's id of this contact) is required."))
        external_id = external_id.strip()
        if len(external_id) > MAX_EXTERNAL_ID:
            raise ValidationError(
                _("external_id is longer than %(max)s characters.", max=MAX_EXTERNAL_ID)
            )
        sender = payload.get("from")
        if not sender or not isinstance(sender, str):
            raise ValidationError(_("'from' (the customer's address) is required."))
        contact_address = self._normalize_contact_address(channel, sender)
        subject = payload.get("subject") or False
        body = payload.get("body") or False
        for key, value in (("subject", subject), ("body", body)):
            if value and not isinstance(value, str):
                raise ValidationError(_("%(key)s must be text.", key=key))
        if body and len(body) > MAX_BODY:
            raise ValidationError(_("The body is longer than %(max)s characters.", max=MAX_BODY))
        return {
            "channel": channel,
            "external_id": external_id,
            "contact_address": contact_address,
            "subject": subject and subject.strip()[:250],
            "body": body,
        }

    @api.model
    def _company_phone_region(self, company):
        """ISO code of the company's country, cached (see res.partner)."""
        codes = self.env["res.partner"]._omnichannel_company_country_codes((company.id,))
        return codes[0][1] if codes else False

    @api.model
    def _normalize_contact_address(self, channel, sender):
        sender = sender.strip()
        try:
            if channel.channel_type in PHONE_CHANNEL_TYPES:
                region = self._company_phone_region(channel.company_id)
                return address_tools.phone_candidates(sender, [region] if region else [])[0]
            if channel.channel_type == "email":
                return address_tools.normalize_email(sender)
        except address_tools.AddressError as error:
            raise ValidationError(
                _(
                    "%(address)s is not a valid customer address for a %(type)s channel: %(error)s",
                    address=sender,
                    type=dict(CHANNEL_TYPES)[channel.channel_type],
                    error=error,
                )
            ) from error
        kind = address_tools.classify(sender)
        if kind == "email":
            return address_tools.normalize_email(sender)
        if kind == "phone":
            region = self._company_phone_region(channel.company_id)
            return address_tools.normalize_phone_or_none(sender, region) or sender
        return sender[:250]

    @api.model
    def _api_inbound_create(self, values):
        channel = values["channel"]
        lookup_type = "email" if "@" in values["contact_address"] else "phone"
        try:
            matches = self.env["res.partner"].omnichannel_identify(
                values["contact_address"], channel_type=lookup_type
            )
        except ValidationError:
            matches = []  # a social handle: nobody to identify yet
        partner = self.env["res.partner"].browse(matches[0]["id"]) if matches else None
        interaction = self.create(
            {
                "channel_id": channel.id,
                "company_id": channel.company_id.id,
                "direction": "inbound",
                "external_id": values["external_id"],
                "contact_address": values["contact_address"],
                "subject": values["subject"],
                "partner_id": partner.id if partner else False,
                "queue_id": channel.queue_id.id,
                "state": "queued",
                "date_queued": values.get("date_queued") or False,
            }
        )
        if values["body"]:
            interaction.message_post(
                body=Markup("<p>%s</p>") % escape(values["body"]).replace("\n", Markup("<br/>")),
                author_id=partner.id if partner else False,
                email_from=(partner.email_formatted if partner and partner.email else False)
                or values["contact_address"],
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )
        return interaction
