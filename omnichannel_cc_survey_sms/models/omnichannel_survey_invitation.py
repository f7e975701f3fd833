from odoo import _, api, fields, models

from odoo.addons.omnichannel_cc_sms.models.omnichannel_interaction import SMS_CHANNEL_TYPES
from odoo.addons.omnichannel_cc_sms.models.sms_sms import CHANNEL_CONTEXT
from odoo.addons.omnichannel_cc_survey.tools import satisfaction


class OmnichannelSurveyInvitation(models.Model):
    _inherit = "omnichannel.survey.invitation"

    send_channel = fields.Selection(selection_add=[("sms", "SMS")], ondelete={"sms": "set null"})
    sms_number = fields.Char(string="Texted to", readonly=True)

    def _sms_survey_number(self):
        """The number to text: the one the customer called or texted from,
        else their mobile, else their phone (E.164), or False."""
        interaction = self.interaction_id
        candidates = []
        if interaction.channel_type in SMS_CHANNEL_TYPES:
            candidates.append(interaction.contact_address)
        candidates += [self.partner_id.mobile, self.partner_id.phone]
        for number in filter(None, candidates):
            sanitized = interaction._sms_sanitize(number, self.company_id)
            if sanitized:
                return sanitized
        return False

    @api.model
    def _sms_awaiting(self, number, channel):
        """The latest invitation texted to ``number`` still awaiting its answer
        (a digit texted back to ``channel``'s company answers it), or empty."""
        if not number:
            return self.browse()
        return self.search(
            [
                ("send_channel", "=", "sms"),
                ("sms_number", "=", number),
                ("state", "=", "sent"),
                ("company_id", "=", channel.company_id.id),
                ("date_expire", ">", fields.Datetime.now()),
            ],
            order="date_sent desc, id desc",
            limit=1,
        )

    def _pick_channel(self):
        """Phone and SMS customers are asked by SMS when they can receive one
        and an SMS channel exists; the others (or without a number) by e-mail."""
        self.ensure_one()
        interaction = self.interaction_id
        if (
            interaction.channel_type in SMS_CHANNEL_TYPES
            and interaction._sms_channel()
            and self._sms_survey_number()
        ):
            return "sms"
        return super()._pick_channel()

    def _send_sms(self):
        """Queue the SMS with the link (the SMS queue sends it after the
        commit); a blacklisted number is skipped: a survey is no reply."""
        interaction = self.interaction_id
        number = self._sms_survey_number()
        self.sms_number = number
        if not interaction._sms_may_send(number, transactional=False):
            return "blacklisted"
        channel = interaction._sms_channel()
        low, high = satisfaction.RANGES[self.kind]
        body = _(
            "%(company)s: how did we do? Reply with a number from %(low)s (worst) to "
            "%(high)s (best), or tap: %(url)s",
            company=self.company_id.name,
            low=low,
            high=high,
            url=self.get_answer_url(),
        )
        interaction.with_context(**{CHANNEL_CONTEXT: channel.id})._message_sms(
            body, partner_ids=[], sms_numbers=[number], put_in_queue=True
        )
        return False
