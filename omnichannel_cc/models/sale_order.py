from odoo import api, fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    omnichannel_interaction_ids = fields.One2many(
        "omnichannel.interaction", "sale_order_id", string="Interactions"
    )
    omnichannel_interaction_count = fields.Integer(
        compute="_compute_omnichannel_interaction_count"
    )

    @api.depends("omnichannel_interaction_ids")
    def _compute_omnichannel_interaction_count(self):
        counts = dict(
            self.env["omnichannel.interaction"]._read_group(
                [("sale_order_id", "in", self.ids)], ["sale_order_id"], ["__count"]
            )
        )
        for order in self:
            order.omnichannel_interaction_count = counts.get(order, 0)

    def action_view_omnichannel_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_interaction_action"
        )
        action["domain"] = [("sale_order_id", "=", self.id)]
        action["context"] = {
            "default_sale_order_id": self.id,
            "default_partner_id": self.partner_id.id,
        }
        return action
