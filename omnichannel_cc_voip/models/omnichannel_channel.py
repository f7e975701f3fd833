import secrets

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

MANAGER_GROUP = "omnichannel_cc.group_omnichannel_manager"


def _new_voip_token():
    return secrets.token_urlsafe(24)


def _new_voip_secret():
    return secrets.token_urlsafe(32)


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
        for channel in self.sudo():
            channel.voip_secret = _new_voip_secret()
        return True

    def _voip_ensure_credentials(self):
        """Give phone channels that lack them a token and a secret.

        Runs as superuser: an agent never sees these fields, yet a channel
        created by any allowed user must get them.
        """
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
        return self.sudo().search(
            [("voip_token", "=", token), ("channel_type", "=", "phone")], limit=1
        )
