from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import address as address_tools

CHANNEL_TYPES = [
    ("phone", "Phone"),
    ("email", "E-mail"),
    ("chat", "Web chat"),
    ("webform", "Web form"),
    ("sms", "SMS"),
    ("social", "Social messenger"),
    ("fax", "Fax"),
    ("video", "Video"),
]
# Channel types whose addresses (channel's and customer's) are phone numbers.
PHONE_CHANNEL_TYPES = ("phone", "sms", "fax")


class OmnichannelChannel(models.Model):
    """An entry point customers use: a DID number, an alias, a form, a page."""

    _name = "omnichannel.channel"
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
                return address_tools.normalize_email(address)
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

    def action_view_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_interaction_action"
        )
        action["domain"] = [("channel_id", "=", self.id)]
        return action
