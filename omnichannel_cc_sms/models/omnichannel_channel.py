import secrets

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..tools import sms_keywords, sms_providers

MANAGER_GROUP = "omnichannel_cc.group_omnichannel_manager"
INBOUND_PATH = "/omnichannel/sms/{token}/inbound"
STATUS_PATH = "/omnichannel/sms/{token}/status"


def _new_sms_token():
    return secrets.token_urlsafe(24)


class OmnichannelChannel(models.Model):
    """SMS numbers customers text (a channel of type SMS), and the gateway
    their messages come from and replies go through."""

    _inherit = "omnichannel.channel"

    channel_type = fields.Selection(selection_add=[("sms", "SMS")], ondelete={"sms": "cascade"})

    sms_provider = fields.Selection(
        sms_providers.PROVIDERS,
        string="SMS gateway",
        default="iap",
        help="Odoo IAP sends only (Odoo's paid service); Twilio, SMSAPI.pl, Kannel and a "
        "generic HTTP/JSON gateway also bring customers' messages and delivery reports in.",
    )
    sms_account = fields.Char(
        string="Account",
        groups=MANAGER_GROUP,
        help="Twilio: the account SID (AC...). Kannel: the sendsms user. SMSAPI and the "
        "generic gateway: not used.",
    )
    sms_secret = fields.Char(
        string="Secret",
        copy=False,
        groups=MANAGER_GROUP,
        help="Twilio: the auth token (it also signs Twilio's callbacks). SMSAPI: the API token "
        "(Bearer), also the secret= parameter of the callback URLs. Kannel: the sendsms "
        "password, also the secret= parameter of get-url and of the delivery reports. Generic "
        "gateway: the key of the X-Omnichannel-Signature HMAC in both directions.",
    )
    sms_sender = fields.Char(
        string="Sender",
        help="The number or alphanumeric sender (at most 11 characters) the customers see; "
        "Twilio also takes a Messaging Service SID (MG...). Empty: the channel's address.",
    )
    sms_token = fields.Char(
        string="URL token",
        copy=False,
        readonly=True,
        index="btree_not_null",
        groups=MANAGER_GROUP,
        help="Identifies this channel in the URLs the gateway calls (public, not a secret).",
    )
    sms_base_url = fields.Char(
        string="Gateway URL",
        compute="_compute_sms_base_url",
        store=True,
        readonly=False,
        help="Where Odoo sends from: https://api.twilio.com, https://api.smsapi.pl, Kannel's "
        "smsbox (http://127.0.0.1:13013) or the generic gateway's send URL.",
    )
    sms_allowed_ips = fields.Char(
        string="Allowed addresses",
        groups=MANAGER_GROUP,
        help="Optional: the gateway's addresses or networks (comma-separated, e.g. "
        "10.0.0.5, 192.0.2.0/24); calls from elsewhere are refused.",
    )
    sms_inbound_url = fields.Char(
        string="Inbound URL",
        compute="_compute_sms_urls",
        groups=MANAGER_GROUP,
        help="Where the gateway delivers the customers' messages.",
    )
    sms_status_url = fields.Char(
        string="Status URL",
        compute="_compute_sms_urls",
        groups=MANAGER_GROUP,
        help="Where the gateway reports deliveries (Odoo gives it with each message).",
    )
    sms_session_hours = fields.Integer(
        string="Conversation window (hours)",
        default=24,
        help="A customer's message joins their open SMS conversation if they texted within "
        "this many hours; otherwise it opens a new one.",
    )
    sms_optout_keywords = fields.Char(
        string="Opt-out keywords",
        default=sms_keywords.DEFAULT_OPTOUT,
        help="Comma-separated. A message that is one of these words (whole message, any case) "
        "puts the number on the blacklist, then one confirmation is sent.",
    )
    sms_optin_keywords = fields.Char(
        string="Opt-in keywords",
        default=sms_keywords.DEFAULT_OPTIN,
        help="Comma-separated. From a blacklisted number they lift the blacklist; from any "
        "other number they are ordinary messages.",
    )
    sms_help_keywords = fields.Char(
        string="Help keywords",
        default=sms_keywords.DEFAULT_HELP,
        help="Comma-separated. Answered with the help text.",
    )
    sms_help_text = fields.Text(
        string="Help text",
        translate=True,
        help="The answer to a help keyword. Empty: a short text naming the company and the "
        "opt-out keyword.",
    )
    sms_optout_text = fields.Text(
        string="Opt-out confirmation",
        translate=True,
        help="Sent once when a number opts out. Empty: a short default text.",
    )
    sms_optin_text = fields.Text(
        string="Opt-in confirmation",
        translate=True,
        help="Sent when a blacklisted number opts in again. Empty: a short default text.",
    )
    sms_transliterate = fields.Boolean(
        string="Transliterate",
        help="Replace Polish diacritics (ą→a, ł→l ...) and typographic quotes and dashes "
        "before sending: the text stays in GSM-7, 160 characters per SMS instead of 70.",
    )

    _sql_constraints = [
        ("sms_token_uniq", "unique(sms_token)", "An SMS URL token must be unique."),
    ]

    @api.depends("sms_provider")
    def _compute_sms_base_url(self):
        defaults = set(sms_providers.DEFAULT_BASE_URLS.values())
        for channel in self:
            default = sms_providers.DEFAULT_BASE_URLS.get(channel.sms_provider)
            if default and (not channel.sms_base_url or channel.sms_base_url in defaults):
                channel.sms_base_url = default

    @api.depends("sms_token")
    def _compute_sms_urls(self):
        # sudo: agents may not read ir.config_parameter; only the base URL of the URLs shown
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        base_url = base_url.rstrip("/")
        for channel in self:
            token = channel.sms_token
            channel.sms_inbound_url = (
                base_url + INBOUND_PATH.format(token=token) if token else False
            )
            channel.sms_status_url = base_url + STATUS_PATH.format(token=token) if token else False

    @api.constrains("sms_allowed_ips")
    def _check_sms_allowed_ips(self):
        # sudo: the allow-list is manager-only; any allowed writer is checked
        for channel in self.sudo().filtered("sms_allowed_ips"):
            try:
                sms_providers.parse_allowed_ips(channel.sms_allowed_ips)
            except ValueError as error:
                raise ValidationError(
                    _(
                        "The allowed addresses of channel %(channel)s: %(error)s.",
                        channel=channel.name,
                        error=error,
                    )
                ) from None

    @api.constrains("sms_session_hours")
    def _check_sms_session_hours(self):
        for channel in self:
            if channel.channel_type == "sms" and channel.sms_session_hours < 1:
                raise ValidationError(
                    _(
                        "The conversation window of channel %(channel)s must be at least one hour.",
                        channel=channel.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        channels = super().create(vals_list)
        channels._sms_ensure_token()
        return channels

    def write(self, vals):
        res = super().write(vals)
        if vals.get("channel_type") == "sms":
            self._sms_ensure_token()
        return res

    def action_sms_regenerate_token(self):
        """New inbound and status URLs; the gateway must be given them again."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(_("Only contact center managers can change the gateway's URLs."))
        self.check_access("write")
        # sudo: the caller's rights are checked above (a manager, with write access)
        for channel in self.sudo():
            channel.sms_token = _new_sms_token()
        return True

    def _sms_ensure_token(self):
        """Give SMS channels that lack one a URL token.

        Runs as superuser: an agent never sees it, yet a channel created by
        any allowed user must get one."""
        # sudo: the token is manager-only, yet a channel made by any allowed user needs one
        for channel in self.sudo().filtered(lambda c: c.channel_type == "sms" and not c.sms_token):
            channel.sms_token = _new_sms_token()

    @api.model
    def _sms_find_by_token(self, token):
        """The active SMS channel of a URL token, or empty."""
        if not token:
            return self.browse()
        # sudo: the gateway's callback runs as the public user and has only this token;
        # the fields it reads come in the same query as the search
        return self.sudo().search_fetch(
            [("sms_token", "=", token), ("channel_type", "=", "sms")],
            [
                "sms_provider",
                "sms_account",
                "sms_secret",
                "sms_sender",
                "sms_base_url",
                "sms_allowed_ips",
                "company_id",
                "queue_id",
                "channel_type",
            ],
            limit=1,
        )

    def _sms_uses_gateway(self):
        """Whether this channel's SMS go through one of our adapters (not IAP)."""
        self.ensure_one()
        return self.channel_type == "sms" and self.sms_provider not in (False, "iap")

    def _sms_adapter(self):
        """The gateway adapter of this channel (credentials read as superuser)."""
        self.ensure_one()
        # sudo: the credentials are manager-only; the callbacks and the queue need them
        channel = self.sudo()
        return sms_providers.get_adapter(
            channel.sms_provider,
            account=channel.sms_account,
            secret=channel.sms_secret,
            sender=channel.sms_sender or channel.address,
            base_url=channel.sms_base_url,
            allowed_ips=channel.sms_allowed_ips,
        )

    @api.model
    def _sms_default_channel(self, company):
        """The company's first active SMS channel (sequence order), or empty."""
        # sudo: the company's channel, whatever the sender's company selection (multi-company rule)
        return self.sudo().search(
            [("channel_type", "=", "sms"), ("company_id", "=", company.id)], limit=1
        )

    def _sms_help_answer(self):
        self.ensure_one()
        optout = sms_keywords.parse_keywords(self.sms_optout_keywords)
        word = "STOP" if "stop" in optout else (self.sms_optout_keywords or "").split(",")[0]
        return self.sms_help_text or _(
            "%(company)s: reply %(stop)s to stop receiving messages.",
            company=self.company_id.name,
            stop=word.strip().upper(),
        )

    def _sms_optout_answer(self):
        self.ensure_one()
        return self.sms_optout_text or _(
            "%(company)s: you will receive no more messages from us. Reply START to receive "
            "them again.",
            company=self.company_id.name,
        )

    def _sms_optin_answer(self):
        self.ensure_one()
        return self.sms_optin_text or _(
            "%(company)s: you will receive our messages again. Reply STOP to stop them.",
            company=self.company_id.name,
        )
