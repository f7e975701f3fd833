from odoo import api, fields, models

from odoo.addons.omnichannel_cc.models.omnichannel_agent import AGENT_GROUP


class CrmLead(models.Model):
    _inherit = "crm.lead"

    omnichannel_interaction_ids = fields.One2many(
        "omnichannel.interaction", "lead_id", string="Interactions", groups=AGENT_GROUP
    )
    omnichannel_interaction_count = fields.Integer(
        compute="_compute_omnichannel_interaction_count", groups=AGENT_GROUP
    )

    @api.depends("omnichannel_interaction_ids")
    def _compute_omnichannel_interaction_count(self):
        counts = dict(
            self.env["omnichannel.interaction"]._read_group(
                [("lead_id", "in", self.ids)], ["lead_id"], ["__count"]
            )
        )
        for lead in self:
            lead.omnichannel_interaction_count = counts.get(lead, 0)

    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        # campaigns (issue 16): a lead made from an interaction inherits its
        # utm campaign / source / medium, unless given its own (as orders do)
        for lead in leads:
            # sudo: the lead's interactions may be another agent's; ids only
            interaction = lead.sudo().omnichannel_interaction_ids.sorted("id")[:1]
            if interaction and not (lead.campaign_id or lead.source_id or lead.medium_id):
                values = {k: v for k, v in interaction._utm_values().items() if v}
                if values:
                    lead.write(values)
        return leads

    def action_view_omnichannel_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_interaction_action"
        )
        action["domain"] = [("lead_id", "=", self.id)]
        action["context"] = {"default_lead_id": self.id, "default_partner_id": self.partner_id.id}
        return action
