from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import routing


class OmnichannelRoutingRule(models.Model):
    """Where a contact goes, decided on who the customer is and what they owe."""

    _name = "omnichannel.routing.rule"
    _description = "Routing rule"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    # Conditions (all that are set must hold)
    channel_ids = fields.Many2many("omnichannel.channel", string="Channels / addresses")
    channel_types = fields.Char(
        help="Comma-separated channel types (phone, email, chat...); empty: any."
    )
    lang_ids = fields.Many2many("res.lang", string="Customer languages")
    country_ids = fields.Many2many("res.country", string="Customer countries")
    category_ids = fields.Many2many("res.partner.category", string="Customer tags (any of)")
    min_overdue_amount = fields.Monetary(
        string="Overdue balance above",
        currency_field="currency_id",
        help="The customer owes more than this, past due (company currency).",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    require_unpaid = fields.Boolean(string="Has unpaid invoices")
    require_open_order = fields.Boolean(string="Has open sale orders")
    min_customer_rank = fields.Integer(string="Customer rank at least")
    require_open_case = fields.Boolean(string="Has an open case")
    sticky_days = fields.Integer(
        string="Served within (days)",
        help="The customer was served by an agent within this many days (sticky routing).",
    )
    # Actions
    queue_id = fields.Many2one("omnichannel.queue", string="Send to queue")
    priority = fields.Integer(string="Add priority")
    skill_id = fields.Many2one("omnichannel.skill", string="Required skill")
    prefer = fields.Selection(
        [
            (routing.PREFER_NONE, "Nobody in particular"),
            (routing.PREFER_CASE_OWNER, "Owner of the open case"),
            (routing.PREFER_LAST_AGENT, "Agent who last served the customer"),
            (routing.PREFER_USER, "A given agent"),
        ],
        string="Preferred agent",
        default=routing.PREFER_NONE,
        required=True,
    )
    preferred_user_id = fields.Many2one("res.users", string="Agent")
    preferred_timeout = fields.Integer(
        string="Wait for the preferred agent (s)",
        default=60,
        help="Then any agent of the queue may take it.",
    )
    stop = fields.Boolean(string="Stop here", default=True, help="Do not evaluate further rules.")
    match_count = fields.Integer(
        compute="_compute_match_count",
        string="Contacts routed",
        help="Interactions this rule matched.",
    )

    def _compute_match_count(self):
        # counted from the interactions, not a counter on the rule: a counter
        # would make every concurrent contact update the same row
        # sudo: the count covers interactions the user may not read; only numbers are shown
        counts = dict(
            self.env["omnichannel.interaction"]
            .sudo()
            ._read_group([("routing_rule_ids", "in", self.ids)], ["routing_rule_ids"], ["__count"])
        )
        for rule in self:
            rule.match_count = counts.get(rule, 0)

    @api.constrains("channel_types")
    def _check_channel_types(self):
        known = self.env["omnichannel.channel"]._channel_type_labels()
        for rule in self:
            for value in rule._channel_type_set():
                if value not in known:
                    raise ValidationError(
                        _(
                            "Unknown channel type %(type)s: use %(types)s.",
                            type=value,
                            types=", ".join(known),
                        )
                    )

    @api.constrains("prefer", "preferred_user_id")
    def _check_preferred_user(self):
        for rule in self:
            if rule.prefer == routing.PREFER_USER and not rule.preferred_user_id:
                raise ValidationError(_("Choose the agent this rule prefers."))

    # the routing keeps the rules in the registry's cache
    # (omnichannel.interaction._routing_rules): every change clears it
    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        self.env.registry.clear_cache()
        return rules

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.clear_cache()
        if "queue_id" in vals:
            # record rules are checked before a write only: a rule sent to
            # another queue must be one the user may configure there too
            self.check_access("write")
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    def _channel_type_set(self):
        self.ensure_one()
        return frozenset(
            value.strip() for value in (self.channel_types or "").split(",") if value.strip()
        )

    def _to_plain(self):
        """The rules as pure-logic objects, in evaluation order."""
        return [
            routing.Rule(
                id=rule.id,
                channel_ids=frozenset(rule.channel_ids.ids),
                channel_types=rule._channel_type_set(),
                langs=frozenset(rule.lang_ids.mapped("code")),
                country_ids=frozenset(rule.country_ids.ids),
                category_ids=frozenset(rule.category_ids.ids),
                min_overdue_amount=rule.min_overdue_amount,
                require_unpaid=rule.require_unpaid,
                require_open_order=rule.require_open_order,
                min_customer_rank=rule.min_customer_rank,
                require_open_case=rule.require_open_case,
                sticky_days=rule.sticky_days,
                queue_id=rule.queue_id.id,
                priority=rule.priority,
                skill_id=rule.skill_id.id,
                prefer=rule.prefer,
                preferred_user_id=rule.preferred_user_id.id,
                preferred_timeout=rule.preferred_timeout,
                stop=rule.stop,
            )
            for rule in self.sorted(lambda r: (r.sequence, r.id))
        ]
