"""Outbound (and inbound) campaigns: calling lists from live Odoo data.

The list is a domain on a model (as Odoo's mass mailing does), evaluated
with the rights of the user who starts the campaign, when it starts, by a
cron while it runs and again right before each dial. The rules of who may be
called, when, and what follows an attempt are in ``tools/campaign.py``.
"""

import logging
from datetime import timedelta

import pytz
from dateutil.relativedelta import relativedelta
from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL, split_every
from odoo.tools.misc import formatLang
from odoo.tools.safe_eval import datetime as safe_datetime
from odoo.tools.safe_eval import safe_eval
from odoo.tools.safe_eval import time as safe_time

from ..tools import campaign as campaign_tools

_logger = logging.getLogger(__name__)

CAMPAIGN_STATES = [
    ("draft", "Draft"),
    ("running", "Running"),
    ("paused", "Paused"),
    ("done", "Done"),
]
# state -> states it may move to
CAMPAIGN_TRANSITIONS = {
    "draft": ("running",),
    "running": ("paused", "done"),
    "paused": ("running", "done"),
    "done": (),
}
DIAL_MODES = [
    ("preview", "Preview"),
    ("progressive", "Progressive"),
    ("power", "Power"),
    ("predictive", "Predictive"),
]
# the customer of a source record, as a path for the re-evaluation's search
TARGET_CUSTOMER_PATHS = {
    "res.partner": "id",
    "account.move": "commercial_partner_id",
    "sale.order": "partner_id.commercial_partner_id",
}
DEFAULT_CUSTOMER_PATH = "partner_id.commercial_partner_id"
TARGET_ORDERS = {"account.move": "invoice_date_due, id"}
# context key of the state machine's own writes (an object no RPC client can send)
STATE_MACHINE_KEY = "omnichannel_campaign_state_machine"
STATE_MACHINE = object()
# source records read per batch when building a list
LIST_BATCH = 500
# contacts examined per claim round (FOR UPDATE SKIP LOCKED)
CLAIM_BATCH = 20
# running campaigns whose list the cron refreshes per run
CRON_CAMPAIGNS = 5
SUPERVISOR_GROUP = "omnichannel_cc.group_omnichannel_supervisor"
# a call answered (a preview call is "answered" when the agent takes it) with
# one of these dispositions did not reach the customer
NOT_REACHED_OUTCOMES = ("no_answer", "busy", "machine", "no_contact", "wrong_number")
# the dashboard's live abandonment rate is over this period
DASHBOARD_ABANDON_HOURS = 24
# the telephony addon's record of every pacing decision (dial level)
PACING_LOG_MODEL = "omnichannel.campaign.pacing.log"


