import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, html2plaintext

from odoo.addons.omnichannel_cc.models.res_partner import normalize_email
from odoo.addons.omnichannel_cc.tools import address as address_tools
from odoo.addons.omnichannel_cc.tools import routing

_logger = logging.getLogger(__name__)


class OmnichannelInteraction(models.Model):
    """Web chat interactions: one per live chat session (discuss.channel).

    The conversation is mirrored into the interaction's chatter as it is
    posted, from a watermark (the last copied message id), so each message
    and file lands exactly once; closing either side ends the other."""

    _inherit = "omnichannel.interaction"

    chat_synced_message_id = fields.Integer(
        readonly=True, copy=False, help="Last chat message copied to the chatter."
    )

    # ------------------------------------------------------------------
    # Offer to the operator of the session
    # ------------------------------------------------------------------
    def _chat_offer(self, operator, queue=None):
        """Queue a new chat and offer it to its session's operator (the
        ACD's choice at session start), in ``queue`` (the routed queue or
        the overflow queue where the operator was found). Anybody else of
        the queue when the operator is no longer free; they join the chat
        when they accept (_chat_join)."""
        self.ensure_one()
        # sudo: the visitor's session starts it: queued and offered by the ACD, as superuser
        rec = self.sudo()
        if rec.state != "new":  # the routing already ended it (closed queue)
            return
        if queue and queue != rec.queue_id:
            rec.write({"queue_id": queue.id, "overflow_count": rec.overflow_count + 1})
        rec.action_queue()
        if operator:
            # A concurrent session may be taking this operator's last chat
            # slot: wait for it. When it commits, PostgreSQL raises a
            # serialization failure here and Odoo replays the request, whose
            # operator choice then sees the new load.
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM omnichannel_agent WHERE user_id = %s FOR UPDATE",
                    operator.id,
                ),
                log_exceptions=False,
            )
            queue = rec.queue_id
            rows = queue._agent_rows(user_ids=operator.ids)
            ordered = routing.order_candidates(
                queue.strategy,
                queue._candidates(rec, rows, set()) if rows else [],
                required_skill=bool(rec.required_skill_id),
            )
            if ordered and queue._offer(rec, ordered[:1]):
                return
        rec.queue_id._dispatch()

    def _chat_join(self):
        """The agent who took a chat joins its live chat session."""
        # sudo: agents are no members of the visitor's session yet; they are added to it
        for rec in self.sudo().filtered(lambda i: i.discuss_channel_id and i.agent_id):
            session = rec.discuss_channel_id
            partner = rec.agent_id.partner_id
            if not session.livechat_active:
                continue
            if partner not in session.channel_member_ids.partner_id:
                session._add_members(users=rec.agent_id, open_chat_window=True)
            if session.livechat_operator_id != partner:
                session.livechat_operator_id = partner

    def action_answer(self):
        result = super().action_answer()
        self._chat_join()
        return result

    @api.model
    def _console_interactions(self, now):
        """The console opens the conversation of an accepted web chat: each
        row says which live chat session (discuss.channel) it is."""
        rows = super()._console_interactions(now)
        # sudo: as the rows: the user's own interactions, of every company
        sessions = {
            rec.id: rec.discuss_channel_id.id
            for rec in self.sudo().browse([row["id"] for row in rows])
            if rec.channel_type == "chat"
        }
        for row in rows:
            row["discuss_channel_id"] = sessions.get(row["id"]) or False
        return rows

    def _chat_missed(self):
        """Nobody could take the chat: the interaction is missed, not lost.
        The queue's call-back action (closed hours or overflow) applies."""
        now = fields.Datetime.now()
        # sudo: the visitor's request ends it as missed, and may ask for a call-back
        for rec in self.sudo().filtered(lambda i: i.state == "new"):
            queue = rec.queue_id
            closed = not queue._is_open()
            rec._set_state(
                "missed",
                end_reason="closed" if closed else "no_agent",
                date_ended=now,
                date_closed=now,
            )
            action = queue.closed_action if closed else queue.overflow_action
            if action == "callback":
                rec._schedule_callback(
                    _("Chat not answered in %(queue)s: nobody was available.", queue=queue.name)
                )

    def _chat_on_message(self, message):
        """A message in the session: the operator answering in the chat
        accepts the offer; the message goes to the chatter."""
        self.ensure_one()
        # sudo: the poster (visitor, operator) may not read it; the offer is checked as theirs
        rec = self.sudo()
        if rec.state == "offered" and message.author_id.user_ids:
            now = fields.Datetime.now()
            offer = rec.offer_ids.filtered(
                lambda o: (
                    o.state == "pending"
                    and o.user_id in message.author_id.user_ids
                    and (not o.date_expire or o.date_expire > now)
                )
            )[:1]
            if offer:
                try:
                    with self.env.cr.savepoint():
                        offer.action_accept()
                except UserError as error:
                    # taken meanwhile: the message is posted anyway
                    _logger.info("%s: chat answer did not accept the offer: %s", rec.name, error)
        step = rec.discuss_channel_id.chatbot_current_step_id
        if (
            step.step_type == "question_email"
            and message.author_id != step.chatbot_script_id.operator_partner_id
        ):
            rec._chat_identify_email(html2plaintext(message.body or ""))
        rec._chat_sync_transcript()

    def _chat_identify_email(self, text):
        """An anonymous visitor gave their e-mail to the chatbot: it becomes
        the contact address and identifies the customer when known."""
        self.ensure_one()
        try:
            email = normalize_email(text.strip())
        except address_tools.AddressError:
            return  # the chatbot asks again
        vals = {"contact_address": email}
        if not self.partner_id:
            # sudo: the visitor may not search customers; only the match's id is used
            matches = self.env["res.partner"].sudo().omnichannel_identify(email, "email")
            if matches:
                vals["partner_id"] = matches[0]["id"]
        # sudo: the visitor may not write the interaction; only its address and customer
        self.sudo().write(vals)

    # ------------------------------------------------------------------
    # Transcript
    # ------------------------------------------------------------------
    def _chat_sync_transcript(self):
        """Copy the chat messages not copied yet (text and files) to the
        chatter. Idempotent: a watermark on the interaction row, written in
        the same transaction, so concurrent posts serialize on it."""
        # sudo: the poster may not read the interaction; the session's messages and files are copied
        interactions = self.sudo()
        Message = interactions.env["mail.message"]
        for rec in interactions.filtered("discuss_channel_id"):
            messages = Message.search(
                [
                    ("model", "=", "discuss.channel"),
                    ("res_id", "=", rec.discuss_channel_id.id),
                    ("message_type", "=", "comment"),
                    ("id", ">", rec.chat_synced_message_id),
                ],
                order="id",
            )
            if not messages:
                continue
            session = rec.discuss_channel_id
            thread = rec.with_context(mail_create_nosubscribe=True, mail_post_autofollow=False)
            for message in messages:
                attachments = message.attachment_ids
                copies = attachments.browse()
                for attachment in attachments:
                    copies |= attachment.copy({"res_model": rec._name, "res_id": rec.id})
                if not message.body and not copies:
                    continue
                author = message.author_id
                guest = message.author_guest_id
                copy = thread.message_post(
                    body=message.body,
                    author_id=author.id or False,
                    email_from=(author.email_formatted if author else False)
                    or guest.name
                    or session.anonymous_name
                    or _("Visitor"),
                    date=message.date,
                    message_type="comment",
                    subtype_xmlid="mail.mt_note",
                )
                if copies:
                    # linked here: message_post keeps only a portal poster's
                    # own pending uploads, and the poster may be the visitor
                    copy.attachment_ids = [Command.set(copies.ids)]
            rec.chat_synced_message_id = messages[-1].id

    # ------------------------------------------------------------------
    # End of the chat, from either side
    # ------------------------------------------------------------------
    def _chat_session_closed(self):
        """The visitor left (or the session was closed): end the interaction."""
        # sudo: the visitor may not write the interaction; leaving ends or abandons it
        for rec in self.sudo():
            rec._chat_sync_transcript()
            if rec.state == "active":
                rec.action_end()
            elif rec.state in ("new", "queued", "offered"):
                rec.action_abandon()

    def _chat_close_session(self):
        """The agent ended the chat: close the live chat session for the visitor."""
        # sudo: agents may not close the session nor post as OdooBot; the interaction's own
        for rec in self.sudo().filtered("discuss_channel_id"):
            rec._chat_sync_transcript()
            session = rec.discuss_channel_id
            if not session.livechat_active:
                continue
            session.with_context(omnichannel_chat_closing=True).livechat_active = False
            session.message_post(
                author_id=self.env.ref("base.partner_root").id,
                body=Markup('<div class="o_mail_notification o_hide_author">%s</div>')
                % _(
                    "%(agent)s closed the conversation.",
                    agent=rec.agent_id.name or _("The agent"),
                ),
                message_type="notification",
                subtype_xmlid="mail.mt_comment",
            )

    def action_end(self):
        result = super().action_end()
        self._chat_close_session()
        # the sweep closes the chat when its wrap-up time is over (also
        # when its agent has no wrap-up of their own to wake it up)
        # sudo: whoever ends the chat (visitor, agent) wakes the ACD's sweep
        sweep = self.env.ref("omnichannel_cc.ir_cron_acd_sweep").sudo()
        for rec in self.filtered(lambda i: i.channel_type == "chat" and i.state == "wrapup"):
            sweep._trigger(rec.date_ended + timedelta(seconds=rec.queue_id.wrapup_seconds))
        return result

    def action_close(self):
        result = super().action_close()
        self._chat_close_session()
        return result
