from odoo import api, fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    omnichannel_interaction_ids = fields.One2many(
        "omnichannel.interaction", "sale_order_id", string="Interactions"
    )
    omnichannel_interaction_count = fields.Integer(compute="_compute_omnichannel_interaction_count")
    omnichannel_case_count = fields.Integer(
        compute="_compute_omnichannel_case_count", string="Open cases of the customer"
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

    @api.depends("partner_id.commercial_partner_id")
    def _compute_omnichannel_case_count(self):
        counts = self.partner_id._omnichannel_open_case_counts()
        for record in self:
            record.omnichannel_case_count = counts.get(record.partner_id.commercial_partner_id, 0)

    def action_view_omnichannel_cases(self):
        self.ensure_one()
        return self.partner_id.action_view_omnichannel_cases()

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
