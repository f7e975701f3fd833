from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import address as address_tools


class OmnichannelCampaignDnc(models.Model):
    """A number this campaign never calls (besides Odoo's phone blacklist,
    which no campaign calls)."""

    _name = "omnichannel.campaign.dnc"
    _description = "Campaign do-not-call number"
    _order = "campaign_id, number"
    _rec_name = "number"

    campaign_id = fields.Many2one(
        "omnichannel.campaign", required=True, ondelete="cascade", index=True
    )
    number = fields.Char(required=True, help="Stored in E.164 (+48601234567).")
    note = fields.Char()

    _sql_constraints = [
        (
            "campaign_number_uniq",
            "unique(campaign_id, number)",
            "This number is already on the campaign's do-not-call list.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("number"):
                vals["number"] = self._normalize(vals["number"], vals.get("campaign_id"))
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("number"):
            vals = dict(vals, number=self._normalize(vals["number"], self.campaign_id[:1].id))
        return super().write(vals)

    @api.model
    def _normalize(self, number, campaign_id):
        campaign = self.env["omnichannel.campaign"].browse(campaign_id)
        region = (campaign.company_id or self.env.company).country_id.code
        try:
            return address_tools.normalize_phone(number, region)
        except address_tools.AddressError as error:
            raise ValidationError(
                _("%(number)s is not a phone number: %(error)s", number=number, error=error)
            ) from error
