from markupsafe import Markup

from odoo import _, fields, models


class SurveyUserInput(models.Model):
    _inherit = "survey.user_input"

    omnichannel_interaction_id = fields.Many2one(
        "omnichannel.interaction",
        string="Interaction",
        ondelete="set null",
        index="btree_not_null",
        readonly=True,
        copy=False,
        help="The contact center interaction this satisfaction answer is about.",
    )

    _sql_constraints = [
        (
            "omnichannel_interaction_uniq",
            "unique(omnichannel_interaction_id)",
            "An interaction has one satisfaction survey answer at most.",
        ),
    ]

    def _mark_done(self):
        res = super()._mark_done()
        # sudo: the respondent (often the public user) may not read the interaction; a note on it
        for answer in self.sudo().filtered("omnichannel_interaction_id"):
            answer.omnichannel_interaction_id.message_post(
                body=Markup("<p>%s</p>")
                % _(
                    "%(customer)s answered the satisfaction survey %(survey)s.",
                    customer=answer.partner_id.name or answer.nickname or answer.email or "",
                    survey=answer.survey_id.title,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return res
