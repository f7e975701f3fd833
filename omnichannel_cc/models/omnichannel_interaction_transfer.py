"""Hold and transfer of the agent's active interaction (agent console)."""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools import routing

MANAGER_GROUP = "omnichannel_cc.group_omnichannel_manager"
AGENT_GROUP = "omnichannel_cc.group_omnichannel_agent"


class OmnichannelOffer(models.Model):
    _inherit = "omnichannel.offer"

    # an accepted offer whose interaction was passed on: the next agent's
    # accept must not meet the one-accepted-offer-per-interaction index
    state = fields.Selection(
        selection_add=[("transferred", "Accepted, then transferred")],
        ondelete={"transferred": lambda offers: offers.write({"state": "cancelled"})},
    )


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    hold_since = fields.Datetime(readonly=True, copy=False)
    hold_duration = fields.Integer(
        string="Hold (s)",
        readonly=True,
        copy=False,
        aggregator="avg",
        help="Seconds the customer spent on hold, all holds added up.",
    )
    is_on_hold = fields.Boolean(
        string="On hold", compute="_compute_is_on_hold", store=True, index=True
    )
    transfer_count = fields.Integer(readonly=True, copy=False)

    @api.depends("hold_since")
    def _compute_is_on_hold(self):
        for rec in self:
            rec.is_on_hold = bool(rec.hold_since)

    # ------------------------------------------------------------------
    # Lifecycle: ending or closing ends the hold
    # ------------------------------------------------------------------
    def action_end(self):
        self.filtered("hold_since")._hold_stop()
        return super().action_end()

    def action_close(self):
        self.filtered("hold_since")._hold_stop()
        return super().action_close()

    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------
    def _check_transfer_access(self):
        """The interaction's agent, a supervisor of its queue or a manager."""
        self.ensure_one()
        if self.env.su:
            return
        user = self.env.user
        rec = self.sudo()
        allowed = user.has_group(AGENT_GROUP) and (
            rec.agent_id == user
            or user.has_group(MANAGER_GROUP)
            or (rec.queue_id and user in rec.queue_id.supervisor_ids)
        )
        if not allowed:
            raise AccessError(
                _(
                    "%(name)s is handled by another agent: only they, a supervisor of its "
                    "queue or a manager may hold or transfer it.",
                    name=rec.name,
                )
            )
        self.check_access("read")

    def _check_active(self):
        self.ensure_one()
        if self.state != "active":
            raise UserError(
                _(
                    "%(name)s is %(state)s: only an active interaction can be put on hold "
                    "or transferred.",
                    name=self.name,
                    state=dict(self._fields["state"]._description_selection(self.env))[self.state],
                )
            )

    def _transfer_lock(self):
        """Lock the active interaction against a concurrent end or transfer."""
        busy = _("%(name)s is being changed right now; try again.", name=self.name)
        if not self._lock_for_change(("active",), busy):
            self._check_active()

    # ------------------------------------------------------------------
    # Hold
    # ------------------------------------------------------------------
    def _hold_stop(self):
        now = fields.Datetime.now()
        for rec in self.sudo():
            held = max(int((now - rec.hold_since).total_seconds()), 0) if rec.hold_since else 0
            rec.write({"hold_since": False, "hold_duration": rec.hold_duration + held})

    def action_hold(self):
        """Put the customer on hold; the time is recorded, nothing else changes."""
        self.ensure_one()
        self._check_transfer_access()
        rec = self.sudo()
        rec._check_active()
        if rec.hold_since:
            raise UserError(_("%(name)s is already on hold.", name=rec.name))
        rec.write({"hold_since": fields.Datetime.now()})
        return rec._transfer_result()

    def action_resume(self):
        """Take the customer off hold; the hold time adds to hold_duration."""
        self.ensure_one()
        self._check_transfer_access()
        rec = self.sudo()
        rec._check_active()
        if not rec.hold_since:
            raise UserError(_("%(name)s is not on hold.", name=rec.name))
        rec._hold_stop()
        return rec._transfer_result()

    def _transfer_result(self):
        result = self._api_result()
        result.update(
            is_on_hold=self.is_on_hold,
            hold_duration=self.hold_duration,
            transfer_count=self.transfer_count,
        )
        return result

    # ------------------------------------------------------------------
    # Transfer
    # ------------------------------------------------------------------
    def _transfer_requeue(self, queue):
        """Back to waiting in ``queue``, freed from its agent.

        A transfer starts a new wait: date_queued is set to now. Accepting an
        offer sets date_answered again, so keeping the first date_queued
        would count the first agent's talk time as waiting and spoil the
        target queue's wait and service-level figures; the first leg stays
        in the chatter and transfer_count marks the interaction.
        """
        self.ensure_one()
        if self.hold_since:
            self._hold_stop()
        self.offer_ids.filtered(lambda o: o.state == "pending")._close("cancelled", requeue=False)
        self.offer_ids.filtered(lambda o: o.state == "accepted").write({"state": "transferred"})
        self.write(
            {
                "state": "queued",
                "queue_id": queue.id,
                "agent_id": False,
                "date_queued": fields.Datetime.now(),
                "date_offered": False,
                "date_answered": False,
                "transfer_count": self.transfer_count + 1,
                # the routing decided these for the first queue or agent
                "preferred_agent_id": False,
                "preferred_until": False,
            }
        )
        self.env.flush_all()

    def _transfer_free_agent(self, user, skip_queue=None):
        """Refresh the freed agent and offer them work from their queues; not
        from the queue the interaction was just sent to, so that it does not
        ring back at once on the agent who passed it on (later ACD rounds may
        offer it to them when nobody else is free)."""
        agent = self.env["omnichannel.agent"].sudo().search([("user_id", "=", user.id)])
        agent._refresh_state()
        if agent.state not in ("available", "busy"):
            return
        queues = (
            self.env["omnichannel.queue.member"]
            .sudo()
            .search([("user_id", "=", user.id), ("logged_in", "=", True)])
            .queue_id
        )
        (queues - (skip_queue or queues.browse()))._dispatch()

    def _transfer_target_agent(self, user):
        """The target's agent record when it may take this interaction now."""
        self.ensure_one()
        agent = self.env["omnichannel.agent"].sudo().search([("user_id", "=", user.id)], limit=1)
        if not agent or agent.state not in ("available", "busy"):
            return False
        channel_class = routing.CHANNEL_CLASS.get(self.channel_type, "email")
        load = agent._loads_by_class().get(user.id, {}).get(channel_class, 0)
        return agent if load < agent._capacity(channel_class) else False

    def action_transfer_queue(self, queue_id):
        """Send the active interaction to another queue: the agent is freed and
        the target queue offers it at once to one of its agents (not back to
        the transferring agent while another one is free)."""
        self.ensure_one()
        self._check_transfer_access()
        rec = self.sudo()
        rec._check_active()
        queue = self.env["omnichannel.queue"].sudo().browse(int(queue_id)).exists()
        if not queue or not queue.active or queue.company_id != rec.company_id:
            raise UserError(
                _("Choose an active queue of %(company)s.", company=rec.company_id.name)
            )
        if queue == rec.queue_id:
            raise UserError(
                _("%(name)s is already in the queue %(queue)s.", name=rec.name, queue=queue.name)
            )
        rec._transfer_lock()
        source = rec.queue_id
        previous = rec.agent_id
        rec._transfer_requeue(queue)
        if queue._is_open():
            rows = [row for row in queue._agent_rows() if row[0] != previous.id]
            if rows:
                candidates = queue._candidates(rec, rows, set())
                ordered = routing.order_candidates(
                    queue.strategy, candidates, required_skill=bool(rec.required_skill_id)
                )
                if ordered:
                    queue._offer(rec, ordered)
        rec._transfer_free_agent(previous, skip_queue=queue)
        rec._log_note(
            _(
                "Transferred from %(origin)s to queue %(queue)s by %(user)s.",
                origin=source.name or previous.name or _("(none)"),
                queue=queue.name,
                user=self.env.user.name,
            )
        )
        return rec._transfer_result()

    def action_transfer_agent(self, user_id):
        """Offer the active interaction to one agent, in its queue, the way a
        supervisor assigns (queue ``_offer`` with that single candidate). If the
        agent rejects or lets the offer ring out, the queue's ACD takes over."""
        self.ensure_one()
        self._check_transfer_access()
        rec = self.sudo()
        rec._check_active()
        target = self.env["res.users"].sudo().browse(int(user_id)).exists()
        rec._check_assign_target(target)
        if target == rec.agent_id:
            raise UserError(
                _("%(name)s is already with %(agent)s.", name=rec.name, agent=target.name)
            )
        busy_error = rec._agent_cannot_take(target)
        if not rec._transfer_target_agent(target):
            raise busy_error
        rec._transfer_lock()
        previous = rec.agent_id
        cr = self.env.cr
        try:
            with cr.savepoint():
                rec._transfer_requeue(rec.queue_id)
                if not rec.queue_id._offer(rec, [routing.Candidate(user_id=target.id)]):
                    raise busy_error
        except UserError:
            self.env.invalidate_all()
            raise
        rec._transfer_free_agent(previous)
        rec._log_note(
            _(
                "Transferred from %(origin)s to %(agent)s by %(user)s.",
                origin=previous.name or _("(none)"),
                agent=target.name,
                user=self.env.user.name,
            )
        )
        return rec._transfer_result()

    def transfer_targets(self):
        """Where this interaction may go: the other active queues of its
        company (by name, also those the agent is no member of: transfers
        cross departments) and the available agents with a free place for
        its channel."""
        self.ensure_one()
        self._check_transfer_access()
        rec = self.sudo()
        queues = (
            self.env["omnichannel.queue"]
            .sudo()
            .search([("company_id", "=", rec.company_id.id), ("id", "!=", rec.queue_id.id)])
        )
        waiting = dict(
            self.env["omnichannel.interaction"]
            .sudo()
            ._read_group(
                [("queue_id", "in", queues.ids), ("state", "in", ("new", "queued", "offered"))],
                ["queue_id"],
                ["__count"],
            )
        )
        agents = (
            self.env["omnichannel.agent"]
            .sudo()
            .search(
                [
                    ("state", "in", ("available", "busy")),
                    ("user_id", "!=", rec.agent_id.id),
                    ("user_id.company_ids", "in", rec.company_id.id),
                ]
            )
        )
        channel_class = routing.CHANNEL_CLASS.get(rec.channel_type, "email")
        loads = agents._loads_by_class()
        agent_rows = []
        for agent in agents.sorted(lambda a: a.user_id.name or ""):
            if not agent.user_id.has_group(AGENT_GROUP):
                continue
            free = agent._capacity(channel_class) - loads.get(agent.user_id.id, {}).get(
                channel_class, 0
            )
            if free > 0:
                agent_rows.append(
                    {
                        "id": agent.user_id.id,
                        "name": agent.user_id.name,
                        "state": agent.state,
                        "free": free,
                    }
                )
        return {
            "queues": [
                {"id": queue.id, "name": queue.name, "waiting_count": waiting.get(queue, 0)}
                for queue in queues
            ],
            "agents": agent_rows,
        }

    # ------------------------------------------------------------------
    # Console data
    # ------------------------------------------------------------------
    @api.model
    def _console_interactions(self, now):
        rows = super()._console_interactions(now)
        holds = {rec.id: rec for rec in self.sudo().browse([row["id"] for row in rows])}
        for row in rows:
            rec = holds[row["id"]]
            row.update(
                is_on_hold=rec.is_on_hold,
                hold_seconds=max(int((now - rec.hold_since).total_seconds()), 0)
                if rec.hold_since
                else 0,
                hold_duration=rec.hold_duration,
                transfer_count=rec.transfer_count,
            )
        return rows
