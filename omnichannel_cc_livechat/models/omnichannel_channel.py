import logging

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from odoo.addons.omnichannel_cc.tools import routing

_logger = logging.getLogger(__name__)


class OmnichannelChannel(models.Model):
    """A web chat channel is an Odoo live chat channel whose operators are
    chosen by our ACD (see im_livechat_channel.py)."""

    _inherit = "omnichannel.channel"

    livechat_channel_id = fields.Many2one(
        "im_livechat.channel",
        string="Live chat channel",
        index="btree_not_null",
        ondelete="restrict",
        help="Web chat: the Odoo live chat channel (button, support page) this channel serves. "
        "Its visitors are routed through this channel's queue to the contact center agents.",
    )

    chat_missed_rate_ip = fields.Integer(
        string="Missed chats per visitor address (10 min)",
        default=10,
        help="Web chat: missed chats (nobody available) recorded from one IP address within "
        "10 minutes; more are not recorded (the visitors are told nobody is available, as "
        "always). A visitor's repeated requests count once. 0: no limit.",
    )

    _sql_constraints = [
        (
            "livechat_channel_uniq",
            "unique(livechat_channel_id)",
            "This live chat channel already belongs to another contact center channel.",
        ),
    ]

    @api.constrains("livechat_channel_id", "channel_type")
    def _check_livechat_channel(self):
        for channel in self:
            if channel.livechat_channel_id and channel.channel_type != "chat":
                raise ValidationError(
                    _(
                        "Only a web chat channel can be linked to a live chat channel "
                        "(%(channel)s is not one).",
                        channel=channel.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("livechat_channel_id") and not vals.get("address"):
                livechat = self.env["im_livechat.channel"].browse(vals["livechat_channel_id"])
                # sudo: managers may not be live chat users; only the channel's name is read
                vals["address"] = livechat.sudo().name
        return super().create(vals_list)

    @api.onchange("livechat_channel_id")
    def _onchange_livechat_channel_id(self):
        if self.livechat_channel_id and not self.address:
            self.address = self.livechat_channel_id.name

    # ------------------------------------------------------------------
    # Operator choice (read only: nothing is reserved here)
    # ------------------------------------------------------------------
    def _chat_plan(self, partner=None):
        """Who would take a chat of this visitor now, by our routing rules
        and ACD, without reserving anybody.

        Returns ``(queue, user)``: the queue the chat goes to (the routed
        queue, or its overflow queue when only that one has a free agent)
        and the agent, or an empty user when nobody can take it (queue
        closed, nobody logged in, everybody at chat capacity).
        """
        self.ensure_one()
        # sudo: the visitor (public user) asks who could chat: rules, queues, agents; reads only
        channel = self.sudo()
        Interaction = channel.env["omnichannel.interaction"]
        probe = Interaction.new(
            {
                "channel_id": channel.id,
                "company_id": channel.company_id.id,
                "partner_id": partner.id if partner else False,
                "queue_id": channel.queue_id.id,
            }
        )
        rules = channel.env["omnichannel.routing.rule"].search(
            [("company_id", "=", channel.company_id.id)]
        )
        plain = rules._to_plain()
        facts = probe._routing_facts(routing.facts_needed(plain))
        decision = routing.decide(plain, facts, channel.queue_id.id)
        queue = channel.env["omnichannel.queue"].browse(decision.queue_id)
        probe.required_skill_id = decision.skill_id or False
        users = self.env["res.users"]
        for candidate_queue in queue._chat_queues():
            if decision.preferred_agent_id:
                # the case owner / last agent first, when free now: a chat
                # cannot wait for them like a call or an e-mail does
                user = candidate_queue._chat_pick(probe, [decision.preferred_agent_id])
                if user:
                    return candidate_queue, user
            user = candidate_queue._chat_pick(probe)
            if user:
                return candidate_queue, user
        return queue, users

    def _chat_free_agents(self):
        """Agents who could take a chat of this channel now (any visitor)."""
        self.ensure_one()
        # sudo: as _chat_plan: the visitor asks whether anybody could chat; reads only
        channel = self.sudo()
        probe = channel.env["omnichannel.interaction"].new({"channel_id": channel.id})
        users = self.env["res.users"]
        for queue in channel.queue_id._chat_queues():
            users |= queue._chat_pick(probe, limit=None)
        return users

    # ------------------------------------------------------------------
    # Missed chats: a rate limit per visitor address
    # ------------------------------------------------------------------
    def _chat_missed_rate_claim(self, address, period):
        """Count one more missed chat from ``address`` (a keyed hash of the
        IP address) in ``period``; False, and nothing written, when the
        channel's limit is reached.

        Counted in PostgreSQL (every worker counts the same) with the
        idempotency keys: the n-th missed chat of the period claims the key
        ``n``, so two concurrent requests claiming the same one conflict,
        and Odoo replays the second (see ``omnichannel.event.key``)."""
        self.ensure_one()
        limit = self.chat_missed_rate_ip
        if limit <= 0:
            return True
        # sudo: only managers read idempotency keys; those of this address are counted
        keys = self.env["omnichannel.event.key"].sudo()
        scope = f"chat-missed:{self.id}:{address}:{period}"
        keys.flush_model()
        self.env.cr.execute(
            SQL("SELECT count(*) FROM omnichannel_event_key WHERE scope = %s", scope)
        )
        used = self.env.cr.fetchone()[0]
        if used >= limit:
            _logger.info(
                "Web chat %s: %s missed chats from one address in 10 minutes, no more are recorded",
                self.address,
                used,
            )
            return False
        return keys._claim(scope, str(used + 1))
