from odoo import models


class OmnichannelOffer(models.Model):
    """An accepted offer (a conditional SQL update) refreshes the wallboards."""

    _inherit = "omnichannel.offer"

    def action_accept(self):
        result = super().action_accept()
        self.env["omnichannel.queue"]._wallboard_notify(self.sudo().company_id.ids)
        return result
