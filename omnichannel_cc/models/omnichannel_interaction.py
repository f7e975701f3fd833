"""The interaction: one contact with a customer on one channel.

Its chatter is the conversation. The model holds, in sections: the lifecycle
(the one state machine), routing, the external API, the agent console's view
of it, supervisor actions, call scripts, hold and transfer, the e-mail / fax
gateway and call-back attempts.
"""

import hashlib
import logging
import random
from collections import namedtuple
from datetime import time, timedelta

import pytz
from markupsafe import Markup, escape
from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, email_normalize, formataddr, parse_contact_from_email
from odoo.tools.sql import create_index

from ..tools import address as address_tools
from ..tools import demo_history, email_gateway, routing
from ..tools import fax as fax_tools
from ..tools import script as script_tools
from .omnichannel_agent import AGENT_GROUP, notify_console, seconds_between
from .omnichannel_channel import PHONE_CHANNEL_TYPES
from .res_partner import normalize_email

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
# key of the transaction's data (cr.precommit.data): ids of the interactions it created
CREATED_KEY = "omnichannel_interactions_created"
# key of the same data while _message_track runs: {author: [(id, body, tracking values)]}
TRACK_LOGS_KEY = "omnichannel_interactions_track_logs"
# ended without an agent talking to the customer
UNANSWERED_STATES = ("abandoned", "missed")
FINAL_STATES = ("done", *UNANSWERED_STATES, "transferred")
# state -> states it may move to
TRANSITIONS = {
    "new": ("queued", "offered", "active", "abandoned", "missed"),
    "queued": ("offered", "active", "abandoned", "missed", "transferred"),
    "offered": ("queued", "active", "abandoned", "missed"),
    # active -> queued: a transfer to another queue or agent starts a new wait
    "active": ("wrapup", "done", "transferred", "queued"),
    "wrapup": ("done",),
    "done": (),
    # The PBX may report more after the customer hung up: a failure or the
    # voicemail (abandoned -> missed), or an answer that came first but was
    # reported late (abandoned / missed -> wrapup).
    "abandoned": ("missed", "wrapup"),
    "missed": ("wrapup",),
    "transferred": (),
}
# timestamps a state stamps when the caller does not give them
STATE_STAMPS = {
    "queued": ("date_queued",),
    "offered": ("date_offered",),
    "active": ("date_answered",),
    "wrapup": ("date_ended",),
    "done": ("date_ended", "date_closed"),
    "abandoned": ("date_ended",),
    "missed": ("date_ended",),
}
# context key of the state machine's own writes; its value is an object no
# RPC client can send, so a caller cannot pass the key to skip the machine
STATE_MACHINE_KEY = "omnichannel_interaction_state_machine"
STATE_MACHINE = object()
# H3 (issue 13): what only the state machine, the ACD and the actions write.
# Agents and supervisors change interactions through the actions (answer,
# hold, transfer, end, close); managers may correct these fields by hand (the
# state still through the machine). Every field declared readonly is
# protected too, also those other addons add (PBX call state, chat watermark).
PROTECTED_FIELDS = frozenset(
    {
        "state",
        "agent_id",
        "queue_id",
        "channel_id",
        "company_id",
        "direction",
        "external_id",
        "priority",
        "date_queued",
        "date_offered",
        "date_answered",
        "date_ended",
        "date_closed",
        "wait_duration",
        "talk_duration",
        "wrap_duration",
        "required_skill_id",
        "preferred_agent_id",
        "preferred_until",
        "routing_rule_ids",
        "offer_ids",
        "end_reason",
        "overflow_count",
        "hold_since",
        "hold_duration",
        "transfer_count",
        "callback_id",
        "discuss_channel_id",
        "script_step_id",
        "script_done",
    }
)
# context key of the actions' own writes of protected fields as the user
# (hold, script position, a sent fax); as for the state machine, its value is
# an object no RPC client can send
TRUSTED_WRITE_KEY = "omnichannel_interaction_trusted_write"
TRUSTED_WRITE = object()
# an agent's new interaction (an outbound contact): where it belongs, new or
# waiting, hers or nobody's yet; the other protected fields keep their defaults
CREATE_FIELDS = frozenset({"channel_id", "queue_id", "company_id", "direction"})
CREATE_STATES = ("new", "queued")
# links a user may set only to records they may read
LINK_FIELDS = ("partner_id", "case_id", "sale_order_id", "invoice_id")
MAX_EXTERNAL_ID = 255
MAX_BODY = 100000
# Changes that move a figure of the wallboard.
WALLBOARD_FIELDS = {"state", "queue_id", "agent_id"}
# what the agent console lists as the agent's own work
CONSOLE_INTERACTION_STATES = ("offered", "active", "wrapup")
SUPERVISOR_GROUP = "omnichannel_cc.group_omnichannel_supervisor"
MANAGER_GROUP = "omnichannel_cc.group_omnichannel_manager"
PROMISE_TO_PAY_DAYS = 7
# call-back attempts: what counts as the customer reached
REACHED_STATES = ("done", "transferred")  # transferred: an agent was talking to them
NO_ANSWER_OUTCOMES = ("no_contact", "no_answer", "busy", "machine")
# The watchdog (issue 19): a call still active (or, with the telephony addon,
# still waiting) with no sign of life for this many minutes is ended, and a
# wrap-up left open this long after its queue's wrap-up time is closed.
CALL_WATCHDOG_PARAM = "omnichannel_cc.call_watchdog_minutes"
CALL_WATCHDOG_DEFAULT = 240
WATCHDOG_BATCH = 200

# Call scripts: state kept on the interaction is small: the answers (one per
# step) and the step shown now; the way through the script is replayed from the
# answers each time, so editing an earlier answer re-routes the rest and drops
# the answers of steps no longer on the way.
ScriptState = namedtuple(
    "ScriptState", "flow records answers passed frontier route current position"
)


