from odoo import fields, models


class OmnichannelQueue(models.Model):
    _inherit = "omnichannel.queue"

    survey_id = fields.Many2one(
        "survey.survey",
        string="Satisfaction survey",
        ondelete="set null",
        domain=[("certification", "=", False)],
        help="Sent by e-mail to the customer of every interaction of this queue once it is done.",
    )
