from odoo import api, fields, models
from odoo.tools import SQL


class OmnichannelSocialIdentity(models.Model):
    """A customer's account on a social channel (WhatsApp number, Messenger
    page-scoped id, Telegram chat) and who they are in Odoo.

    Recognises a known sender next time; an agent links an unknown one to a
    customer (here, or by setting the customer of their interaction). The
    row also points at the sender's open conversation and serves as the
    lock that keeps one open interaction per (channel, sender).
    """

    _name = "omnichannel.social.identity"
    _description = "Contact center social messenger identity"
    _order = "write_date desc, id desc"
    _rec_name = "name"

    channel_id = fields.Many2one(
        "omnichannel.channel",
        required=True,
        ondelete="cascade",
        domain=[("channel_type", "=", "social")],
    )
    platform = fields.Selection(related="channel_id.social_platform", store=True)
    external_id = fields.Char(
        string="Platform user id",
        required=True,
        readonly=True,
        help="WhatsApp: phone number (wa_id); Messenger: page-scoped id; Telegram: chat id.",
    )
    name = fields.Char(help="The profile name the platform gave.")
    phone = fields.Char(readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", index="btree_not_null")
    interaction_id = fields.Many2one(
        "omnichannel.interaction",
        string="Current conversation",
        readonly=True,
        ondelete="set null",
    )
    company_id = fields.Many2one(related="channel_id.company_id", store=True, index=True)

    _sql_constraints = [
        (
            "channel_external_uniq",
            "unique(channel_id, external_id)",
            "This platform user already has an identity on this channel.",
        ),
    ]

    @api.depends("name", "external_id", "partner_id")
    def _compute_display_name(self):
        for identity in self:
            label = identity.partner_id.display_name or identity.name or identity.external_id
            identity.display_name = f"{label} ({identity.external_id})"

    @api.model
    def _lock_or_create(self, channel, external_id, name="", phone=""):
        """The identity of ``external_id`` on ``channel``, row-locked.

        Under REPEATABLE READ the insert and the lock raise a serialization
        failure when a concurrent transaction created or locked the row:
        Odoo retries the webhook and the retry sees that transaction's
        conversation. So two messages of one new sender never open two.
        """
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """INSERT INTO omnichannel_social_identity
                       (channel_id, external_id, name, phone, company_id, platform,
                        create_uid, write_uid, create_date, write_date)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s,
                           now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
                   ON CONFLICT (channel_id, external_id) DO NOTHING""",
                channel.id,
                external_id,
                name or None,
                phone or None,
                channel.company_id.id,
                channel.social_platform,
                self.env.uid,
                self.env.uid,
            ),
            log_exceptions=False,
        )
        self.env.cr.execute(
            SQL(
                """SELECT id FROM omnichannel_social_identity
                   WHERE channel_id = %s AND external_id = %s FOR UPDATE""",
                channel.id,
                external_id,
            ),
            log_exceptions=False,
        )
        identity = self.browse(self.env.cr.fetchone()[0])
        identity.invalidate_recordset()
        if name and identity.name != name:
            identity.name = name
        return identity
