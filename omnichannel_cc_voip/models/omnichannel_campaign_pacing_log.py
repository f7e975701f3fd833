"""Every pacing decision of the campaign dialer, as ``tools/pacing.py`` made it."""

from datetime import timedelta

from odoo import api, fields, models

from odoo.addons.omnichannel_cc.models.omnichannel_campaign import DIAL_MODES

# decisions older than this are deleted by the autovacuum
KEEP_DAYS = 31


class OmnichannelCampaignPacingLog(models.Model):
    _name = "omnichannel.campaign.pacing.log"
    _description = "Campaign pacing decision"
    _order = "date desc, id desc"

    campaign_id = fields.Many2one(
        "omnichannel.campaign", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="campaign_id.company_id", store=True)
    date = fields.Datetime(required=True, readonly=True, index=True)
    mode = fields.Selection(DIAL_MODES, readonly=True)
    reason = fields.Char(readonly=True, help="progressive, power, predictive, guard, no_agents")
    calls = fields.Integer(string="Calls to place", readonly=True)
    placed = fields.Integer(
        string="Calls placed", readonly=True, help="Fewer when nobody was left to call now."
    )
    level = fields.Float(string="Dial level", digits=(6, 3), readonly=True)
    lines_allowed = fields.Integer(readonly=True)
    agents_available = fields.Integer(readonly=True)
    agents_soon_free = fields.Integer(readonly=True)
    calls_ringing = fields.Integer(readonly=True)
    calls_waiting = fields.Integer(readonly=True)
    abandon_rate = fields.Float(
        string="Abandon rate (window)", digits=(6, 4), readonly=True, help="A ratio (0.03 = 3 %)."
    )
    abandon_rate_recent = fields.Float(string="Abandon rate (recent)", digits=(6, 4), readonly=True)
    guard = fields.Boolean(readonly=True, help="Predictive held progressive by the drop guard.")

    @api.model
    def _log(self, campaign, decision, when, placed):
        values = decision.as_dict()
        values.pop("time")
        return self.create(dict(values, campaign_id=campaign.id, date=when, placed=placed))

    @api.autovacuum
    def _gc_old_decisions(self):
        cutoff = fields.Datetime.now() - timedelta(days=KEEP_DAYS)
        self.search([("date", "<", cutoff)]).unlink()
