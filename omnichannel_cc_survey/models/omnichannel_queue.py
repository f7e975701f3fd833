from odoo import _, api, fields, models
from odoo.tools import SQL

from ..tools import satisfaction

KIND_SELECTION = [
    ("csat", "CSAT (1-5)"),
    ("nps", "NPS (0-10)"),
    ("ces", "CES (1-7)"),
]
TEMPLATES = {
    "csat": "omnichannel_cc_survey.survey_survey_csat",
    "nps": "omnichannel_cc_survey.survey_survey_nps",
    "ces": "omnichannel_cc_survey.survey_survey_ces",
}


class OmnichannelQueue(models.Model):
    _inherit = "omnichannel.queue"

    survey_id = fields.Many2one(
        "survey.survey",
        string="Satisfaction survey",
        ondelete="set null",
        domain=[("certification", "=", False)],
        help="The survey whose answers record this queue's satisfaction: its first scale "
        "question takes the score, its first text question the comment.",
    )
    satisfaction_kind = fields.Selection(
        KIND_SELECTION,
        string="Satisfaction measure",
        help="What the customers of this queue are asked once their interaction is closed. "
        "Empty: no survey.",
    )
    survey_delay_minutes = fields.Integer(
        string="Invite after (min)",
        default=-1,
        help="Minutes between closing and inviting. -1: the channel's default (0 for chat "
        "and phone, 60 for e-mail and SMS).",
    )
    survey_window_days = fields.Integer(
        string="Answer window (days)",
        default=28,
        help="An invitation not answered within this many days expires.",
    )
    survey_sample_rate = fields.Float(
        string="Sampling (%)",
        default=100.0,
        help="Share of the closed interactions whose customer is invited; the draw is a "
        "hash of the interaction, the same on every run.",
    )
    survey_quiet_days = fields.Integer(
        string="Quiet period (days)",
        default=30,
        help="A customer invited (on any channel, by any queue) within this many days is "
        "not invited again.",
    )
    survey_min_seconds = fields.Integer(
        string="Shortest interaction (s)",
        default=0,
        help="Interactions with a shorter talk time are not surveyed.",
    )
    survey_excluded_disposition_ids = fields.Many2many(
        "omnichannel.disposition",
        "omnichannel_queue_survey_disposition_rel",
        "queue_id",
        "disposition_id",
        string="Never survey",
        help="Dispositions (wrong number, spam...) whose interactions are not surveyed.",
    )
    survey_exclude_open_case = fields.Boolean(
        string="Skip customers with an open complaint",
        default=True,
        help="A customer with an open case (a complaint being handled) is not invited.",
    )
    survey_detractor_max = fields.Integer(
        string="Follow up answers up to",
        default=-1,
        help="Answers up to this value open a follow-up for the queue's supervisor. -1: the "
        "measure's default (NPS 6, CSAT 2, CES 3).",
    )

    _sql_constraints = [
        (
            "survey_sample_rate_range",
            "CHECK(survey_sample_rate >= 0 AND survey_sample_rate <= 100)",
            "The sampling rate is a percentage, from 0 to 100.",
        ),
    ]

    @api.onchange("satisfaction_kind")
    def _onchange_satisfaction_kind(self):
        for queue in self.filtered("satisfaction_kind"):
            template = self.env.ref(TEMPLATES[queue.satisfaction_kind], raise_if_not_found=False)
            if template:
                queue.survey_id = template

    def _survey_detractor(self, kind, value):
        self.ensure_one()
        return satisfaction.is_detractor(kind, value, self.survey_detractor_max)

    def _wallboard_queue_extra(self, queues, day_start):
        """Today's score of each queue's measure on its wallboard tile, from
        the answers received since ``day_start``: one query, none when no
        queue measures satisfaction."""
        extras = super()._wallboard_queue_extra(queues, day_start)
        measured = queues.filtered("satisfaction_kind")
        if not measured:
            return extras
        self.env["omnichannel.survey.invitation"].flush_model(
            ["queue_id", "kind", "value", "state", "date_answered"]
        )
        # the queues are the user's (record rules); their answers are the tile's figures
        self.env.cr.execute(
            SQL(
                """SELECT queue_id, kind, array_agg(value)
                     FROM omnichannel_survey_invitation
                    WHERE state = 'answered' AND date_answered >= %s AND queue_id = ANY(%s)
                    GROUP BY queue_id, kind""",
                day_start,
                measured.ids,
            )
        )
        answers = {(queue_id, kind): values for queue_id, kind, values in self.env.cr.fetchall()}
        for queue in measured:
            kind = queue.satisfaction_kind
            values = answers.get((queue.id, kind), [])
            score = satisfaction.score(kind, values)
            extras.setdefault(queue.id, []).append(
                {
                    "key": "satisfaction",
                    "label": _("%(kind)s today", kind=kind.upper()),
                    "value": satisfaction.format_score(kind, score),
                    "detail": _("%(count)s answers", count=len(values)),
                }
            )
        return extras
