import secrets

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..tools import social as social_tools

MANAGER_GROUP = "omnichannel_cc.group_omnichannel_manager"
MEDIA_HOSTS_PARAM = "omnichannel_cc.social_media_hosts"
MEDIA_PRIVATE_HOSTS_PARAM = "omnichannel_cc.social_media_private_hosts"


def _new_social_token():
    return secrets.token_urlsafe(24)


class OmnichannelChannel(models.Model):
    """Social messenger settings of a channel (type ``social``): the
    channel's address is the platform's account id (WhatsApp phone number
    id, Facebook page id, Telegram bot id)."""

    _inherit = "omnichannel.channel"

    channel_type = fields.Selection(
        selection_add=[("social", "Social messenger")], ondelete={"social": "cascade"}
    )

    social_platform = fields.Selection(
        social_tools.PLATFORMS,
        string="Platform",
        help="Which messenger posts to this channel's webhook and receives the replies.",
    )
    social_webhook_token = fields.Char(
        string="Webhook token",
        copy=False,
        readonly=True,
        index="btree_not_null",
        groups=MANAGER_GROUP,
        help="Identifies this channel in its webhook URL (public, not a secret).",
    )
    social_webhook_url = fields.Char(
        string="Webhook URL",
        compute="_compute_social_webhook_url",
        groups=MANAGER_GROUP,
        help="Give this URL to the platform (Meta app's webhook callback, Telegram setWebhook).",
    )
    social_verify_token = fields.Char(
        string="Verify token",
        copy=False,
        groups=MANAGER_GROUP,
        help="Meta's subscription handshake: the 'Verify token' typed in the app's webhook "
        "settings.",
    )
    social_app_secret = fields.Char(
        string="App secret",
        copy=False,
        groups=MANAGER_GROUP,
        help="WhatsApp / Messenger: the Meta app secret signing each webhook "
        "(X-Hub-Signature-256). Telegram: the secret_token given to setWebhook.",
    )
    social_access_token = fields.Char(
        string="Access token",
        copy=False,
        groups=MANAGER_GROUP,
        help="Sends replies and downloads media: WhatsApp system-user token, Messenger page "
        "access token, Telegram bot token.",
    )
    social_api_url = fields.Char(
        string="API base URL",
        compute="_compute_social_api_url",
        store=True,
        readonly=False,
        help="The platform's API, e.g. https://graph.facebook.com/v19.0 or "
        "https://api.telegram.org.",
    )

    _sql_constraints = [
        (
            "social_webhook_token_uniq",
            "unique(social_webhook_token)",
            "A webhook token must be unique.",
        ),
    ]

    @api.depends("social_webhook_token")
    def _compute_social_webhook_url(self):
        # sudo: agents may not read ir.config_parameter; only the base URL of the URL shown
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for channel in self:
            channel.social_webhook_url = (
                f"{base_url.rstrip('/')}/omnichannel/social/{channel.social_webhook_token}"
                if channel.social_webhook_token
                else False
            )

    @api.depends("social_platform")
    def _compute_social_api_url(self):
        defaults = set(social_tools.DEFAULT_API_URLS.values())
        for channel in self:
            if channel.social_platform and (
                not channel.social_api_url or channel.social_api_url in defaults
            ):
                channel.social_api_url = social_tools.DEFAULT_API_URLS[channel.social_platform]

    @api.constrains("channel_type", "social_platform")
    def _check_social_platform(self):
        for channel in self:
            if channel.channel_type == "social" and not channel.social_platform:
                raise ValidationError(
                    _("Choose the platform of social channel %(channel)s.", channel=channel.name)
                )

    @api.model_create_multi
    def create(self, vals_list):
        channels = super().create(vals_list)
        channels._social_ensure_token()
        return channels

    def write(self, vals):
        res = super().write(vals)
        if vals.get("channel_type") == "social":
            self._social_ensure_token()
        return res

    def action_social_regenerate_token(self):
        """New webhook URL; the platform must be given it again."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(_("Only contact center managers can change webhook URLs."))
        self.check_access("write")
        # sudo: the caller's rights are checked above (a manager, with write access)
        for channel in self.sudo():
            channel.social_webhook_token = _new_social_token()
        return True

    def _social_ensure_token(self):
        # sudo: the token is manager-only, yet every social channel needs one
        for channel in self.sudo().filtered(
            lambda c: c.channel_type == "social" and not c.social_webhook_token
        ):
            channel.social_webhook_token = _new_social_token()

    @api.model
    def _social_find_by_token(self, token):
        """The active social channel of a webhook token, or empty."""
        if not token or len(token) > 128:
            return self.browse()
        # sudo: the platform's webhook runs as the public user and has only this token
        return self.sudo().search(
            [("social_webhook_token", "=", token), ("channel_type", "=", "social")], limit=1
        )

    def _social_adapter(self):
        """The provider adapter of this channel (credentials read as superuser)."""
        self.ensure_one()
        # sudo: the access token is manager-only; the webhook and the sends need it
        channel = self.sudo()
        return social_tools.get_adapter(
            channel.social_platform,
            channel.social_api_url,
            channel.social_access_token,
            channel.address,
            **self._social_media_settings(channel.social_platform),
        )

    @api.model
    def _social_media_settings(self, platform):
        """Where a platform's media may be downloaded from, from the system
        parameters:

        - ``omnichannel_cc.social_media_hosts.<platform>``: the media hosts
          (comma-separated, ``*.domain`` for subdomains), replacing the
          defaults of ``tools/social.py``;
        - ``omnichannel_cc.social_media_private_hosts``: hosts that may
          resolve to a private or loopback address. Only for tests serving
          media from a local mock; empty (never set) in production.
        """
        # sudo: system parameters, read for any user whose message is received
        params = self.env["ir.config_parameter"].sudo()

        def hosts(key):
            value = params.get_param(key) or ""
            return tuple(
                host.strip() for host in value.replace(" ", ",").split(",") if host.strip()
            )

        return {
            "media_hosts": hosts(f"{MEDIA_HOSTS_PARAM}.{platform}") or None,
            "private_hosts": hosts(MEDIA_PRIVATE_HOSTS_PARAM),
        }
