from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..models.omnichannel_queue import KIND_SELECTION
from ..models.omnichannel_survey_invitation import STATES
from ..tools import satisfaction


class OmnichannelSurveyReport(models.Model):
    """One row per satisfaction invitation that was sent or answered.

    Pivot and graph cannot divide sums, so every score is a per-row number
    whose average is the group's score (``tools/satisfaction.contribution``):
    ``response_rate`` 100/0; ``csat_score`` 100 (satisfied) / 0; ``nps_score``
    100 (promoter) / 0 / -100 (detractor); ``ces_score`` the answer. Rows of
    another kind, or unanswered, are NULL, which AVG skips.
    """

    _name = "omnichannel.survey.report"
    _description = "Contact center satisfaction analysis"
    _auto = False
    _order = "date desc"
    _rec_name = "interaction_id"

    invitation_id = fields.Many2one("omnichannel.survey.invitation", readonly=True)
    interaction_id = fields.Many2one("omnichannel.interaction", readonly=True)
    date = fields.Datetime(readonly=True, help="When the customer was asked.")
    kind = fields.Selection(KIND_SELECTION, string="Measure", readonly=True)
    state = fields.Selection(STATES, readonly=True)
    queue_id = fields.Many2one("omnichannel.queue", readonly=True)
    agent_id = fields.Many2one("res.users", string="Agent", readonly=True)
    channel_id = fields.Many2one("omnichannel.channel", readonly=True)
    channel_type = fields.Selection(selection="_selection_channel_type", readonly=True)
    campaign_id = fields.Many2one("omnichannel.campaign", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    value = fields.Integer(string="Answer", readonly=True, aggregator="avg")
    nbr_sent = fields.Integer(string="# Asked", readonly=True, aggregator="sum")
    nbr_answered = fields.Integer(string="# Answers", readonly=True, aggregator="sum")
    nbr_detractors = fields.Integer(string="# Follow-ups", readonly=True, aggregator="sum")
    response_rate = fields.Float(string="Response rate (%)", readonly=True, aggregator="avg")
    csat_score = fields.Float(
        string="CSAT (%)", readonly=True, aggregator="avg", help="Share of 4 and 5 answers."
    )
    nps_score = fields.Float(
        string="NPS",
        readonly=True,
        aggregator="avg",
        help="% promoters (9-10) minus % detractors (0-6).",
    )
    ces_score = fields.Float(string="CES", readonly=True, aggregator="avg", help="Mean answer.")

    @api.model
    def _selection_channel_type(self):
        return (
            self.env["omnichannel.channel"]._fields["channel_type"]._description_selection(self.env)
        )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
CREATE OR REPLACE VIEW %(view)s AS (
    SELECT
        s.id AS id,
        s.id AS invitation_id,
        s.interaction_id,
        COALESCE(s.date_sent, s.date_answered, s.date_scheduled) AS date,
        s.kind,
        s.state,
        s.queue_id,
        s.agent_id,
        i.channel_id,
        i.channel_type,
        i.campaign_id,
        s.partner_id,
        s.company_id,
        s.value,
        1 AS nbr_sent,
        (s.state = 'answered')::int AS nbr_answered,
        (s.state = 'answered' AND s.is_detractor)::int AS nbr_detractors,
        CASE WHEN s.state = 'answered' THEN 100.0 ELSE 0.0 END AS response_rate,
        CASE WHEN s.state = 'answered' AND s.kind = 'csat'
             THEN CASE WHEN s.value >= %(csat_min)s THEN 100.0 ELSE 0.0 END END AS csat_score,
        CASE WHEN s.state = 'answered' AND s.kind = 'nps'
             THEN CASE WHEN s.value >= %(promoter)s THEN 100.0
                       WHEN s.value <= %(detractor)s THEN -100.0
                       ELSE 0.0 END END AS nps_score,
        CASE WHEN s.state = 'answered' AND s.kind = 'ces' THEN s.value::float END AS ces_score
    FROM omnichannel_survey_invitation s
    JOIN omnichannel_interaction i ON i.id = s.interaction_id
    WHERE s.state IN ('sent', 'answered', 'expired')
)""",
                view=SQL.identifier(self._table),
                csat_min=satisfaction.CSAT_SATISFIED_MIN,
                promoter=satisfaction.NPS_PROMOTER_MIN,
                detractor=satisfaction.NPS_DETRACTOR_MAX,
            )
        )