class OmnichannelInteraction(models.Model):
    """One contact with a customer on one channel. Its chatter is the conversation."""

    _name = "omnichannel.interaction"
    _description = "Contact center interaction"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "omnichannel.state.mixin",
        "omnichannel.rules.sql.mixin",
    ]
    _order = "id desc"
    _rec_names_search = ["name", "subject", "contact_address", "partner_id"]
    _state_transitions = TRANSITIONS

    name = fields.Char(string="Reference", required=True, copy=False, readonly=True, default="/")
    subject = fields.Char()
    channel_id = fields.Many2one(
        "omnichannel.channel", required=True, ondelete="restrict", index=True, tracking=True
    )
    # precompute: the computed columns a new interaction needs go into its
    # INSERT, not into an UPDATE right after it (the inbound path creates one
    # per contact)
    channel_type = fields.Selection(
        related="channel_id.channel_type", store=True, index=True, precompute=True
    )
    direction = fields.Selection(
        [("inbound", "Inbound"), ("outbound", "Outbound")], default="inbound", required=True
    )
    partner_id = fields.Many2one("res.partner", string="Customer", index=True, tracking=True)
    commercial_partner_id = fields.Many2one(
        "res.partner",
        compute="_compute_commercial_partner_id",
        store=True,
        precompute=True,
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
    # indexed: the wallboard counts what was closed today
    date_closed = fields.Datetime(readonly=True, copy=False, index=True)
    # precomputed: in the INSERT of a new contact, not an UPDATE right after it
    wait_duration = fields.Integer(
        string="Wait (s)",
        compute="_compute_durations",
        store=True,
        precompute=True,
        aggregator="avg",
    )
    talk_duration = fields.Integer(
        string="Handle (s)",
        compute="_compute_durations",
        store=True,
        precompute=True,
        aggregator="avg",
    )
    wrap_duration = fields.Integer(
        string="Wrap-up (s)",
        compute="_compute_durations",
        store=True,
        precompute=True,
        aggregator="avg",
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
    discuss_channel_id = fields.Many2one(
        "discuss.channel",
        string="Discuss session",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        copy=False,
        help="The chat, audio or video session of this interaction (a web chat, a session "
        "opened from an invitation link).",
    )
    end_reason = fields.Selection(
        [
            ("closed", "Queue closed"),
            ("overflow", "Queue full or wait too long"),
            ("customer", "Customer left"),
            ("no_agent", "No agent available"),
            ("voicemail", "Went to voicemail"),
            ("watchdog", "No end received (closed by the watchdog)"),
        ],
        readonly=True,
        copy=False,
    )
    overflow_count = fields.Integer(readonly=True, copy=False)

    # Call scripts
    script_id = fields.Many2one(
        "omnichannel.script",
        compute="_compute_script_id",
        store=True,
        precompute=True,
        readonly=False,
        index="btree_not_null",
        help="The call script of this interaction: the queue's unless chosen here.",
    )
    script_answer_ids = fields.One2many(
        "omnichannel.script.answer", "interaction_id", string="Script answers"
    )
    script_step_id = fields.Many2one(
        "omnichannel.script.step",
        string="Current script step",
        ondelete="set null",
        copy=False,
        readonly=True,
        help="Empty: the first step not answered yet.",
    )
    script_done = fields.Boolean(string="Script completed", copy=False, readonly=True, index=True)

    # Hold and transfer
    hold_since = fields.Datetime(readonly=True, copy=False)
    hold_duration = fields.Integer(
        string="Hold (s)",
        readonly=True,
        copy=False,
        aggregator="avg",
        help="Seconds the customer spent on hold, all holds added up.",
    )
    is_on_hold = fields.Boolean(
        string="On hold", compute="_compute_is_on_hold", store=True, index=True, precompute=True
    )
    transfer_count = fields.Integer(readonly=True, copy=False)

    # Call-back attempts
    callback_id = fields.Many2one(
        "omnichannel.callback",
        string="Call-back",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        copy=False,
        help="The call-back request this outbound call is an attempt of.",
    )
    callback_request_ids = fields.One2many(
        "omnichannel.callback", "origin_interaction_id", string="Call-back requests"
    )

    # --- Campaigns (issue 16): the attempt of a campaign contact ----------
    campaign_contact_id = fields.Many2one(
        "omnichannel.campaign.contact",
        string="Campaign contact",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
        copy=False,
        help="The campaign contact this outbound call is an attempt of.",
    )
    campaign_id = fields.Many2one(
        related="campaign_contact_id.campaign_id",
        store=True,
        precompute=True,
        index="btree_not_null",
    )
    # Odoo's utm (inbound attribution): ``campaign_id`` above is the outbound
    # campaign, so the utm.mixin fields get a utm_ prefix here. Set at creation
    # from the channel (or the outbound campaign's utm campaign); orders made
    # from the interaction inherit them (sale.order is a utm.mixin).
    utm_campaign_id = fields.Many2one(
        "utm.campaign", string="Marketing campaign", index="btree_not_null", readonly=True
    )
    utm_source_id = fields.Many2one(
        "utm.source", string="Source", index="btree_not_null", readonly=True
    )
    utm_medium_id = fields.Many2one(
        "utm.medium", string="Medium", index="btree_not_null", readonly=True
    )
    # --- end of campaigns -------------------------------------------------

    can_correct = fields.Boolean(
        compute="_compute_can_correct",
        help="Technical: the current user may correct the fields the contact center sets "
        "(a manager); the form shows them read-only to everybody else.",
    )

    _sql_constraints = [
        (
            "external_id_uniq",
            "unique(channel_id, external_id)",
            "This channel already has an interaction with this provider id.",
        ),
    ]

    @api.depends_context("uid")
    def _compute_can_correct(self):
        can_correct = self.env.su or self.env.user.has_group(MANAGER_GROUP)
        for rec in self:
            rec.can_correct = can_correct

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
            if not start and (rec.date_answered or rec.date_ended):
                # precomputed in create(): the creation time the INSERT will write
                start = self.env.cr.now()
            rec.wait_duration = seconds(start, rec.date_answered or rec.date_ended)
            rec.talk_duration = seconds(rec.date_answered, rec.date_ended)
            rec.wrap_duration = seconds(rec.date_ended, rec.date_closed)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_user_vals(vals, create=True)
            if vals.get("name", "/") == "/":
                vals["name"] = (
                    self.env["ir.sequence"].next_by_code("omnichannel.interaction") or "/"
                )
            if vals.get("state") in WAITING_STATES and not vals.get("date_queued"):
                vals["date_queued"] = fields.Datetime.now()
            self._utm_defaults(vals)  # campaigns (issue 16)
        untrusted = self._untrusted()
        creator = untrusted
        if "mail_create_nolog" not in creator.env.context:
            # no "Interaction created" note: the chatter holds the conversation
            # and what happened to it, the form its creation date (a center
            # makes thousands a day; the note was a fifth of a PBX's /route)
            creator = creator.with_context(mail_create_nolog=True)
        records = super(OmnichannelInteraction, creator).create(vals_list).with_env(untrusted.env)
        # no other transaction sees these rows before commit (see _is_new_in_transaction)
        self.env.cr.precommit.data.setdefault(CREATED_KEY, set()).update(records.ids)
        # sudo: the creator may not read what was made (another agent's); company ids only
        self.env["omnichannel.queue"]._wallboard_notify(records.sudo().company_id.ids)
        return records

    def write(self, vals):
        self._check_user_vals(vals)
        if "state" in vals and self.env.context.get(STATE_MACHINE_KEY) is not STATE_MACHINE:
            # every state change goes through the state machine
            vals = dict(vals)
            state = vals.pop("state")
            return self._set_state(state, **vals) is not None
        # the machine's or an action's own write: what reacts to it (call-back
        # outcome, ...) writes as the user again, checked and through the machine
        records = self._untrusted()
        # sudo: read before super().write() checks access, which refuses; the agents' ids only
        before_agents = records.sudo().agent_id if "agent_id" in vals else self.env["res.users"]
        new_script = records.browse()
        if "script_id" in vals:
            new_script = records.filtered(
                lambda rec: rec.script_id.id != (vals["script_id"] or False)
            )
        result = super(OmnichannelInteraction, records).write(vals)
        if new_script:
            # another script: start it from its first step
            super(OmnichannelInteraction, new_script).write(
                {"script_step_id": False, "script_done": False}
            )
        if {"state", "agent_id"}.intersection(vals):
            # sudo: the write may have taken the records from the user (agent, queue); ids only
            notify_console(records.env, before_agents | records.sudo().agent_id)
        if WALLBOARD_FIELDS.intersection(vals):
            # sudo: as above, the companies' ids only
            records.env["omnichannel.queue"]._wallboard_notify(records.sudo().company_id.ids)
        if "state" in vals or "disposition_id" in vals:
            records._callback_attempt_outcome()
            records._campaign_attempt_outcome()
        return result

    # --- Tracking of many interactions in one flush ------------------------
    def _message_track(self, fields_iter, initial_values_dict):
        """The tracking messages of many interactions (the event inbox applies
        the events of a chunk's calls in one flush) made in one ``mail.message``
        create and one ``mail.tracking.value`` create instead of one
        ``_message_log`` each: the same messages, a fraction of the ORM work."""
        if len(self) < 2:
            return super()._message_track(fields_iter, initial_values_dict)
        data = self.env.cr.precommit.data
        data[TRACK_LOGS_KEY] = logs = {}
        try:
            tracking = super()._message_track(fields_iter, initial_values_dict)
        finally:
            data.pop(TRACK_LOGS_KEY, None)
        for author_id, entries in logs.items():
            records = self.browse([record_id for record_id, _body, _values in entries])
            messages = records._message_log_batch(
                {record_id: body for record_id, body, _values in entries}, author_id=author_id
            )
            # sudo: tracking values are written as _message_log writes them (sudo)
            self.env["mail.tracking.value"].sudo().create(
                [
                    dict(command[2], mail_message_id=message.id)
                    for message, (_record_id, _body, values) in zip(messages, entries, strict=True)
                    for command in values
                ]
            )
        return tracking

    def _message_log(self, *, body="", author_id=None, tracking_value_ids=False, **kwargs):
        logs = self.env.cr.precommit.data.get(TRACK_LOGS_KEY)
        if logs is None or not tracking_value_ids or kwargs:
            return super()._message_log(
                body=body, author_id=author_id, tracking_value_ids=tracking_value_ids, **kwargs
            )
        # inside _message_track above: made with the other interactions' messages
        logs.setdefault(author_id, []).append((self.id, body, tracking_value_ids))
        return self.env["mail.message"]

    # --- Campaigns (issue 16): utm attribution -----------------------------
    @api.model
    def _utm_defaults(self, vals):
        """Fill the utm fields of new interaction ``vals`` left empty: an
        attempt of an outbound campaign gets that campaign's utm campaign; an
        inbound contact its channel's campaign, source and medium (an agent's
        own outbound call on the line is nobody's campaign)."""
        defaults = {}
        if vals.get("campaign_contact_id"):
            # sudo: the attribution is the campaign's, whoever creates the attempt
            contact = (
                self.env["omnichannel.campaign.contact"].sudo().browse(vals["campaign_contact_id"])
            )
            defaults["utm_campaign_id"] = contact.campaign_id.utm_campaign_id.id
        elif vals.get("channel_id") and vals.get("direction", "inbound") == "inbound":
            # sudo: the attribution is the channel's, whoever creates the contact
            channel = self.env["omnichannel.channel"].sudo().browse(vals["channel_id"])
            defaults = {
                "utm_campaign_id": channel.campaign_id.id,
                "utm_source_id": channel.source_id.id,
                "utm_medium_id": channel.medium_id.id,
            }
        for fname, value in defaults.items():
            if value and not vals.get(fname):
                vals[fname] = value

    def _utm_values(self):
        """The utm.mixin values of a record made from this interaction (an
        order, or a lead in a crm bridge)."""
        self.ensure_one()
        # sudo: the agent may not read utm records; their ids only
        rec = self.sudo()
        return {
            "campaign_id": rec.utm_campaign_id.id,
            "source_id": rec.utm_source_id.id,
            "medium_id": rec.utm_medium_id.id,
        }

    # --- end of campaigns -------------------------------------------------

    def _is_new_in_transaction(self):
        """Whether this interaction was created by the current transaction:
        invisible to every other one until commit, so nobody else can lock
        or change its row (the ACD offers it without locking it first).
        The set is cleared at commit and rollback."""
        self.ensure_one()
        return self.id in self.env.cr.precommit.data.get(CREATED_KEY, ())

    def _untrusted(self):
        """These records without the state machine's or an action's trust."""
        context = self.env.context
        if context.get(STATE_MACHINE_KEY) or context.get(TRUSTED_WRITE_KEY):
            return self.with_context(**{STATE_MACHINE_KEY: False, TRUSTED_WRITE_KEY: False})
        return self

    def _write_trusted(self, vals):
        """Write protected fields as the current user (tracked as theirs; the
        access rights and record rules still apply): only for the actions,
        which checked the change themselves (hold, script position, ...)."""
        return self.with_context(**{TRUSTED_WRITE_KEY: TRUSTED_WRITE}).write(vals)

    @api.model
    def _create_trusted(self, vals_list):
        """Create with protected fields as the current user: as ``_write_trusted``."""
        records = self.with_context(**{TRUSTED_WRITE_KEY: TRUSTED_WRITE}).create(vals_list)
        return records.with_env(self.env)

    def _check_user_vals(self, vals, create=False):
        """H3 (issue 13): users change interactions through the actions.

        Unless the superuser, the state machine or an action writes, only
        contact center managers write the protected fields; agents create
        only a new or waiting interaction, their own or their queues'. Every
        user links only customers, cases, orders and invoices they may read."""
        context = self.env.context
        if (
            self.env.su
            or context.get(STATE_MACHINE_KEY) is STATE_MACHINE
            or context.get(TRUSTED_WRITE_KEY) is TRUSTED_WRITE
        ):
            return
        if not self.env.user.has_group(MANAGER_GROUP):
            refused = self._protected_in(vals, create)
            if refused:
                raise AccessError(self._protected_message(refused, create))
        links = LINK_FIELDS + (("queue_id", "channel_id") if create else ())
        for fname in links:
            value = vals.get(fname)
            if isinstance(value, models.BaseModel):
                value = value.id
            if value:
                self.env[self._fields[fname].comodel_name].browse(value).check_access("read")

    def _protected_in(self, vals, create=False):
        """The fields of ``vals`` a user other than a manager may not write."""
        refused = []
        for fname, value in vals.items():
            field = self._fields.get(fname)
            if not field or (fname not in PROTECTED_FIELDS and not field.readonly):
                continue
            if isinstance(value, models.BaseModel):
                value = value.id
            if create and (
                fname in CREATE_FIELDS
                or not value  # the default
                or (fname == "name" and value == "/")
                or (fname == "state" and value in CREATE_STATES)
                # a waiting contact is the ACD's to give to an agent
                or (
                    fname == "agent_id"
                    and value == self.env.uid
                    and vals.get("state", "new") == "new"
                )
            ):
                continue
            refused.append(fname)
        return refused

    def _protected_message(self, fnames, create=False):
        names = ", ".join(sorted(f"{self._fields[fname].string} ({fname})" for fname in fnames))
        if create:
            return _(
                "Agents create only a new interaction of their own, or one waiting in one of "
                "their queues; the contact center sets these fields (state machine, routing): "
                "%(fields)s. Answer it, then hold, transfer, end and close it with its actions.",
                fields=names,
            )
        return _(
            "The contact center sets these fields of an interaction (state machine, "
            "routing), not a user: %(fields)s. Use its actions instead: Answer, Hold / "
            "Resume, Transfer to a queue or an agent, End, Close (with the disposition and "
            "notes) and the script. Only a contact center manager corrects them.",
            fields=names,
        )

    # ------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------
    def _set_state(self, new_state, guard=None, **vals):
        """The one state machine of interactions (``omnichannel.state.mixin``,
        table ``TRANSITIONS``): ``write({"state": ...})`` is redirected here
        too. Addons that react to a state change (surveys, telephony) override
        this method."""
        return super()._set_state(new_state, guard=guard, **vals)

    def _state_write(self, new_state, vals):
        """Stamp the times of the new state the caller did not give, then write
        through the ORM (tracked in the chatter, stored durations recomputed,
        the console, wallboard and call-back listeners of ``write`` run)."""
        now = fields.Datetime.now()
        stamp = STATE_STAMPS.get(new_state, ())
        groups = {}
        for rec in self:
            rec_vals = dict(vals, state=new_state)
            for fname in stamp:
                if fname not in rec_vals and not rec[fname]:
                    rec_vals[fname] = now
            key = tuple(sorted((k, str(v)) for k, v in rec_vals.items()))
            groups.setdefault(key, [rec_vals, self.browse()])[1] |= rec
        for rec_vals, group in groups.values():
            group.with_context(**{STATE_MACHINE_KEY: STATE_MACHINE}).write(rec_vals)

    def action_queue(self):
        """A new interaction enters its queue. One already answered goes back
        to waiting only through a transfer (the agent is freed, the target
        checked)."""
        now = fields.Datetime.now()
        for rec in self:
            if rec.state != "new":
                raise UserError(
                    _(
                        "%(name)s is no longer new: transfer it to a queue or an agent instead.",
                        name=rec.name,
                    )
                )
            rec._set_state("queued", date_queued=rec.date_queued or now)
        return True

    def action_answer(self):
        """The agent takes the interaction: it becomes theirs and active.

        With a pending offer for the current user this is an accept (exactly
        one accept wins); otherwise the agent picks it up directly.
        """
        now = fields.Datetime.now()
        # sudo: the pending offers of these interactions in one search, not
        # offer_ids read as the agent (an x2many read checks the record rules
        # of every offer in Python: most of an accept's time); the user's own
        # is accepted as the user, action_accept() checks it is theirs
        pending = (
            self.env["omnichannel.offer"]
            .sudo()
            .search([("interaction_id", "in", self.ids), ("state", "=", "pending")])
        )
        for rec in self:
            offers = pending.filtered(lambda o, rec=rec: o.interaction_id.id == rec.id)
            mine = offers.filtered(lambda o: o.user_id.id == self.env.uid)[:1]
            if mine:
                mine.with_env(self.env).action_accept()
                continue
            rec._set_state("active", date_answered=now, agent_id=rec.agent_id.id or self.env.uid)
            offers._close("cancelled", requeue=False)
            rec._agent_record()._refresh_state()
        return True

    def action_end(self):
        """The customer side is over; the agent wraps up for the queue's wrap-up time."""
        self.filtered("hold_since")._hold_stop()
        now = fields.Datetime.now()
        self._set_state("wrapup", date_ended=now)
        for rec in self:
            # from the same instant as the contact's end: the agent's wrap-up
            # and the contact's are over together
            rec._agent_record()._start_wrapup(rec.queue_id.wrapup_seconds, since=now)
        return True

    def action_close(self):
        # sudo: agents may not lock agent records; those of the agents these interactions hold
        locked = self.env["omnichannel.agent"].sudo()._lock_for_action(self.agent_id)
        self.filtered("hold_since")._hold_stop()
        now = fields.Datetime.now()
        # sudo: agents may not write agent records; these agents' (_agent_record() is sudo too)
        agents = self.env["omnichannel.agent"].sudo()
        for rec in self:
            vals = {"date_closed": now}
            if not rec.date_ended:
                vals["date_ended"] = now
            was_wrapup = rec.state == "wrapup"
            agent_id = locked.get(rec.agent_id.id, (None,))[0]
            rec._set_state("done", **vals)
            # the agent's record as locked (not looked up again), or made on first use
            agent = agents.browse(agent_id) if agent_id else rec._agent_record()
            if not was_wrapup and agent:
                agent.write({"last_end_date": now})
            agents |= agent
        # closing ends the wrap-up: the agent is free again
        agents.filtered("wrapup_until")._end_wrapup()
        for agent in agents:
            agent._refresh_state()
            if agent.state in ("available", "busy"):
                agent._dispatch_for_me()
        return True

    def action_abandon(self):
        """The customer left before an agent answered."""
        return self._abandon("customer")

    def _abandon(self, end_reason):
        """End unanswered: the customer left (``customer``), nobody could take
        it (``no_agent``), or the PBX took a voicemail (``voicemail``)."""
        now = fields.Datetime.now()
        self._set_state("abandoned", date_ended=now, date_closed=now, end_reason=end_reason)
        # sudo: agents may not write offers; the pending ones of these interactions end
        offers = self.sudo().offer_ids.filtered(lambda o: o.state == "pending")
        offers._close("cancelled", requeue=False)
        agents = self.agent_id | offers.user_id
        # sudo: agents may not write agent records; those of the agents these held
        self.env["omnichannel.agent"].sudo().search(
            [("user_id", "in", agents.ids)]
        )._refresh_state()
        return True

    # ------------------------------------------------------------------
    # Watchdog: calls whose end never came, wrap-ups left open
    # ------------------------------------------------------------------
    @api.model
    def _call_watchdog_minutes(self):
        """Minutes without a sign of life after which the watchdog acts."""
        # sudo: a technical setting read by the cron for every company
        value = self.env["ir.config_parameter"].sudo().get_param(CALL_WATCHDOG_PARAM)
        try:
            minutes = int(value) if value else CALL_WATCHDOG_DEFAULT
        except ValueError:
            minutes = CALL_WATCHDOG_DEFAULT
        return max(minutes, 1)

    @api.model
    def _call_watchdog_domain(self, cutoff):
        """The calls that look over though no end came: phone interactions
        answered before ``cutoff`` and still active. The telephony addon adds
        the time of the PBX's last event and the calls still waiting."""
        return [
            ("channel_type", "=", "phone"),
            ("state", "=", "active"),
            ("date_answered", "<", cutoff),
        ]

    def _call_watchdog_last_sign(self):
        """When the call last showed life: where the watchdog ends it."""
        self.ensure_one()
        return self.date_answered or self.date_queued or self.create_date

    @api.model
    def _cron_watchdog(self):
        """End the calls with no end received and close the wrap-ups left
        open (``CALL_WATCHDOG_PARAM`` minutes). Returns what it changed."""
        minutes = self._call_watchdog_minutes()
        cutoff = fields.Datetime.now() - timedelta(minutes=minutes)
        # sudo: the watchdog (a cron) ends the calls of every company
        Interaction = self.sudo()
        calls = Interaction.search(Interaction._call_watchdog_domain(cutoff), limit=WATCHDOG_BATCH)
        calls._watchdog_end_calls(minutes)
        wrapups = Interaction.search(
            [("state", "=", "wrapup"), ("date_ended", "<", cutoff)], limit=WATCHDOG_BATCH
        ).filtered(
            lambda i: i.date_ended + timedelta(seconds=max(i.queue_id.wrapup_seconds, 0)) <= cutoff
        )
        wrapups._watchdog_close_wrapups(minutes)
        return calls | wrapups

    def _watchdog_end_calls(self, minutes):
        """End these calls through the state machine with the reason
        ``watchdog``: answered ones are done (their length counted up to
        their last sign of life), waiting ones abandoned (inbound) or missed
        (outbound); the agents are freed."""
        now = fields.Datetime.now()
        agents = self.agent_id
        for rec in self.filtered(lambda i: i.state in ("active", *WAITING_STATES)):
            last = min(rec._call_watchdog_last_sign(), now)
            rec.message_post(
                body=_(
                    "No end of this call was received for %(minutes)s minutes (last sign of "
                    "life at %(when)s UTC): closed by the watchdog. Check the PBX's events.",
                    minutes=minutes,
                    when=fields.Datetime.to_string(last),
                ),
                subtype_xmlid="mail.mt_note",
            )
            if rec.state == "active":
                rec.filtered("hold_since")._hold_stop()
                rec._set_state("done", date_ended=last, date_closed=now, end_reason="watchdog")
            elif rec.direction == "inbound":
                rec._abandon("watchdog")
            else:
                rec._set_state("missed", date_ended=now, date_closed=now, end_reason="watchdog")
                rec.offer_ids.filtered(lambda o: o.state == "pending")._close(
                    "cancelled", requeue=False
                )
        if self:
            _logger.warning(
                "Contact center watchdog: %s call(s) with no end for %s minutes closed: %s",
                len(self),
                minutes,
                ", ".join(self.mapped("name")),
            )
        # sudo: the watchdog frees the agents these calls held, of every company
        freed = self.env["omnichannel.agent"].sudo().search([("user_id", "in", agents.ids)])
        freed._refresh_state()
        for agent in freed.filtered(lambda a: a.state in ("available", "busy")):
            agent._dispatch_for_me()

    def _watchdog_close_wrapups(self, minutes):
        """Close the wrap-ups left open (the agent went home without a
        disposition): the interaction leaves the console and the wallboard."""
        for rec in self:
            rec.message_post(
                body=_(
                    "Wrap-up left open for more than %(minutes)s minutes after the wrap-up time "
                    "of %(queue)s: closed by the watchdog, without a disposition.",
                    minutes=minutes,
                    queue=rec.queue_id.name or "-",
                ),
                subtype_xmlid="mail.mt_note",
            )
        self.action_close()

    def _agent_record(self):
        self.ensure_one()
        if not self.agent_id:
            return self.env["omnichannel.agent"]
        return self.env["omnichannel.agent"]._for_user(self.agent_id)

    def _requeue(self):
        """Back to waiting (offer rejected or not answered), keeping its place."""
        # sudo: whoever ends the offer (its agent, the sweep) puts the interaction back
        self.sudo()._set_state("queued", agent_id=False, date_offered=False)

    # ------------------------------------------------------------------
    # Routing
    # ------------------------------------------------------------------
    def _routing_facts(self, needed=routing.ALL_FACTS):
        """The customer's facts the routing rules test, in one indexed query:
        overdue balance, unpaid invoices, open orders, open case owner, last
        agent, language, country, tags.

        ``needed``: the facts of ``routing.ALL_FACTS`` to read (each a
        sub-query; ``routing.facts_needed(rules)``: those the rules test);
        the others keep ``routing.Facts``' defaults."""
        self.ensure_one()
        partner = self.partner_id
        channel = self.channel_id
        if not partner:
            return routing.Facts(channel_id=channel.id, channel_type=channel.channel_type)
        commercial = partner.commercial_partner_id
        company_id = self.company_id.id
        # sudo: agents may not read invoices; the routing uses only the overdue amount
        Partner = self.env["res.partner"].sudo()
        Partner.flush_model(["lang", "country_id", "category_id", "customer_rank", "parent_id"])
        # Each sub-query is what the ORM searches did (as superuser: agents
        # may not read invoices, every sale order, other agents' cases and
        # interactions; only these figures are used): unpaid invoices on the
        # partial index of open invoices, orders of the customer's family
        # (``child_of``: archived contacts too), the owner of the first open
        # case, the last agent who answered the customer (history index).
        values = {
            "family": SQL(),
            "balance": SQL("SELECT 0 AS overdue"),
            "unpaid": SQL("0"),
            "open_orders": SQL("0"),
            "case_owner": SQL("NULL::integer"),
            "last_agent": SQL("SELECT NULL::integer AS agent_id, NULL::timestamp AS date_answered"),
            "categories": SQL("'{}'::integer[]"),
        }
        if routing.FACT_OVERDUE in needed:
            # "today" where the company is, whoever routes the call (the PBX's
            # request runs as superuser); the request's when the company has none
            tz = Partner._omnichannel_company_tz(company_id) or self.env.context.get("tz")
            today = Partner._omnichannel_today(tz)
            values["balance"] = Partner._omnichannel_balance_sql(commercial, self.company_id, today)
        if routing.FACT_UNPAID in needed:
            self.env["account.move"].flush_model(
                ["commercial_partner_id", "company_id", "move_type", "state", "payment_state"]
            )
            values["unpaid"] = SQL(
                """(SELECT count(*) FROM account_move move
                     WHERE move.commercial_partner_id = %(commercial)s
                       AND move.company_id = %(company)s
                       AND move.move_type = 'out_invoice' AND move.state = 'posted'
                       AND move.payment_state IN ('not_paid', 'partial'))""",
                commercial=commercial.id,
                company=company_id,
            )
        if routing.FACT_OPEN_ORDERS in needed:
            self.env["sale.order"].flush_model(
                ["partner_id", "company_id", "state", "invoice_status"]
            )
            values["family"] = SQL(
                """WITH RECURSIVE family(id) AS (
                       SELECT %s
                       UNION SELECT child.id FROM res_partner child
                                JOIN family ON child.parent_id = family.id
                   )""",
                commercial.id,
            )
            values["open_orders"] = SQL(
                """(SELECT count(*) FROM sale_order so
                     WHERE so.partner_id IN (SELECT id FROM family)
                       AND so.company_id = %s
                       AND (so.state IN ('draft', 'sent')
                            OR (so.state = 'sale'
                                AND so.invoice_status IS DISTINCT FROM 'invoiced')))""",
                company_id,
            )
        if routing.FACT_CASE_OWNER in needed:
            self.env["omnichannel.case"].flush_model(
                ["commercial_partner_id", "company_id", "is_open", "user_id", "priority"]
            )
            values["case_owner"] = SQL(
                """(SELECT c.user_id FROM omnichannel_case c
                     WHERE c.commercial_partner_id = %s
                       AND c.company_id = %s
                       AND c.is_open AND c.user_id IS NOT NULL
                     ORDER BY c.priority DESC, c.write_date DESC
                     LIMIT 1)""",
                commercial.id,
                company_id,
            )
        if routing.FACT_LAST_AGENT in needed:
            self.env["omnichannel.interaction"].flush_model(
                ["commercial_partner_id", "company_id", "agent_id", "date_answered"]
            )
            values["last_agent"] = SQL(
                """SELECT i.agent_id, i.date_answered FROM omnichannel_interaction i
                    WHERE i.commercial_partner_id = %s
                      AND i.company_id = %s
                      AND i.agent_id IS NOT NULL AND i.date_answered IS NOT NULL
                      AND i.id != ALL(%s)
                    ORDER BY i.date_answered DESC
                    LIMIT 1""",
                commercial.id,
                company_id,
                [ident for ident in self.ids if ident],
            )
        if routing.FACT_CATEGORIES in needed:
            self.env["res.partner.category"].flush_model(["active"])
            values["categories"] = SQL(
                """ARRAY(SELECT DISTINCT rel.category_id
                           FROM res_partner_res_partner_category_rel rel
                           JOIN res_partner_category tag ON tag.id = rel.category_id
                          WHERE rel.partner_id IN (%s, %s)
                            AND tag.active)""",
                partner.id,
                commercial.id,
            )
        self.env.cr.execute(
            SQL(
                """%(family)s
                   SELECT balance.overdue, %(unpaid)s, %(open_orders)s, %(case_owner)s,
                          last.agent_id, last.date_answered,
                          partner.lang, COALESCE(partner.country_id, com.country_id),
                          com.customer_rank, %(categories)s
                     FROM (%(balance)s) balance
                     JOIN res_partner partner ON partner.id = %(partner)s
                     JOIN res_partner com ON com.id = %(commercial)s
                     LEFT JOIN LATERAL (%(last_agent)s) last ON TRUE""",
                partner=partner.id,
                commercial=commercial.id,
                **values,
            )
        )
        (
            overdue,
            unpaid,
            open_orders,
            case_owner,
            last_agent,
            last_answered,
            lang,
            country_id,
            customer_rank,
            category_ids,
        ) = self.env.cr.fetchone()
        age_days = (
            (fields.Datetime.now() - last_answered).total_seconds() / 86400 if last_agent else 0.0
        )
        return routing.Facts(
            channel_id=channel.id,
            channel_type=channel.channel_type,
            lang=lang or "",
            country_id=country_id or 0,
            category_ids=frozenset(category_ids or ()),
            overdue_amount=max(float(overdue), 0.0),
            unpaid_count=unpaid,
            open_order_count=open_orders,
            customer_rank=customer_rank or 0,
            case_owner_id=case_owner or 0,
            last_agent_id=last_agent or 0,
            last_agent_age_days=age_days,
            identified=True,
        )

    @api.model
    @tools.ormcache("company_id")
    def _routing_rules(self, company_id):
        """The company's active routing rules as ``routing.Rule`` objects, in
        evaluation order, read in one query (as superuser: the routing's);
        what ``omnichannel.routing.rule._to_plain`` gives, without reading
        the rules and each of their many2many fields apart.

        Kept per company in the registry's cache, as Odoo keeps its access
        rules: every contact routed asks, the rules change seldom. A rule
        created, written or deleted clears it, and so does what a rule's
        sets leave out when it is archived or deleted (a channel, a customer
        tag; a language clears the caches itself) — in every worker and on
        every node, through the registry's signaling."""
        Rule = self.env["omnichannel.routing.rule"]
        Rule.flush_model()
        arrays = []
        for fname in ("channel_ids", "lang_ids", "country_ids", "category_ids"):
            field = Rule._fields[fname]
            comodel = self.env[field.comodel_name]
            active = comodel._active_name
            comodel.flush_model([active] if active else None)
            # x2many values leave archived records out, as the ORM's do
            arrays.append(
                SQL(
                    """ARRAY(SELECT co.%s FROM %s rel JOIN %s co ON co.id = rel.%s
                              WHERE rel.%s = rule.id %s ORDER BY co.id)""",
                    SQL.identifier("code" if fname == "lang_ids" else "id"),
                    SQL.identifier(field.relation),
                    SQL.identifier(comodel._table),
                    SQL.identifier(field.column2),
                    SQL.identifier(field.column1),
                    SQL("AND co.%s", SQL.identifier(active)) if active else SQL(),
                )
            )
        self.env.cr.execute(
            SQL(
                """SELECT rule.id, rule.channel_types, %s, %s, %s, %s,
                          rule.min_overdue_amount, rule.require_unpaid, rule.require_open_order,
                          rule.min_customer_rank, rule.require_open_case, rule.sticky_days,
                          rule.queue_id, rule.priority, rule.skill_id, rule.prefer,
                          rule.preferred_user_id, rule.preferred_timeout, rule.stop
                     FROM omnichannel_routing_rule rule
                    WHERE rule.company_id = %s AND rule.active
                    ORDER BY rule.sequence, rule.id""",
                *arrays,
                company_id,
            )
        )
        return tuple(
            routing.Rule(
                id=row[0],
                channel_types=frozenset(
                    value.strip() for value in (row[1] or "").split(",") if value.strip()
                ),
                channel_ids=frozenset(row[2]),
                langs=frozenset(row[3]),
                country_ids=frozenset(row[4]),
                category_ids=frozenset(row[5]),
                min_overdue_amount=float(row[6] or 0.0),
                require_unpaid=bool(row[7]),
                require_open_order=bool(row[8]),
                min_customer_rank=row[9] or 0,
                require_open_case=bool(row[10]),
                sticky_days=row[11] or 0,
                queue_id=row[12] or False,
                priority=row[13] or 0,
                skill_id=row[14] or False,
                prefer=row[15],
                preferred_user_id=row[16] or False,
                preferred_timeout=row[17] or 0,
                stop=bool(row[18]),
            )
            for row in self.env.cr.fetchall()
        )

    def _route(self, defer_dispatch=False):
        """Apply the routing rules, check opening hours and queue limits, then
        offer at once to a free agent.

        ``defer_dispatch``: a new contact, which the event inbox may offer
        with the others of its chunk (``omnichannel.queue._dispatch_or_defer``);
        a caller that reads the offer right after routes without it."""
        # sudo: the routing runs as superuser: rules, customer facts, queues and agents of anyone
        interactions = self.sudo()
        rules_of = {}  # company id -> its rules
        for rec in interactions:
            company_id = rec.company_id.id
            if company_id not in rules_of:
                rules_of[company_id] = interactions._routing_rules(company_id)
            rules = rules_of[company_id]
            # without rules the facts decide nothing: do not gather them
            facts = rec._routing_facts(routing.facts_needed(rules)) if rules else routing.Facts()
            rec._apply_routing_decision(routing.decide(rules, facts, rec.queue_id.id))
        queues = self.filtered(lambda i: i.state == "queued").queue_id
        if defer_dispatch:
            queues._dispatch_or_defer()
        else:
            queues._dispatch()

    def _apply_routing_decision(self, decision):
        """Write a ``routing.Decision`` on this interaction (queue, priority,
        skill, preferred agent, the rules that made it), then what its queue
        does with a new contact when closed or full."""
        self.ensure_one()
        vals = {
            "queue_id": decision.queue_id or self.queue_id.id,
            "priority": self.priority + decision.priority,
            "required_skill_id": decision.skill_id or False,
            "routing_rule_ids": [fields.Command.set(decision.rule_ids)],
        }
        if decision.preferred_agent_id:
            vals["preferred_agent_id"] = decision.preferred_agent_id
            vals["preferred_until"] = fields.Datetime.now() + timedelta(
                seconds=max(decision.preferred_timeout, 0)
            )
            if decision.preferred_timeout > 0:
                self.env["omnichannel.queue"]._trigger_sweep_at(vals["preferred_until"])
        self.write(vals)
        queue = self.queue_id
        if not queue._is_open():
            self._apply_closed_action()
        elif queue.max_queue_length and queue.waiting_count > queue.max_queue_length:
            self._overflow(_("the queue holds %(count)s contacts", count=queue.max_queue_length))

    def _route_decided(self, decision, reserved_user_id=False):
        """Route a new interaction by a decision taken before it existed (a
        ``/route`` answered first, written by the event inbox): the decision
        as :meth:`_route` writes it, then the offer to the agent reserved
        with it, whom the caller was sent to; when that agent cannot take it
        any more (logged out, no room), the queue's ACD offers it as any new
        contact."""
        self.ensure_one()
        # sudo: as _route
        rec = self.sudo()
        rec._apply_routing_decision(decision)
        if rec.state != "queued":
            return
        queue = rec.queue_id
        if reserved_user_id and queue._offer(rec, [routing.Candidate(user_id=reserved_user_id)]):
            return
        queue._dispatch_or_defer()

    def _apply_closed_action(self):
        self.ensure_one()
        queue = self.queue_id
        action = queue.closed_action
        if action == "voicemail":
            now = fields.Datetime.now()
            self._set_state("missed", end_reason="closed", date_ended=now, date_closed=now)
        elif action == "callback":
            now = fields.Datetime.now()
            self._set_state("missed", end_reason="closed", date_ended=now, date_closed=now)
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
                rec._set_state("missed", end_reason="overflow", date_ended=now, date_closed=now)
                rec._schedule_callback(
                    _("Not answered in %(queue)s: %(reason)s.", queue=queue.name, reason=reason)
                )

    def _schedule_callback_activity(self, note):
        """A call task (mail activity) when no call-back request can be made: a
        call-back task for the queue's supervisors (or managers)."""
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
    def _inbound_once(self, channel, external_id, create, known_new=False, decided=None):
        """The one entry point of every channel adapter: find or create the
        interaction of one inbound contact, exactly once.

        ``create()`` builds the interaction (not yet routed) when this is the
        first delivery of ``(channel, external_id)``; the new interaction is
        then linked to the customer's open case and routed. Returns
        ``(interaction, created)``. Racing deliveries of the same contact
        serialize on the idempotency key (see ``omnichannel.event.key``).
        ``known_new``: the caller searched ``(channel, external_id)`` in this
        transaction and found nothing, so the first search is skipped (the
        claim below still decides). Not for a contact that may have been
        created without its key (a campaign's call, made by the dialer).
        ``decided``: ``(decision, reserved_user_id)`` taken before the contact
        existed (see :meth:`_route_decided`), applied instead of routing it.
        """
        if not known_new:
            existing = self._api_inbound_find(channel, external_id)
            if existing:
                return existing, False
        # sudo: only managers read idempotency keys; the one of this contact is claimed
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
        if decided:
            interaction._route_decided(*decided)
        else:
            interaction._route(defer_dispatch=True)
        return interaction, True

    def _attach_open_case(self):
        """A customer who switches channel (call, then e-mail, then chat)
        continues their open case: link it unless a case is already set."""
        # sudo: gateways and visitors push contacts; they get the customer's open case linked
        interactions = self.sudo()
        Case = interactions.env["omnichannel.case"]
        for rec in interactions.filtered(lambda i: not i.case_id and i.partner_id):
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
        # sudo: the caller may no longer read it (transferred, assigned); ids and state only
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
        # sudo: the contact may be another agent's already; adapters get it sudo, as created
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
        known_types = self.env["omnichannel.channel"]._channel_type_labels()
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
                return normalize_email(sender)
        except address_tools.AddressError as error:
            raise ValidationError(
                _(
                    "%(address)s is not a valid customer address for a %(type)s channel: %(error)s",
                    address=sender,
                    type=self.env["omnichannel.channel"]._channel_type_labels()[
                        channel.channel_type
                    ],
                    error=error,
                )
            ) from error
        kind = address_tools.classify(sender)
        if kind == "email":
            return normalize_email(sender)
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

    # Indexes of the read paths: wallboard (omnichannel.queue.wallboard_data) and screen-pop.
    #
    # Each serves one part of the board and reads only what happened today,
    # whatever the size of the history (the live contacts, waiting or held, are
    # found through the index on ``state``):
    #
    # - ``_wallboard_queued_idx``: today's contacts by entry time, covering the
    # columns of the queue figures (index-only scan of today's range);
    # - ``_wallboard_closed_idx``: the contacts closed done, by closing time,
    # covering the handle-time figures of queues and agents.
    #
    # The wallboard's charts (omnichannel.queue.wallboard_chart_data) and the
    # staffing plan read a few days of the history by arrival (the reports'
    # ``date`` is the creation): ``_created_idx``.
    #
    # The screen-pop's contact history (res.partner ``_omnichannel_pop_interactions``:
    # a customer's latest interactions, newest first) reads
    # ``_history_idx``: constant time however long the customer's history.
    #
    # Index-only scans need an up-to-date visibility map, and today's rows are
    # written all day: the table gets its own, more eager autovacuum settings
    # (a table storage parameter, nothing database-wide).
    def init(self):
        res = super().init()
        cr, table = self.env.cr, self._table
        create_index(
            cr,
            "omnichannel_interaction_wallboard_queued_idx",
            table,
            ["date_queued", "queue_id", "state", "date_answered"],
            where="date_queued IS NOT NULL",
        )
        create_index(
            cr,
            "omnichannel_interaction_wallboard_closed_idx",
            table,
            ["date_closed", "queue_id", "agent_id", "date_answered"],
            where="state = 'done'",
        )
        create_index(cr, "omnichannel_interaction_created_idx", table, ["create_date", "queue_id"])
        # the agents' loads (omnichannel.agent._loads_of_users, on every offer
        # and state change): the contacts they hold, by agent. The index on
        # state alone also holds every version a contact left behind on its
        # way through offered and active (10,000 entries for a handful of
        # live contacts seen after a busy hour), read and thrown away each time.
        create_index(
            cr,
            "omnichannel_interaction_agent_load_idx",
            table,
            ["agent_id", "channel_type"],
            where="state IN ('offered', 'active')",
        )
        create_index(
            cr,
            "omnichannel_interaction_history_idx",
            table,
            ["commercial_partner_id", "id DESC"],
            where="commercial_partner_id IS NOT NULL",
        )
        cr.execute(
            SQL(
                """ALTER TABLE %s SET (autovacuum_vacuum_scale_factor = 0.01,
                                       autovacuum_vacuum_insert_scale_factor = 0.01,
                                       autovacuum_analyze_scale_factor = 0.01)""",
                SQL.identifier(table),
            )
        )
        return res

    # ------------------------------------------------------------------
    # Supervisor actions from the wallboard: assign, pick, join silently
    # ------------------------------------------------------------------
    def _check_supervisor(self):
        """Managers act on every interaction of their companies, supervisors on
        those of the queues they supervise."""
        self.check_access("read")
        user = self.env.user
        if self.env.su or user.has_group("omnichannel_cc.group_omnichannel_manager"):
            return
        # sudo: the queue may be one the user cannot read; its supervisors only, to refuse clearly
        for rec in self.sudo():
            if not rec.queue_id or user not in rec.queue_id.supervisor_ids:
                raise AccessError(
                    _(
                        "Only a supervisor of the queue %(queue)s or a manager may reassign "
                        "%(name)s.",
                        queue=rec.queue_id.display_name or _("(none)"),
                        name=rec.name,
                    )
                )

    def _lock_for_change(self, states, busy_message):
        """Row-lock this interaction, without waiting, if it is in one of
        ``states``: True when locked, False when it is in another state, a
        UserError with ``busy_message`` when another transaction holds it."""
        self.ensure_one()
        self.env.flush_all()
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    SQL(
                        """SELECT id FROM omnichannel_interaction
                            WHERE id = %s AND state IN %s FOR UPDATE NOWAIT""",
                        self.id,
                        tuple(states),
                    ),
                    log_exceptions=False,
                )
                locked = bool(cr.fetchone())
        except pg_errors.LockNotAvailable as error:
            raise UserError(busy_message) from error
        self.invalidate_recordset()
        return locked

    def _supervisor_lock(self):
        """Lock the waiting interaction against the ACD and agents' accepts."""
        busy = _("%(name)s is being routed right now; try again.", name=self.name)
        if not self._lock_for_change(WAITING_STATES, busy):
            raise UserError(
                _("%(name)s is no longer waiting: an agent has it already.", name=self.name)
            )

    def _supervisor_cancel_offers(self):
        """Cancel the pending offers; the agents they held, to refresh once the
        interaction is no longer theirs."""
        self.ensure_one()
        offers = self.offer_ids.filtered(lambda o: o.state == "pending")
        users = offers.user_id | self.agent_id
        offers._close("cancelled", requeue=False)
        # sudo: supervisors may not write agent records; those of the agents these held
        return self.env["omnichannel.agent"].sudo().search([("user_id", "in", users.ids)])

    def _log_note(self, body):
        """An internal note on the interaction, by the current user."""
        # sudo: the user may no longer read it (given to another agent); a note, as the user
        self.sudo().message_post(
            body=body, author_id=self.env.user.partner_id.id, subtype_xmlid="mail.mt_note"
        )

    def _check_assign_target(self, target):
        """Refuse, with a clear message, an agent this interaction cannot be given to."""
        self.ensure_one()
        if not target or not target.has_group("omnichannel_cc.group_omnichannel_agent"):
            raise UserError(_("Choose a Contact Center agent."))
        if self.company_id not in target.company_ids:
            raise UserError(
                _(
                    "%(agent)s does not work for %(company)s.",
                    agent=target.name,
                    company=self.company_id.name,
                )
            )
        if not self.queue_id:
            raise UserError(_("%(name)s is in no queue.", name=self.name))

    def _agent_cannot_take(self, target):
        return UserError(
            _(
                "%(agent)s cannot take %(name)s now: they are not available or have no "
                "free place for this channel.",
                agent=target.name,
                name=self.name,
            )
        )

    def action_supervisor_assign(self, user_id):
        """Give a waiting interaction to one agent: pending offers are cancelled
        and the agent gets an offer (the ACD's own locking and capacity check)."""
        self.ensure_one()
        self._check_supervisor()
        # sudo: the target may be a user of another company; _check_assign_target() checks it
        target = self.env["res.users"].sudo().browse(int(user_id)).exists()
        if target == self.env.user:
            return self.action_supervisor_pick()
        # sudo: checked above; supervisors may not write offers nor agents, the ACD's work here
        rec = self.sudo()
        rec._check_assign_target(target)
        rec._supervisor_lock()
        released = rec._supervisor_cancel_offers()
        if rec.state != "queued":
            rec._set_state(
                "queued",
                agent_id=False,
                date_offered=False,
                date_queued=rec.date_queued or fields.Datetime.now(),
            )
        self.env.flush_all()
        if not rec.queue_id._offer(rec, [routing.Candidate(user_id=target.id)]):
            raise rec._agent_cannot_take(target)
        released._refresh_state()
        rec._log_note(
            _(
                "Assigned to %(agent)s by supervisor %(supervisor)s.",
                agent=target.name,
                supervisor=self.env.user.name,
            )
        )
        return rec._api_result()

    def action_supervisor_pick(self):
        """The supervisor takes the waiting interaction: it becomes theirs and active."""
        self.ensure_one()
        self._check_supervisor()
        # sudo: checked above; supervisors may not write offers nor agents, the ACD's work here
        rec = self.sudo()
        rec._supervisor_lock()
        released = rec._supervisor_cancel_offers()
        now = fields.Datetime.now()
        rec._set_state(
            "active", agent_id=self.env.uid, date_queued=rec.date_queued or now, date_answered=now
        )
        (released | self.env["omnichannel.agent"]._for_user(self.env.user))._refresh_state()
        rec._log_note(_("Picked up by supervisor %(supervisor)s.", supervisor=self.env.user.name))
        return rec._api_result()

    def action_supervisor_join(self):
        """Join silently: as a member of the chat's Discuss channel when the
        interaction has one, else as a follower of its chatter; nobody is notified."""
        self.ensure_one()
        self._check_supervisor()
        channel = self.discuss_channel_id
        if channel:
            # sudo: supervisors are no members of the chat; they join it as themselves (checked)
            channel.sudo()._add_members(users=self.env.user, post_joined_message=False)
        else:
            self.message_subscribe(partner_ids=self.env.user.partner_id.ids)
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "views": [[False, "form"]],
            "target": "current",
        }

    # ------------------------------------------------------------------
    # Agent console
    # ------------------------------------------------------------------
    # ------------------------------------------------------------------
    # Console data
    # ------------------------------------------------------------------
    @api.model
    def _console_interactions(self, now):
        # sudo: the user's own interactions of every company, with customer, case and order
        interactions = self.sudo().search(
            [("agent_id", "=", self.env.uid), ("state", "in", CONSOLE_INTERACTION_STATES)],
            order="id",
        )
        states = dict(self._fields["state"]._description_selection(self.env))
        channel_types = dict(self._fields["channel_type"]._description_selection(self.env))
        # the user's own agent record, sudo from _for_user()
        agent = self.env["omnichannel.agent"]._for_user()
        result = []
        for rec in interactions:
            since = {
                "offered": rec.date_offered,
                "active": rec.date_answered,
                "wrapup": rec.date_ended,
            }[rec.state]
            result.append(
                {
                    "id": rec.id,
                    "name": rec.name,
                    "subject": rec.subject or False,
                    "state": rec.state,
                    "state_label": states[rec.state],
                    "channel_type": rec.channel_type,
                    "channel_label": channel_types.get(rec.channel_type, rec.channel_type),
                    "direction": rec.direction,
                    "partner_id": rec.partner_id.id or False,
                    "partner_name": rec.partner_id.display_name or False,
                    # the identified customer: actions on their account need one
                    "commercial_partner_id": rec.commercial_partner_id.id or False,
                    "contact_address": rec.contact_address or False,
                    "queue_id": rec.queue_id.id or False,
                    "queue": rec.queue_id.name or False,
                    "state_seconds": seconds_between(since or rec.create_date, now),
                    "waiting_seconds": seconds_between(
                        rec.date_queued or rec.create_date, rec.date_answered or now
                    ),
                    "talk_seconds": seconds_between(rec.date_answered, rec.date_ended or now)
                    if rec.date_answered
                    else 0,
                    "wrapup_seconds_left": seconds_between(now, agent.wrapup_until)
                    if rec.state == "wrapup"
                    else 0,
                    "disposition_id": rec.disposition_id.id or False,
                    "notes": rec.notes or "",
                    "case_id": rec.case_id.id or False,
                    "case_name": rec.case_id.display_name or False,
                    "sale_order_id": rec.sale_order_id.id or False,
                    "sale_order_name": rec.sale_order_id.name or False,
                    "is_on_hold": rec.is_on_hold,
                    "hold_seconds": seconds_between(rec.hold_since, now),
                    "hold_duration": rec.hold_duration,
                    "transfer_count": rec.transfer_count,
                    # campaigns (issue 16): a preview call the agent dials
                    "campaign_contact_id": rec.campaign_contact_id.id or False,
                    "campaign_name": rec.campaign_id.name or False,
                    "campaign_phone": rec.campaign_contact_id.phone or False,
                    "campaign_attempts": rec.campaign_contact_id.attempt_count,
                    "campaign_dialed": bool(
                        rec.campaign_contact_id
                        and rec.campaign_contact_id.attempt_interaction_id == rec
                    ),
                }
            )
        return result

    # ------------------------------------------------------------------
    # Quick actions of the console
    # ------------------------------------------------------------------
    def _check_console_own(self):
        self.ensure_one()
        # sudo: another agent's interaction may be unreadable; its agent and name only
        rec = self.sudo()
        if rec.agent_id != self.env.user and not self.env.su:
            raise AccessError(_("%(name)s is handled by another agent.", name=rec.name))

    def action_console_new_quotation(self):
        """A new quotation for the customer, linked to this interaction."""
        self._check_console_own()
        if not self.partner_id:
            raise UserError(_("Identify the customer first: this contact has no partner."))
        return {
            "type": "ir.actions.act_window",
            "name": _("New quotation"),
            "res_model": "sale.order",
            "views": [[False, "form"]],
            "target": "current",
            "context": {
                "default_partner_id": self.partner_id.id,
                "default_omnichannel_interaction_ids": [fields.Command.link(self.id)],
                # campaigns (issue 16): the order inherits the interaction's utm
                **{
                    f"default_{fname}": value
                    for fname, value in self._utm_values().items()
                    if value
                },
            },
        }

    def action_console_promise_to_pay(self):
        """Schedule a "promise to pay" to-do on the interaction (the standard
        activity dialog, prefilled). Only for an identified customer: a
        promise binds an account, not an unknown visitor."""
        self._check_console_own()
        partner = self.partner_id.commercial_partner_id
        if not partner:
            raise UserError(
                _(
                    "Identify the customer first: a promise to pay is made on a customer's "
                    "account, and %(name)s has no customer.",
                    name=self.name,
                )
            )
        note = False
        pop = partner.omnichannel_screen_pop()
        if pop["has_overdue"]:
            amount = f"{pop['overdue_amount']:.2f}"
            currency = pop["currency"]["name"]
            note = _("Overdue: %(amount)s %(currency)s", amount=amount, currency=currency)
        context = {
            "active_model": self._name,
            "active_ids": self.ids,
            "active_id": self.id,
            "default_activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
            "default_summary": _("Promise to pay"),
            "default_date_deadline": fields.Date.to_string(
                fields.Date.context_today(self) + timedelta(days=PROMISE_TO_PAY_DAYS)
            ),
            "default_activity_user_id": self.env.uid,
        }
        if note:
            context["default_note"] = note
        return {
            "type": "ir.actions.act_window",
            "name": _("Promise to pay"),
            "res_model": "mail.activity.schedule",
            "views": [[False, "form"]],
            "target": "new",
            "context": context,
        }

    def action_console_case(self):
        """Open the interaction's case, or a new case for the customer that
        gets linked to this interaction when saved."""
        self._check_console_own()
        if self.case_id:
            return {
                "type": "ir.actions.act_window",
                "res_model": "omnichannel.case",
                "res_id": self.case_id.id,
                "views": [[False, "form"]],
                "target": "current",
            }
        if not self.partner_id:
            raise UserError(_("Identify the customer first: a case belongs to a customer."))
        return {
            "type": "ir.actions.act_window",
            "name": _("New case"),
            "res_model": "omnichannel.case",
            "views": [[False, "form"]],
            "target": "new",
            "context": {
                "default_partner_id": self.partner_id.id,
                "default_subject": self.subject or self.name,
                "default_queue_id": self.queue_id.id,
                "default_interaction_ids": [fields.Command.link(self.id)],
            },
        }

    def action_console_link_case(self, case_id):
        """Link this interaction to one of the customer's open cases, one the
        agent may read (the screen-pop lists those)."""
        self._check_console_own()
        case = self.env["omnichannel.case"].browse(int(case_id)).exists()
        if not case:
            raise UserError(_("This case no longer exists."))
        # sudo: the case may be outside the agent's rules; only the customers are compared
        case_sudo, rec_sudo = case.sudo(), self.sudo()
        if case_sudo.commercial_partner_id != rec_sudo.commercial_partner_id:
            raise UserError(_("This case belongs to another customer."))
        if case_sudo.company_id != rec_sudo.company_id or not case_sudo.is_open:
            raise UserError(_("Link one of the customer's open cases of this company."))
        # write() checks that the agent may read the case
        self.case_id = case
        return True

    def action_console_email(self):
        """The chatter's e-mail composer, addressed to the customer."""
        self._check_console_own()
        return {
            "type": "ir.actions.act_window",
            "name": _("Send an e-mail"),
            "res_model": "mail.compose.message",
            "views": [[False, "form"]],
            "target": "new",
            "context": {
                "default_model": self._name,
                "default_res_ids": self.ids,
                "default_composition_mode": "comment",
                "default_partner_ids": self.partner_id.ids,
                "default_subject": self.subject or self.name,
                "default_subtype_xmlid": "mail.mt_comment",
            },
        }

    def action_console_close(self, disposition_id=False, notes=False):
        """Wrap-up done: save the disposition and notes, close the interaction."""
        self._check_console_own()
        if self.state not in ("active", "wrapup"):
            raise UserError(_("%(name)s is not active or in wrap-up any more.", name=self.name))
        if not disposition_id and self.env["omnichannel.disposition"].search_count([], limit=1):
            raise UserError(_("Choose a disposition: how did the contact end?"))
        vals = {"disposition_id": disposition_id or False}
        if notes is not False:
            vals["notes"] = notes or False
        self.write(vals)
        self.action_close()
        return True

    # ------------------------------------------------------------------
    # Call scripts
    # ------------------------------------------------------------------
    @api.depends("queue_id")
    def _compute_script_id(self):
        for rec in self:
            started = rec.script_id and any(
                answer.script_id == rec.script_id for answer in rec.script_answer_ids
            )
            if not started:
                rec.script_id = rec._script_default() or rec.script_id

    def _script_default(self):
        """The script an interaction follows when nobody chose one: its queue's.

        Campaigns and channels may override this to put theirs first.
        """
        self.ensure_one()
        script = self.queue_id.script_id
        return script if script.active else script.browse()

    # ------------------------------------------------------------------
    # Public API (UI, agent console, XML-RPC)
    # ------------------------------------------------------------------
    def script_current_step(self):
        """The step to show now, or ``{"done": True, ...}`` at the end.

        Keys of a step: ``script_id``, ``script_name``, ``step_id``, ``title``,
        ``text`` (HTML with the placeholders filled in), ``answer_type``,
        ``required``, ``choices`` ([{id, name}]), ``answer`` (the previous
        answer {value, display} or False), ``progress`` (position, passed,
        remaining_min, remaining_max, percent), ``can_go_back`` and
        ``answers`` (the answers so far: [{step_id, question, value}]).
        """
        self.ensure_one()
        self.check_access("read")
        if not self.script_id:
            return {
                "done": True,
                "script_id": False,
                "script_name": False,
                "answers": [],
                "can_go_back": False,
                "progress": {"percent": 100},
            }
        state = self._script_state()
        return self._script_payload(state)

    def script_answer(self, step_id, value=None):
        """Check and store the answer to a step, then return the next step (as
        ``script_current_step``). A wrong answer raises and changes nothing."""
        self.ensure_one()
        self._script_check_writable()
        self._script_lock()
        state = self._script_state()
        if not isinstance(step_id, int) or step_id not in state.route:
            raise UserError(
                _(
                    "This step is not on the way through the script of %(name)s now.",
                    name=self.name,
                )
            )
        try:
            answer = script_tools.parse_answer(state.flow.by_id[step_id], value)
        except script_tools.ScriptError as error:
            raise ValidationError(self.script_id._script_error_text(error)) from error

        step = self.env["omnichannel.script.step"].browse(step_id)
        vals = self.env["omnichannel.script.answer"]._script_vals(step, answer)
        existing = state.records.get(step_id)
        if existing:
            existing.write(vals)
        else:
            self.env["omnichannel.script.answer"].create(dict(vals, interaction_id=self.id))

        answers = dict(state.answers)
        answers[step_id] = answer
        next_id = state.flow.next_step(step_id, answer)
        passed, frontier = state.flow.walk(answers)
        on_way = set(passed)
        stale = self.env["omnichannel.script.answer"].union(
            *(rec for sid, rec in state.records.items() if sid not in on_way)
        )
        # sudo: agents may not delete answers; these are off the way (write access checked above)
        stale.sudo().unlink()
        self._write_trusted(
            {"script_step_id": next_id or False, "script_done": frontier == script_tools.END}
        )
        return self.script_current_step()

    def script_back(self):
        """Go back one step (its answer is kept and shown); returns that step."""
        self.ensure_one()
        self._script_check_writable()
        self._script_lock()
        state = self._script_state()
        if state.position == 0:
            raise UserError(_("This is the first step of the script."))
        self._write_trusted({"script_step_id": state.route[state.position - 1]})
        return self.script_current_step()

    def action_script_run(self):
        """Open the script wizard on the current step."""
        self.ensure_one()
        if not self.script_id:
            raise UserError(_("Interaction %(name)s has no script.", name=self.name))
        return self.env["omnichannel.script.run"]._action_open(self)

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _script_check_writable(self):
        self.check_access("write")
        if not self.script_id:
            raise UserError(_("Interaction %(name)s has no script.", name=self.name))
        if self.state in FINAL_STATES and not self.env.user.has_group(SUPERVISOR_GROUP):
            raise UserError(
                _(
                    "Interaction %(name)s is closed: only a supervisor may change its "
                    "script answers.",
                    name=self.name,
                )
            )

    def _script_lock(self):
        """Serialise answers of one interaction (two tabs, console and wizard)."""
        self.env.cr.execute(
            SQL("SELECT id FROM omnichannel_interaction WHERE id = %s FOR UPDATE", self.id)
        )

    def _script_state(self):
        """Replay the script through the stored answers."""
        self.ensure_one()
        script = self.script_id
        flow = script._script_flow()
        records = {
            answer.step_id.id: answer
            for answer in self.script_answer_ids
            if answer.script_id == script and answer.step_id.id in flow.by_id
        }
        answers = {step_id: answer._script_plain() for step_id, answer in records.items()}
        passed, frontier = flow.walk(answers)
        route = passed + ([frontier] if frontier != script_tools.END else [])
        current = self.script_step_id.id
        if not current or current not in route:
            current = frontier
        position = route.index(current) if current in route else len(route)
        return ScriptState(flow, records, answers, passed, frontier, route, current, position)

    def _script_render_values(self):
        return {
            "customer": self.partner_id.name or self.contact_address or _("the customer"),
            "agent": self.agent_id.name or self.env.user.name,
            "company": self.company_id.name,
        }

    def _script_payload(self, state):
        script = self.script_id
        answers = [
            {
                "step_id": step_id,
                "question": state.records[step_id].question,
                "value": state.records[step_id].value_display or "",
            }
            for step_id in state.passed
        ]
        common = {
            "script_id": script.id,
            "script_name": script.name,
            "answers": answers,
            "can_go_back": state.position > 0,
        }
        if state.current == script_tools.END:
            return dict(
                common,
                done=True,
                progress={
                    "position": len(state.passed),
                    "passed": len(state.passed),
                    "remaining_min": 0,
                    "remaining_max": 0,
                    "percent": 100,
                },
            )
        step = self.env["omnichannel.script.step"].browse(state.current)
        low, high = state.flow.remaining(step.id)
        previous = state.records.get(step.id)
        text = script_tools.render(step.text or "", self._script_render_values())
        return dict(
            common,
            done=False,
            step_id=step.id,
            title=step.name,
            text=str(text),
            answer_type=step.answer_type,
            required=step.required,
            choices=[{"id": c.id, "name": c.name} for c in step.choice_ids],
            answer=(
                {"value": previous._script_value(), "display": previous.value_display or ""}
                if previous
                else False
            ),
            progress={
                "position": state.position + 1,
                "passed": state.position,
                "remaining_min": low,
                "remaining_max": high,
                "percent": script_tools.progress(state.position, high),
            },
        )

    # ------------------------------------------------------------------
    # Hold and transfer
    # ------------------------------------------------------------------
    @api.depends("hold_since")
    def _compute_is_on_hold(self):
        for rec in self:
            rec.is_on_hold = bool(rec.hold_since)

    # ------------------------------------------------------------------
    # Lifecycle: ending or closing ends the hold
    # ------------------------------------------------------------------
    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------
    def _check_transfer_access(self):
        """The interaction's agent, a supervisor of its queue or a manager."""
        self.ensure_one()
        if self.env.su:
            return
        user = self.env.user
        # sudo: read before the access check below, to refuse with a clear message
        rec = self.sudo()
        allowed = user.has_group(AGENT_GROUP) and (
            rec.agent_id == user
            or user.has_group(MANAGER_GROUP)
            or (rec.queue_id and user in rec.queue_id.supervisor_ids)
        )
        if not allowed:
            raise AccessError(
                _(
                    "%(name)s is handled by another agent: only they, a supervisor of its "
                    "queue or a manager may hold or transfer it.",
                    name=rec.name,
                )
            )
        self.check_access("read")

    def _check_active(self):
        self.ensure_one()
        if self.state != "active":
            raise UserError(
                _(
                    "%(name)s is %(state)s: only an active interaction can be put on hold "
                    "or transferred.",
                    name=self.name,
                    state=dict(self._fields["state"]._description_selection(self.env))[self.state],
                )
            )

    def _transfer_lock(self):
        """Lock the active interaction against a concurrent end or transfer."""
        busy = _("%(name)s is being changed right now; try again.", name=self.name)
        if not self._lock_for_change(("active",), busy):
            self._check_active()

    # ------------------------------------------------------------------
    # Hold
    # ------------------------------------------------------------------
    def _hold_stop(self):
        now = fields.Datetime.now()
        for rec in self:
            held = max(int((now - rec.hold_since).total_seconds()), 0) if rec.hold_since else 0
            rec._write_trusted({"hold_since": False, "hold_duration": rec.hold_duration + held})

    def action_hold(self):
        """Put the customer on hold; the time is recorded, nothing else changes."""
        self.ensure_one()
        self._check_transfer_access()
        self._check_active()
        if self.hold_since:
            raise UserError(_("%(name)s is already on hold.", name=self.name))
        self._write_trusted({"hold_since": fields.Datetime.now()})
        return self._transfer_result()

    def action_resume(self):
        """Take the customer off hold; the hold time adds to hold_duration."""
        self.ensure_one()
        self._check_transfer_access()
        self._check_active()
        if not self.hold_since:
            raise UserError(_("%(name)s is not on hold.", name=self.name))
        self._hold_stop()
        return self._transfer_result()

    def _transfer_result(self):
        result = self._api_result()
        result.update(
            is_on_hold=self.is_on_hold,
            hold_duration=self.hold_duration,
            transfer_count=self.transfer_count,
        )
        return result

    # ------------------------------------------------------------------
    # Transfer
    # ------------------------------------------------------------------
    def _transfer_requeue(self, queue):
        """Back to waiting in ``queue``, freed from its agent.

        A transfer starts a new wait: date_queued is set to now. Accepting an
        offer sets date_answered again, so keeping the first date_queued
        would count the first agent's talk time as waiting and spoil the
        target queue's wait and service-level figures; the first leg stays
        in the chatter and transfer_count marks the interaction.
        """
        self.ensure_one()
        if self.hold_since:
            self._hold_stop()
        self.offer_ids.filtered(lambda o: o.state == "pending")._close("cancelled", requeue=False)
        self.offer_ids.filtered(lambda o: o.state == "accepted")._set_state("transferred")
        self._set_state(
            "queued",
            queue_id=queue.id,
            agent_id=False,
            date_queued=fields.Datetime.now(),
            date_offered=False,
            date_answered=False,
            transfer_count=self.transfer_count + 1,
            # the routing decided these for the first queue or agent
            preferred_agent_id=False,
            preferred_until=False,
        )
        self.env.flush_all()

    def _transfer_free_agent(self, user, skip_queue=None):
        """Refresh the freed agent and offer them work from their queues; not
        from the queue the interaction was just sent to, so that it does not
        ring back at once on the agent who passed it on (later ACD rounds may
        offer it to them when nobody else is free)."""
        # sudo: agents may not write agent records; the freed agent's is refreshed
        agent = self.env["omnichannel.agent"].sudo().search([("user_id", "=", user.id)])
        agent._refresh_state()
        if agent.state not in ("available", "busy"):
            return
        # the freed agent's queues in every company; the ACD dispatches them
        queues = self.env["omnichannel.agent"]._logged_in_queues(user)
        (queues - (skip_queue or queues.browse()))._dispatch()

    def _transfer_target_agent(self, user):
        """The target's agent record when it may take this interaction now."""
        self.ensure_one()
        # sudo: agents read only their own agent record; the target's state and load only
        agent = self.env["omnichannel.agent"].sudo().search([("user_id", "=", user.id)], limit=1)
        if not agent or agent.state not in ("available", "busy"):
            return False
        channel_class = routing.CHANNEL_CLASS.get(self.channel_type, "email")
        load = agent._loads_by_class().get(user.id, {}).get(channel_class, 0)
        return agent if load < agent._capacity(channel_class) else False

    def action_transfer_queue(self, queue_id):
        """Send the active interaction to another queue: the agent is freed and
        the target queue offers it at once to one of its agents (not back to
        the transferring agent while another one is free)."""
        self.ensure_one()
        self._check_transfer_access()
        # sudo: checked above; agents may not write offers nor agents, the ACD's work here
        rec = self.sudo()
        rec._check_active()
        # sudo: transfers cross departments: any active queue of the company (checked below)
        queue = self.env["omnichannel.queue"].sudo().browse(int(queue_id)).exists()
        if not queue or not queue.active or queue.company_id != rec.company_id:
            raise UserError(
                _("Choose an active queue of %(company)s.", company=rec.company_id.name)
            )
        if queue == rec.queue_id:
            raise UserError(
                _("%(name)s is already in the queue %(queue)s.", name=rec.name, queue=queue.name)
            )
        rec._transfer_lock()
        source = rec.queue_id
        previous = rec.agent_id
        rec._transfer_requeue(queue)
        if queue._is_open():
            rows = [row for row in queue._agent_rows() if row[0] != previous.id]
            if rows:
                candidates = queue._candidates(rec, rows, set())
                ordered = routing.order_candidates(
                    queue.strategy, candidates, required_skill=bool(rec.required_skill_id)
                )
                if ordered:
                    queue._offer(rec, ordered)
        rec._transfer_free_agent(previous, skip_queue=queue)
        rec._log_note(
            _(
                "Transferred from %(origin)s to queue %(queue)s by %(user)s.",
                origin=source.name or previous.name or _("(none)"),
                queue=queue.name,
                user=self.env.user.name,
            )
        )
        return rec._transfer_result()

    def action_transfer_agent(self, user_id):
        """Offer the active interaction to one agent, in its queue, the way a
        supervisor assigns (queue ``_offer`` with that single candidate). If the
        agent rejects or lets the offer ring out, the queue's ACD takes over."""
        self.ensure_one()
        self._check_transfer_access()
        # sudo: checked above; agents may not write offers nor agents, the ACD's work here
        rec = self.sudo()
        rec._check_active()
        # sudo: the target may be a user of another company; _check_assign_target() checks it
        target = self.env["res.users"].sudo().browse(int(user_id)).exists()
        rec._check_assign_target(target)
        if target == rec.agent_id:
            raise UserError(
                _("%(name)s is already with %(agent)s.", name=rec.name, agent=target.name)
            )
        busy_error = rec._agent_cannot_take(target)
        if not rec._transfer_target_agent(target):
            raise busy_error
        rec._transfer_lock()
        previous = rec.agent_id
        cr = self.env.cr
        try:
            with cr.savepoint():
                rec._transfer_requeue(rec.queue_id)
                if not rec.queue_id._offer(rec, [routing.Candidate(user_id=target.id)]):
                    raise busy_error
        except UserError:
            self.env.invalidate_all()
            raise
        rec._transfer_free_agent(previous)
        rec._log_note(
            _(
                "Transferred from %(origin)s to %(agent)s by %(user)s.",
                origin=previous.name or _("(none)"),
                agent=target.name,
                user=self.env.user.name,
            )
        )
        return rec._transfer_result()

    def transfer_targets(self):
        """Where this interaction may go: the other active queues of its
        company (by name, also those the agent is no member of: transfers
        cross departments) and the available agents with a free place for
        its channel."""
        self.ensure_one()
        self._check_transfer_access()
        # sudo: transfers cross departments: the company's queues the agent is no member of too
        queues = (
            self.env["omnichannel.queue"]
            .sudo()
            .search([("company_id", "=", self.company_id.id), ("id", "!=", self.queue_id.id)])
        )
        # sudo: those queues' waiting interactions are not the agent's; only counted
        waiting = dict(
            self.env["omnichannel.interaction"]
            .sudo()
            ._read_group(
                [("queue_id", "in", queues.ids), ("state", "in", WAITING_STATES)],
                ["queue_id"],
                ["__count"],
            )
        )
        # sudo: agents read only their own agent record; the others' state and free places only
        agents = (
            self.env["omnichannel.agent"]
            .sudo()
            .search(
                [
                    ("state", "in", ("available", "busy")),
                    ("user_id", "!=", self.agent_id.id),
                    ("user_id.company_ids", "in", self.company_id.id),
                ]
            )
        )
        channel_class = routing.CHANNEL_CLASS.get(self.channel_type, "email")
        loads = agents._loads_by_class()
        agent_rows = []
        for agent in agents.sorted(lambda a: a.user_id.name or ""):
            if not agent.user_id.has_group(AGENT_GROUP):
                continue
            free = agent._capacity(channel_class) - loads.get(agent.user_id.id, {}).get(
                channel_class, 0
            )
            if free > 0:
                agent_rows.append(
                    {
                        "id": agent.user_id.id,
                        "name": agent.user_id.name,
                        "state": agent.state,
                        "free": free,
                    }
                )
        return {
            "queues": [
                {"id": queue.id, "name": queue.name, "waiting_count": waiting.get(queue, 0)}
                for queue in queues
            ],
            "agents": agent_rows,
        }

    # ------------------------------------------------------------------
    # Console data
    # ------------------------------------------------------------------
    # ------------------------------------------------------------------
    # E-mail and fax: mail delivered to a channel's alias
    # ------------------------------------------------------------------
    # E-mail and fax channels: mail delivered to a channel's alias.
    #
    # Every inbound mail goes through ``_inbound_once`` keyed by its Message-Id.
    # A new e-mail from a customer who already has an open e-mail interaction
    # on the channel joins it (one conversation, one agent). Replies
    # (In-Reply-To / References) land on their interaction; a reply to an
    # interaction that is already closed opens a *new* interaction on the same
    # case (see ``mail_thread._message_route_process``): the closed one keeps its
    # timestamps and durations, the agent gets a fresh contact in the queue with
    # the whole history one click away.
    # ------------------------------------------------------------------
    # Mail gateway
    # ------------------------------------------------------------------
    @api.model
    def message_new(self, msg_dict, custom_values=None):
        values = dict(custom_values or {})
        channel = self.env["omnichannel.channel"].browse(values.get("channel_id")).exists()
        if not channel:
            raise ValueError(
                "Mail for omnichannel.interaction must arrive through a channel's alias "
                f"(Message-Id {msg_dict.get('message_id')})"
            )
        if channel.channel_type == "fax":
            return self._message_new_fax(channel, msg_dict)
        if channel.channel_type != "email":
            raise ValueError(f"Channel {channel.display_name} does not receive e-mail")
        return self._message_new_email(channel, msg_dict)

    def message_update(self, msg_dict, update_vals=None):
        res = super().message_update(msg_dict, update_vals=update_vals)
        for rec in self.filtered(lambda i: i.channel_type == "email" and i.partner_id):
            if rec.partner_id not in rec.message_partner_ids:
                rec.message_subscribe(partner_ids=rec.partner_id.ids)
        return res

    def _notify_get_reply_to(self, default=None):
        """Customers answer to the channel's alias, not to the catchall."""
        channels = self.channel_id.filtered("alias_email")
        # sudo: agents may not read mail aliases; only the channels' reply-to addresses
        aliases = channels.sudo()._notify_get_reply_to(default=default) if channels else {}
        res = {rec.id: aliases.get(rec.channel_id.id) for rec in self}
        leftover = self.filtered(lambda rec: not res.get(rec.id))
        if leftover:
            parent = super(OmnichannelInteraction, leftover)
            res.update(parent._notify_get_reply_to(default=default))
        return res

    @api.model
    def _mail_external_id(self, msg_dict):
        """The Message-Id as idempotency key (hashed when it is too long)."""
        message_id = (msg_dict.get("message_id") or "").strip()
        if len(message_id) > MAX_EXTERNAL_ID:
            message_id = "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
        return message_id

    @api.model
    def _mail_headers(self):
        return self.env.context.get("omnichannel_mail_headers") or {}

    @api.model
    def _mail_create_interaction(self, channel, msg_dict, external_id, contact, partner, **extra):
        """A new queued interaction for one inbound mail (e-mail or fax)."""
        return self.create(
            dict(
                {
                    "channel_id": channel.id,
                    "company_id": channel.company_id.id,
                    "direction": "inbound",
                    "external_id": external_id,
                    "contact_address": contact,
                    "subject": (msg_dict.get("subject") or "").strip()[:250] or False,
                    "partner_id": partner.id,
                    "queue_id": channel.queue_id.id,
                    "state": "queued",
                },
                **extra,
            )
        )

    @api.model
    def _message_new_email(self, channel, msg_dict):
        email_from = msg_dict.get("email_from") or ""
        contact = email_normalize(email_from)
        if not contact:
            raise ValueError(f"Cannot read the sender of {msg_dict.get('message_id')}")
        external_id = self._mail_external_id(msg_dict)
        previous = self.browse(self.env.context.get("omnichannel_followup_id")).exists()

        existing = self._api_inbound_find(channel, external_id)
        if existing:
            return existing
        partner = previous.partner_id or self._mail_find_customer(channel, contact, email_from)
        open_interaction = self._mail_open_interaction(channel, partner, contact)
        if open_interaction:
            # one conversation per customer and channel: the mail joins it
            # sudo: only managers read idempotency keys; the one of this mail is claimed
            keys = self.env["omnichannel.event.key"].sudo()
            scope = f"interaction:{channel.id}"
            if keys._claim(scope, external_id):
                keys._set_res_id(scope, external_id, open_interaction.id)
            self._mail_set_author(msg_dict, partner)
            return open_interaction

        def create():
            interaction = self._mail_create_interaction(
                channel, msg_dict, external_id, contact, partner, case_id=previous.case_id.id
            )
            if previous:
                interaction._message_log(
                    body=_(
                        "The customer replied to %(previous)s, which was already closed.",
                        previous=previous._get_html_link(),
                    )
                )
            return interaction

        interaction, created = self._inbound_once(channel, external_id, create)
        self._mail_set_author(msg_dict, interaction.partner_id)
        if interaction.partner_id:
            interaction.message_subscribe(partner_ids=interaction.partner_id.ids)
        if created:
            interaction._mail_send_acknowledgement(contact)
        return interaction

    @api.model
    def _mail_find_customer(self, channel, contact, email_from):
        Partner = self.env["res.partner"]
        try:
            matches = Partner.omnichannel_identify(contact, channel_type="email")
        except ValidationError:
            matches = []
        if matches:
            return Partner.browse(matches[0]["id"])
        if not channel.email_create_partner or self._mail_is_own_address(contact):
            return Partner
        name = parse_contact_from_email(email_from)[0] or contact
        return Partner.create({"name": name, "email": contact})

    @api.model
    def _mail_open_interaction(self, channel, partner, contact):
        if partner:
            who = ["|", ("partner_id", "=", partner.id), ("contact_address", "=", contact)]
        else:
            who = [("contact_address", "=", contact)]
        return self.search(
            [
                ("channel_id", "=", channel.id),
                ("direction", "=", "inbound"),
                ("state", "not in", FINAL_STATES),
                *who,
            ],
            order="id desc",
            limit=1,
        )

    @api.model
    def _mail_set_author(self, msg_dict, partner):
        if partner and not msg_dict.get("author_id"):
            msg_dict["author_id"] = partner.id

    @api.model
    def _mail_is_own_address(self, email):
        """Mail from one of our aliases, catchall, bounce or notification
        addresses: answering it would loop."""
        if not email:
            return False
        # sudo: the gateway's user may not read every alias; only whether one matches
        if self.env["mail.alias"].sudo().search_count([("alias_full_name", "=", email)], limit=1):
            return True
        # sudo: as above: the alias domains' own addresses only
        domains = self.env["mail.alias.domain"].sudo().search([])
        own = set(domains.mapped("catchall_email") + domains.mapped("bounce_email"))
        own.update(domains.mapped("default_from_email"))
        return email in {email_normalize(address) for address in own if address}

    def _mail_send_acknowledgement(self, contact):
        """The channel's acknowledgement, once per new interaction; never to
        robots (RFC 3834 headers, bounces) nor to our own addresses."""
        self.ensure_one()
        template = self.channel_id.email_ack_template_id
        if not template or not self.partner_id:
            return False
        if email_gateway.is_automatic(self._mail_headers()) or self._mail_is_own_address(contact):
            _logger.info("No acknowledgement for %s: automatic mail or own address", self.name)
            return False
        channel = self.channel_id
        self.message_post_with_source(
            template,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            partner_ids=self.partner_id.ids,
            author_id=self.env.ref("base.partner_root").id,
            email_from=formataddr((channel.company_id.name, channel.alias_email))
            if channel.alias_email
            else None,
        )
        return True

    # ------------------------------------------------------------------
    # Inbound fax (an e-mail with a PDF from an e-mail-to-fax gateway)
    # ------------------------------------------------------------------
    @api.model
    def _message_new_fax(self, channel, msg_dict):
        external_id = self._mail_external_id(msg_dict)
        headers = self._mail_headers()
        number = fax_tools.parse_fax_sender(
            email_from=msg_dict.get("email_from"),
            subject=msg_dict.get("subject"),
            x_fax_from=headers.get("X-Fax-From"),
        )
        contact = False
        if number:
            try:
                contact = self._normalize_contact_address(channel, number)
            except ValidationError:
                contact = False
        has_pdf = any(
            fax_tools.is_pdf(attachment[0], (attachment[2] or {}).get("content_type"))
            if len(attachment) > 2 and isinstance(attachment[2], dict)
            else fax_tools.is_pdf(attachment[0])
            for attachment in msg_dict.get("attachments") or []
        )

        def create():
            partner = self.env["res.partner"]
            if contact:
                matches = self.env["res.partner"].omnichannel_identify(
                    contact, channel_type="phone"
                )
                partner = partner.browse(matches[0]["id"]) if matches else partner
            interaction = self._mail_create_interaction(
                channel, msg_dict, external_id, contact, partner
            )
            notes = []
            if not contact:
                notes.append(_("The fax gateway did not give the sender's number."))
            if not has_pdf:
                notes.append(
                    _(
                        "This fax e-mail has no PDF attachment: check the gateway "
                        "or ask for a resend."
                    )
                )
            for note in notes:
                interaction._message_log(body=Markup("<p><b>%s</b></p>") % note)
            return interaction

        interaction, _created = self._inbound_once(channel, external_id, create)
        self._mail_set_author(msg_dict, interaction.partner_id)
        return interaction

    # ------------------------------------------------------------------
    # Call-back attempts
    # ------------------------------------------------------------------
    def _callback_attempt_outcome(self):
        """An outbound call-back attempt ended: done when the customer was
        reached, retried (or failed) when not."""
        # sudo: the call-back follows its attempts whoever ends them, in or out of their rules
        for rec in self.sudo().filtered(lambda i: i.callback_id and i.direction == "outbound"):
            if rec.state in UNANSWERED_STATES:
                reached = False
            elif rec.state in REACHED_STATES or (rec.state == "wrapup" and rec.disposition_id):
                reached = rec.disposition_id.outcome not in NO_ANSWER_OUTCOMES
            else:
                continue
            rec.callback_id._attempt_ended(rec, reached)

    def _callback_phone(self):
        """The number to call back: the caller's number, else the customer's."""
        self.ensure_one()
        if self.channel_id.channel_type in PHONE_CHANNEL_TYPES and self.contact_address:
            return self.contact_address
        partner = self.partner_id
        return partner.mobile_e164 or partner.phone_e164 or partner.mobile or partner.phone

    def _callback_source(self):
        self.ensure_one()
        if self.end_reason == "closed":
            return "queue_closed"
        if self.end_reason == "overflow":
            return "queue_overflow"
        return {"phone": "pbx", "chat": "chat", "webform": "webform"}.get(
            self.channel_type, "manual"
        )

    def _schedule_callback(self, note):
        """A call-back request (``omnichannel.callback``) the cron turns into an
        outbound call; a plain call task only when there is no number to call
        or no phone line to call from."""
        self.ensure_one()
        phone = self._callback_phone()
        queue = self.queue_id or self.channel_id.queue_id
        if phone and queue:
            try:
                return self.env["omnichannel.callback"]._request(
                    phone,
                    queue,
                    self._callback_source(),
                    partner=self.partner_id,
                    channel=self.channel_id,
                    origin=self,
                    notes=note,
                )
            except ValidationError as error:
                self.message_post(
                    body=_("No call-back request: %(error)s", error=error.args[0]),
                    subtype_xmlid="mail.mt_note",
                )
        return self._schedule_callback_activity(note)

    def _cancel_callbacks(self):
        """The customer was reached after all (e.g. a late PBX answer)."""
        # sudo: the customer's pending call-backs, whoever's they are, are cancelled
        self.sudo().callback_request_ids.filtered(lambda c: c.state == "pending").action_cancel()
        self.activity_ids.filtered(
            lambda a: a.activity_type_id == self.env.ref("mail.mail_activity_data_call")
        ).unlink()

    # ------------------------------------------------------------------
    # Campaigns (issue 16): an attempt's outcome goes back to its contact
    # ------------------------------------------------------------------
    def _campaign_attempt_outcome(self):
        """A campaign call ended: its disposition (or, unanswered, its state)
        drives the contact's next step (``omnichannel.campaign.contact``)."""
        # sudo: the campaign follows its attempts whoever ends them
        for rec in self.sudo().filtered("campaign_contact_id"):
            if rec.state == "abandoned":
                outcome = "abandoned" if rec.end_reason == "no_agent" else "no_answer"
            elif rec.state == "missed":
                outcome = "no_answer"
            elif rec.state in REACHED_STATES or (rec.state == "wrapup" and rec.disposition_id):
                outcome = rec.disposition_id.outcome or "done"
            else:
                continue
            rec.campaign_contact_id._attempt_ended(rec, outcome)

    def action_request_callback(self):
        """Button: ask for a call-back of this customer now, then open it."""
        self.ensure_one()
        phone = self._callback_phone()
        if not phone:
            raise UserError(_("This customer has no phone number to call back."))
        callback = self.env["omnichannel.callback"]._request(
            phone,
            self.queue_id or self.channel_id.queue_id,
            "manual",
            partner=self.partner_id,
            channel=self.channel_id,
            origin=self,
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "omnichannel.callback",
            "res_id": callback.id,
            "view_mode": "form",
            "target": "current",
        }

    # ------------------------------------------------------------------
    # Demo: weeks of history for the reports, charts and staffing plan
    # ------------------------------------------------------------------
    # relative share of the contacts a queue's channel gets, per type
    DEMO_CHANNEL_WEIGHTS = {
        "phone": 6,
        "email": 3,
        "chat": 3,
        "sms": 1,
        "social": 1,
        "webform": 1,
        "fax": 0.3,
        "video": 0.3,
    }
    DEMO_DISPOSITIONS = {
        "COLLECTIONS": (
            "disposition_promise_to_pay",
            "disposition_resolved",
            "disposition_no_contact",
        ),
        "SALES": ("disposition_sale", "disposition_resolved", "disposition_follow_up"),
    }

    @api.model
    def _demo_generate_history(self, days=28, daily=45, seed=18, progress=None):
        """Simulate ``days`` days of contacts (and today up to now) on the
        company's queues and the agents' state periods that go with them, so
        that a demo's reports, wallboard charts, staffing plan and scorecards
        show a working contact center. Run by ``setup/run`` on a new demo
        database, as the superuser; ``progress(done, total)`` is told as rows
        are written. Returns {"interactions": n, "periods": n}.
        """
        if not self.env.is_superuser():
            raise AccessError(_("Only the set-up writes demo history."))
        company = self.env.company
        # local time as the reports count it: the queue's business hours, else
        # the company's time zone (one frame for the simulation: the company's)
        tz = pytz.timezone(company.partner_id.tz or "UTC")
        now_utc = fields.Datetime.now()
        now_local = pytz.utc.localize(now_utc).astimezone(tz).replace(tzinfo=None)
        today = now_local.date()
        day_list = [today - timedelta(days=n) for n in range(days, -1, -1)]
        rng = random.Random(seed)

        queues = self.env["omnichannel.queue"].search([("company_id", "in", company.ids)])
        channels = self.env["omnichannel.channel"].search([("queue_id", "in", queues.ids)])
        agents = self.env["omnichannel.agent"].search([("company_id", "in", company.ids)])
        agent_of_user = {agent.user_id.id: agent for agent in agents}
        dispositions = self.env["omnichannel.disposition"].search([])
        specs = []
        for queue in queues:
            queue_channels = [
                (channel.id, channel.channel_type, self.DEMO_CHANNEL_WEIGHTS[channel.channel_type])
                for channel in channels
                if channel.queue_id == queue and channel.channel_type in self.DEMO_CHANNEL_WEIGHTS
            ]
            members = [user.id for user in queue.member_ids if user.id in agent_of_user]
            if not queue_channels or not members:
                continue
            names = self.DEMO_DISPOSITIONS.get(
                (queue.code or "").upper(), ("disposition_resolved", "disposition_follow_up")
            )
            codes = [
                self.env.ref(f"omnichannel_cc.{name}", raise_if_not_found=False) for name in names
            ]
            weights = [3, 2, 1]
            specs.append(
                demo_history.QueueSpec(
                    queue.id,
                    daily * rng.uniform(0.6, 1.3),
                    queue_channels,
                    members,
                    [(d.id, w) for d, w in zip(codes, weights, strict=False) if d in dispositions],
                )
            )
        shifts = {}
        for n, user_id in enumerate(sorted({u for spec in specs for u in spec.agents})):
            shifts[user_id] = ((time(8), time(16)), (time(10), time(18)))[n % 2]
        customers = (
            self.env["res.partner"]
            .search(
                [("customer_rank", ">", 0), ("company_id", "in", [False, company.id])], limit=200
            )
            .ids
            or self.env["res.partner"].search([("is_company", "=", True)], limit=50).ids
        )
        contacts, periods = demo_history.simulate(
            rng, day_list, now_local, specs, shifts, customers
        )
        periods = demo_history.close_offline(periods)

        def utc(local, zone=tz):
            if not local:
                return False
            return zone.localize(local).astimezone(pytz.utc).replace(tzinfo=None)

        queue_tz = {
            queue.id: pytz.timezone(queue.resource_calendar_id.tz or company.partner_id.tz or "UTC")
            for queue in queues
        }

        total = len(contacts) + len(periods)
        done = 0
        Interaction = self.with_context(
            tracking_disable=True, mail_create_nolog=True, mail_notrack=True
        )
        queue_by_id = {queue.id: queue for queue in queues}
        records = self.browse()
        for start in range(0, len(contacts), 500):
            batch = contacts[start : start + 500]
            vals_list = []
            for contact in batch:
                answered = contact.answered is not None
                zone = queue_tz[contact.queue]
                vals_list.append(
                    {
                        "channel_id": contact.channel,
                        "direction": "inbound",
                        "queue_id": contact.queue,
                        "company_id": queue_by_id[contact.queue].company_id.id,
                        "partner_id": contact.customer or False,
                        "agent_id": contact.agent or False,
                        "state": contact.state,
                        "date_queued": utc(contact.arrival, zone),
                        "date_offered": utc(contact.answered - timedelta(seconds=4), zone)
                        if answered
                        else False,
                        "date_answered": utc(contact.answered, zone),
                        "date_ended": utc(contact.ended, zone),
                        "date_closed": utc(contact.closed, zone),
                        "disposition_id": contact.disposition or False,
                        "end_reason": False if answered else "customer",
                    }
                )
            records = Interaction.create(vals_list)
            # the reports date a contact by its creation: when it arrived
            records.flush_recordset()
            self.env.cr.execute(
                SQL(
                    """UPDATE omnichannel_interaction i
                          SET create_date = v.arrival
                         FROM unnest(%s::int[], %s::timestamp[]) AS v(id, arrival)
                        WHERE i.id = v.id""",
                    records.ids,
                    [utc(contact.arrival, queue_tz[contact.queue]) for contact in batch],
                )
            )
            done += len(batch)
            if progress:
                progress(done, total)
        records.invalidate_model(["create_date"])

        agent_ids = {user_id: agent.id for user_id, agent in agent_of_user.items()}
        reasons = {
            "lunch": self.env.ref("omnichannel_cc.break_reason_lunch", raise_if_not_found=False),
            "short": self.env.ref("omnichannel_cc.break_reason_coffee", raise_if_not_found=False),
        }
        log_vals = [
            {
                "agent_id": agent_ids[period.agent],
                "state": period.state,
                "break_reason_id": reasons.get(period.reason, False) and reasons[period.reason].id,
                "date_start": utc(period.start),
                "date_end": utc(period.end),
            }
            for period in periods
        ]
        # the agents are offline now: their open period is the last one
        self.env["omnichannel.agent.state.log"].search(
            [("agent_id", "in", list(agent_ids.values())), ("date_end", "=", False)]
        ).write({"date_end": now_utc})
        for start in range(0, len(log_vals), 1000):
            self.env["omnichannel.agent.state.log"].create(log_vals[start : start + 1000])
            done += len(log_vals[start : start + 1000])
            if progress:
                progress(done, total)
        return {"interactions": len(contacts), "periods": len(periods)}
