"""SMS conversations on interactions.

Inbound: a gateway's callback (``controllers/main.py``) hands each received
SMS to :meth:`OmnichannelInteraction._sms_receive`: stored once per gateway
message id; an opt-out keyword puts the number on ``phone.blacklist``
before anything else; the message joins the customer's open SMS
conversation on the channel (if they texted within the channel's window)
or opens a new interaction, routed by the ACD. Delivery reports reach
:meth:`OmnichannelInteraction._sms_status_inbox` through the event inbox and
go to ``sms.sms._omnichannel_apply_reports``.

Outbound: agents answer with :meth:`action_sms_reply` (the console) or
Odoo's SMS composer (:meth:`action_send_sms`); both post an SMS message
(``message_type`` sms) whose ``sms.sms`` the channel's gateway sends from
the queue (``models/sms_sms.py``).
"""

import dataclasses
import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, html2plaintext

from odoo.addons.omnichannel_cc.models.omnichannel_agent import notify_console
from odoo.addons.omnichannel_cc.tools import address as address_tools

from ..tools import sms_encoding, sms_keywords, sms_providers
from .sms_sms import CHANNEL_CONTEXT

_logger = logging.getLogger(__name__)

# Channel types whose contact address is a number that can receive an SMS
# (a fax number cannot).
SMS_CHANNEL_TYPES = ("phone", "sms")
# a conversation new messages of the same customer join
OPEN_STATES = ("new", "queued", "offered", "active")
CONSOLE_MESSAGES = 20
# notification status of an SMS -> what the console shows
CONSOLE_STATES = {
    "ready": "outgoing",
    "process": "sending",
    "pending": "sent",
    "sent": "delivered",
    "bounce": "failed",
    "exception": "failed",
    "canceled": "canceled",
}


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    sms_number = fields.Char(
        string="SMS number",
        compute="_compute_sms_number",
        inverse="_inverse_sms_number",
        help="The customer's number on this phone or SMS interaction; the SMS "
        "composer falls back on the customer's mobile and phone otherwise.",
    )
    sms_last_date = fields.Datetime(
        string="Last SMS",
        readonly=True,
        copy=False,
        help="When the last SMS of this conversation was received or sent: a customer's "
        "message within the channel's window joins it.",
    )

    @api.depends("contact_address", "channel_type")
    def _compute_sms_number(self):
        for interaction in self:
            interaction.sms_number = (
                interaction.contact_address
                if interaction.channel_type in SMS_CHANNEL_TYPES
                else False
            )

    def _inverse_sms_number(self):
        # the composer writes back a number the agent corrected
        for interaction in self:
            if interaction.channel_type in SMS_CHANNEL_TYPES or not interaction.contact_address:
                number = interaction.sms_number
                interaction.contact_address = (
                    number and interaction._phone_format(number=number)
                ) or number

    # ------------------------------------------------------------------
    # SMS / phone hooks (see sms and phone_validation models.py)
    # ------------------------------------------------------------------
    @api.model
    def _phone_get_number_fields(self):
        return ["sms_number"]

    def _phone_get_country(self):
        """Partner's country (default), else the interaction's company's.

        The default fallback is the current user's company, which would
        make the formatted number depend on who sends the SMS.
        """
        countries = super()._phone_get_country()
        for interaction in self:
            if interaction.id not in countries and interaction.company_id.country_id:
                countries[interaction.id] = interaction.company_id.country_id
        return countries

    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        message = super().message_post(**kwargs)
        if kwargs.get("message_type") == "sms" and len(self) == 1:
            if self.channel_type == "sms":
                # sudo: the conversation's clock, set by whoever texts (agent, gateway)
                self.sudo().sms_last_date = fields.Datetime.now()
            self._sms_notify_console()
        return message

    def _message_compute_author(self, author_id=None, email_from=None, raise_on_email=True):
        # a text message needs no e-mail address of its author (an agent
        # without one still answers by SMS), as for the social channels
        if self and all(rec.channel_type == "sms" for rec in self):
            raise_on_email = False
        return super()._message_compute_author(
            author_id=author_id, email_from=email_from, raise_on_email=raise_on_email
        )

    def _sms_notify_console(self):
        """The agents' consoles show the conversations: reload them."""
        # sudo: the agents' ids only, whoever posts (the gateway, the queue)
        notify_console(self.env, self.sudo().agent_id)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_send_sms(self):
        """Open the SMS composer posting on this interaction."""
        self.ensure_one()
        if not self.partner_id and not self.sms_number:
            raise UserError(
                _(
                    "Interaction %(name)s has neither a customer nor a phone number to text.",
                    name=self.name,
                )
            )
        return {
            "type": "ir.actions.act_window",
            "name": _("Send SMS"),
            "res_model": "sms.composer",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_res_model": self._name,
                "default_res_id": self.id,
                "default_composition_mode": "comment",
            },
        }

    def action_sms_reply(self, body, confirm_blacklisted=False):
        """The agent's SMS to the customer of their own interaction.

        Queued through the interaction's SMS channel (a phone interaction's:
        the company's first SMS channel), posted in the chatter as Odoo's
        SMS messages are, sent by the SMS queue after the commit. Returns
        ``{"sms_id", "state", "encoding", "segments"}``; to a blacklisted
        number nothing is sent unless ``confirm_blacklisted``: the answer
        is then ``{"warning", "blacklisted": True}``.
        """
        self.ensure_one()
        self._check_console_own()
        text = (body or "").strip() if isinstance(body, str) else ""
        if not text:
            raise UserError(_("Write the message to send."))
        channel = self._sms_channel()
        if not channel:
            raise UserError(
                _(
                    "%(company)s has no SMS channel to text from: a manager creates one under "
                    "Contact Center / Configuration / Channels.",
                    company=self.company_id.name,
                )
            )
        info = self._sms_get_recipients_info(force_field="sms_number")[self.id]
        number = info["sanitized"] or info["number"]
        if not number:
            raise UserError(
                _("%(name)s has no number to text: add the customer's mobile.", name=self.name)
            )
        if not confirm_blacklisted and self._sms_is_blacklisted(number):
            return {
                "warning": _(
                    "%(number)s asked to receive no more messages (blacklisted). Send this "
                    "reply anyway only if the customer expects it.",
                    number=number,
                ),
                "blacklisted": True,
            }
        if channel.sms_transliterate:
            text = sms_encoding.transliterate(text)
        message = self.with_context(**{CHANNEL_CONTEXT: channel.id})._message_sms(
            text, number_field="sms_number", put_in_queue=True
        )
        # sudo: agents may not read the queue; the id and state of their own message
        sms = self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)], limit=1)
        analysis = sms_encoding.analyze(text)
        return {
            "sms_id": sms.id,
            "message_id": message.id,
            "state": sms.state,
            "encoding": analysis["encoding"],
            "segments": analysis["segments"],
        }

    # ------------------------------------------------------------------
    # Channel, blacklist
    # ------------------------------------------------------------------
    def _sms_channel(self):
        """The SMS channel this interaction's SMS go through: its own for an
        SMS interaction, else the company's first SMS channel (may be empty)."""
        self.ensure_one()
        # sudo: the channel's settings are read to send, whoever the sender
        interaction = self.sudo()
        if interaction.channel_type == "sms":
            return interaction.channel_id
        return self.env["omnichannel.channel"]._sms_default_channel(interaction.company_id)

    @api.model
    def _sms_is_blacklisted(self, number):
        sanitized = self._sms_sanitize(number)
        if not sanitized:
            return False
        # sudo: agents may not read the blacklist; only whether this number is on it
        return bool(
            self.env["phone.blacklist"].sudo().search_count([("number", "=", sanitized)], limit=1)
        )

    @api.model
    def _sms_sanitize(self, number, company=None):
        """E.164 of ``number`` read in ``company``'s country, or False."""
        if not number:
            return False
        region = self._company_phone_region(company or self.env.company)
        try:
            return address_tools.phone_candidates(number, [region] if region else [])[0]
        except address_tools.AddressError:
            return False

    @api.model
    def _sms_may_send(self, number, transactional=False):
        """Whether a message may be texted to ``number``: campaign and survey
        messages (``transactional`` False) never to a blacklisted number;
        transactional ones (an agent's reply, a confirmation) may, the agent
        being warned first (see :meth:`action_sms_reply`)."""
        if transactional:
            return bool(number)
        return bool(number) and not self._sms_is_blacklisted(number)

    # ------------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------------
    @api.model
    def _sms_receive(self, channel, message):
        """Apply one received SMS (``sms_providers.Inbound``) of ``channel``;
        a message id already received changes nothing."""
        # sudo: idempotency keys are technical records no user may write
        keys = self.env["omnichannel.event.key"].sudo()
        scope = f"sms:{channel.id}"
        key = message.provider_id[:255]
        if not keys._claim(scope, key):
            return {"received": 0, "duplicate": True}
        number = self._sms_sanitize(message.sender, channel.company_id)
        contact = number or message.sender
        self._sms_lock_conversation(channel, contact)
        keyword = None
        if number:
            keyword = sms_keywords.match_keyword(
                message.text,
                channel.sms_optout_keywords,
                channel.sms_optin_keywords,
                channel.sms_help_keywords,
            )
        blacklisted = bool(number) and self._sms_is_blacklisted(number)
        # sudo: no user may write the blacklist; only the customer's own STOP / START does
        Blacklist = self.env["phone.blacklist"].sudo()
        if keyword == sms_keywords.OPTOUT:
            # first of all: nothing may be texted to this number from now on
            Blacklist._add(
                [number],
                message=_("Opted out by SMS to %(channel)s.", channel=channel.display_name),
            )
        elif keyword == sms_keywords.OPTIN and blacklisted:
            Blacklist._remove(
                [number],
                message=_("Opted in again by SMS to %(channel)s.", channel=channel.display_name),
            )
        elif keyword == sms_keywords.OPTIN:
            keyword = None  # "TAK" from a number never blacklisted: an answer to an agent
        partner = self._sms_find_customer(channel, number) if number else self.env["res.partner"]
        interaction = self._sms_open_interaction(channel, partner, contact)
        posted = self.env["mail.message"]
        if keyword and not interaction:
            # no conversation to route for a keyword: logged on the customer
            if partner:
                posted = partner._message_log(
                    body=Markup("<p>%s</p>")
                    % _(
                        "SMS to %(channel)s: %(text)s",
                        channel=channel.display_name,
                        text=message.text,
                    ),
                    author_id=partner.id,
                    message_type="sms",
                )
        else:
            if not interaction:
                interaction = self._sms_create_interaction(channel, partner, contact, message)
            posted = interaction._sms_post_inbound(channel, message, partner, contact)
            if interaction.state == "new" and not interaction.queue_id and channel.queue_id:
                # the customer answers an SMS we sent first (a campaign's):
                # now an agent of the channel's queue takes the conversation
                interaction._set_state("queued", queue_id=channel.queue_id.id)
                interaction._route()
        # answered in the customer's language (else the company's)
        texts = channel.with_context(lang=partner.lang or channel.company_id.partner_id.lang)
        answer = {
            sms_keywords.OPTOUT: (not blacklisted) and texts._sms_optout_answer(),
            sms_keywords.OPTIN: texts._sms_optin_answer(),
            sms_keywords.HELP: texts._sms_help_answer(),
        }.get(keyword)
        if answer:
            self._sms_send_automatic(interaction or partner, channel, number, answer)
        if keyword == sms_keywords.OPTOUT and interaction:
            interaction._sms_note(
                _("%(number)s opted out: it is on the blacklist now.", number=number)
            )
        keys._set_res_id(scope, key, posted.id or None)
        return {
            "received": 1,
            "interaction_id": interaction.id or False,
            "partner_id": partner.id or False,
            "keyword": keyword or False,
        }

    @api.model
    def _sms_lock_conversation(self, channel, contact):
        """Serialize the messages of one number on one channel: a row per
        (channel, number) touched here. A concurrent transaction that
        touched it first makes this one fail to serialize once it commits,
        and Odoo retries the request with a snapshot that sees the
        conversation (and the contact) it created."""
        self.env["omnichannel.event.key"].flush_model()
        self.env.cr.execute(
            SQL(
                """INSERT INTO omnichannel_event_key (scope, key, res_id, create_date)
                   VALUES (%s, %s, NULL, now() AT TIME ZONE 'UTC')
                   ON CONFLICT (scope, key)
                   DO UPDATE SET create_date = EXCLUDED.create_date""",
                f"sms-conversation:{channel.id}",
                contact[:255],
            ),
            log_exceptions=False,
        )

    @api.model
    def _sms_find_customer(self, channel, number):
        """The contact with this number (in any notation); a new one for an
        unknown sender when the channel creates contacts."""
        Partner = self.env["res.partner"]
        try:
            matches = Partner.omnichannel_identify(number, channel_type="phone")
        except ValidationError:
            matches = []
        if matches:
            return Partner.browse(matches[0]["id"])
        if not channel.email_create_partner:
            return Partner
        return Partner.create({"name": number, "mobile": number})

    @api.model
    def _sms_open_interaction(self, channel, partner, contact):
        """The customer's open SMS conversation on ``channel`` they or we
        texted in within the channel's window, or empty."""
        since = fields.Datetime.now() - timedelta(hours=max(channel.sms_session_hours, 1))
        if partner:
            who = ["|", ("partner_id", "=", partner.id), ("contact_address", "=", contact)]
        else:
            who = [("contact_address", "=", contact)]
        return self.search(
            [
                ("channel_id", "=", channel.id),
                ("state", "in", OPEN_STATES),
                ("sms_last_date", ">=", since),
                *who,
            ],
            order="id desc",
            limit=1,
        )

    @api.model
    def _sms_create_interaction(self, channel, partner, contact, message):
        """A new conversation, created and routed once per first message."""

        def create():
            return self.create(
                {
                    "channel_id": channel.id,
                    "company_id": channel.company_id.id,
                    "direction": "inbound",
                    "external_id": message.provider_id[:255],
                    "contact_address": contact,
                    "subject": _("SMS from %(sender)s", sender=partner.display_name or contact)[
                        :250
                    ],
                    "partner_id": partner.id or False,
                    "queue_id": channel.queue_id.id,
                    "state": "queued",
                    "sms_last_date": fields.Datetime.now(),
                }
            )

        interaction, _created = self.with_context(mail_create_nosubscribe=True)._inbound_once(
            channel, message.provider_id[:255], create
        )
        return interaction

    def _sms_post_inbound(self, channel, message, partner, contact):
        """The customer's SMS in the chatter (their message, not sent
        anywhere); an MMS's files are queued for download."""
        self.ensure_one()
        text = message.text or (_("(MMS without text)") if message.media else _("(empty message)"))
        posted = self.with_context(mail_create_nosubscribe=True).message_post(
            body=text,
            author_id=partner.id or False,
            email_from=partner.email_formatted or contact,
            message_type="sms",
            subtype_xmlid="mail.mt_comment",
            partner_ids=[],
        )
        if message.media:
            self.env["omnichannel.sms.media"]._queue(self, channel, posted, message.media)
        return posted

    @api.model
    def _sms_send_automatic(self, record, channel, number, text):
        """An automatic SMS (opt-out confirmation, help) to ``number``,
        logged on ``record`` (the interaction or the contact; none: only
        queued), sent by the queue through ``channel``."""
        if channel.sms_transliterate:
            text = sms_encoding.transliterate(text)
        if record:
            return record.with_context(**{CHANNEL_CONTEXT: channel.id})._message_sms(
                text, partner_ids=[], sms_numbers=[number], put_in_queue=True
            )
        # sudo: the queue is the system's (as Odoo's composer writes it)
        self.env["sms.sms"].sudo().with_context(**{CHANNEL_CONTEXT: channel.id}).create(
            {"number": number, "body": text}
        )
        return self.env["mail.message"]

    def _sms_note(self, text):
        """An internal note from OdooBot (never sent to the customer)."""
        self.ensure_one()
        # sudo: OdooBot's note, posted whoever reports (a cron, a gateway, another agent)
        self.sudo().message_post(
            body=Markup("<p>%s</p>") % text,
            author_id=self.env.ref("base.partner_root").id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )

    @api.model
    def _sms_status(self, channel, reports):
        """Apply a gateway's delivery reports (``sms_providers.Status``)."""
        return self.env["sms.sms"]._omnichannel_apply_reports(channel, reports)

    @api.model
    def _sms_status_inbox(self, channel, payload):
        """Apply the delivery reports the status webhook stored in the event
        inbox (``{"reports": [Status as a dict]}``): a report for a message
        the channel never sent is counted as ``unknown`` and dropped, as the
        webhook did when it applied them at once."""
        names = {item.name for item in dataclasses.fields(sms_providers.Status)}
        reports = [
            sms_providers.Status(**{name: item.get(name) for name in names})
            for item in (payload or {}).get("reports") or ()
            if isinstance(item, dict)
        ]
        return self._sms_status(channel, reports)

    # ------------------------------------------------------------------
    # Agent console
    # ------------------------------------------------------------------
    @api.model
    def _console_interactions(self, now):
        rows = super()._console_interactions(now)
        ids = [row["id"] for row in rows if row.get("channel_type") == "sms"]
        if ids:
            # sudo: the user's own interactions (listed by super as theirs)
            payloads = self.sudo().browse(ids)._sms_console_payload()
            for row in rows:
                if row["id"] in payloads:
                    row["sms"] = payloads[row["id"]]
        return rows

    def _sms_console_payload(self):
        """{interaction id: {"number", "blacklisted", "transliterate",
        "messages": the last SMS, oldest first}} (read as superuser)."""
        # sudo: as the caller: the SMS of the user's own interactions, whoever wrote them
        Message = self.env["mail.message"].sudo()
        result = {}
        for rec in self:
            messages = Message.search(
                [("model", "=", self._name), ("res_id", "=", rec.id), ("message_type", "=", "sms")],
                order="id desc",
                limit=CONSOLE_MESSAGES,
            )
            # sudo: users read only their own messages' notifications; all the SMS states are shown
            notifications = (
                self.env["mail.notification"]
                .sudo()
                .search(
                    [("mail_message_id", "in", messages.ids), ("notification_type", "=", "sms")]
                )
            )
            by_message = {
                notification.mail_message_id.id: notification for notification in notifications
            }
            number = rec.sms_number or rec.partner_id.mobile or rec.partner_id.phone or False
            lines = []
            for message in reversed(messages):
                notification = by_message.get(message.id)
                line = {
                    "id": message.id,
                    "direction": "out" if notification else "in",
                    "body": html2plaintext(message.body or "").strip(),
                    "date": fields.Datetime.to_string(message.date),
                    "state": CONSOLE_STATES.get(notification.notification_status, "outgoing")
                    if notification
                    else "received",
                }
                if notification and line["state"] == "failed":
                    line["error"] = notification.failure_reason or notification.failure_type or ""
                lines.append(line)
            result[rec.id] = {
                "number": number,
                "blacklisted": rec._sms_is_blacklisted(number) if number else False,
                "transliterate": bool(rec._sms_channel().sms_transliterate),
                "messages": lines,
            }
        return result
