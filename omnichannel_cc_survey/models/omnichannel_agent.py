from datetime import timedelta

from odoo import fields, models

from ..tools import satisfaction

SCORE_DAYS = 30


class OmnichannelAgent(models.Model):
    _inherit = "omnichannel.agent"

    satisfaction_count = fields.Integer(
        string="Satisfaction answers", compute="_compute_satisfaction", help="Last 30 days."
    )
    satisfaction_csat = fields.Float(
        string="CSAT (%)", compute="_compute_satisfaction", help="Last 30 days."
    )
    satisfaction_nps = fields.Float(
        string="NPS", compute="_compute_satisfaction", help="Last 30 days."
    )
    satisfaction_ces = fields.Float(
        string="CES", compute="_compute_satisfaction", help="Last 30 days."
    )

    def _compute_satisfaction(self):
        since = fields.Datetime.now() - timedelta(days=SCORE_DAYS)
        # sudo: the agent's own figures (and a supervisor's team's), not the answers themselves
        groups = (
            self.env["omnichannel.survey.invitation"]
            .sudo()
            ._read_group(
                [
                    ("agent_id", "in", self.user_id.ids),
                    ("state", "=", "answered"),
                    ("date_answered", ">=", since),
                ],
                ["agent_id", "kind"],
                ["value:array_agg"],
            )
        )
        values = {}
        for user, kind, answers in groups:
            values[user.id, kind] = answers
        for agent in self:
            uid = agent.user_id.id
            agent.satisfaction_count = sum(
                len(values.get((uid, kind), [])) for kind in satisfaction.KINDS
            )
            agent.satisfaction_csat = satisfaction.score("csat", values.get((uid, "csat"), [])) or 0
            agent.satisfaction_nps = satisfaction.score("nps", values.get((uid, "nps"), [])) or 0
            agent.satisfaction_ces = satisfaction.score("ces", values.get((uid, "ces"), [])) or 0

    def action_open_satisfaction(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc_survey.omnichannel_survey_report_action"
        )
        action["domain"] = [("agent_id", "=", self.user_id.id)]
        return action
