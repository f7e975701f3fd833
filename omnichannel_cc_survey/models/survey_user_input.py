from odoo import fields, models


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
