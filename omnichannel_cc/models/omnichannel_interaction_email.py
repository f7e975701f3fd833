import hashlib
import logging

from markupsafe import Markup

from odoo import _, api, models
from odoo.exceptions import ValidationError
from odoo.tools import email_normalize, formataddr, parse_contact_from_email

from ..tools import email_gateway
from ..tools import fax as fax_tools
from .omnichannel_interaction import FINAL_STATES, MAX_EXTERNAL_ID

_logger = logging.getLogger(__name__)


class OmnichannelInteraction(models.Model):
    """E-mail and fax channels: mail delivered to a channel's alias.

    Every inbound mail goes through ``_inbound_once`` keyed by its Message-Id.
    A new e-mail from a customer who already has an open e-mail interaction
    on the channel joins it (one conversation, one agent). Replies
    (In-Reply-To / References) land on their interaction; a reply to an
    interaction that is already closed opens a *new* interaction on the same
    case (see ``mail_thread._message_route_process``): the closed one keeps its
    timestamps and durations, the agent gets a fresh contact in the queue with
    the whole history one click away.
    """

    _inherit = "omnichannel.interaction"

    # ------------------------------------------------------------------
    # Mail gateway
    # ------------------------------------------------------------------
    @api.model
    def message_new(self, msg_dict, custom_values=None):
        values = dict(custom_values or {})
        channel = self.env["omnichannel.channel"].browse(values.get("channel_id")).exists()
        if not channel:
            raise ValueError(
                "Mail for omnichannel.interaction must arrive through a channel's alias "
                f"(Message-Id {msg_dict.get('message_id')})"
            )
        if channel.channel_type == "fax":
            return self._message_new_fax(channel, msg_dict)
        if channel.channel_type != "email":
            raise ValueError(f"Channel {channel.display_name} does not receive e-mail")
        return self._message_new_email(channel, msg_dict)

    def message_update(self, msg_dict, update_vals=None):
        res = super().message_update(msg_dict, update_vals=update_vals)
        for rec in self.filtered(lambda i: i.channel_type == "email" and i.partner_id):
            if rec.partner_id not in rec.message_partner_ids:
                rec.message_subscribe(partner_ids=rec.partner_id.ids)
        return res

    def _notify_get_reply_to(self, default=None):
        """Customers answer to the channel's alias, not to the catchall."""
        channels = self.channel_id.filtered("alias_email")
        aliases = channels.sudo()._notify_get_reply_to(default=default) if channels else {}
        res = {rec.id: aliases.get(rec.channel_id.id) for rec in self}
        leftover = self.filtered(lambda rec: not res.get(rec.id))
        if leftover:
            parent = super(OmnichannelInteraction, leftover)
            res.update(parent._notify_get_reply_to(default=default))
        return res

    @api.model
    def _mail_external_id(self, msg_dict):
        """The Message-Id as idempotency key (hashed when it is too long)."""
        message_id = (msg_dict.get("message_id") or "").strip()
        if len(message_id) > MAX_EXTERNAL_ID:
            message_id = "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
        return message_id

    @api.model
    def _mail_headers(self):
        return self.env.context.get("omnichannel_mail_headers") or {}

    @api.model
    def _mail_create_interaction(self, channel, msg_dict, external_id, contact, partner, **extra):
        """A new queued interaction for one inbound mail (e-mail or fax)."""
        return self.create(
            dict(
                {
                    "channel_id": channel.id,
                    "company_id": channel.company_id.id,
                    "direction": "inbound",
                    "external_id": external_id,
                    "contact_address": contact,
                    "subject": (msg_dict.get("subject") or "").strip()[:250] or False,
                    "partner_id": partner.id,
                    "queue_id": channel.queue_id.id,
                    "state": "queued",
                },
                **extra,
            )
        )

    @api.model
    def _message_new_email(self, channel, msg_dict):
        email_from = msg_dict.get("email_from") or ""
        contact = email_normalize(email_from)
        if not contact:
            raise ValueError(f"Cannot read the sender of {msg_dict.get('message_id')}")
        external_id = self._mail_external_id(msg_dict)
        previous = self.browse(self.env.context.get("omnichannel_followup_id")).exists()

        existing = self._api_inbound_find(channel, external_id)
        if existing:
            return existing
        partner = previous.partner_id or self._mail_find_customer(channel, contact, email_from)
        open_interaction = self._mail_open_interaction(channel, partner, contact)
        if open_interaction:
            # one conversation per customer and channel: the mail joins it
            keys = self.env["omnichannel.event.key"].sudo()
            scope = f"interaction:{channel.id}"
            if keys._claim(scope, external_id):
                keys._set_res_id(scope, external_id, open_interaction.id)
            self._mail_set_author(msg_dict, partner)
            return open_interaction

        def create():
            interaction = self._mail_create_interaction(
                channel, msg_dict, external_id, contact, partner, case_id=previous.case_id.id
            )
            if previous:
                interaction._message_log(
                    body=_(
                        "The customer replied to %(previous)s, which was already closed.",
                        previous=previous._get_html_link(),
                    )
                )
            return interaction

        interaction, created = self._inbound_once(channel, external_id, create)
        self._mail_set_author(msg_dict, interaction.partner_id)
        if interaction.partner_id:
            interaction.message_subscribe(partner_ids=interaction.partner_id.ids)
        if created:
            interaction._mail_send_acknowledgement(contact)
        return interaction

    @api.model
    def _mail_find_customer(self, channel, contact, email_from):
        Partner = self.env["res.partner"]
        try:
            matches = Partner.omnichannel_identify(contact, channel_type="email")
        except ValidationError:
            matches = []
        if matches:
            return Partner.browse(matches[0]["id"])
        if not channel.email_create_partner or self._mail_is_own_address(contact):
            return Partner
        name = parse_contact_from_email(email_from)[0] or contact
        return Partner.create({"name": name, "email": contact})

    @api.model
    def _mail_open_interaction(self, channel, partner, contact):
        if partner:
            who = ["|", ("partner_id", "=", partner.id), ("contact_address", "=", contact)]
        else:
            who = [("contact_address", "=", contact)]
        return self.search(
            [
                ("channel_id", "=", channel.id),
                ("direction", "=", "inbound"),
                ("state", "not in", FINAL_STATES),
                *who,
            ],
            order="id desc",
            limit=1,
        )

    @api.model
    def _mail_set_author(self, msg_dict, partner):
        if partner and not msg_dict.get("author_id"):
            msg_dict["author_id"] = partner.id

    @api.model
    def _mail_is_own_address(self, email):
        """Mail from one of our aliases, catchall, bounce or notification
        addresses: answering it would loop."""
        if not email:
            return False
        if self.env["mail.alias"].sudo().search_count([("alias_full_name", "=", email)], limit=1):
            return True
        domains = self.env["mail.alias.domain"].sudo().search([])
        own = set(domains.mapped("catchall_email") + domains.mapped("bounce_email"))
        own.update(domains.mapped("default_from_email"))
        return email in {email_normalize(address) for address in own if address}

    def _mail_send_acknowledgement(self, contact):
        """The channel's acknowledgement, once per new interaction; never to
        robots (RFC 3834 headers, bounces) nor to our own addresses."""
        self.ensure_one()
        template = self.channel_id.email_ack_template_id
        if not template or not self.partner_id:
            return False
        if email_gateway.is_automatic(self._mail_headers()) or self._mail_is_own_address(contact):
            _logger.info("No acknowledgement for %s: automatic mail or own address", self.name)
            return False
        channel = self.channel_id
        self.message_post_with_source(
            template,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
            partner_ids=self.partner_id.ids,
            author_id=self.env.ref("base.partner_root").id,
            email_from=formataddr((channel.company_id.name, channel.alias_email))
            if channel.alias_email
            else None,
        )
        return True

    # ------------------------------------------------------------------
    # Inbound fax (an e-mail with a PDF from an e-mail-to-fax gateway)
    # ------------------------------------------------------------------
    @api.model
    def _message_new_fax(self, channel, msg_dict):
        external_id = self._mail_external_id(msg_dict)
        headers = self._mail_headers()
        number = fax_tools.parse_fax_sender(
            email_from=msg_dict.get("email_from"),
            subject=msg_dict.get("subject"),
            x_fax_from=headers.get("X-Fax-From"),
        )
        contact = False
        if number:
            try:
                contact = self._normalize_contact_address(channel, number)
            except ValidationError:
                contact = False
        has_pdf = any(
            fax_tools.is_pdf(attachment[0], (attachment[2] or {}).get("content_type"))
            if len(attachment) > 2 and isinstance(attachment[2], dict)
            else fax_tools.is_pdf(attachment[0])
            for attachment in msg_dict.get("attachments") or []
        )

        def create():
            partner = self.env["res.partner"]
            if contact:
                matches = self.env["res.partner"].omnichannel_identify(
                    contact, channel_type="phone"
                )
                partner = partner.browse(matches[0]["id"]) if matches else partner
            interaction = self._mail_create_interaction(
                channel, msg_dict, external_id, contact, partner
            )
            notes = []
            if not contact:
                notes.append(_("The fax gateway did not give the sender's number."))
            if not has_pdf:
                notes.append(
                    _(
                        "This fax e-mail has no PDF attachment: check the gateway "
                        "or ask for a resend."
                    )
                )
            for note in notes:
                interaction._message_log(body=Markup("<p><b>%s</b></p>") % note)
            return interaction

        interaction, _created = self._inbound_once(channel, external_id, create)
        self._mail_set_author(msg_dict, interaction.partner_id)
        return interaction
