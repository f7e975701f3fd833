from odoo import models


class OmnichannelAgent(models.Model):
    """Agents' presence changes refresh the supervisors' wallboards."""

    _inherit = "omnichannel.agent"

    def write(self, vals):
        result = super().write(vals)
        if "state" in vals:
            self.env["omnichannel.queue"]._wallboard_notify(self.sudo().company_id.ids)
        return result
