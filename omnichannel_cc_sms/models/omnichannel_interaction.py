from odoo import _, api, fields, models
from odoo.exceptions import UserError

# Channel types whose contact address is a number that can receive an SMS
# (a fax number cannot).
SMS_CHANNEL_TYPES = ("phone", "sms")


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    sms_number = fields.Char(
        string="SMS number",
        compute="_compute_sms_number",
        inverse="_inverse_sms_number",
        help="The customer's number on this phone or SMS interaction; the SMS "
        "composer falls back on the customer's mobile and phone otherwise.",
    )

    @api.depends("contact_address", "channel_type")
    def _compute_sms_number(self):
        for interaction in self:
            interaction.sms_number = (
                interaction.contact_address
                if interaction.channel_type in SMS_CHANNEL_TYPES
                else False
            )

    def _inverse_sms_number(self):
        # the composer writes back a number the agent corrected
        for interaction in self:
            if interaction.channel_type in SMS_CHANNEL_TYPES or not interaction.contact_address:
                number = interaction.sms_number
                interaction.contact_address = (
                    number and interaction._phone_format(number=number)
                ) or number

    # ------------------------------------------------------------------
    # SMS / phone hooks (see sms and phone_validation models.py)
    # ------------------------------------------------------------------
    @api.model
    def _phone_get_number_fields(self):
        return ["sms_number"]

    def _phone_get_country(self):
        """Partner's country (default), else the interaction's company's.

        The default fallback is the current user's company, which would
        make the formatted number depend on who sends the SMS.
        """
        countries = super()._phone_get_country()
        for interaction in self:
            if interaction.id not in countries and interaction.company_id.country_id:
                countries[interaction.id] = interaction.company_id.country_id
        return countries

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_send_sms(self):
        """Open the SMS composer posting on this interaction."""
        self.ensure_one()
        if not self.partner_id and not self.sms_number:
            raise UserError(
                _(
                    "Interaction %(name)s has neither a customer nor a phone number to text.",
                    name=self.name,
                )
            )
        return {
            "type": "ir.actions.act_window",
            "name": _("Send SMS"),
            "res_model": "sms.composer",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_res_model": self._name,
                "default_res_id": self.id,
                "default_composition_mode": "comment",
            },
        }
