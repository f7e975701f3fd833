import logging
import time
from datetime import timedelta

from markupsafe import Markup, escape

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, html2plaintext

from odoo.addons.omnichannel_cc.tools import upload as upload_tools

from ..tools import social as social_tools

_logger = logging.getLogger(__name__)

# a conversation new messages of the same sender join
OPEN_STATES = ("new", "queued", "offered", "active")
INBOUND_CONTEXT = "omnichannel_social_inbound"
# the transaction's replies to send once it commits (cr.postcommit.data)
POSTCOMMIT_KEY = "omnichannel_cc.social_outgoing"
# defaults of the ir.config_parameter omnichannel_cc.social_retry_minutes,
# .social_max_attempts, .social_retry_batch
RETRY_MINUTES = 5
MAX_ATTEMPTS = 3
RETRY_BATCH = 50
RECORD_TRIES = 3


def _fresh_env(cr, lang):
    return api.Environment(cr, SUPERUSER_ID, {"lang": lang} if lang else {})


def social_deliver(registry, lang, message_ids=None, cutoff=None):
    """Send outgoing replies, outside the transaction that queued them: the
    postcommit hook (``message_ids``, first attempts) or the retry cron
    (``cutoff``, after expiring the replies out of attempts). Each step has
    its own cursor: the claim is committed before the HTTP call, the outcome
    recorded after it. Returns the number of replies tried."""
    if cutoff:
        with registry.cursor() as cr:
            env = _fresh_env(cr, lang)
            env["omnichannel.interaction"]._social_expire(cutoff)
    # the claim is committed (and visible to every worker) before any send
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            with registry.cursor() as cr:
                env = _fresh_env(cr, lang)
                Interaction = env["omnichannel.interaction"]
                jobs = Interaction._social_claim(message_ids=message_ids, cutoff=cutoff)
            break
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            # a concurrent claim or status update: a new snapshot sees it
            if attempt == RECORD_TRIES:
                raise
            time.sleep(0.1 * attempt)
    for job in jobs:
        platform_id, error = None, job["error"]
        if not error:
            try:
                platform_id = job["adapter"].send_text(job["recipient"], job["text"])
            except social_tools.ProviderError as provider_error:
                error = provider_error.message
                if provider_error.transient and not job["last_attempt"]:
                    # not sent (no connection, a 5xx): the cron tries again after its back-off
                    _record_outcome(registry, lang, job, None, error, retry=True)
                    continue
            except Exception:
                # outcome unknown: left outgoing, the cron tries again after the delay
                _logger.exception("Sending reply %s failed unexpectedly", job["message_id"])
                continue
        _record_outcome(registry, lang, job, platform_id, error)
    return len(jobs)


def _deliver_after_commit(registry, lang, message_ids):
    """The postcommit hook: the request's transaction is committed, an error
    here must not turn its answer into an error (the cron retries)."""
    try:
        social_deliver(registry, lang, message_ids=message_ids)
    except Exception:
        # logged, never raised: the replies stay outgoing for the cron
        _logger.exception("Sending replies %s after the commit failed", message_ids)


