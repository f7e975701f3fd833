from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.mail.tools.alias_error import AliasError

from ..tools import address as address_tools
from ..tools import fax as fax_tools
from .res_partner import normalize_email

# The core's channel types; each optional channel's addon adds its own
# (``selection_add``): web forms, social messengers, SMS, video sessions.
# "chat" stays here: chats are Discuss sessions (mail), whether they start on
# the website's live chat (omnichannel_cc_livechat) or from an invitation link.
CHANNEL_TYPES = [
    ("phone", "Phone"),
    ("email", "E-mail"),
    ("chat", "Web chat"),
    ("fax", "Fax"),
]
# Channel types whose addresses (channel's and customer's) are phone numbers.
PHONE_CHANNEL_TYPES = ("phone", "sms", "fax")
# Channel types that receive mail through an alias: e-mail itself, and fax
# (an e-mail-to-fax gateway delivers each fax as an e-mail with a PDF).
ALIAS_CHANNEL_TYPES = ("email", "fax")


class OmnichannelChannel(models.Model):
    """An entry point customers use: a DID number, an alias, a form, a page."""

    _name = "omnichannel.channel"
    # utm.mixin (issue 16): the inbound campaign / source / medium of what comes
    # in here, given to its interactions and to the orders made from them
    _inherit = ["mail.alias.mixin.optional", "utm.mixin"]
    _description = "Contact center channel"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    channel_type = fields.Selection(CHANNEL_TYPES, required=True, default="phone")
    address = fields.Char(
        required=True,
        help="Where customers reach this channel: DID number, e-mail alias, form key, page id.",
    )
    address_normalized = fields.Char(compute="_compute_address_normalized", store=True, index=True)
    queue_id = fields.Many2one(
        "omnichannel.queue",
        string="Default queue",
        required=True,
        ondelete="restrict",
        help="Where new interactions of this channel wait until routing decides otherwise.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    interaction_count = fields.Integer(compute="_compute_interaction_count")

    _sql_constraints = [
        (
            "address_uniq",
            "unique(channel_type, address_normalized)",
            "Another channel of this type already has this address.",
        ),
    ]

    # E-mail and fax channels: a mail alias delivering to interactions.
    #
    # For e-mail channels the channel's ``address`` *is* the alias address:
    # writing one updates the other (the address wins when both are given).
    # Fax channels keep their fax number as ``address`` and an independent
    # alias where the gateway delivers inbound faxes.
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

    @api.depends("address", "channel_type", "company_id.country_id")
    def _compute_address_normalized(self):
        for channel in self:
            channel.address_normalized = channel._normalize_channel_address(channel.address)

    def _normalize_channel_address(self, address):
        self.ensure_one()
        if not address:
            return False
        if self.channel_type in PHONE_CHANNEL_TYPES:
            region = (self.company_id or self.env.company).country_id.code
            return address_tools.normalize_phone_or_none(address, region) or address.strip()
        if self.channel_type == "email":
            try:
                return normalize_email(address)
            except address_tools.AddressError:
                return address.strip().lower()
        return address.strip()

    @api.constrains("address", "channel_type")
    def _check_address(self):
        for channel in self:
            if channel.channel_type in PHONE_CHANNEL_TYPES:
                region = channel.company_id.country_id.code
                try:
                    address_tools.normalize_phone(channel.address, region)
                except address_tools.AddressError as error:
                    raise ValidationError(
                        _(
                            "The address of channel %(channel)s must be a phone number: %(error)s",
                            channel=channel.name,
                            error=error,
                        )
                    ) from error
            elif channel.channel_type == "email" and not address_tools.looks_like_email(
                channel.address
            ):
                raise ValidationError(
                    _(
                        "The address of channel %(channel)s must be an e-mail address.",
                        channel=channel.name,
                    )
                )

    def _compute_interaction_count(self):
        counts = dict(
            self.env["omnichannel.interaction"]._read_group(
                [("channel_id", "in", self.ids)], ["channel_id"], ["__count"]
            )
        )
        for channel in self:
            channel.interaction_count = counts.get(channel, 0)

    @api.model
    def _find_by_address(self, channel_type, address):
        """The active channel of that type and address (any notation), or empty."""
        if not address:
            return self.browse()
        probe = self.new({"channel_type": channel_type, "address": address})
        normalized = probe._normalize_channel_address(address)
        return self.search(
            [("channel_type", "=", channel_type), ("address_normalized", "=", normalized)],
            limit=1,
        )

    @api.model
    def _channel_type_labels(self):
        """{type: translated label} of every channel type installed (the core's
        and those the channel addons add)."""
        return dict(self._fields["channel_type"]._description_selection(self.env))

    def action_view_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_interaction_action"
        )
        action["domain"] = [("channel_id", "=", self.id)]
        return action

    # ------------------------------------------------------------------
    # E-mail and fax channels: a mail alias delivering to interactions
    # ------------------------------------------------------------------
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
        if "active" in vals:
            # a routing rule's channels leave the archived ones out (cached rules)
            self.env.registry.clear_cache()
        return True

    def unlink(self):
        result = super().unlink()
        # deleted from the routing rules' channels too (cached rules)
        self.env.registry.clear_cache()
        return result

    @api.model
    def _alias_values_from_address(self, address):
        """alias_name / alias_domain_id for the e-mail address of a channel.

        The domain must be one the mail gateway receives: an existing alias
        domain, or a new one (Settings / Technical / Email / Alias Domains)."""
        try:
            email = normalize_email(address)
        except address_tools.AddressError:
            return {}  # _check_address tells the user
        local, _at, domain_name = email.rpartition("@")
        # sudo: only administrators create alias domains; this one is the channel's own address
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
