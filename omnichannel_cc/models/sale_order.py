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

    @api.model_create_multi
    def create(self, vals_list):
        orders = super().create(vals_list)
        # campaigns (issue 16): an order made from an interaction inherits its
        # utm campaign / source / medium, unless given its own
        for order in orders:
            # sudo: the order's interactions may be another agent's; ids only
            interaction = order.sudo().omnichannel_interaction_ids.sorted("id")[:1]
            if interaction and not (order.campaign_id or order.source_id or order.medium_id):
                values = {k: v for k, v in interaction._utm_values().items() if v}
                if values:
                    order.write(values)
        return orders

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
