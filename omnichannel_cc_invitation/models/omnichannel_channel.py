from odoo import fields, models


class OmnichannelChannel(models.Model):
    """Video sessions opened from invitation links (Odoo Discuss calls)."""

    _inherit = "omnichannel.channel"

    channel_type = fields.Selection(
        selection_add=[("video", "Video")], ondelete={"video": "cascade"}
    )
