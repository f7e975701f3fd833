from odoo import models


class OmnichannelOffer(models.Model):
    _inherit = "omnichannel.offer"

    def action_accept(self):
        result = super().action_accept()
        # whoever accepts a web chat joins the visitor's live chat session
        # sudo: as the accept: the agent's own offer, in whatever company
        self.sudo().interaction_id._chat_join()
        return result
