from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from .omnichannel_agent import notify_console, seconds_between

OFFER_STATES = [
    ("pending", "Ringing"),
    ("accepted", "Accepted"),
    ("rejected", "Rejected"),
    ("timeout", "Not answered"),
    ("cancelled", "Cancelled"),
    # an accepted offer whose interaction was passed on: the next agent's
    # accept must not meet the one-accepted-offer-per-interaction index
    ("transferred", "Accepted, then transferred"),
]
# state -> states it may move to
OFFER_TRANSITIONS = {
    "pending": ("accepted", "rejected", "timeout", "cancelled"),
    "accepted": ("transferred",),
    "rejected": (),
    "timeout": (),
    "cancelled": (),
    "transferred": (),
}


class OmnichannelOffer(models.Model):
    """An interaction offered to one agent, waiting for their accept.

    Ring-all offers one interaction to several agents at once; exactly one
    accept wins. Partial unique indexes are the last guard: one accepted
    offer per interaction, one pending offer per interaction outside
    ring-all, one pending offer per agent and interaction.
    """

    _name = "omnichannel.offer"
    _inherit = ["omnichannel.state.mixin", "omnichannel.rules.sql.mixin"]
    _description = "Interaction offer"
    _order = "id desc"
    _state_transitions = OFFER_TRANSITIONS

    interaction_id = fields.Many2one(
        "omnichannel.interaction", required=True, ondelete="cascade", index=True
    )
    user_id = fields.Many2one("res.users", string="Agent", required=True, index=True)
    queue_id = fields.Many2one("omnichannel.queue", index=True)
    # precomputed: in the INSERT of the ACD's offer, not an UPDATE after it
    company_id = fields.Many2one(related="interaction_id.company_id", store=True, precompute=True)
    ring_all = fields.Boolean(readonly=True)
    state = fields.Selection(OFFER_STATES, default="pending", required=True, index=True)
    date_offered = fields.Datetime(default=fields.Datetime.now, required=True)
    date_expire = fields.Datetime(index=True)
    date_response = fields.Datetime()

    def init(self):
        cr = self.env.cr
        cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS omnichannel_offer_one_accepted_idx
                   ON omnichannel_offer (interaction_id) WHERE state = 'accepted'"""
        )
        cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS omnichannel_offer_one_pending_idx
                   ON omnichannel_offer (interaction_id) WHERE state = 'pending' AND NOT ring_all"""
        )
        cr.execute(
            """CREATE UNIQUE INDEX IF NOT EXISTS omnichannel_offer_agent_pending_idx
                   ON omnichannel_offer (interaction_id, user_id) WHERE state = 'pending'"""
        )
        # the agents' loads (omnichannel.agent._loads_of_users, on every
        # offer and state change): their ringing offers, by agent
        cr.execute(
            """CREATE INDEX IF NOT EXISTS omnichannel_offer_user_pending_idx
                   ON omnichannel_offer (user_id) WHERE state = 'pending'"""
        )

    def _state_write(self, new_state, vals):
        """Write the new state (``OFFER_TRANSITIONS``, ``omnichannel.state.mixin``);
        the agents' consoles are told to reload."""
        super()._state_write(new_state, vals)
        # no sudo: only managers and the ACD (as superuser) write offers, and read them too
        notify_console(self.env, self.user_id)

    # ------------------------------------------------------------------
    # Agent answers
    # ------------------------------------------------------------------
    def _check_own(self):
        for offer in self:
            if offer.user_id != self.env.user and not self.env.su:
                raise AccessError(_("This offer was made to another agent."))

    def action_accept(self):
        """Take the offered interaction. Exactly one accept wins."""
        self.ensure_one()
        self._check_own()
        # sudo: agents may not lock agent records; their own (checked above)
        locked = self.env["omnichannel.agent"].sudo()._lock_for_action(self.user_id)
        # sudo: agents may not write offers nor agent records; the offer is theirs (checked above)
        offer = self.sudo()
        if offer.state != "pending":
            raise UserError(_("This offer is no longer valid: the interaction went elsewhere."))
        if offer.date_expire and offer.date_expire < fields.Datetime.now():
            # refused, nothing changed: the ACD's sweep, due at the expiry,
            # times the offer out and gives the interaction to the next agent
            raise UserError(
                _("Too late: the offer expired; the interaction goes back to the queue.")
            )
        now = fields.Datetime.now()
        if not offer._set_state("accepted", guard=True, date_response=now):
            raise UserError(_("This offer is no longer valid: the interaction went elsewhere."))
        interaction = offer.interaction_id
        claimed = interaction._set_state(
            "active",
            guard=SQL(
                "state = 'offered' AND (agent_id IS NULL OR agent_id = %s)", offer.user_id.id
            ),
            agent_id=offer.user_id.id,
            date_answered=now,
        )
        if not claimed or interaction.state != "active":
            raise UserError(_("Another agent took this interaction first."))
        others = interaction.offer_ids.filtered(lambda o: o.state == "pending" and o != offer)
        others._close("cancelled", requeue=False)
        agent_id, agent_state = locked.get(offer.user_id.id, (None, None))
        if agent_state != "busy":
            # a busy agent (read under the lock) stays busy: the pending
            # offer counted in their load as the interaction they now hold
            # does; neither their record nor their load is read again
            # sudo: agents may not write their agent record (_for_user() is sudo too)
            agent = self.env["omnichannel.agent"].sudo()
            agent = agent.browse(agent_id) if agent_id else agent._for_user(offer.user_id)
            agent._refresh_state()
        # no note: the state and the agent are tracked, the chatter shows who
        # took it and when (as a call answered on the PBX)
        self.env["omnichannel.queue"]._wallboard_notify(offer.company_id.ids)
        return interaction._api_result()

    def action_reject(self):
        self._check_own()
        # sudo: agents may not lock agent records; their own (checked above)
        self.env["omnichannel.agent"].sudo()._lock_for_action(self.user_id)
        # sudo: agents may not write offers; these are their own (checked above)
        self.sudo().filtered(lambda o: o.state == "pending")._close("rejected")
        return True

    def _timeout(self):
        self.filtered(lambda o: o.state == "pending")._close("timeout")

    def _close(self, state, requeue=True):
        """End pending offers; missed ones count for the agent and the
        interaction goes back to the head of its queue."""
        if not self:
            return
        now = fields.Datetime.now()
        self._set_state(state, date_response=now)
        # sudo: the missed offers count on the agents' records, which they may not write
        agents = self.env["omnichannel.agent"].sudo().search([("user_id", "in", self.user_id.ids)])
        if state in ("rejected", "timeout"):
            for agent in agents:
                agent.miss_count += len(self.filtered(lambda o, a=agent: o.user_id == a.user_id))
        if requeue:
            interactions = self.interaction_id.filtered(
                lambda i: (
                    i.state == "offered"
                    and not i.offer_ids.filtered(lambda o: o.state == "pending")
                )
            )
            interactions._requeue()
        agents._refresh_state()
        if requeue:
            (self.queue_id | self.interaction_id.queue_id)._dispatch()

    def _bus_payload(self):
        """What the agent's browser gets with a new offer."""
        self.ensure_one()
        interaction = self.interaction_id
        return {
            "offer_id": self.id,
            "interaction_id": interaction.id,
            "partner_id": interaction.partner_id.id or False,
            "partner_name": interaction.partner_id.display_name or False,
            "channel_type": interaction.channel_type,
            "queue": self.queue_id.name or False,
            "expire": fields.Datetime.to_string(self.date_expire) if self.date_expire else False,
            # what the popup shows, so that it appears at once, before the
            # console reloads its state
            **self._console_offer_extra(fields.Datetime.now()),
        }

    def _notify_agents(self):
        """Push the offer to the agent's browser (agent console)."""
        for offer in self:
            offer.user_id._bus_send("omnichannel.offer", offer._bus_payload())

    @api.model
    def action_my_offers(self):
        """Pending offers of the current user (agent console, XML-RPC): those
        still open, not the ones past their expiry that the ACD's sweep has
        yet to take back (an accept of them is refused)."""
        now = fields.Datetime.now()
        # sudo: the user's own offers of every company, and their interactions not yet theirs
        offers = self.sudo().search(
            [
                ("user_id", "=", self.env.uid),
                ("state", "=", "pending"),
                "|",
                ("date_expire", "=", False),
                ("date_expire", ">=", now),
            ]
        )
        return [
            {
                "offer_id": offer.id,
                "interaction_id": offer.interaction_id.id,
                "partner_id": offer.interaction_id.partner_id.id or False,
                "partner_name": offer.interaction_id.partner_id.display_name or False,
                "channel_type": offer.interaction_id.channel_type,
                "queue": offer.queue_id.name or False,
                "seconds_left": max(int((offer.date_expire - now).total_seconds()), 0)
                if offer.date_expire
                else False,
            }
            for offer in offers
        ]

    # ------------------------------------------------------------------
    # Agent console
    # ------------------------------------------------------------------
    def _console_offer_extra(self, now):
        """What the offer popup shows besides action_my_offers()'s data.

        The popup's title is worded in the browser from ``offer_kind``
        ("inbound", "outbound" or "callback"), the channel and, for a
        call-back, which attempt this is; ``answer_on_phone`` (False here)
        says the call rings on a phone the agent answers outside Odoo, so
        the popup does not offer to accept it (see omnichannel_cc_voip).
        """
        self.ensure_one()
        # sudo: the offered interaction is not the agent's yet; the popup shows these fields
        interaction = self.sudo().interaction_id
        callback = interaction.callback_id if interaction.direction == "outbound" else False
        return {
            "direction": interaction.direction,
            "offer_kind": "callback" if callback else interaction.direction,
            # the attempt being made: the call-back counts it when it starts one
            "callback_attempt": callback.attempts if callback else 0,
            "callback_max_attempts": callback.max_attempts if callback else 0,
            "customer_name": interaction.partner_id.display_name
            or interaction.contact_address
            or False,
            "answer_on_phone": False,
            "interaction_name": interaction.name,
            "subject": interaction.subject or False,
            "contact_address": interaction.contact_address or False,
            "channel_name": interaction.channel_id.name or False,
            "channel_label": self.env["omnichannel.channel"]
            ._channel_type_labels()
            .get(interaction.channel_type, interaction.channel_type),
            "queue_id": self.queue_id.id or False,
            "waiting_seconds": seconds_between(
                interaction.date_queued or interaction.create_date, now
            ),
            "ring_seconds": seconds_between(self.date_offered, self.date_expire),
            "seconds_left": seconds_between(now, self.date_expire) if self.date_expire else False,
        }

    @api.model
    def _console_offers(self, now):
        rows = self.action_my_offers()
        # sudo: as action_my_offers(): the user's own offers, of every company
        offers = self.sudo().browse([row["offer_id"] for row in rows])
        extras = {offer.id: offer._console_offer_extra(now) for offer in offers}
        for row in rows:
            row.update(extras[row["offer_id"]])
        return rows
