import secrets

from odoo import api, fields, models

from ..tools import webform


class OmnichannelChannel(models.Model):
    """Web form settings: the channel's address is the form key."""

    _inherit = "omnichannel.channel"

    channel_type = fields.Selection(
        selection_add=[("webform", "Web form")], ondelete={"webform": "cascade"}
    )

    webform_title = fields.Char(string="Form title", translate=True)
    webform_intro = fields.Text(string="Form introduction", translate=True)
    webform_thanks = fields.Text(
        string="Thank-you message",
        translate=True,
        help="Shown after a successful submission.",
    )
    webform_rate_ip = fields.Integer(
        string="Submissions per visitor (10 min)",
        default=5,
        help="More from one IP address within 10 minutes are refused (HTTP 429). 0: no limit.",
    )
    webform_rate_channel = fields.Integer(
        string="Submissions per form (10 min)",
        default=300,
        help="More for this form within 10 minutes are refused (HTTP 429). 0: no limit.",
    )
    webform_max_files = fields.Integer(string="Attachments at most", default=webform.MAX_FILES)
    webform_max_file_mb = fields.Integer(
        string="Attachment size at most (MB)", default=webform.MAX_FILE_BYTES // (1024 * 1024)
    )
    webform_callback_channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Call-back line",
        domain=[("channel_type", "=", "phone")],
        help='Phone channel used for "call me back" requests from this form; empty: the '
        "queue's or the company's first phone channel. Without any, the form offers no call-back.",
    )
    webform_url = fields.Char(string="Form URL", compute="_compute_webform_url")
    webform_snippet = fields.Char(string="Embed snippet", compute="_compute_webform_url")

    @api.depends("address", "channel_type")
    def _compute_webform_url(self):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for channel in self:
            if channel.channel_type == "webform" and channel.address:
                url = f"{base}/omnichannel/form/{channel.address_normalized or channel.address}"
                channel.webform_url = url
                # the script puts the form's iframe where it stands (or into
                # the element named by data-target)
                channel.webform_snippet = (
                    f'<script src="{url}/embed.js" data-height="720"></script>'
                )
            else:
                channel.webform_url = False
                channel.webform_snippet = False

    @api.onchange("channel_type")
    def _onchange_channel_type_webform(self):
        if self.channel_type == "webform" and not self.address:
            self.address = secrets.token_urlsafe(12)
