from odoo import fields, models
from odoo.tools import SQL

from odoo.addons.omnichannel_cc.models.omnichannel_campaign import SUPERVISOR_GROUP


class OmnichannelCampaign(models.Model):
    _inherit = "omnichannel.campaign"

    dashboard_opportunities = fields.Integer(
        compute="_compute_dashboard_opportunities",
        string="Opportunities",
        groups=SUPERVISOR_GROUP,
        help="Opportunities made from the campaign's calls (CRM), besides its quotations "
        "and orders.",
    )

    def _compute_dashboard_opportunities(self):
        counts = {}
        ids = [campaign.id for campaign in self._origin if campaign.id]
        if ids:
            self.env["omnichannel.interaction"].flush_model(["campaign_id", "lead_id"])
            # one query for all the campaigns; archived (lost) leads count too
            self.env.cr.execute(
                SQL(
                    """SELECT interaction.campaign_id, count(DISTINCT interaction.lead_id)
                         FROM omnichannel_interaction interaction
                        WHERE interaction.campaign_id IN %s
                          AND interaction.lead_id IS NOT NULL
                        GROUP BY interaction.campaign_id""",
                    tuple(ids),
                )
            )
            counts = dict(self.env.cr.fetchall())
        for campaign in self:
            campaign.dashboard_opportunities = counts.get(campaign._origin.id, 0)
