from odoo import api, models


class OmnichannelAgent(models.Model):
    _inherit = "omnichannel.agent"

    @api.model
    def action_console_state(self):
        state = super().action_console_state()
        # the console's "New opportunity" quick action: for salesmen only
        state["access"]["crm_lead_create"] = self.env["crm.lead"].has_access("create")
        return state
