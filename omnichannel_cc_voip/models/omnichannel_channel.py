import secrets

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools import ami

MANAGER_GROUP = "omnichannel_cc.group_omnichannel_manager"


def _urlsafe_token(nbytes):
    """A URL-safe random token that does not start with "-": the PBX bridges
    take the token and the secret on their command line, where a leading "-"
    reads as an option ("--token -x..." fails with "expected one argument")."""
    while True:
        token = secrets.token_urlsafe(nbytes)
        if not token.startswith("-"):
            return token


def _new_voip_token():
    return _urlsafe_token(24)


def _new_voip_secret():
    return _urlsafe_token(32)


class OmnichannelChannel(models.Model):
    _inherit = "omnichannel.channel"

    voip_token = fields.Char(
        string="PBX token",
        copy=False,
        readonly=True,
        index="btree_not_null",
        groups=MANAGER_GROUP,
        help="Identifies this channel in the URLs the PBX calls (public, not a secret).",
    )
    voip_secret = fields.Char(
        string="PBX shared secret",
        copy=False,
        readonly=True,
        groups=MANAGER_GROUP,
        help="Key the PBX uses to sign its requests (HMAC-SHA256). Keep it private.",
    )

    voip_pbx_type = fields.Selection(
        [("generic", "Generic / Kamailio (webhooks only)"), ("asterisk", "Asterisk (AMI)")],
        string="PBX type",
        default="generic",
        required=True,
        help="Generic PBXs only post events and ask for routes; Asterisk is also driven "
        "over AMI (click-to-dial from desk phones, transfer, listen-in).",
    )
    voip_ws_url = fields.Char(
        string="WebSocket SIP URL",
        help="Where browser softphones register, e.g. wss://pbx.example.com:8089/ws.",
    )
    voip_sip_domain = fields.Char(
        string="SIP domain",
        help="Domain of the agents' SIP accounts: sip:<extension>@<domain>.",
    )
    voip_fast_route = fields.Boolean(
        string="Answer routing first",
        groups=MANAGER_GROUP,
        help="The PBX's routing question (/route) is answered as soon as the agent is chosen and "
        "reserved; the call's interaction and its offer are written a moment later by the "
        "event inbox (the answer then has no interaction id yet). Shortens the ringing before "
        "the agent's phone rings. Closed queues, calls waiting ahead, ring-all queues and "
        "keypad surveys keep the answer after writing.",
    )
    voip_ami_host = fields.Char(string="AMI host", groups=MANAGER_GROUP)
    voip_ami_port = fields.Integer(string="AMI port", default=5038, groups=MANAGER_GROUP)
    voip_ami_username = fields.Char(string="AMI user", groups=MANAGER_GROUP)
    voip_ami_secret = fields.Char(string="AMI secret", groups=MANAGER_GROUP)
    voip_ami_context = fields.Char(
        string="Dial context",
        default="from-internal",
        groups=MANAGER_GROUP,
        help="Asterisk dialplan context used to originate click-to-dial calls.",
    )

    voip_dialer_context = fields.Char(
        string="Campaign context",
        default="omnichannel-dialer",
        groups=MANAGER_GROUP,
        help="Asterisk dialplan context a campaign call runs once answered (answering-machine "
        "detection, then the agent); the number is dialed through the Dial context.",
    )
    voip_dial_url = fields.Char(
        string="Dial URL",
        groups=MANAGER_GROUP,
        help="Generic PBX: where the campaign dialer POSTs its signed dial commands (JSON, "
        "X-Omnichannel-Signature as the webhooks). Empty: campaigns on this line can only be "
        "dialed in preview mode.",
    )

    _sql_constraints = [
        ("voip_token_uniq", "unique(voip_token)", "A PBX token must be unique."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        channels = super().create(vals_list)
        channels._voip_ensure_credentials()
        return channels

    def write(self, vals):
        res = super().write(vals)
        if vals.get("channel_type") == "phone":
            self._voip_ensure_credentials()
        return res

    def action_voip_regenerate_secret(self):
        """Replace the shared secret; the PBX must be reconfigured after."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(_("Only contact center managers can regenerate PBX secrets."))
        self.check_access("write")
        # sudo: the caller's rights are checked above (a manager, with write access)
        for channel in self.sudo():
            channel.voip_secret = _new_voip_secret()
        return True

    def _voip_ensure_credentials(self):
        """Give phone channels that lack them a token and a secret.

        Runs as superuser: an agent never sees these fields, yet a channel
        created by any allowed user must get them.
        """
        # sudo: the token and secret are manager-only; every phone channel needs them
        for channel in self.sudo().filtered(lambda c: c.channel_type == "phone"):
            vals = {}
            if not channel.voip_token:
                vals["voip_token"] = _new_voip_token()
            if not channel.voip_secret:
                vals["voip_secret"] = _new_voip_secret()
            if vals:
                channel.write(vals)

    @api.model
    def _voip_find_by_token(self, token):
        """Active phone channel for a token from a PBX request, or empty."""
        if not token:
            return self.browse()
        # sudo: the PBX's request runs as the public user and has only this token;
        # the fields it reads come in the same query as the search
        return self.sudo().search_fetch(
            [("voip_token", "=", token), ("channel_type", "=", "phone")],
            ["voip_secret", "company_id", "queue_id", "channel_type", "voip_fast_route"],
            limit=1,
        )

    def _voip_ami_settings(self):
        """How to reach this Asterisk channel's AMI, as plain values
        (``host``, ``port``, ``username``, ``secret``) for a send made after
        the commit; a user error saying what to fill in otherwise."""
        self.ensure_one()
        # sudo: agents and supervisors place calls, only managers read the AMI settings
        channel = self.sudo()
        if channel.voip_pbx_type != "asterisk":
            raise UserError(_("%(channel)s is not an Asterisk channel.", channel=channel.name))
        if not (channel.voip_ami_host and channel.voip_ami_username and channel.voip_ami_secret):
            raise UserError(
                _(
                    "Fill in the AMI host, user and secret of %(channel)s (Telephony tab).",
                    channel=channel.name,
                )
            )
        return {
            "host": channel.voip_ami_host,
            "port": channel.voip_ami_port or ami.DEFAULT_PORT,
            "username": channel.voip_ami_username,
            "secret": channel.voip_ami_secret,
        }

    def _voip_dialer_problem(self):
        """Why the campaign dialer cannot place calls on this line (a
        sentence), or None when it can."""
        self.ensure_one()
        # sudo: whoever starts a campaign learns only whether the line is configured
        channel = self.sudo()
        if channel.voip_pbx_type == "asterisk":
            try:
                channel._voip_ami_settings()
            except UserError as error:
                return str(error.args[0])
            return None
        if not channel.voip_dial_url:
            return _(
                "%(channel)s has no dial URL: fill it in (Telephony tab) so the dialer can "
                "ask the PBX to place calls.",
                channel=channel.name,
            )
        return None

    def _voip_dial_http_settings(self):
        """``{"url", "secret"}`` of this generic PBX's dial commands."""
        self.ensure_one()
        # sudo: the dialer sends as OdooBot; only managers read these settings
        channel = self.sudo()
        problem = channel._voip_dialer_problem() if channel.voip_pbx_type != "asterisk" else None
        if channel.voip_pbx_type == "asterisk" or problem:
            raise UserError(problem or _("%(channel)s is driven over AMI.", channel=channel.name))
        return {"url": channel.voip_dial_url, "secret": channel.voip_secret}
