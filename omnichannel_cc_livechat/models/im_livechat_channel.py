from datetime import UTC

from odoo import api, fields, models
from odoo.tools.misc import hmac

# a visitor's repeated requests within one period are one missed chat
MISSED_CHAT_PERIOD = 600  # seconds


def missed_chat_period(now):
    """The number of the period of MISSED_CHAT_PERIOD that ``now`` (naive UTC) is in."""
    return int(now.replace(tzinfo=UTC).timestamp()) // MISSED_CHAT_PERIOD


def address_key(env, remote_ip):
    """A keyed hash of the visitor's IP address: stable, not reversible
    without the database secret."""
    # sudo: the database secret keys the hash; only the hash leaves this function
    return hmac(env(su=True), "omnichannel-chat-visitor", remote_ip or "unknown")[:24]


class ImLivechatChannel(models.Model):
    """A live chat channel linked to a web chat channel of the contact
    center takes its operators from the channel's queue, chosen by our
    routing rules and ACD instead of im_livechat's least-active operator."""

    _inherit = "im_livechat.channel"

    def _omnichannel_channel(self):
        """The active web chat channel linked to this live chat channel."""
        self.ensure_one()
        if not self.id:
            return self.env["omnichannel.channel"]
        # sudo: visitors and live chat operators may not read contact center channels; the link
        return (
            self.env["omnichannel.channel"]
            .sudo()
            .search(
                [("livechat_channel_id", "=", self.id), ("channel_type", "=", "chat")],
                limit=1,
            )
        )

    @api.depends("user_ids.im_status")
    def _compute_available_operator_ids(self):
        # the visitor (public user) asks whether somebody can chat now: the ACD's
        # choice reads as superuser (_omnichannel_channel, _chat_free_agents)
        linked = self.filtered(lambda livechat: livechat._omnichannel_channel())
        for livechat in linked:
            livechat.available_operator_ids = livechat._omnichannel_channel()._chat_free_agents()
        return super(ImLivechatChannel, self - linked)._compute_available_operator_ids()

    def _get_operator(self, previous_operator_id=None, lang=None, country_id=None):
        """Our ACD's choice for a linked channel. Called twice per session
        (preview, then the persisted session) and by the chatbot's
        forward step: it only reads; the agent is reserved when the
        session is created (discuss.channel create)."""
        channel = self._omnichannel_channel() if len(self) == 1 else None
        if not channel:
            return super()._get_operator(
                previous_operator_id=previous_operator_id, lang=lang, country_id=country_id
            )
        _queue, user = channel._chat_plan(partner=self._omnichannel_visitor_partner())
        return user[:1] or False

    def _omnichannel_visitor_partner(self):
        """The visitor's partner: the chat's visitor (chatbot forward), else
        the logged-in portal / internal user asking for a session."""
        discuss_id = self.env.context.get("omnichannel_discuss_channel_id")
        if discuss_id:
            # sudo: the chatbot's session, which the visitor's request may not read; its visitor
            return self.env["discuss.channel"].sudo().browse(discuss_id)._chat_visitor_partner()
        user = self.env.user
        if user._is_public() or user._is_superuser():
            return self.env["res.partner"]
        return user.partner_id

    def _omnichannel_visitor_key(self, remote_ip):
        """Who asks for a chat, for the key of their missed chat: their
        partner, else their guest (cookie), else their IP address (keyed
        hash: the address itself is not stored)."""
        partner = self._omnichannel_visitor_partner()
        if partner:
            return f"partner-{partner.id}"
        guest = self.env["mail.guest"]._get_guest_from_context()
        if guest:
            return f"guest-{guest.id}"
        return f"ip-{address_key(self.env, remote_ip)}"

    def _omnichannel_missed(self, anonymous_name, remote_ip):
        """A visitor asked for a chat and nobody could take it: a missed
        interaction of the linked channel (none when not linked).

        One per visitor and period of MISSED_CHAT_PERIOD: the missed chat's
        external id is made of them, so a repeat finds it again
        (``_inbound_once``) and writes nothing. New missed chats from one
        IP address are limited per period (``chat_missed_rate_ip``): beyond,
        nothing is written either. The visitor is told nobody is available
        in every case."""
        self.ensure_one()
        channel = self._omnichannel_channel()
        # sudo: the visitor's request records the missed chat as an interaction of the queue
        Interaction = self.env["omnichannel.interaction"].sudo()
        if not channel:
            return Interaction
        period = missed_chat_period(fields.Datetime.now())
        external_id = f"missed:{self._omnichannel_visitor_key(remote_ip)}:{period}"
        existing = Interaction._api_inbound_find(channel, external_id)
        if existing:
            return existing
        if not channel._chat_missed_rate_claim(address_key(self.env, remote_ip), period):
            return Interaction
        partner = self._omnichannel_visitor_partner()
        queue, _user = channel._chat_plan(partner=partner)

        def create():
            return Interaction.create(
                {
                    "channel_id": channel.id,
                    "company_id": channel.company_id.id,
                    "direction": "inbound",
                    "external_id": external_id,
                    "contact_address": partner.email_normalized
                    or partner.email
                    or anonymous_name
                    or False,
                    "subject": self.name,
                    "partner_id": partner.id or False,
                    "queue_id": queue.id or channel.queue_id.id,
                    "state": "new",
                }
            )

        interaction, created = Interaction._inbound_once(
            channel, external_id, create, known_new=True
        )
        if created:
            interaction._chat_missed()
        return interaction
