from odoo import api, fields, models
from odoo.tools import SQL


class OmnichannelAgentScorecard(models.Model):
    """Satisfaction on the agent scorecard: one row per invitation of
    ``omnichannel.survey.report`` (sent or answered), with its scores, so the
    scorecard's figures equal that report's for the same agent.

    The row's day and channel are its contact's (the day the agent handled
    it, in the agent's time zone), so a day's CSAT sits next to that day's
    contacts; the disposition too, for satisfaction per outcome.
    """

    _inherit = "omnichannel.agent.scorecard"

    survey_sent = fields.Integer(string="# Surveys asked", readonly=True, aggregator="sum")
    survey_answered = fields.Integer(string="# Survey answers", readonly=True, aggregator="sum")
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
    def _scorecard_columns(self):
        return dict(
            super()._scorecard_columns(),
            survey_sent=("integer", "0"),
            survey_answered=("integer", "0"),
            csat_score=("float", "NULL"),
            nps_score=("float", "NULL"),
            ces_score=("float", "NULL"),
        )

    @api.model
    def _scorecard_sources(self):
        surveys = SQL(
            """
            SELECT r.id AS row_key, r.agent_id AS user_id, a.id AS agent_id, r.company_id,
                   ((i.create_date AT TIME ZONE 'UTC')
                    AT TIME ZONE COALESCE(NULLIF(p.tz, ''), NULLIF(cp.tz, ''), 'UTC'))::date
                   AS date,
                   r.channel_type, i.disposition_id, r.nbr_sent AS survey_sent,
                   r.nbr_answered AS survey_answered, r.csat_score, r.nps_score, r.ces_score
              FROM omnichannel_survey_report r
              JOIN omnichannel_interaction i ON i.id = r.interaction_id
              JOIN res_users u ON u.id = r.agent_id
              JOIN res_partner p ON p.id = u.partner_id
              LEFT JOIN omnichannel_agent a ON a.user_id = r.agent_id
              JOIN res_company c ON c.id = COALESCE(a.company_id, r.company_id)
              LEFT JOIN res_partner cp ON cp.id = c.partner_id
             WHERE r.agent_id IS NOT NULL"""
        )
        return [
            *super()._scorecard_sources(),
            (
                "survey",
                surveys,
                (
                    "user_id",
                    "agent_id",
                    "company_id",
                    "date",
                    "channel_type",
                    "disposition_id",
                    "survey_sent",
                    "survey_answered",
                    "csat_score",
                    "nps_score",
                    "ces_score",
                ),
            ),
        ]
