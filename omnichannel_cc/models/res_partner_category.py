from odoo import models


class ResPartnerCategory(models.Model):
    _inherit = "res.partner.category"

    # a routing rule's customer tags leave the archived and deleted ones out:
    # the rules the routing keeps in the registry's cache are read again
    # (omnichannel.interaction._routing_rules)
    def write(self, vals):
        result = super().write(vals)
        if "active" in vals:
            self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result
