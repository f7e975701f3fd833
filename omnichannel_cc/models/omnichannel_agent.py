from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import routing

AGENT_STATES = [
    ("offline", "Offline"),
    ("available", "Available"),
    ("busy", "Busy"),
    ("wrapup", "Wrap-up"),
    ("break", "Break"),
]
# States in which the ACD may offer work (busy agents may have free slots
# on another channel, e.g. a second chat).
DISPATCHABLE_STATES = ("available", "busy")
HOLDING_STATES = ("offered", "active")


class OmnichannelAgent(models.Model):
    """A user's presence and capacity in the contact center."""

    _name = "omnichannel.agent"
    _description = "Contact center agent"
    _order = "name"
    _rec_name = "name"

    user_id = fields.Many2one("res.users", required=True, ondelete="cascade", index=True)
    name = fields.Char(related="user_id.name", store=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    state = fields.Selection(AGENT_STATES, default="offline", required=True, index=True)
    break_reason_id = fields.Many2one("omnichannel.break.reason")
    state_since = fields.Datetime(default=fields.Datetime.now, required=True)
    capacity_voice = fields.Integer(string="Calls at once", default=1)
    capacity_chat = fields.Integer(string="Chats at once", default=3)
    capacity_email = fields.Integer(string="E-mails at once", default=5)
    skill_ids = fields.One2many("omnichannel.agent.skill", "agent_id", string="Skills")
    last_end_date = fields.Datetime(
        string="Idle since", help="When the agent's last interaction ended (longest-idle strategy)."
    )
    last_offer_date = fields.Datetime(readonly=True)
    rr_seq = fields.Integer(
        string="Round-robin position", readonly=True, help="Higher: served more recently."
    )
    wrapup_until = fields.Datetime(readonly=True)
    miss_count = fields.Integer(string="Missed offers", readonly=True)
    member_ids = fields.One2many(
        "omnichannel.queue.member", compute="_compute_member_ids", string="Queues"
    )
    load = fields.Integer(compute="_compute_load", string="Interactions now")
    state_log_ids = fields.One2many("omnichannel.agent.state.log", "agent_id")

    _sql_constraints = [
        ("user_uniq", "unique(user_id)", "This user already has an agent record."),
        (
            "capacity_positive",
            "CHECK(capacity_voice >= 0 AND capacity_chat >= 0 AND capacity_email >= 0)",
            "Capacities cannot be negative.",
        ),
    ]

    def init(self):
        self.env.cr.execute("CREATE SEQUENCE IF NOT EXISTS omnichannel_agent_rr_seq")

    def _compute_member_ids(self):
        Member = self.env["omnichannel.queue.member"]
        for agent in self:
            agent.member_ids = Member.search([("user_id", "=", agent.user_id.id)])

    def _compute_load(self):
        loads = self._loads_by_class()
        for agent in self:
            agent.load = sum(loads.get(agent.user_id.id, {}).values())

    def _loads_by_class(self):
        """{user_id: {channel class: interactions offered or held}} from the database."""
        return self._loads_of_users(self.user_id.ids)

    @api.model
    def _loads_of_users(self, user_ids):
        """_loads_by_class() for users given by id (no agent records read)."""
        Interaction = self.env["omnichannel.interaction"]
        Interaction.flush_model(["agent_id", "state", "channel_type"])
        self.env["omnichannel.offer"].flush_model(["user_id", "state", "interaction_id"])
        if not user_ids:
            return {}
        self.env.cr.execute(
            SQL(
                """SELECT agent_id, channel_type, count(*)
                     FROM omnichannel_interaction
                    WHERE agent_id IN %(users)s AND state IN %(holding)s
                    GROUP BY agent_id, channel_type
                   UNION ALL
                   SELECT o.user_id, i.channel_type, count(*)
                     FROM omnichannel_offer o
                     JOIN omnichannel_interaction i ON i.id = o.interaction_id
                    WHERE o.user_id IN %(users)s AND o.state = 'pending' AND i.agent_id IS NULL
                    GROUP BY o.user_id, i.channel_type""",
                users=tuple(user_ids),
                holding=HOLDING_STATES,
            )
        )
        loads = {}
        for user_id, channel_type, count in self.env.cr.fetchall():
            cls = routing.CHANNEL_CLASS.get(channel_type, "email")
            loads.setdefault(user_id, {}).setdefault(cls, 0)
            loads[user_id][cls] += count
        return loads

    def _capacity(self, channel_class):
        self.ensure_one()
        return self[f"capacity_{channel_class}"]

    # ------------------------------------------------------------------
    # Presence
    # ------------------------------------------------------------------
    @api.model
    def _for_user(self, user=None):
        """The agent record of a user, created on first use."""
        user = user or self.env.user
        agent = self.sudo().search([("user_id", "=", user.id)], limit=1)
        if not agent:
            agent = self.sudo().create({"user_id": user.id, "company_id": user.company_id.id})
        return agent

    @api.model
    def action_my_state(self, state, break_reason_id=False):
        """Set the current user's presence (agent console, XML-RPC)."""
        agent = self._for_user()
        agent._check_may_change(self.env.user)
        agent.sudo()._change_state(state, break_reason_id)
        return agent.sudo()._presence()

    def action_set_state(self, state, break_reason_id=False):
        """Set these agents' presence: their own, or their team's for a supervisor."""
        for agent in self:
            agent._check_may_change(self.env.user)
        for agent in self.sudo():
            agent._change_state(state, break_reason_id)
        return True

    def _check_may_change(self, user):
        self.ensure_one()
        if self.user_id == user or user.has_group("omnichannel_cc.group_omnichannel_manager"):
            return
        if user.has_group("omnichannel_cc.group_omnichannel_supervisor"):
            supervised = (
                self.env["omnichannel.queue.member"]
                .sudo()
                .search_count(
                    [("user_id", "=", self.user_id.id), ("queue_id.supervisor_ids", "in", user.id)]
                )
            )
            if supervised:
                return
        raise AccessError(
            _("You may change only your own state, or your team's as their supervisor.")
        )

    def _change_state(self, state, break_reason_id=False):
        self.ensure_one()
        if state not in dict(AGENT_STATES):
            raise UserError(_("Unknown agent state %(state)s.", state=state))
        if state in ("busy", "wrapup"):
            raise UserError(_("Busy and wrap-up follow from the agent's work; choose available."))
        if state == "break" and not break_reason_id:
            raise UserError(_("Choose a reason for the break."))
        vals = {"break_reason_id": break_reason_id if state == "break" else False}
        if state == "available":
            vals["wrapup_until"] = False
            if not self.last_end_date or self.state in ("offline", "break"):
                vals["last_end_date"] = fields.Datetime.now()
            state = self._derived_state("available", None)
        self._write_state(state, **vals)
        if state in DISPATCHABLE_STATES:
            self._dispatch_for_me()
        elif state in ("offline", "break"):
            self._withdraw_pending_offers()

    def _derived_state(self, base_state, loads):
        self.ensure_one()
        if loads is None:
            loads = self._loads_by_class()
        load = sum(loads.get(self.user_id.id, {}).values())
        now = fields.Datetime.now()
        wrapup_left = (self.wrapup_until - now).total_seconds() if self.wrapup_until else 0
        return routing.derived_state(base_state, load, wrapup_left)

    def _write_state(self, state, **vals):
        """Change state and log the change (only when it really changes)."""
        self.ensure_one()
        now = fields.Datetime.now()
        changed = state != self.state or (
            "break_reason_id" in vals and vals["break_reason_id"] != self.break_reason_id.id
        )
        if changed:
            self.env["omnichannel.agent.state.log"]._log_change(
                self, state, vals.get("break_reason_id"), now
            )
            vals.update(state=state, state_since=now)
        if vals:
            self.write(vals)

    def _refresh_state(self, loads=None):
        """Recompute busy / available / wrap-up after the agent's work changed.

        ``loads``: the agents' _loads_by_class() when the caller knows them.
        """
        if loads is None:
            loads = self._loads_by_class()
        for agent in self:
            if agent.state in ("offline", "break"):
                continue
            agent._write_state(agent._derived_state(agent.state, loads))

    def _start_wrapup(self, seconds):
        self.ensure_one()
        now = fields.Datetime.now()
        vals = {"last_end_date": now}
        if seconds > 0 and self.state not in ("offline", "break"):
            vals["wrapup_until"] = now + timedelta(seconds=seconds)
            self.write(vals)
            self._write_state("wrapup")
            self.env.ref("omnichannel_cc.ir_cron_acd_sweep")._trigger(vals["wrapup_until"])
        else:
            self.write(vals)
            self._refresh_state()

    def _end_wrapup(self):
        for agent in self:
            agent.write({"wrapup_until": False})
        self._refresh_state()
        for agent in self:
            if agent.state in DISPATCHABLE_STATES:
                agent._dispatch_for_me()

    def _withdraw_pending_offers(self):
        offers = (
            self.env["omnichannel.offer"]
            .sudo()
            .search([("user_id", "in", self.user_id.ids), ("state", "=", "pending")])
        )
        offers._close("cancelled")

    def _dispatch_for_me(self):
        """The agent may take work: offer what waits in their queues."""
        queues = (
            self.env["omnichannel.queue.member"]
            .sudo()
            .search([("user_id", "in", self.user_id.ids), ("logged_in", "=", True)])
            .queue_id
        )
        queues._dispatch()

    def _presence(self):
        self.ensure_one()
        return {
            "agent_id": self.id,
            "user_id": self.user_id.id,
            "state": self.state,
            "break_reason_id": self.break_reason_id.id or False,
            "state_since": fields.Datetime.to_string(self.state_since),
            "load": self.load,
        }

    # ------------------------------------------------------------------
    # Queue log-in
    # ------------------------------------------------------------------
    @api.model
    def action_queue_login(self, queue_ids, logged_in=True):
        """Log the current user in to (or out of) queues they are a member of."""
        members = (
            self.env["omnichannel.queue.member"]
            .sudo()
            .search([("user_id", "=", self.env.uid), ("queue_id", "in", list(queue_ids))])
        )
        if len(members) != len(set(queue_ids)):
            raise UserError(_("You can log in only to queues you are a member of."))
        members.write({"logged_in": bool(logged_in)})
        if logged_in:
            members.queue_id._dispatch()
        return True


class OmnichannelAgentStateLog(models.Model):
    """One period an agent spent in one state: the source of occupancy reports."""

    _name = "omnichannel.agent.state.log"
    _description = "Agent state history"
    _order = "date_start desc, id desc"

    agent_id = fields.Many2one("omnichannel.agent", required=True, ondelete="cascade", index=True)
    user_id = fields.Many2one(related="agent_id.user_id", store=True, index=True)
    company_id = fields.Many2one(related="agent_id.company_id", store=True)
    state = fields.Selection(AGENT_STATES, required=True)
    break_reason_id = fields.Many2one("omnichannel.break.reason")
    date_start = fields.Datetime(required=True, index=True)
    date_end = fields.Datetime(index=True)
    duration = fields.Integer(
        string="Duration (s)", compute="_compute_duration", store=True, aggregator="sum"
    )

    @api.depends("date_start", "date_end")
    def _compute_duration(self):
        for log in self:
            if log.date_start and log.date_end:
                log.duration = int((log.date_end - log.date_start).total_seconds())
            else:
                log.duration = 0

    @api.model
    def _log_change(self, agent, state, break_reason_id, now):
        # close the open period in one statement (it runs on every state
        # change of every agent); duration as _compute_duration computes it
        self.flush_model(["agent_id", "date_start", "date_end"])
        self.env.cr.execute(
            SQL(
                """UPDATE omnichannel_agent_state_log
                      SET date_end = %(now)s, write_date = %(write)s, write_uid = %(uid)s,
                          duration = CASE WHEN date_start IS NULL THEN 0
                                          ELSE trunc(EXTRACT(EPOCH FROM %(now)s - date_start))
                                     END
                    WHERE agent_id = %(agent)s AND date_end IS NULL
                RETURNING id""",
                now=now,
                write=self.env.cr.now(),
                uid=self.env.uid,
                agent=agent.id,
            )
        )
        closed = [row[0] for row in self.env.cr.fetchall()]
        if closed:
            self.browse(closed).invalidate_recordset(
                ["date_end", "duration", "write_date", "write_uid"]
            )
        self.create(
            {
                "agent_id": agent.id,
                "state": state,
                "break_reason_id": break_reason_id or False,
                "date_start": now,
                # the stored related and computed values, given: no recompute
                "user_id": agent.user_id.id,
                "company_id": agent.company_id.id,
                "duration": 0,
            }
        )
