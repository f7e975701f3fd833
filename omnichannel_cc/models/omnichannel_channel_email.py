from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.mail.tools.alias_error import AliasError

from ..tools import address as address_tools
from ..tools import fax as fax_tools

# Channel types that receive mail through an alias: e-mail itself, and fax
# (an e-mail-to-fax gateway delivers each fax as an e-mail with a PDF).
ALIAS_CHANNEL_TYPES = ("email", "fax")


class OmnichannelChannel(models.Model):
    """E-mail and fax channels: a mail alias delivering to interactions.

    For e-mail channels the channel's ``address`` *is* the alias address:
    writing one updates the other (the address wins when both are given).
    Fax channels keep their fax number as ``address`` and an independent
    alias where the gateway delivers inbound faxes.
    """

    _name = "omnichannel.channel"
    _inherit = ["omnichannel.channel", "mail.alias.mixin.optional"]

    email_create_partner = fields.Boolean(
        string="Create contacts for unknown senders",
        default=True,
        help="A new e-mail from an address no contact has creates a contact, "
        "so that agents' replies reach the sender.",
    )
    email_ack_template_id = fields.Many2one(
        "mail.template",
        string="Acknowledgement",
        domain=[("model", "=", "omnichannel.interaction")],
        help="Sent once to the customer when their e-mail opens a new interaction "
        "(never to auto-replies, bounces or our own addresses).",
    )
    fax_gateway_domain = fields.Char(
        string="Fax gateway domain",
        help="Outbound faxes are mailed to <digits>@<this domain> "
        "(e.g. fax.example.com gives 48221234567@fax.example.com).",
    )

    @api.constrains("fax_gateway_domain")
    def _check_fax_gateway_domain(self):
        for channel in self.filtered("fax_gateway_domain"):
            try:
                fax_tools.normalize_gateway_domain(channel.fax_gateway_domain)
            except address_tools.AddressError as error:
                raise ValidationError(
                    _(
                        "The fax gateway domain of channel %(channel)s must be a domain "
                        "name like fax.example.com.",
                        channel=channel.name,
                    )
                ) from error

    def _check_email_alias_address(self):
        """Checked after create / write: the mixin writes the channel and its
        alias one after the other."""
        for channel in self.filtered(lambda c: c.channel_type == "email" and c.alias_id):
            if channel.alias_email and channel.address_normalized != channel.alias_email.lower():
                raise ValidationError(
                    _(
                        "The address of e-mail channel %(channel)s (%(address)s) must be its "
                        "alias %(alias)s.",
                        channel=channel.name,
                        address=channel.address,
                        alias=channel.alias_email,
                    )
                )

    # ------------------------------------------------------------------
    # CRUD: keep the e-mail address and the alias in step
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        default_type = self.default_get(["channel_type"]).get("channel_type")
        for vals in vals_list:
            channel_type = vals.get("channel_type", default_type)
            if channel_type == "email" and vals.get("address"):
                vals.update(self._alias_values_from_address(vals["address"]))
        channels = super().create(vals_list)
        channels._sync_address_from_alias()
        channels._check_email_alias_address()
        return channels

    def write(self, vals):
        if vals.get("address") or "channel_type" in vals:
            for channel in self:
                channel_type = vals.get("channel_type", channel.channel_type)
                address = vals.get("address", channel.address)
                if channel_type == "email" and address:
                    super(OmnichannelChannel, channel).write(
                        dict(vals, **self._alias_values_from_address(address))
                    )
                else:
                    super(OmnichannelChannel, channel).write(vals)
        else:
            super().write(vals)
            if "company_id" in vals:
                # the mixin moved the alias to the new company's domain: the
                # e-mail address stays what the customers know
                for channel in self.filtered(lambda c: c.channel_type == "email"):
                    super(OmnichannelChannel, channel).write(
                        channel._alias_values_from_address(channel.address)
                    )
            elif {"alias_name", "alias_domain_id"} & set(vals):
                self._sync_address_from_alias()
        self._check_email_alias_address()
        return True

    @api.model
    def _alias_values_from_address(self, address):
        """alias_name / alias_domain_id for the e-mail address of a channel.

        The domain must be one the mail gateway receives: an existing alias
        domain, or a new one (Settings / Technical / Email / Alias Domains)."""
        try:
            email = address_tools.normalize_email(address)
        except address_tools.AddressError:
            return {}  # _check_address tells the user
        local, _at, domain_name = email.rpartition("@")
        Domain = self.env["mail.alias.domain"].sudo()
        domain = Domain.search([("name", "=", domain_name)], limit=1)
        if not domain:
            domain = Domain.create({"name": domain_name})
        return {"alias_name": local, "alias_domain_id": domain.id}

    def _sync_address_from_alias(self):
        for channel in self.filtered(lambda c: c.channel_type == "email" and c.alias_email):
            if channel.address_normalized != channel.alias_email.lower():
                super(OmnichannelChannel, channel).write({"address": channel.alias_email})

    # ------------------------------------------------------------------
    # Alias mixin
    # ------------------------------------------------------------------
    def _alias_get_creation_values(self):
        values = super()._alias_get_creation_values()
        values["alias_model_id"] = self.env["ir.model"]._get_id("omnichannel.interaction")
        if self.id:
            values["alias_defaults"] = repr({"channel_id": self.id})
            values["alias_force_thread_id"] = False
        return values

    def _alias_get_error(self, message, message_dict, alias):
        """Mail to an archived channel or one that is no longer e-mail / fax
        bounces, with the reason, instead of opening an interaction."""
        if len(self) == 1 and not self.active:
            return AliasError("omnichannel_channel_archived", _("this channel is archived"))
        if len(self) == 1 and self.channel_type not in ALIAS_CHANNEL_TYPES:
            return AliasError(
                "omnichannel_channel_type",
                _("this channel does not receive e-mail"),
                is_config_error=True,
            )
        return super()._alias_get_error(message, message_dict, alias)
