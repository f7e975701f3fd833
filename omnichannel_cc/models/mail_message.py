from odoo import fields, models

SOCIAL_STATES = [
    ("received", "Received"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("read", "Read"),
    ("failed", "Failed"),
]


class MailMessage(models.Model):
    """Social messenger delivery of a chatter message on an interaction."""

    _inherit = "mail.message"

    omnichannel_social_id = fields.Char(
        string="Platform message id",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The messenger's id of this message (received or sent).",
    )
    omnichannel_social_state = fields.Selection(
        SOCIAL_STATES, string="Messenger delivery", readonly=True, copy=False
    )
    omnichannel_social_error = fields.Char(string="Messenger error", readonly=True, copy=False)
