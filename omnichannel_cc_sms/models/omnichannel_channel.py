from odoo import fields, models


class OmnichannelChannel(models.Model):
    """SMS numbers customers text (a channel of type SMS)."""

    _inherit = "omnichannel.channel"

    channel_type = fields.Selection(selection_add=[("sms", "SMS")], ondelete={"sms": "cascade"})