def _record_outcome(registry, lang, job, platform_id, error, retry=False):
    """Record one send's outcome in a transaction of its own, retried on
    concurrency errors; a failure is logged (the reply stays outgoing and
    the cron tries it again after the delay). ``retry``: the send failed
    but will be tried again (the error is noted, the reply stays outgoing)."""
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            with registry.cursor() as cr:
                # a variable: the commit flushes only environments still alive
                env = _fresh_env(cr, lang)
                outcome = {"retry": True} if retry else {"platform_id": platform_id}
                env["omnichannel.interaction"]._social_record(job, error=error, **outcome)
            return True
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            if attempt < RECORD_TRIES:
                time.sleep(0.1 * attempt)
                continue
            _logger.exception(
                "Cannot record the outcome of reply %s (platform id %s, error %s)",
                job["message_id"],
                platform_id,
                error,
            )
        except Exception:
            # the platform got the call: never lose what it answered
            _logger.exception(
                "Cannot record the outcome of reply %s (platform id %s, error %s)",
                job["message_id"],
                platform_id,
                error,
            )
            break
    return False


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
            # sudo: the agent told us who this sender is: their identity learns it for next
            # time, even one the agent's rules hide (another queue's channel)
            identities = self.sudo().social_identity_id.filtered(
                lambda i: i.partner_id.id != vals["partner_id"]
            )
            identities.write({"partner_id": vals["partner_id"]})
        return res

    # ------------------------------------------------------------------
    # Inbound
    # ------------------------------------------------------------------
    @api.model
    def _social_receive(self, channel, events):
        """Apply one webhook's parsed ``(messages, statuses)`` (see tools/social.py)."""
        messages, statuses = events
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
        # sudo: idempotency keys are technical records no user may write
        keys = self.env["omnichannel.event.key"].sudo()
        scope = f"social:{channel.id}"
        message_key = values["message_id"][:255]
        if not keys._claim(scope, message_key):
            return False
        # sudo: the sender's identity is found or made for the platform, not for a user
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
        attachments, problems, refused = [], [], []
        media = values["media"]
        if media:
            try:
                content, mime_type = self.channel_id._social_adapter().download_media(media)
                claimed = media["mime_type"] or mime_type
                # the content has the last word: no HTML, SVG or program is
                # kept, and the name says the type kept (Odoo types a file by it)
                kept_type = upload_tools.received_media_type(content, claimed)
                if kept_type:
                    filename = social_tools.media_filename(dict(media, mime_type=kept_type))
                    attachments.append((upload_tools.media_filename(filename, kept_type), content))
                else:
                    refused.append(claimed or _("unknown"))
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
        # sudo: only the system writes a message's delivery state
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
        for file_type in refused:
            self._social_note(
                _(
                    "The customer sent a %(type)s that was not kept: this type of file is not"
                    " accepted (%(file_type)s): pictures, sound, video, PDF, office documents"
                    " and plain text only.",
                    type=media["type"],
                    file_type=file_type,
                )
            )
        return message

    @api.model
    def _social_apply_statuses(self, channel, statuses):
        """Record delivered / read / failed on the agents' messages."""
        # sudo: the agents' replies, whoever wrote them; only their delivery state changes
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
            # sudo: the reply's interaction, to check it belongs to the reporting channel
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
    #
    # A reply is never sent inside the transaction that posts it: a request
    # retried after a serialization failure, or rolled back, would have sent
    # it anyway. It is queued ("outgoing") and sent after the commit (a
    # postcommit hook, which a rollback discards), in transactions of its
    # own: claim, then HTTP outside any transaction, then the outcome. A reply
    # left outgoing (crash between commit and send, outcome not recorded) is
    # retried by a scheduled action, a bounded number of times.
    # ------------------------------------------------------------------
    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, **kwargs):
        message = super().message_post(**kwargs)
        if self._social_should_send(message):
            self._social_queue(message)
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
        # sudo: only whether one of our users wrote it; partner rules may hide the author
        author = message.sudo().author_id
        return bool(author) and bool(author.user_ids.filtered(lambda u: not u.share))

    def _social_queue(self, message):
        """Mark ``message`` outgoing; send it once this transaction commits."""
        self.ensure_one()
        # sudo: only the system writes a message's delivery state (the agent's own reply)
        message.sudo().write(
            {
                "omnichannel_social_state": "outgoing",
                "omnichannel_social_error": False,
                "omnichannel_social_attempts": 0,
                "omnichannel_social_queued_at": fields.Datetime.now(),
            }
        )
        postcommit = self.env.cr.postcommit
        # one hook per transaction for all its replies; a rollback clears both
        pending = postcommit.data.setdefault(POSTCOMMIT_KEY, [])
        if not pending:
            registry, lang = self.env.registry, self.env.lang
            postcommit.add(lambda: _deliver_after_commit(registry, lang, pending))
        pending.append(message.id)

    @api.model
    def _cron_social_retry(self):
        """Scheduled action: send the replies left outgoing for too long."""
        delay, _attempts, _batch = self._social_retry_settings()
        return social_deliver(
            self.env.registry,
            self.env.lang,
            cutoff=fields.Datetime.now() - timedelta(minutes=delay),
        )

    @api.model
    def _social_retry_settings(self):
        """(minutes before a retry, maximum attempts, batch size)."""
        # sudo: agents may not read ir.config_parameter; only the retry settings
        params = self.env["ir.config_parameter"].sudo()

        def number(key, default):
            try:
                return max(1, int(params.get_param(key, default)))
            except ValueError:
                return default

        return (
            number("omnichannel_cc.social_retry_minutes", RETRY_MINUTES),
            number("omnichannel_cc.social_max_attempts", MAX_ATTEMPTS),
            number("omnichannel_cc.social_retry_batch", RETRY_BATCH),
        )

    @api.model
    def _social_claim(self, message_ids=None, cutoff=None):
        """Claim outgoing replies for this worker only, in the caller's own
        transaction (to commit before any HTTP call): FOR UPDATE SKIP LOCKED,
        then a conditional UPDATE counting the attempt; a claimed reply is not
        claimable again for the retry delay, so two workers never send the
        same reply. ``message_ids``: first attempts of these replies (the
        postcommit hook); else ``cutoff``: replies queued or last tried before
        it (the cron). Returns the jobs to send (see :meth:`_social_prepare`).
        """
        delay, max_attempts, batch = self._social_retry_settings()
        self.env["mail.message"].flush_model()
        if message_ids:
            which = SQL(
                "AND id IN %s AND COALESCE(omnichannel_social_attempts, 0) = 0",
                tuple(message_ids),
            )
            limit = len(message_ids)
        else:
            # back-off: the n-th retry waits 2**(n-1) times the delay
            which = SQL(
                """AND omnichannel_social_queued_at < %s
                   AND COALESCE(omnichannel_social_attempts, 0) < %s
                   AND omnichannel_social_queued_at + interval '1 minute' * %s
                       * power(2, GREATEST(COALESCE(omnichannel_social_attempts, 0) - 1, 0))
                       <= %s""",
                cutoff,
                max_attempts,
                delay,
                cutoff + timedelta(minutes=delay),
            )
            limit = batch
        self.env.cr.execute(
            SQL(
                """UPDATE mail_message m
                      SET omnichannel_social_attempts =
                              COALESCE(m.omnichannel_social_attempts, 0) + 1,
                          omnichannel_social_queued_at = now() AT TIME ZONE 'UTC'
                    WHERE m.id IN (
                        SELECT id FROM mail_message
                         WHERE omnichannel_social_state = 'outgoing' AND model = %s %s
                         ORDER BY id
                         LIMIT %s
                           FOR UPDATE SKIP LOCKED)
                      AND m.omnichannel_social_state = 'outgoing'
                RETURNING m.id""",
                self._name,
                which,
                limit,
            )
        )
        # sudo: the claimed replies of every agent (the delivery runs outside their sessions)
        messages = self.env["mail.message"].sudo().browse([r[0] for r in self.env.cr.fetchall()])
        messages.invalidate_recordset(
            ["omnichannel_social_attempts", "omnichannel_social_queued_at"]
        )
        return [self._social_prepare(message) for message in messages.sorted("id")]

    @api.model
    def _social_expire(self, cutoff):
        """Replies still unconfirmed after the last attempt become failed."""
        _delay, max_attempts, _batch = self._social_retry_settings()
        self.env["mail.message"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT id FROM mail_message
                    WHERE omnichannel_social_state = 'outgoing' AND model = %s
                      AND omnichannel_social_queued_at < %s
                      AND omnichannel_social_attempts >= %s
                    ORDER BY id
                      FOR UPDATE SKIP LOCKED""",
                self._name,
                cutoff,
                max_attempts,
            )
        )
        # sudo: the expired replies of every agent (the retry cron's work)
        messages = self.env["mail.message"].sudo().browse([r[0] for r in self.env.cr.fetchall()])
        error = _(
            "The platform did not confirm this reply after %(count)s attempts: "
            "check on the platform whether the customer got it.",
            count=max_attempts,
        )
        for message in messages:
            message.write({"omnichannel_social_state": "failed", "omnichannel_social_error": error})
            # sudo: the interaction of each expired reply, for OdooBot's note
            interaction = self.sudo().browse(message.res_id).exists()
            if interaction:
                interaction._social_note(_("Not delivered to the customer: %(error)s", error=error))
        return messages

    @api.model
    def _social_prepare(self, message):
        """Everything a send needs, as plain values (used after the claim's
        transaction has ended): a dict with ``message_id``, ``interaction_id``,
        ``platform``, ``recipient``, ``text``, ``files``, and ``adapter`` or
        ``error`` (a reply that cannot be sent at all)."""
        # sudo: the reply's interaction, whoever's, for what the send needs (recipient, channel)
        interaction = self.sudo().browse(message.res_id).exists()
        job = {
            "message_id": message.id,
            "interaction_id": interaction.id,
            "name": interaction.name or "",
            "platform": "",
            "recipient": "",
            "text": html2plaintext(message.body or "").strip(),
            "files": bool(message.attachment_ids),
            "adapter": None,
            "error": None,
            # the claim counted this attempt
            "last_attempt": message.omnichannel_social_attempts >= self._social_retry_settings()[1],
        }
        if not interaction:
            job["error"] = _("The conversation of this reply no longer exists.")
            return job
        channel = interaction.channel_id
        job["platform"] = dict(social_tools.PLATFORMS).get(channel.social_platform, "")
        job["recipient"] = interaction.social_identity_id.external_id or interaction.contact_address
        try:
            if not job["recipient"]:
                raise social_tools.ProviderError(_("This conversation has no recipient."))
            if job["files"] and not job["text"]:
                raise social_tools.ProviderError(
                    _("Files are not sent over messengers yet: write the reply as text.")
                )
            job["adapter"] = channel._social_adapter()
        except social_tools.ProviderError as error:
            job["error"] = error.message
        return job

    @api.model
    def _social_record(self, job, platform_id=None, error=None, retry=False):
        """Write a send's outcome on the reply and, when useful, in the chatter.
        Only a reply still outgoing is touched (never undo a later outcome).
        ``retry``: a failed attempt to be tried again; the reply stays outgoing,
        its error shown."""
        # sudo: the sent reply of any agent; only its delivery state is written
        message = self.env["mail.message"].sudo().browse(job["message_id"]).exists()
        if not message or message.omnichannel_social_state != "outgoing":
            return False
        if retry:
            _logger.info(
                "Reply of %s not sent over %s yet: %s", job["name"], job["platform"], error
            )
            message.write({"omnichannel_social_error": error})
            return True
        # sudo: its interaction, for OdooBot's note on the outcome
        interaction = self.sudo().browse(job["interaction_id"]).exists()
        if error:
            _logger.warning("Reply of %s not sent over %s: %s", job["name"], job["platform"], error)
            message.write({"omnichannel_social_state": "failed", "omnichannel_social_error": error})
            if interaction:
                interaction._social_note(
                    _(
                        "Not delivered to the customer over %(platform)s: %(error)s",
                        platform=job["platform"],
                        error=error,
                    )
                )
            return True
        message.write(
            {
                "omnichannel_social_id": platform_id,
                "omnichannel_social_state": "sent",
                "omnichannel_social_error": False,
            }
        )
        if job["files"] and interaction:
            interaction._social_note(
                _(
                    "Only the text was sent over %(platform)s, not the files.",
                    platform=job["platform"],
                )
            )
        return True

    def _social_note(self, text):
        """An internal note from OdooBot (never sent to the customer)."""
        self.ensure_one()
        # sudo: OdooBot's note, posted whoever reports (the delivery, a webhook, an agent)
        self.sudo().message_post(
            body=Markup("<p>%s</p>") % text,
            author_id=self.env.ref("base.partner_root").id,
            message_type="comment",
            subtype_xmlid="mail.mt_note",
        )
