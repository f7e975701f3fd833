from odoo import api, fields, models


class OmnichannelStaffingPlanLine(models.Model):
    """One interval of a staffing plan."""

    _name = "omnichannel.staffing.plan.line"
    _description = "Contact center staffing plan interval"
    _order = "plan_id, sequence"
    _rec_name = "interval"

    plan_id = fields.Many2one(
        "omnichannel.staffing.plan", required=True, ondelete="cascade", index=True
    )
    queue_id = fields.Many2one(related="plan_id.queue_id", store=True, index=True)
    company_id = fields.Many2one(related="plan_id.company_id", store=True, index=True)
    sequence = fields.Integer(readonly=True)
    interval = fields.Char(readonly=True, help="Start of the interval, queue-local time.")
    hour_from = fields.Float(string="From", readonly=True)
    offered = fields.Integer(
        string="Contacts in history",
        readonly=True,
        aggregator="sum",
        help="Contacts offered in this interval over all the weeks of the plan.",
    )
    forecast = fields.Float(
        string="Forecast contacts", digits=(16, 2), readonly=True, aggregator="sum"
    )
    aht = fields.Float(string="AHT (s)", digits=(16, 1), readonly=True, aggregator="avg")
    traffic = fields.Float(string="Load (Erlangs)", digits=(16, 3), readonly=True)
    required = fields.Integer(string="Agents required", readonly=True, aggregator="sum")
    required_shrinkage = fields.Integer(
        string="Agents to schedule",
        readonly=True,
        aggregator="sum",
        help="Agents required, plus the shrinkage.",
    )
    scheduled = fields.Float(
        string="Agents scheduled",
        digits=(16, 1),
        readonly=True,
        aggregator="sum",
        help="Members of the queue whose working hours cover the interval.",
    )
    gap = fields.Float(
        digits=(16, 1),
        compute="_compute_gap",
        store=True,
        aggregator="sum",
        help="Agents scheduled minus agents to schedule: below zero, the interval is understaffed.",
    )
    understaffed = fields.Boolean(compute="_compute_gap", store=True)
    service_level = fields.Float(
        string="Expected SL (%)", digits=(16, 1), readonly=True, aggregator="avg"
    )
    asa = fields.Float(string="Expected ASA (s)", digits=(16, 1), readonly=True, aggregator="avg")
    occupancy = fields.Float(
        string="Expected occupancy (%)", digits=(16, 1), readonly=True, aggregator="avg"
    )

    @api.depends("scheduled", "required_shrinkage")
    def _compute_gap(self):
        for line in self:
            line.gap = line.scheduled - line.required_shrinkage
            line.understaffed = line.gap < -1e-6
