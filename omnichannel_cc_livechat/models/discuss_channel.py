from odoo import api, models


class DiscussChannel(models.Model):
    """Live chat sessions of a linked live chat channel become interactions."""

    _inherit = "discuss.channel"

    def _chat_link(self):
        """The web chat channel of this live chat session, or empty."""
        self.ensure_one()
        if self.channel_type != "livechat" or not self.livechat_channel_id:
            return self.env["omnichannel.channel"]
        # sudo: visitors and agents may not read the live chat channel; its link only
        return self.livechat_channel_id.sudo()._omnichannel_channel()

    def _chat_interaction(self):
        self.ensure_one()
        # sudo: the visitor (and others' sessions) may not read it; returned sudo to react
        return (
            self.env["omnichannel.interaction"]
            .sudo()
            .search([("discuss_channel_id", "=", self.id)], order="id desc", limit=1)
        )

    def _chat_visitor_partner(self):
        """The visitor's partner: the session's member who is neither the
        operator, nor a chatbot, nor an internal user. Empty for a guest."""
        self.ensure_one()
        # sudo: the visitor may not read the session's members; their partners only
        partners = self.sudo().channel_member_ids.partner_id - self.livechat_operator_id
        # sudo: visitors may not read chatbot scripts; only their bots' partners
        bots = self.env["chatbot.script"].sudo().search([]).operator_partner_id
        partners -= bots
        visitors = partners.filtered(
            lambda p: not p.user_ids or not any(u._is_internal() for u in p.user_ids)
        )
        return (visitors or partners)[:1]

    @api.model_create_multi
    def create(self, vals_list):
        channels = super().create(vals_list)
        for channel in channels:
            if not channel._chat_link():
                continue
            # visitors may send photos of their case (Odoo allows uploads
            # only to internal users by default)
            # sudo: the creator (the visitor's request) may not write the channel's settings
            channel.sudo().allow_public_upload = True
            if channel.chatbot_current_step_id:
                continue  # the chatbot's forward step starts the interaction
            # the persisted session (first message): its operator is the
            # ACD's choice, now reserved by an offer
            channel._chat_start(channel.livechat_operator_id.user_ids[:1])
        return channels

    def write(self, vals):
        result = super().write(vals)
        closing = "livechat_active" in vals and not vals["livechat_active"]
        # omnichannel_chat_closing: the agent's end already ended the interaction
        if closing and not self.env.context.get("omnichannel_chat_closing"):
            for channel in self.filtered(lambda c: c.channel_type == "livechat"):
                channel._chat_interaction()._chat_session_closed()
        return result

    def _action_unfollow(self, partner=None, guest=None):
        # the agent leaving the live chat ends it (wrap-up; the visitor is told)
        if partner and self.channel_type == "livechat":
            interaction = self._chat_interaction()
            if interaction.state == "active" and interaction.agent_id.partner_id == partner:
                interaction.action_end()
        return super()._action_unfollow(partner=partner, guest=guest)

    def _message_post_after_hook(self, message, msg_vals):
        result = super()._message_post_after_hook(message, msg_vals)
        if self.channel_type == "livechat" and self.livechat_channel_id:
            interaction = self._chat_interaction()
            if interaction:
                interaction._chat_on_message(message)
        return result

    def _chat_start(self, operator):
        """Create (once) the interaction of this session, offered to ``operator``."""
        self.ensure_one()
        link = self._chat_link()
        if not link:
            return self.env["omnichannel.interaction"]
        # sudo: the visitor's request makes the interaction, routed and offered by the ACD
        session = self.sudo()
        partner = session._chat_visitor_partner()
        Interaction = session.env["omnichannel.interaction"]
        queue, _user = link._chat_plan(partner=partner)

        def create():
            return Interaction.create(session._chat_interaction_values(link, partner))

        interaction, created = Interaction._inbound_once(link, session.uuid, create)
        if created:
            interaction._chat_offer(operator, queue=queue if operator else None)
            interaction._chat_sync_transcript()
        return interaction

    def _chat_missed(self):
        """A chatbot forward found nobody: the interaction exists, missed."""
        self.ensure_one()
        link = self._chat_link()
        if not link:
            return self.env["omnichannel.interaction"]
        # sudo: the visitor's request makes the interaction, missed: nobody could take it
        session = self.sudo()
        partner = session._chat_visitor_partner()
        Interaction = session.env["omnichannel.interaction"]
        interaction, created = Interaction._inbound_once(
            link,
            session.uuid,
            lambda: Interaction.create(session._chat_interaction_values(link, partner)),
        )
        if created:
            interaction._chat_missed()
            interaction._chat_sync_transcript()
        return interaction

    def _chat_interaction_values(self, link, partner):
        self.ensure_one()
        return {
            "channel_id": link.id,
            "company_id": link.company_id.id,
            "direction": "inbound",
            "external_id": self.uuid,
            "contact_address": partner.email_normalized
            or partner.email
            or self.anonymous_name
            or partner.name
            or False,
            "subject": self.name,
            "partner_id": partner.id or False,
            "queue_id": link.queue_id.id,
            "discuss_channel_id": self.id,
            # not "queued": the routing must not dispatch it to another
            # agent than the session's operator (_chat_offer queues it)
            "state": "new",
        }
