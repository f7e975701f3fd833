import logging

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.tools import html2plaintext

from ..tools import social as social_tools

_logger = logging.getLogger(__name__)

# a conversation new messages of the same sender join
OPEN_STATES = ("new", "queued", "offered", "active")
INBOUND_CONTEXT = "omnichannel_social_inbound"


class OmnichannelInteraction(models.Model):
    """Social messenger conversations: inbound messages join the sender's
    open interaction; agents' replies go back through the platform."""

    _inherit = "omnichannel.interaction"

    social_identity_id = fields.Many2one(
        "omnichannel.social.identity",
        string="Messenger identity",
        readonly=True,
        index="btree_not_null",
        copy=False,
    )

    def write(self, vals):
        res = super().write(vals)
        if vals.get("partner_id"):
            # the agent told us who this sender is: recognise them next time
            identities = self.sudo().social_identity_id.filtered(
                lambda i: i.partner_id.id != vals["partner_id"]
            )
            identities.write({"partner_id": vals["partner_id"]})
        return res

    # ------------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------------
    @api.model
    def _social_receive(self, channel, messages, statuses):
        """Apply one webhook's parsed messages and statuses (see tools/social.py)."""
        result = {"received": 0, "duplicates": 0, "ignored": 0, "statuses": 0}
        for values in messages:
            if values["account_id"] and values["account_id"] != channel.address:
                # another number / page of the same Meta app
                result["ignored"] += 1
            elif self._social_receive_message(channel, values):
                result["received"] += 1
            else:
                result["duplicates"] += 1
        result["statuses"] = self._social_apply_statuses(channel, statuses)
        return result

    @api.model
    def _social_receive_message(self, channel, values):
        """Store one message once; False when it was already received."""
        keys = self.env["omnichannel.event.key"].sudo()
        scope = f"social:{channel.id}"
        message_key = values["message_id"][:255]
        if not keys._claim(scope, message_key):
            return False
        identity = (
            self.env["omnichannel.social.identity"]
            .sudo()
            ._lock_or_create(channel, values["sender_id"][:255], values["name"], values["phone"])
        )
        if not identity.partner_id:
            partner = self._social_identify(values)
            if partner:
                identity.partner_id = partner
        interaction = identity.interaction_id
        if not interaction or interaction.state not in OPEN_STATES:
            conversation_key = f"{values['sender_id']}:{values['message_id']}"[:255]
            interaction, _created = self._inbound_once(
                channel,
                conversation_key,
                lambda: self._social_create(channel, identity, values, conversation_key),
            )
            identity.interaction_id = interaction
        message = interaction._social_post_inbound(values, identity)
        keys._set_res_id(scope, message_key, message.id)
        return True

    @api.model
    def _social_identify(self, values):
        """WhatsApp senders are phone numbers: find the customer by number."""
        if not values["phone"]:
            return self.env["res.partner"]
        try:
            matches = self.env["res.partner"].omnichannel_identify(
                values["phone"], channel_type="phone"
            )
        except Exception:  # noqa: BLE001 - an unparsable number identifies nobody
            _logger.info("Cannot identify %s by phone", values["phone"])
            return self.env["res.partner"]
        return self.env["res.partner"].browse(matches[0]["id"] if matches else [])

    @api.model
    def _social_create(self, channel, identity, values, conversation_key):
        platform = dict(social_tools.PLATFORMS)[channel.social_platform]
        sender = identity.partner_id.display_name or values["name"] or values["sender_id"]
        return self.create(
            {
                "channel_id": channel.id,
                "company_id": channel.company_id.id,
                "direction": "inbound",
                "external_id": conversation_key,
                "contact_address": values["phone"] or values["sender_id"],
                "subject": _(
                    "%(platform)s: %(sender)s",
                    platform=platform,
                    sender=sender,
                )[:250],
                "partner_id": identity.partner_id.id,
                "queue_id": channel.queue_id.id,
                "social_identity_id": identity.id,
                "state": "queued",
            }
        )

    def _social_post_inbound(self, values, identity):
        """The customer's message in the chatter, media as its attachment."""
        self.ensure_one()
        attachments, problems = [], []
        media = values["media"]
        if media:
            try:
                content, mime_type = self.channel_id._social_adapter().download_media(media)
                filename = social_tools.media_filename(
                    dict(media, mime_type=media["mime_type"] or mime_type)
                )
                attachments.append((filename, content))
            except social_tools.ProviderError as error:
                problems.append(error.message)
        text = values["text"]
        body = Markup("<p>%s</p>") % escape(text).replace("\n", Markup("<br/>")) if text else ""
        partner = identity.partner_id
        # not subscribed: replies reach the customer over the messenger, not by e-mail
        message = self.with_context(
            mail_create_nosubscribe=True, **{INBOUND_CONTEXT: True}
        ).message_post(
            body=body,
            author_id=partner.id or False,
            email_from=partner.email_formatted
            or identity.name
            or values["phone"]
            or values["sender_id"],
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            attachments=attachments,
        )
        message.sudo().write(
            {"omnichannel_social_id": values["message_id"], "omnichannel_social_state": "received"}
        )
        for problem in problems:
            self._social_note(
                _(
                    "The customer sent a %(type)s that could not be downloaded: %(error)s",
                    type=media["type"],
                    error=problem,
                )
            )
        return message

    @api.model
    def _social_apply_statuses(self, channel, statuses):
        """Record delivered / read / failed on the agents' messages."""
        Message = self.env["mail.message"].sudo()
        count = 0
        for status in statuses:
            new_state = status["status"]
            if new_state not in (*social_tools.STATUS_ORDER, "failed"):
                continue
            message = Message.search(
                [
                    ("omnichannel_social_id", "=", status["message_id"]),
                    ("model", "=", self._name),
                ],
                limit=1,
            )
            interaction = self.sudo().browse(message.res_id).exists() if message else self
            if not interaction or interaction.channel_id != channel:
                continue
            current = message.omnichannel_social_state
            if new_state == "failed":
                if current == "failed":
                    continue
                message.write(
                    {
                        "omnichannel_social_state": "failed",
                        "omnichannel_social_error": status["error"] or False,
                    }
                )
                interaction._social_note(
                    _(
                        "The platform could not deliver a reply to the customer: %(error)s",
                        error=status["error"] or _("no reason given"),
                    )
                )
            elif current in social_tools.STATUS_ORDER and social_tools.STATUS_ORDER.index(
                new_state
            ) > social_tools.STATUS_ORDER.index(current):
                message.omnichannel_social_state = new_state
            else:
                continue
            count += 1
        return count

    # ------------------------------------------------------------------
    # Outbound: agents' replies
    # ------------------------------------------------------------------
    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        message = super().message_post(**kwargs)
        if self._social_should_send(message):
            self._social_send(message)
        return message

    def _message_compute_author(self, author_id=None, email_from=None, raise_on_email=True):
        # a reply over a messenger needs no e-mail address of its author
        if self and all(rec.channel_type == "social" for rec in self):
            raise_on_email = False
        return super()._message_compute_author(
            author_id=author_id, email_from=email_from, raise_on_email=raise_on_email
        )

    def _social_should_send(self, message):
        """Customer-visible messages of our side only: not notes, not the
        customer's own messages coming in."""
        if len(self) != 1 or self.channel_type != "social" or self.env.context.get(INBOUND_CONTEXT):
            return False
        if message.message_type != "comment" or message.subtype_id != self.env.ref(
            "mail.mt_comment"
        ):
            return False
        author = message.sudo().author_id
        return bool(author) and bool(author.user_ids.filtered(lambda u: not u.share))

    def _social_send(self, message):
        """Send ``message`` to the customer; a failure is written on it and in
        the chatter, never lost silently."""
        self.ensure_one()
        rec = self.sudo()
        channel = rec.channel_id
        platform = dict(social_tools.PLATFORMS).get(channel.social_platform, "")
        recipient = rec.social_identity_id.external_id or rec.contact_address
        text = html2plaintext(message.body or "").strip()
        try:
            if not recipient:
                raise social_tools.ProviderError(_("This conversation has no recipient."))
            if message.attachment_ids and not text:
                raise social_tools.ProviderError(
                    _("Files are not sent over messengers yet: write the reply as text.")
                )
            platform_id = channel._social_adapter().send_text(recipient, text)
        except social_tools.ProviderError as error:
            _logger.warning("Reply of %s not sent over %s: %s", rec.name, platform, error.message)
            message.sudo().write(
                {"omnichannel_social_state": "failed", "omnichannel_social_error": error.message}
            )
            rec._social_note(
                _(
                    "Not delivered to the customer over %(platform)s: %(error)s",
                    platform=platform,
                    error=error.message,
                )
            )
            return False
        message.sudo().write(
            {"omnichannel_social_id": platform_id, "omnichannel_social_state": "sent"}
        )
        if message.attachment_ids:
            rec._social_note(
                _("Only the text was sent over %(platform)s, not the files.", platform=platform)
            )
        return True

    def _social_note(self, text):
        """An internal note from OdooBot (never sent to the customer)."""
        self.ensure_one()
        self.sudo().message_post(
            body=Markup("<p>%s</p>") % text,
            author_id=self.env.ref("base.partner_root").id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
