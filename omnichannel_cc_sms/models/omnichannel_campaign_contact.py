"""A campaign contact's SMS step (see ``omnichannel_campaign.py``)."""

from odoo import _, fields, models
from odoo.tools import SQL

from odoo.addons.omnichannel_cc.tools import campaign as campaign_tools

SMS_SKIP_REASONS = [
    ("no_phone", "No mobile number"),
    ("blacklisted", "Blacklisted"),
    ("do_not_call", "On the campaign's do-not-call list"),
    ("no_consent", "No marketing consent"),
    ("no_longer_matches", "No longer matches the campaign"),
    ("outside_hours", "Outside sending hours (tried again later)"),
]


class OmnichannelCampaignContact(models.Model):
    _inherit = "omnichannel.campaign.contact"

    sms_date = fields.Datetime(
        string="SMS sent",
        readonly=True,
        copy=False,
        help="When the campaign's SMS was queued for this contact (never twice).",
    )
    sms_skip_reason = fields.Selection(
        SMS_SKIP_REASONS, string="SMS skipped", readonly=True, copy=False
    )
    sms_interaction_id = fields.Many2one(
        "omnichannel.interaction",
        string="SMS conversation",
        readonly=True,
        copy=False,
        ondelete="set null",
        index="btree_not_null",
    )

    def _sms_lock(self):
        """These contacts, locked for this transaction; those another run
        holds are left out (SKIP LOCKED)."""
        if not self:
            return self
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                """SELECT id FROM omnichannel_campaign_contact
                    WHERE id IN %s AND sms_date IS NULL
                      FOR UPDATE SKIP LOCKED""",
                tuple(self.ids),
            )
        )
        ids = {row[0] for row in self.env.cr.fetchall()}
        return self.filtered(lambda contact: contact.id in ids)

    def _sms_gate(self, now, matching, days):
        """The reason this contact gets no SMS now, or None."""
        self.ensure_one()
        campaign = self.campaign_id
        number = self.phone if self.phone and self.phone.startswith("+") else None
        if not number:
            return "no_phone"
        if not self.env["omnichannel.interaction"]._sms_may_send(number, transactional=False):
            return "blacklisted"
        if number in campaign._blocked_numbers([number])[1]:
            return "do_not_call"
        person = self.person_id or self.partner_id
        if campaign.purpose == "marketing" and not person._omnichannel_has_marketing_consent():
            return "no_consent"
        if self not in matching:
            return "no_longer_matches"
        weekdays, holidays = days
        allowed = campaign_tools.next_allowed(
            now,
            self._timezone(),
            campaign.window_start,
            campaign.window_end,
            weekdays=weekdays,
            holidays=holidays,
        )
        if allowed is None or allowed > now:
            return "outside_hours"
        return None

    def _sms_send_step(self, now):
        """Queue the campaign's SMS to each of these contacts that passes the
        gates; the others keep the reason. Returns (sent, skipped)."""
        sent = skipped = 0
        for campaign in self.campaign_id:
            contacts = self.filtered(lambda c, campaign=campaign: c.campaign_id == campaign)
            matching = contacts._still_matching() if campaign.sms_step == "only" else contacts
            days = campaign._calling_days(now)
            for contact in contacts:
                reason = contact._sms_gate(now, matching, days)
                if reason:
                    contact._sms_skip(reason)
                    skipped += 1
                else:
                    contact._sms_send(now)
                    sent += 1
        return sent, skipped

    def _sms_skip(self, reason):
        self.ensure_one()
        self.sms_skip_reason = reason
        if self.campaign_id.sms_step == "only" and reason != "outside_hours":
            # the SMS was the campaign's only action: the contact leaves the list
            self._set_state("excluded", excluded_reason=reason)

    def _sms_send(self, now):
        """Post the rendered SMS on a new outbound SMS conversation of the
        customer; the queue sends it after the commit."""
        self.ensure_one()
        campaign = self.campaign_id
        channel = campaign.sms_channel_id
        template = campaign.sms_template_id
        body = template._render_field("body", self.ids, compute_lang=True)[self.id]
        Interaction = self.env["omnichannel.interaction"]
        # no queue: the conversation waits for nobody (it is not a waiting
        # contact of the channel's queue) until the customer answers
        interaction = Interaction.with_context(mail_create_nosubscribe=True).create(
            {
                "channel_id": channel.id,
                "company_id": campaign.company_id.id,
                "direction": "outbound",
                "partner_id": self.partner_id.id,
                "contact_address": self.phone,
                "subject": _("SMS of campaign %(campaign)s", campaign=campaign.name)[:250],
            }
        )
        Interaction._sms_send_automatic(interaction, channel, self.phone, body)
        vals = {"sms_date": now, "sms_skip_reason": False, "sms_interaction_id": interaction.id}
        if campaign.sms_step == "only":
            self._set_state("done", **vals)
        else:
            self.write(vals)
