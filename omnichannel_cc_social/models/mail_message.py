from odoo import fields, models

SOCIAL_STATES = [
    ("received", "Received"),
    ("outgoing", "Outgoing"),
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
        SOCIAL_STATES,
        string="Messenger delivery",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Outgoing: queued, the platform has not confirmed it yet (sent after the "
        "transaction commits, retried by a scheduled action).",
    )
    omnichannel_social_error = fields.Char(string="Messenger error", readonly=True, copy=False)
    omnichannel_social_attempts = fields.Integer(
        string="Sending attempts", readonly=True, copy=False
    )
    omnichannel_social_queued_at = fields.Datetime(
        string="Queued or last tried",
        readonly=True,
        copy=False,
        help="When the reply was queued, or last claimed by a sending attempt.",
    )
