from odoo import fields, models, tools
from odoo.tools import SQL

SERIES = [("required", "Agents to schedule"), ("scheduled", "Agents scheduled")]


class OmnichannelStaffingPlanChart(models.Model):
    """The intervals of staffing plans, twice: agents to schedule and agents
    scheduled as two series of one measure, so that one graph shows both
    (a graph view draws one measure at a time)."""

    _name = "omnichannel.staffing.plan.chart"
    _description = "Contact center staffing plan chart"
    _auto = False
    _order = "sequence, series"
    _rec_name = "interval"
    # flushed before the view is read: a plan just computed shows at once
    _depends = {
        "omnichannel.staffing.plan.line": [
            "plan_id",
            "queue_id",
            "company_id",
            "sequence",
            "interval",
            "required_shrinkage",
            "scheduled",
        ],
    }

    line_id = fields.Many2one("omnichannel.staffing.plan.line", readonly=True)
    plan_id = fields.Many2one("omnichannel.staffing.plan", readonly=True)
    queue_id = fields.Many2one("omnichannel.queue", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    sequence = fields.Integer(readonly=True)
    interval = fields.Char(readonly=True)
    series = fields.Selection(SERIES, readonly=True)
    agents = fields.Float(digits=(16, 1), readonly=True, aggregator="sum")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
CREATE OR REPLACE VIEW %(view)s AS (
    SELECT l.id * 2 AS id, l.id AS line_id, l.plan_id, l.queue_id, l.company_id, l.sequence,
           l.interval, 'required' AS series, l.required_shrinkage::float AS agents
      FROM omnichannel_staffing_plan_line l
    UNION ALL
    SELECT l.id * 2 + 1, l.id, l.plan_id, l.queue_id, l.company_id, l.sequence,
           l.interval, 'scheduled', l.scheduled::float
      FROM omnichannel_staffing_plan_line l
)""",
                view=SQL.identifier(self._table),
            )
        )