class OmnichannelCampaign(models.Model):
    """A campaign: an outbound calling list worked by a queue's agents, or an
    inbound campaign (attribution)."""

    _name = "omnichannel.campaign"
    _description = "Contact center campaign"
    _inherit = ["mail.thread", "omnichannel.state.mixin"]
    _order = "state_sequence, id desc"
    _state_transitions = CAMPAIGN_TRANSITIONS

    name = fields.Char(required=True, translate=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    campaign_type = fields.Selection(
        [("outbound", "Outbound"), ("inbound", "Inbound")],
        string="Type",
        required=True,
        default="outbound",
    )
    dial_mode = fields.Selection(
        DIAL_MODES,
        required=True,
        default="preview",
        tracking=True,
        help="Preview: the agent asks for the next contact, sees the customer and dials. "
        "Progressive, power and predictive: the PBX dials for the agents (telephony addon).",
    )
    purpose = fields.Selection(
        [("service", "Service"), ("marketing", "Marketing")],
        required=True,
        default="service",
        help="Service: collections, claims, renewals. Marketing: only contacts who gave their "
        "prior consent to marketing calls are called (Polish Electronic Communications Law, "
        "art. 398).",
    )
    state = fields.Selection(
        CAMPAIGN_STATES, required=True, default="draft", index=True, tracking=True, copy=False
    )
    state_sequence = fields.Integer(compute="_compute_state_sequence", store=True)
    target_model = fields.Selection(
        selection="_selection_target_model",
        string="Target",
        default="res.partner",
        help="What the list is made of: customers, invoices, orders. Invoices and orders "
        "resolve to their customer; one contact per customer and number.",
    )
    target_domain = fields.Char(
        string="Filter",
        default="[]",
        help="Which records: evaluated when the campaign starts, while it runs and right "
        "before each dial, with the access rights of the user who started it.",
    )
    target_summary = fields.Text(
        string="Targets",
        readonly=True,
        copy=False,
        help="The count of the list as it would be built now (Count targets).",
    )
    date_summary = fields.Datetime(string="Counted on", readonly=True, copy=False)
    queue_id = fields.Many2one(
        "omnichannel.queue",
        index=True,
        ondelete="restrict",
        tracking=True,
        help="The agents of this queue work the campaign.",
    )
    script_id = fields.Many2one("omnichannel.script", help="The call script of each attempt.")
    utm_campaign_id = fields.Many2one(
        "utm.campaign",
        string="Marketing campaign",
        index="btree_not_null",
        help="Odoo's utm campaign of its calls and of the orders made from them, so that "
        "the sales reports show this campaign's results next to the inbound campaigns'.",
    )
    channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Phone line",
        ondelete="restrict",
        domain=[("channel_type", "=", "phone")],
        help="The outbound line the calls are made on (the queue's, else the company's first).",
    )
    caller_id = fields.Char(
        string="Caller ID",
        help="The number shown to the people called; empty: the phone line's number.",
    )
    user_id = fields.Many2one(
        "res.users",
        string="Started by",
        readonly=True,
        copy=False,
        help="The list is evaluated with this user's access rights.",
    )
    date_start = fields.Datetime(string="Started on", readonly=True, copy=False)
    date_refreshed = fields.Datetime(string="List refreshed on", readonly=True, copy=False)
    refresh_minutes = fields.Integer(
        string="Refresh every (min)",
        default=15,
        help="While the campaign runs, the list is evaluated again this often: new matches "
        "join, contacts who no longer match are skipped.",
    )

    # compliance gates
    window_start = fields.Float(
        string="Call from", default=campaign_tools.DEFAULT_WINDOW[0], help="In the contact's zone."
    )
    window_end = fields.Float(
        string="Call until", default=campaign_tools.DEFAULT_WINDOW[1], help="In the contact's zone."
    )
    calendar_id = fields.Many2one(
        "resource.calendar",
        string="Calling days",
        help="Working days and public holidays: no calls on a day without working hours or "
        "on a public holiday of this calendar. Empty: every day.",
    )
    max_attempts = fields.Integer(default=3, required=True)
    retry_no_answer = fields.Integer(
        string="Retry after no answer (min)",
        default=campaign_tools.DEFAULT_RETRY_MINUTES["no_answer"],
    )
    retry_busy = fields.Integer(
        string="Retry after busy (min)", default=campaign_tools.DEFAULT_RETRY_MINUTES["busy"]
    )
    retry_machine = fields.Integer(
        string="Retry after answering machine (min)",
        default=campaign_tools.DEFAULT_RETRY_MINUTES["machine"],
    )
    retry_callback = fields.Integer(
        string="Call back after (min)",
        default=campaign_tools.DEFAULT_RETRY_MINUTES["callback"],
        help="When the customer asks to be called back without saying when.",
    )
    dnc_ids = fields.One2many(
        "omnichannel.campaign.dnc", "campaign_id", string="Do-not-call list", copy=True
    )

    contact_ids = fields.One2many("omnichannel.campaign.contact", "campaign_id", string="Contacts")
    contact_count = fields.Integer(compute="_compute_counts", string="Contact count")
    pending_count = fields.Integer(compute="_compute_counts", string="To call")
    in_progress_count = fields.Integer(compute="_compute_counts", string="In progress")
    done_count = fields.Integer(compute="_compute_counts", string="Done")
    excluded_count = fields.Integer(compute="_compute_counts", string="Excluded")
    failed_count = fields.Integer(compute="_compute_counts", string="Failed")
    interaction_count = fields.Integer(compute="_compute_counts", string="Calls")

    # supervisor's dashboard (issue 16): figures of the whole campaign, read
    # by supervisors and managers only
    dashboard_left = fields.Integer(
        compute="_compute_dashboard", string="Contacts left", groups=SUPERVISOR_GROUP
    )
    dashboard_progress = fields.Float(
        compute="_compute_dashboard",
        string="Progress (%)",
        groups=SUPERVISOR_GROUP,
        help="Contacts done or failed out of the contacts not excluded.",
    )
    dashboard_excluded = fields.Char(
        compute="_compute_dashboard", string="Excluded by reason", groups=SUPERVISOR_GROUP
    )
    dashboard_reached = fields.Integer(
        compute="_compute_dashboard",
        string="Reached",
        groups=SUPERVISOR_GROUP,
        help="Contacts with at least one answered call.",
    )
    dashboard_reach_rate = fields.Float(
        compute="_compute_dashboard",
        string="Reach rate (%)",
        groups=SUPERVISOR_GROUP,
        help="Contacts reached out of the contacts called.",
    )
    dashboard_converted = fields.Integer(
        compute="_compute_dashboard",
        string="Quotations and orders",
        groups=SUPERVISOR_GROUP,
        help="Quotations and orders made from the campaign's calls (not cancelled).",
    )
    dashboard_conversion_rate = fields.Float(
        compute="_compute_dashboard",
        string="Conversion (%)",
        groups=SUPERVISOR_GROUP,
        help="Quotations and orders per contact reached.",
    )
    dashboard_revenue = fields.Float(
        compute="_compute_dashboard",
        string="Revenue",
        groups=SUPERVISOR_GROUP,
        help="Untaxed amount of the confirmed orders, in the company's currency.",
    )
    dashboard_abandon_rate = fields.Float(
        compute="_compute_dashboard",
        string="Abandonment, last 24 h (%)",
        groups=SUPERVISOR_GROUP,
        help="Calls of the last 24 hours abandoned (answered with no agent free, or hung up "
        "waiting) out of those that reached the customer or were abandoned.",
    )
    dashboard_dial_level = fields.Float(
        compute="_compute_dashboard",
        string="Dial level",
        groups=SUPERVISOR_GROUP,
        help="Lines dialed per available agent, as the dialer last decided.",
    )
    dashboard_has_dial_level = fields.Boolean(compute="_compute_dashboard", groups=SUPERVISOR_GROUP)

    _sql_constraints = [
        ("max_attempts_positive", "CHECK(max_attempts > 0)", "Allow at least one attempt."),
        (
            "retry_positive",
            (
                "CHECK(retry_no_answer >= 0 AND retry_busy >= 0 AND retry_machine >= 0 "
                "AND retry_callback >= 0)"
            ),
            "Retry delays cannot be negative.",
        ),
        (
            "window_valid",
            "CHECK(window_start >= 0 AND window_end <= 24 AND window_start < window_end)",
            "The calling hours must be a window within one day (e.g. 8:00 to 21:00).",
        ),
    ]

    @api.model
    def _selection_target_model(self):
        return [
            (model, self.env[model]._description)
            for model in self._target_models()
            if model in self.env
        ]

    @api.model
    def _target_models(self):
        """Models a list can be made of (extend to add, e.g., crm.lead)."""
        return ["res.partner", "account.move", "sale.order"]

    # ------------------------------------------------------------------
    # Constraints and computes
    # ------------------------------------------------------------------
    @api.constrains("queue_id", "channel_id", "company_id")
    def _check_company_links(self):
        for campaign in self:
            if campaign.queue_id and campaign.queue_id.company_id != campaign.company_id:
                raise ValidationError(_("The queue belongs to another company."))
            if campaign.channel_id and campaign.channel_id.channel_type != "phone":
                raise ValidationError(_("Campaign calls are made on a phone channel."))

    @api.constrains("target_domain", "target_model")
    def _check_target_domain(self):
        for campaign in self:
            campaign._target_domain_eval()

    @api.depends("state")
    def _compute_state_sequence(self):
        order = {"running": 1, "paused": 2, "draft": 3, "done": 4}
        for campaign in self:
            campaign.state_sequence = order.get(campaign.state, 9)

    def _compute_counts(self):
        Contact = self.env["omnichannel.campaign.contact"]
        counts = {}
        for campaign, state, count in Contact._read_group(
            [("campaign_id", "in", self.ids)], ["campaign_id", "state"], ["__count"]
        ):
            counts.setdefault(campaign.id, {})[state] = count
        calls = dict(
            self.env["omnichannel.interaction"]._read_group(
                [("campaign_id", "in", self.ids)], ["campaign_id"], ["__count"]
            )
        )
        for campaign in self:
            by_state = counts.get(campaign.id, {})
            campaign.contact_count = sum(by_state.values())
            campaign.pending_count = by_state.get("pending", 0)
            campaign.in_progress_count = by_state.get("in_progress", 0)
            campaign.done_count = by_state.get("done", 0)
            campaign.excluded_count = by_state.get("excluded", 0)
            campaign.failed_count = by_state.get("failed", 0)
            campaign.interaction_count = calls.get(campaign, 0)

    def _compute_dashboard(self):
        Contact = self.env["omnichannel.campaign.contact"]
        Interaction = self.env["omnichannel.interaction"]
        ids = self._origin.ids  # the form of a new campaign has no figures yet
        reason_labels = dict(Contact._fields["excluded_reason"]._description_selection(self.env))
        other = self.env._("Other")
        states, reasons = {}, {}
        for campaign, state, reason, count in Contact._read_group(
            [("campaign_id", "in", ids)],
            ["campaign_id", "state", "excluded_reason"],
            ["__count"],
        ):
            by_state = states.setdefault(campaign.id, {})
            by_state[state] = by_state.get(state, 0) + count
            if state == "excluded":
                by_reason = reasons.setdefault(campaign.id, {})
                key = reason or "other"
                by_reason[key] = by_reason.get(key, 0) + count
        called = {
            campaign.id: count
            for campaign, count in Interaction._read_group(
                [("campaign_id", "in", ids)],
                ["campaign_id"],
                ["campaign_contact_id:count_distinct"],
            )
        }
        reached = {
            campaign.id: count
            for campaign, count in Interaction._read_group(
                [("campaign_id", "in", ids)] + self._reached_domain(),
                ["campaign_id"],
                ["campaign_contact_id:count_distinct"],
            )
        }
        since = fields.Datetime.now() - timedelta(hours=DASHBOARD_ABANDON_HOURS)
        recent = {}
        for campaign, state, count in Interaction._read_group(
            [("campaign_id", "in", ids), ("create_date", ">=", since)]
            + self._abandon_rate_domain(),
            ["campaign_id", "state"],
            ["__count"],
        ):
            figures = recent.setdefault(campaign.id, [0, 0])
            figures[0] += count
            if state == "abandoned":
                figures[1] += count
        orders = self._origin._dashboard_orders()
        dial_levels = self._origin._dashboard_dial_levels()
        for campaign in self:
            cid = campaign._origin.id
            by_state = states.get(cid, {})
            total = sum(by_state.values())
            excluded = by_state.get("excluded", 0)
            finished = by_state.get("done", 0) + by_state.get("failed", 0)
            campaign.dashboard_left = by_state.get("pending", 0) + by_state.get("in_progress", 0)
            campaign.dashboard_progress = (
                100.0 * finished / (total - excluded) if total > excluded else 0.0
            )
            campaign.dashboard_excluded = ", ".join(
                f"{reason_labels.get(reason, other)} {count}"
                for reason, count in sorted(reasons.get(cid, {}).items(), key=lambda item: -item[1])
            )
            n_reached = reached.get(cid, 0)
            n_called = called.get(cid, 0)
            n_orders, revenue = orders.get(cid, (0, 0.0))
            campaign.dashboard_reached = n_reached
            campaign.dashboard_reach_rate = 100.0 * n_reached / n_called if n_called else 0.0
            campaign.dashboard_converted = n_orders
            campaign.dashboard_conversion_rate = 100.0 * n_orders / n_reached if n_reached else 0.0
            campaign.dashboard_revenue = revenue
            answered_or_abandoned, abandoned = recent.get(cid, (0, 0))
            campaign.dashboard_abandon_rate = (
                100.0 * abandoned / answered_or_abandoned if answered_or_abandoned else 0.0
            )
            level = dial_levels.get(cid)
            campaign.dashboard_has_dial_level = level is not None
            campaign.dashboard_dial_level = level or 0.0

    @api.model
    def _reached_domain(self):
        """Interactions that reached the customer: answered, not abandoned,
        not wrapped up as no answer, busy, machine or wrong number."""
        return [
            ("date_answered", "!=", False),
            ("state", "!=", "abandoned"),
            "|",
            ("disposition_id", "=", False),
            ("disposition_id.outcome", "not in", NOT_REACHED_OUTCOMES),
        ]

    @api.model
    def _abandon_rate_domain(self):
        """The calls an abandonment rate is over: those that reached the
        customer and those abandoned (answered with no agent free, or hung
        up waiting)."""
        return expression.OR([self._reached_domain(), [("state", "=", "abandoned")]])

    def _dashboard_orders(self):
        """{campaign id: (quotations and orders, confirmed revenue)} of the
        orders made from the campaigns' calls."""
        self.env["omnichannel.interaction"].flush_model(["campaign_id", "sale_order_id"])
        self.env["sale.order"].flush_model(["state", "amount_untaxed", "currency_rate"])
        # raw SQL: supervisors may not read every order; the figures only
        self.env.cr.execute(
            SQL(
                """SELECT o.campaign_id, count(*),
                          COALESCE(sum(CASE WHEN so.state = 'sale'
                              THEN so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1.0)
                              END), 0)
                     FROM (SELECT DISTINCT i.campaign_id, i.sale_order_id
                             FROM omnichannel_interaction i
                            WHERE i.campaign_id IN %s AND i.sale_order_id IS NOT NULL) o
                     JOIN sale_order so ON so.id = o.sale_order_id AND so.state != 'cancel'
                    GROUP BY o.campaign_id""",
                tuple(self.ids) or (0,),
            )
        )
        return {row[0]: (row[1], row[2]) for row in self.env.cr.fetchall()}

    def _dashboard_dial_levels(self):
        """{campaign id: current dial level} of the campaigns the PBX dials,
        from the telephony addon's last pacing decision (none without it)."""
        dialed = self.filtered(lambda campaign: campaign.dial_mode != "preview")
        if not dialed or PACING_LOG_MODEL not in self.env:
            return {}
        log = self.env[PACING_LOG_MODEL]
        log.flush_model(["campaign_id", "date", "level"])
        # raw SQL: the last decision of each campaign, whoever may read the log
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT ON (campaign_id) campaign_id, level
                     FROM %s
                    WHERE campaign_id IN %s
                    ORDER BY campaign_id, date DESC, id DESC""",
                SQL.identifier(log._table),
                tuple(dialed.ids),
            )
        )
        levels = dict.fromkeys(dialed.ids, 0.0)
        levels.update(self.env.cr.fetchall())
        return levels

    @api.onchange("queue_id")
    def _onchange_queue_id(self):
        if self.queue_id and not self.channel_id:
            self.channel_id = self._phone_line()
        if self.queue_id.script_id and not self.script_id:
            self.script_id = self.queue_id.script_id

    @api.onchange("target_model")
    def _onchange_target_model(self):
        self.target_domain = "[]"

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
    # State actions
    # ------------------------------------------------------------------
    def action_start(self):
        """Start (or resume) the campaign: build its list from the domain."""
        self.check_access("write")
        for campaign in self:
            campaign._check_can_start()
            if campaign.state == "draft":
                campaign._set_state(
                    "running", user_id=self.env.uid, date_start=fields.Datetime.now()
                )
            else:
                campaign._set_state("running")
            if campaign.campaign_type == "outbound":
                campaign._refresh_contacts()
        return True

    def action_pause(self):
        self.check_access("write")
        self.filtered(lambda c: c.state == "running")._set_state("paused")
        return True

    def action_stop(self):
        self.check_access("write")
        self.filtered(lambda c: c.state in ("running", "paused"))._set_state("done")
        return True

    def _check_can_start(self):
        """Refuse what this campaign cannot do yet. The telephony addon's
        dialer extends this for progressive, power and predictive modes."""
        self.ensure_one()
        if self.state not in ("draft", "paused"):
            raise UserError(_("%(name)s is already running or done.", name=self.name))
        if self.campaign_type != "outbound":
            return
        if self.dial_mode != "preview":
            mode = dict(DIAL_MODES)[self.dial_mode]
            raise UserError(
                _(
                    "%(mode)s dialing places the calls automatically and needs the PBX dialer "
                    "of the telephony addon (omnichannel_cc_voip), which does not dial campaigns "
                    "yet. Use preview dialing: agents ask for the next contact and dial it.",
                    mode=mode,
                )
            )
        if not self.queue_id:
            raise UserError(_("Choose the queue whose agents work %(name)s.", name=self.name))
        if not self.channel_id:
            line = self._phone_line()
            if not line:
                raise UserError(
                    _(
                        "No phone line to call from in %(company)s: create a phone channel "
                        "under Contact Center / Configuration / Channels.",
                        company=self.company_id.name,
                    )
                )
            self.channel_id = line

    def _phone_line(self):
        return self.env["omnichannel.callback"]._phone_channel_for(
            self.queue_id, self.company_id or self.env.company, self.channel_id
        )

    # ------------------------------------------------------------------
    # The list: domain, targets, contacts
    # ------------------------------------------------------------------
    def _domain_eval_context(self):
        return {
            "context_today": lambda: fields.Date.context_today(self),
            "datetime": safe_datetime,
            "time": safe_time,
            "relativedelta": relativedelta,
            "uid": self.env.uid,
            "user": self.env.user,
        }

    def _target_domain_eval(self):
        """The domain as a list; relative dates (``context_today()``,
        ``relativedelta``) are evaluated now."""
        self.ensure_one()
        try:
            domain = safe_eval(self.target_domain or "[]", self._domain_eval_context())
        except Exception as error:
            raise ValidationError(
                _(
                    "The filter of %(name)s is not a valid domain: %(error)s",
                    name=self.name,
                    error=error,
                )
            ) from error
        if not isinstance(domain, list | tuple):
            raise ValidationError(_("The filter of %(name)s is not a list.", name=self.name))
        return list(domain)

    def _target_user(self):
        """Whose access rights evaluate the list: who started the campaign."""
        return self.user_id or self.env.user

    def _target_records(self, extra_domain=None):
        """The source records matching the domain now, as the starting user."""
        self.ensure_one()
        if not self.target_model:
            return None
        domain = self._target_domain_eval() + list(extra_domain or [])
        Target = self.env[self.target_model].with_user(self._target_user())
        return Target.search(domain, order=TARGET_ORDERS.get(self.target_model, "id"))

    def _customer_path(self):
        return TARGET_CUSTOMER_PATHS.get(self.target_model, DEFAULT_CUSTOMER_PATH)

    def _targets_of(self, records):
        """``tools.campaign.Target`` of source records: customer, person, numbers."""
        # sudo: the phones, countries and consent of the customers of the records the
        # starting user may read (their own rights chose the records)
        records = records.sudo()
        company_country = self.company_id.country_id.code
        targets = []
        for record in records:
            if self.target_model == "res.partner":
                customer = person = record
            else:
                person = record.partner_id
                customer = person.commercial_partner_id
            if not customer:
                continue
            phone_owner = person if (person.mobile or person.phone) else customer
            targets.append(
                campaign_tools.Target(
                    record._name,
                    record.id,
                    customer.id,
                    phone_owner.id,
                    phone_owner.phone or None,
                    phone_owner.mobile or None,
                    (phone_owner.country_id or customer.country_id).code or company_country,
                    phone_owner._omnichannel_has_marketing_consent(),
                )
            )
        return targets

    def _blocked_numbers(self, numbers):
        """(blacklisted, do-not-call) among ``numbers`` (E.164)."""
        numbers = [number for number in numbers if number]
        if not numbers:
            return set(), set()
        # sudo: the blacklist is read to keep its numbers off the list; agents may not read it
        blacklist = (
            self.env["phone.blacklist"].sudo().search([("number", "in", numbers)]).mapped("number")
        )
        # sudo: agents may not read the do-not-call list; only the numbers asked for
        dnc = {entry.number for entry in self.sudo().dnc_ids if entry.number in numbers}
        return set(blacklist), dnc

    def _iter_contacts(self, records, known):
        """The contacts ``records`` make, batch after batch (tools.build_contacts);
        ``known`` (keys already taken) grows as they are made."""
        total = len(records)
        for done, batch in enumerate(split_every(LIST_BATCH, records.ids), start=1):
            targets = self._targets_of(records.browse(batch))
            numbers = [campaign_tools.target_number(target)[0] for target in targets]
            blacklist, dnc = self._blocked_numbers(numbers)
            contacts = campaign_tools.build_contacts(
                targets,
                blacklist=blacklist,
                do_not_call=dnc,
                marketing=self.purpose == "marketing",
                known=known,
            )
            known.update((contact.partner_id, contact.phone) for contact in contacts)
            if total > LIST_BATCH:
                _logger.info(
                    "Campaign %s: %s of %s source records read",
                    self.id,
                    min(done * LIST_BATCH, total),
                    total,
                )
            yield targets, contacts

    def _known_keys(self):
        self.ensure_one()
        Contact = self.env["omnichannel.campaign.contact"]
        Contact.flush_model(["campaign_id", "partner_id", "phone"])
        self.env.cr.execute(
            SQL(
                "SELECT partner_id, phone FROM omnichannel_campaign_contact WHERE campaign_id = %s",
                self.id,
            )
        )
        # an unusable number is stored as written; the lists key it as no number
        return {
            (partner_id, phone if phone and phone.startswith("+") else None)
            for partner_id, phone in self.env.cr.fetchall()
        }

    def _refresh_contacts(self):
        """Build or refresh the list: new matches join, contacts of the domain
        that no longer match leave (excluded with the reason), those that
        match again come back. Returns (added, removed, restored)."""
        self.ensure_one()
        if not self._lock_for_refresh():
            return 0, 0, 0
        records = self._target_records()
        if records is None:
            return 0, 0, 0
        # sudo: the campaign's own list, written by the cron and for the supervisor who
        # started it; agents never call this
        Contact = self.env["omnichannel.campaign.contact"].sudo()
        matched = set()
        added = 0
        for targets, contacts in self._iter_contacts(records, self._known_keys()):
            matched.update(target.partner_id for target in targets)
            Contact.create([self._contact_vals(contact) for contact in contacts])
            added += len(contacts)
        domain_contacts = Contact.search([("campaign_id", "=", self.id), ("source", "=", "domain")])
        gone = domain_contacts.filtered(
            lambda c: c.state == "pending" and c.partner_id.id not in matched
        )
        gone._set_state("excluded", excluded_reason="no_longer_matches")
        back = domain_contacts.filtered(
            lambda c: (
                c.state == "excluded"
                and c.excluded_reason == "no_longer_matches"
                and c.partner_id.id in matched
            )
        )
        back._set_state("pending", excluded_reason=False)
        self.date_refreshed = fields.Datetime.now()
        if added or gone or back:
            self.message_post(
                body=_(
                    "List refreshed: %(added)s contact(s) added, %(gone)s no longer matching, "
                    "%(back)s matching again.",
                    added=added,
                    gone=len(gone),
                    back=len(back),
                ),
                subtype_xmlid="mail.mt_note",
            )
        return added, len(gone), len(back)

    def _lock_for_refresh(self):
        """One refresh of a list at a time (agents' requests, the cron): the
        campaign's row lock; False when another transaction refreshes it."""
        self.flush_recordset()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM omnichannel_campaign WHERE id = %s FOR UPDATE SKIP LOCKED",
                        self.id,
                    ),
                    log_exceptions=False,
                )
                return bool(self.env.cr.fetchone())
        except pg_errors.SerializationFailure:
            # refreshed (or changed) since this transaction began: the next request does it
            return False

    def _refresh_if_due(self):
        """The dialer's refresh: the list again when its refresh time came."""
        self.ensure_one()
        now = fields.Datetime.now()
        every = timedelta(minutes=max(self.refresh_minutes, 1))
        if not self.date_refreshed or self.date_refreshed + every <= now:
            self._refresh_contacts()

    def _contact_vals(self, contact):
        return {
            "campaign_id": self.id,
            "partner_id": contact.partner_id,
            "person_id": contact.person_id,
            "phone": contact.phone or contact.raw_phone or False,
            "res_model": contact.res_model,
            "res_id": contact.res_id,
            "source": "domain",
            "state": "excluded" if contact.excluded_reason else "pending",
            "excluded_reason": contact.excluded_reason or False,
        }

    def _target_counts(self):
        """What the list would be if built now (existing contacts included)."""
        self.ensure_one()
        known = self._known_keys()
        # sudo: every contact of the campaign, beyond the user's contact rules (the caller
        # checked the campaign's read access); only their exclusion reasons are counted
        reasons = [
            contact.excluded_reason
            for contact in self.env["omnichannel.campaign.contact"]
            .sudo()
            .search([("campaign_id", "=", self.id)])
        ]
        records = self._target_records()
        if records is not None:
            for _targets, contacts in self._iter_contacts(records, known):
                reasons.extend(contact.excluded_reason for contact in contacts)
        return campaign_tools.summary(len(reasons), reasons)

    def _summary_text(self, counts):
        labels = dict(
            self.env["omnichannel.campaign.contact"]
            ._fields["excluded_reason"]
            ._description_selection(self.env)
        )

        def number(value):
            return formatLang(self.env, value, digits=0)

        text = _(
            "%(targets)s targets, %(excluded)s excluded",
            targets=number(counts["targets"]),
            excluded=number(counts["excluded"]),
        )
        if counts["reasons"]:
            details = ", ".join(
                f"{labels.get(reason, reason).lower()} {number(count)}"
                for reason, count in counts["reasons"]
            )
            text = f"{text} ({details})"
        return text

    def action_preview_targets(self):
        """The count of the list as it would be built now, for scripts:
        ``{"targets", "excluded", "callable", "reasons": {reason: count},
        "message": "1,240 targets, 37 excluded (blacklisted 12, ...)"}``."""
        self.ensure_one()
        self.check_access("read")
        counts = self._target_counts()
        message = self._summary_text(counts)
        if self.has_access("write"):
            self.write({"target_summary": message, "date_summary": fields.Datetime.now()})
        return dict(counts, reasons=dict(counts["reasons"]), message=message)

    def action_count_targets(self):
        """Button: count the targets now (shown on the form)."""
        for campaign in self:
            campaign.action_preview_targets()
        return True

    def action_view_contacts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_campaign_contact_action"
        )
        action["domain"] = [("campaign_id", "=", self.id)]
        action["context"] = {"default_campaign_id": self.id, "search_default_group_state": 1}
        return action

    def action_view_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_interaction_action"
        )
        action["domain"] = [("campaign_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_view_report(self):
        """The campaign analysis of this campaign, per agent and outcome."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_campaign_report_action"
        )
        action["domain"] = [("campaign_id", "=", self.id)]
        action["context"] = {"pivot_row_groupby": ["agent_id"], "pivot_column_groupby": ["outcome"]}
        return action

    @api.model
    def _cron_refresh(self):
        """Re-evaluate the lists of running campaigns whose refresh is due."""
        now = fields.Datetime.now()
        # sudo: the cron refreshes every company's campaigns; each list is then
        # evaluated with its starting user's rights (_target_records)
        running = self.sudo().search(
            [("state", "=", "running"), ("campaign_type", "=", "outbound")]
        )
        due = running.filtered(
            lambda c: (
                not c.date_refreshed
                or c.date_refreshed + timedelta(minutes=max(c.refresh_minutes, 1)) <= now
            )
        )
        for campaign in due[:CRON_CAMPAIGNS]:
            try:
                with self.env.cr.savepoint():
                    campaign.with_company(campaign.company_id)._refresh_contacts()
            except (AccessError, UserError, ValidationError) as error:
                _logger.warning("Campaign %s: list not refreshed: %s", campaign.id, error)
                campaign.date_refreshed = now
        self.env["ir.cron"]._notify_progress(
            done=min(len(due), CRON_CAMPAIGNS), remaining=max(len(due) - CRON_CAMPAIGNS, 0)
        )

    # ------------------------------------------------------------------
    # Preview dialing: the next contact for an agent
    # ------------------------------------------------------------------
    def action_next_contact(self):
        """The current agent's next contact of this campaign (or, called on no
        record, of any running preview campaign of their queues).

        The gates are checked now (still in the list, blacklist, do-not-call,
        consent, attempts, 72 h lockout, calling hours); the contact is claimed
        with FOR UPDATE SKIP LOCKED, so two agents never get the same one; an
        outbound interaction on the customer becomes the agent's, with the
        screen-pop. Returns the contact as ``action_preview_payload()`` does,
        or False when nobody is left to call now. XML-RPC friendly.
        """
        user = self.env.user
        agent = self.env["omnichannel.agent"]._for_user(user)
        agent._touch_last_seen()
        current = self.env["omnichannel.campaign.contact"]._my_open_preview()
        if current:
            return current._preview_payload()
        campaigns = self._preview_campaigns_for(user)
        if campaigns:
            self._check_agent_free(user)
        # sudo: the campaigns are the agent's (checked above); the claim is the dialer's work
        for campaign in campaigns.sudo():
            campaign._refresh_if_due()
            contact = campaign._claim_next(user)
            if contact:
                contact._start_preview(user)
                return contact.with_env(self.env)._preview_payload()
        return False

    @api.model
    def console_preview_campaigns(self):
        """The running preview campaigns the current user works, for the
        console's "Next contact": ``[{"id", "name"}]``."""
        return [
            {"id": campaign.id, "name": campaign.name}
            for campaign in self.browse()._preview_campaigns_for(self.env.user)
        ]

    def action_open_next_contact(self):
        """Button: the next contact's call opens (the console pops the customer)."""
        payload = self.action_next_contact()
        if not payload:
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "type": "info",
                    "message": _("Nobody left to call now in %(name)s.", name=self.name),
                },
            }
        return {
            "type": "ir.actions.act_window",
            "res_model": "omnichannel.interaction",
            "res_id": payload["interaction_id"],
            "views": [[False, "form"]],
            "target": "current",
        }

    @api.model
    def _check_agent_free(self, user):
        """The agent may take a call now: available (or busy on other
        channels) with a free voice slot. Locks their agent record."""
        self.env["omnichannel.agent"].flush_model()
        if not self.env["omnichannel.queue"]._lock_agent(user.id, "voice"):
            raise UserError(
                _(
                    "You cannot take a campaign call now: be Available in the agent console, "
                    "with no other call in hand."
                )
            )

    def _preview_campaigns_for(self, user):
        """Running preview campaigns of ``self`` (or all) that ``user`` works."""
        # the user's queues, whatever the company selection
        queues = self.env["omnichannel.agent"]._logged_in_queues(user)
        domain = [
            ("state", "=", "running"),
            ("campaign_type", "=", "outbound"),
            ("dial_mode", "=", "preview"),
        ]
        if self:
            # sudo: campaigns hidden by the user's rules too, refused below with a clear message
            for campaign in self.sudo():
                if campaign.queue_id not in queues:
                    raise AccessError(
                        _(
                            "%(campaign)s is worked by the agents of %(queue)s, logged in to it.",
                            campaign=campaign.name,
                            queue=campaign.queue_id.name,
                        )
                    )
                if campaign.state != "running":
                    raise UserError(_("%(campaign)s is not running.", campaign=campaign.name))
                if campaign.dial_mode != "preview":
                    raise UserError(
                        _(
                            "%(campaign)s is dialed automatically: its calls are offered to you.",
                            campaign=campaign.name,
                        )
                    )
            return self
        # sudo: running campaigns of the user's queues, in every company of theirs
        return (
            self.sudo()
            .search(
                domain
                + [("queue_id", "in", queues.ids), ("company_id", "in", user.company_ids.ids)]
            )
            .with_env(self.env)
        )

    def _calling_days(self, now):
        """(weekdays or None, holidays) of the campaign's calendar around ``now``."""
        calendar = self.calendar_id
        if not calendar:
            return None, set()
        weekdays = {int(day) for day in calendar.attendance_ids.mapped("dayofweek")}
        zone = pytz.timezone(calendar.tz or "UTC")
        leaves = [
            (
                pytz.utc.localize(leave.date_from).astimezone(zone).replace(tzinfo=None),
                pytz.utc.localize(leave.date_to).astimezone(zone).replace(tzinfo=None),
            )
            for leave in calendar.global_leave_ids
        ]
        first = now.date() - timedelta(days=1)
        holidays = campaign_tools.holidays_between(
            leaves, first, first + timedelta(days=campaign_tools.SEARCH_DAYS + 2)
        )
        return weekdays, holidays

    def _company_tz(self):
        return self.company_id.partner_id.tz or self.calendar_id.tz or self.user_id.tz or "UTC"

    def _candidate_ids(self, now):
        """Due pending contacts, locked for this transaction (SKIP LOCKED: the
        ones another agent's claim holds are passed over)."""
        self.env["omnichannel.campaign.contact"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT id FROM omnichannel_campaign_contact
                    WHERE campaign_id = %s AND state = 'pending'
                      AND (date_next_attempt IS NULL OR date_next_attempt <= %s)
                    ORDER BY priority DESC, date_next_attempt NULLS FIRST, id
                    LIMIT %s
                      FOR UPDATE SKIP LOCKED""",
                self.id,
                now,
                CLAIM_BATCH,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    def _claim_next(self, user):
        """Claim the first due contact that passes every gate, for ``user``;
        those that fail are excluded, failed or postponed on the way."""
        self.ensure_one()
        Contact = self.env["omnichannel.campaign.contact"]
        now = fields.Datetime.now()
        weekdays, holidays = self._calling_days(now)
        while True:
            ids = self._candidate_ids(now)
            if not ids:
                return Contact
            contacts = Contact.browse(ids)
            contacts.invalidate_recordset()
            matching = contacts._still_matching()
            for contact in contacts:
                verdict, detail = contact._gate(now, contact in matching, weekdays, holidays)
                if verdict == "dial":
                    claimed = contact._set_state(
                        "in_progress", guard=True, user_id=user.id, date_claimed=now
                    )
                    if claimed:
                        return claimed
                elif verdict == "exclude":
                    contact._set_state("excluded", excluded_reason=detail)
                elif verdict == "fail":
                    contact._set_state("failed", excluded_reason=detail)
                else:  # wait
                    contact.date_next_attempt = detail
