from odoo import fields, models


class OmnichannelCampaignContact(models.Model):
    _inherit = "omnichannel.campaign.contact"

    # a campaign call wrapped up with an "opportunity" disposition converted
    last_outcome = fields.Selection(
        selection_add=[("opportunity", "Converted: opportunity")],
        ondelete={"opportunity": "set null"},
    )
