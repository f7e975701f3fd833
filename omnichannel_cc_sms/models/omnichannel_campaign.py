"""SMS steps of outbound campaigns (issue 16).

A campaign texts its contacts from an ``sms.template`` of model
``omnichannel.campaign.contact`` (the template reads the campaign, the
customer and the source document: ``object.partner_id.name``,
``object.source_name``), through one SMS channel's gateway:

- ``sms_step`` ``only``: an SMS campaign, nobody calls; each pending contact
  gets the message once and is done (or excluded with the reason);
- ``sms_step`` ``not_reached``: after the calls, contacts not reached after
  ``sms_after_attempts`` attempts get the message once.

``_cron_send_sms`` (a scheduled action, never a request) checks the gates per
message just before queuing it (blacklist, the campaign's do-not-call list,
marketing consent, sending hours in the contact's zone) and posts it on an
outbound SMS interaction of the customer: Odoo's ``sms.sms`` queue sends it
through the channel's gateway after the commit (``models/sms_sms.py``) and a
reply joins that conversation. ``sms_date`` is written in the same
transaction as the queued message, so a rerun never sends twice.
"""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

_logger = logging.getLogger(__name__)

SMS_STEPS = [
    ("none", "No SMS"),
    ("only", "SMS only (no calls)"),
    ("not_reached", "SMS to contacts not reached by phone"),
]
# last outcomes of a contact nobody talked to
NOT_REACHED_OUTCOMES = ("no_answer", "busy", "machine", "no_contact", "abandoned")
# contacts queued per run of the scheduled action (it runs again while more wait)
SMS_BATCH = 100


class OmnichannelCampaign(models.Model):
    _inherit = "omnichannel.campaign"

    sms_step = fields.Selection(
        SMS_STEPS,
        string="SMS",
        required=True,
        default="none",
        tracking=True,
        help="SMS only: the campaign texts its contacts instead of calling them (no queue, "
        "whatever the dialing mode). Not reached: after the calls, the contacts not reached "
        "after the given attempts get one SMS.",
    )
    sms_template_id = fields.Many2one(
        "sms.template",
        string="SMS template",
        domain=[("model", "=", "omnichannel.campaign.contact")],
        help="Rendered per campaign contact: object.partner_id, object.campaign_id, "
        "object.source_name.",
    )
    sms_channel_id = fields.Many2one(
        "omnichannel.channel",
        string="SMS channel",
        domain="[('channel_type', '=', 'sms'), ('company_id', 'in', (company_id, False))]",
        help="The SMS channel whose gateway sends the messages; replies join the conversation.",
    )
    sms_after_attempts = fields.Integer(
        string="SMS after attempts",
        default=2,
        help="Not reached: a contact gets the SMS once this many calls did not reach them.",
    )
    sms_sent_count = fields.Integer(compute="_compute_sms_counts", string="SMS sent")
    sms_skipped_count = fields.Integer(compute="_compute_sms_counts", string="SMS skipped")

    @api.constrains("sms_step", "sms_after_attempts")
    def _check_sms_after_attempts(self):
        for campaign in self:
            if campaign.sms_step == "not_reached" and campaign.sms_after_attempts < 1:
                raise ValidationError(
                    _("An SMS to contacts not reached follows at least one attempt.")
                )

    def _compute_sms_counts(self):
        Contact = self.env["omnichannel.campaign.contact"]
        sent = dict(
            Contact._read_group(
                [("campaign_id", "in", self.ids), ("sms_date", "!=", False)],
                ["campaign_id"],
                ["__count"],
            )
        )
        skipped = dict(
            Contact._read_group(
                [
                    ("campaign_id", "in", self.ids),
                    ("sms_date", "=", False),
                    ("sms_skip_reason", "!=", False),
                ],
                ["campaign_id"],
                ["__count"],
            )
        )
        for campaign in self:
            campaign.sms_sent_count = sent.get(campaign, 0)
            campaign.sms_skipped_count = skipped.get(campaign, 0)

    # ------------------------------------------------------------------
    # Start
    # ------------------------------------------------------------------
    def _check_can_start(self):
        if self.campaign_type != "outbound" or self.sms_step == "none":
            return super()._check_can_start()
        self.ensure_one()
        if not self.sms_template_id or not self.sms_channel_id:
            raise UserError(
                _("Choose the SMS template and the SMS channel of %(name)s.", name=self.name)
            )
        if self.sms_step == "not_reached":
            return super()._check_can_start()
        # an SMS campaign: nobody dials, whatever the dialing mode
        if self.state not in ("draft", "paused"):
            raise UserError(_("%(name)s is already running or done.", name=self.name))
        if self.queue_id:
            raise UserError(
                _(
                    "%(name)s only sends SMS: remove its queue, or its agents would call "
                    "the contacts too.",
                    name=self.name,
                )
            )
        return None

    # ------------------------------------------------------------------
    # Sending (scheduled action only)
    # ------------------------------------------------------------------
    def _sms_candidates_domain(self):
        self.ensure_one()
        domain = [
            ("campaign_id", "=", self.id),
            ("sms_date", "=", False),
            "|",
            ("sms_skip_reason", "=", False),
            ("sms_skip_reason", "=", "outside_hours"),
        ]
        if self.sms_step == "only":
            return domain + [("state", "=", "pending")]
        return domain + [
            ("state", "!=", "in_progress"),
            ("attempt_count", ">=", self.sms_after_attempts),
            ("last_outcome", "in", NOT_REACHED_OUTCOMES),
        ]

    @api.model
    def _cron_send_sms(self):
        """Queue the SMS steps due: per contact, once, gates checked now."""
        now = fields.Datetime.now()
        # sudo: the scheduled action sends every company's campaigns
        campaigns = self.sudo().search(
            [
                ("state", "=", "running"),
                ("campaign_type", "=", "outbound"),
                ("sms_step", "!=", "none"),
                ("sms_template_id", "!=", False),
                ("sms_channel_id", "!=", False),
            ]
        )
        # sudo: the scheduled action reads and marks the contacts of every company's campaigns
        Contact = self.env["omnichannel.campaign.contact"].sudo()
        budget, remaining = SMS_BATCH, 0
        for campaign in campaigns:
            campaign = campaign.with_company(campaign.company_id)
            domain = campaign._sms_candidates_domain()
            fresh = domain + [("sms_skip_reason", "=", False)]
            contacts = Contact.search(fresh, order="id", limit=budget) if budget else Contact
            remaining += Contact.search_count(fresh) - len(contacts)
            if budget > len(contacts):
                # outside hours last time: tried again, after the new ones
                contacts |= Contact.search(
                    domain + [("sms_skip_reason", "=", "outside_hours")],
                    order="id",
                    limit=budget - len(contacts),
                )
            contacts = contacts._sms_lock()
            if not contacts:
                continue
            sent, skipped = contacts._sms_send_step(now)
            budget -= len(contacts)
            _logger.info(
                "Campaign %s: %s SMS queued, %s skipped, %s new contacts left",
                campaign.id,
                sent,
                skipped,
                Contact.search_count(fresh),
            )
        # contacts outside hours wait for the next interval, not an immediate rerun
        self.env["ir.cron"]._notify_progress(done=SMS_BATCH - budget, remaining=remaining)
