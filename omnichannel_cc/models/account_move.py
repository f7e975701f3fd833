from odoo import api, fields, models
from odoo.tools.sql import create_index


class AccountMove(models.Model):
    _inherit = "account.move"

    omnichannel_interaction_ids = fields.One2many(
        "omnichannel.interaction", "invoice_id", string="Interactions"
    )
    omnichannel_interaction_count = fields.Integer(compute="_compute_omnichannel_interaction_count")
    omnichannel_case_count = fields.Integer(
        compute="_compute_omnichannel_case_count", string="Open cases of the customer"
    )

    def init(self):
        res = super().init()
        # The screen-pop lists a customer's open invoices: account_move has
        # no index on commercial_partner_id.
        create_index(
            self.env.cr,
            "account_move_occ_commercial_partner_open_idx",
            "account_move",
            ["commercial_partner_id", "invoice_date_due"],
            where="move_type = 'out_invoice' AND state = 'posted' "
            "AND payment_state IN ('not_paid', 'partial')",
        )
        return res

    @api.depends("omnichannel_interaction_ids")
    def _compute_omnichannel_interaction_count(self):
        counts = dict(
            self.env["omnichannel.interaction"]._read_group(
                [("invoice_id", "in", self.ids)], ["invoice_id"], ["__count"]
            )
        )
        for move in self:
            move.omnichannel_interaction_count = counts.get(move, 0)

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
        action["domain"] = [("invoice_id", "=", self.id)]
        action["context"] = {
            "default_invoice_id": self.id,
            "default_partner_id": self.partner_id.id,
        }
        return action
