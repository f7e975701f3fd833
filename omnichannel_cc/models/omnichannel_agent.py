import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import routing

_logger = logging.getLogger(__name__)

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


# The agent console: one call, ``omnichannel.agent.action_console_state()``,
# returns everything the console shows; bus messages only tell the browser to
# call it again ("omnichannel.console") or bring the offer itself
# ("omnichannel.offer"), so a reload or a lost connection never leaves the
# console out of date.
CONSOLE_BUS_TYPE = "omnichannel.console"
AGENT_GROUP = "omnichannel_cc.group_omnichannel_agent"
# An agent is "live" while their browser is connected (Odoo's bus presence,
# polled every minute) or their console / integration called us lately; after
# this many minutes without either they are set offline and get no offers.
PRESENCE_TIMEOUT_PARAM = "omnichannel_cc.presence_timeout_minutes"
PRESENCE_TIMEOUT_DEFAULT = 5
# last_seen is written at most once per this many seconds per agent
LAST_SEEN_GRANULARITY = 30


def seconds_between(start, end):
    """Whole seconds from ``start`` to ``end``; 0 when either is missing or in the past."""
    return max(int((end - start).total_seconds()), 0) if start and end else 0


def notify_console(env, users):
    """Tell these users' consoles to reload, once per user and transaction."""
    user_ids = set(users.ids)
    if not user_ids:
        return
    data = env.cr.precommit.data
    pending = data.get("omnichannel.console.user_ids")
    if pending is None:
        pending = data["omnichannel.console.user_ids"] = set()

        @env.cr.precommit.add
        def send_console_reload():
            ids = data.pop("omnichannel.console.user_ids", set())
            # sudo: a bus notification helper: the consoles of other users, whoever changed them;
            # the users still there, with the partner their bus channel is, in one query
            users = (
                env["res.users"]
                .sudo()
                .with_context(active_test=False)
                .search_fetch([("id", "in", sorted(ids))], ["partner_id"], order="id")
            )
            for user in users:
                user._bus_send(CONSOLE_BUS_TYPE, {"user_id": user.id})

    pending.update(user_ids)


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
    last_seen = fields.Datetime(
        string="Last seen",
        readonly=True,
        help="Last call of the agent's console or integration (the browser's own presence "
        "counts too). Agents unseen for longer than the presence timeout get no offers and "
        "are set offline.",
    )
    miss_count = fields.Integer(string="Missed offers", readonly=True)
    member_ids = fields.One2many(
        "omnichannel.queue.member", compute="_compute_member_ids", string="Queues"
    )
    load = fields.Integer(compute="_compute_load", string="Interactions now")
    state_log_ids = fields.One2many("omnichannel.agent.state.log", "agent_id")
    resource_calendar_id = fields.Many2one(
        "resource.calendar",
        string="Working hours",
        default=lambda self: self.env.company.resource_calendar_id,
        check_company=True,
        help="The agent's shifts: staffing plans count the agent as scheduled in the "
        "intervals these hours cover. Empty: the company's working hours.",
    )

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
        """_loads_by_class() for users given by id (no agent records read).

        Besides the contacts they hold and their pending offers, an agent's
        load counts the event inbox's reservations of them whose call is not
        written yet (a ``/route`` answered before its call exists, see
        ``omnichannel.event.inbox.reserved_user_id``): no other request,
        node or pass of the ACD offers them more meanwhile."""
        query = self._loads_sql(tuple(user_ids))
        if not user_ids:
            return {}
        self.env.cr.execute(query)
        return self._loads_from_rows(self.env.cr.fetchall())

    @api.model
    def _loads_sql(self, users):
        """The statement of :meth:`_loads_of_users`: rows ``(user_id,
        channel_type, n)``; ``users``: a tuple of user ids, or an ``SQL``
        subquery in parentheses (a caller reading the loads with the agents
        in one statement). Flushes what it reads."""
        Interaction = self.env["omnichannel.interaction"]
        Interaction.flush_model(["agent_id", "state", "channel_type", "channel_id", "external_id"])
        self.env["omnichannel.offer"].flush_model(["user_id", "state", "interaction_id"])
        self.env["omnichannel.event.inbox"].flush_model(["reserved_user_id", "state"])
        return SQL(
            """SELECT agent_id AS user_id, channel_type, count(*) AS n
                 FROM omnichannel_interaction
                WHERE agent_id IN %(users)s AND state IN %(holding)s
                GROUP BY agent_id, channel_type
               UNION ALL
               SELECT o.user_id, i.channel_type, count(*)
                 FROM omnichannel_offer o
                 JOIN omnichannel_interaction i ON i.id = o.interaction_id
                WHERE o.user_id IN %(users)s AND o.state = 'pending' AND i.agent_id IS NULL
                GROUP BY o.user_id, i.channel_type
               UNION ALL
               SELECT r.reserved_user_id, r.reserved_channel_type, count(*)
                 FROM omnichannel_event_inbox r
                WHERE r.reserved_user_id IN %(users)s AND r.state IN ('pending', 'failed')
                  AND NOT EXISTS (
                      SELECT 1 FROM omnichannel_interaction i
                       WHERE i.channel_id = r.channel_id AND i.external_id = r.conversation)
                GROUP BY r.reserved_user_id, r.reserved_channel_type""",
            users=users,
            holding=HOLDING_STATES,
        )

    @api.model
    def _loads_from_rows(self, rows):
        """{user_id: {channel class: count}} from ``(user_id, channel_type,
        n)`` rows of :meth:`_loads_sql`."""
        loads = {}
        for user_id, channel_type, count in rows:
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
        # sudo: agents read only their own agent record; it is returned sudo, callers check first;
        # read through the user's one2many: kept in the transaction's cache (the event inbox
        # asks for the same agents' records call after call)
        agent = self.sudo().browse(user.sudo().omnichannel_agent_ids[:1].ids)
        if not agent:
            self._check_agent_user(user)
            # sudo: agents may not create agent records; one per user, made on first use
            agent = self.sudo().create({"user_id": user.id, "company_id": user.company_id.id})
        return agent

    @api.model
    def _lock_for_action(self, users):
        """Lock the agent rows of ``users`` first thing in an agent's action
        (accept, reject, close, presence), which ends by writing them.

        Under REPEATABLE READ, a write to a row another transaction changed
        since this one's snapshot fails, and Odoo retries the whole request
        (five times at most). Without this lock an agent's request lost each
        race against the event inbox's applier, which commits changes of the
        same agents every few hundred milliseconds (offers, answers,
        hang-ups): the soak saw closes take 5-12 s and one fail after five
        tries. Locked early, the window is a few milliseconds; the applier
        (or the ACD) waits or skips the agent (``FOR UPDATE SKIP LOCKED``),
        and a row it could not apply is applied in its next batch. Agent
        rows are locked first and in id order, as the ACD locks them.

        Returns ``{user_id: (agent_id, state)}`` of the rows locked, read
        under the lock (the action need not look the agents up again)."""
        if not users:
            return {}
        self.flush_model(["user_id", "state"])
        self.env.cr.execute(
            SQL(
                """SELECT id, user_id, state FROM omnichannel_agent
                    WHERE user_id IN %s ORDER BY id FOR UPDATE""",
                tuple(users.ids),
            )
        )
        return {user_id: (agent_id, state) for agent_id, user_id, state in self.env.cr.fetchall()}

    @api.model
    def action_my_state(self, state, break_reason_id=False):
        """Set the current user's presence (agent console, XML-RPC)."""
        self._lock_for_action(self.env.user)
        agent = self._for_user()
        agent._check_may_change(self.env.user)
        agent._touch_last_seen()
        # sudo: agents may not write their presence nor its log; checked just above
        agent.sudo()._change_state(state, break_reason_id)
        # the user's own agent record (_for_user() returns it sudo)
        return agent._presence()

    def action_set_state(self, state, break_reason_id=False):
        """Set these agents' presence: their own, or their team's for a supervisor."""
        for agent in self:
            agent._check_may_change(self.env.user)
        # sudo: agents may not write their presence nor supervisors the state log; checked above
        for agent in self.sudo():
            agent._change_state(state, break_reason_id)
        return True

    @api.model
    def _check_agent_user(self, user):
        # the agent group implies internal user: portal and public users never pass
        if not user._has_group(AGENT_GROUP):
            raise AccessError(
                _(
                    "%(user)s is not a contact center agent: an administrator must first "
                    "give them the access Contact Center / Agent.",
                    user=user.name,
                )
            )

    def _check_may_change(self, user):
        self.ensure_one()
        self._check_agent_user(self.user_id)
        if self.user_id == user or user.has_group("omnichannel_cc.group_omnichannel_manager"):
            return
        if user.has_group("omnichannel_cc.group_omnichannel_supervisor"):
            # sudo: memberships of every company, not only those selected; only a count is read
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
            # choosing Available is a sign of life: it counts as a live session
            # for the presence timeout (then the browser's presence must follow)
            vals["last_seen"] = fields.Datetime.now()
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

    def _start_wrapup(self, seconds, since=None):
        """Wrap-up for ``seconds`` from ``since`` (the contact's end; now by default)."""
        self.ensure_one()
        now = since or fields.Datetime.now()
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
        # sudo: agents may not write offers; these are the agents' own pending ones
        offers = (
            self.env["omnichannel.offer"]
            .sudo()
            .search([("user_id", "in", self.user_id.ids), ("state", "=", "pending")])
        )
        offers._close("cancelled")

    def _dispatch_for_me(self):
        """The agent may take work: offer what waits in their queues."""
        self._logged_in_queues(self.user_id)._dispatch()

    @api.model
    def _logged_in_queues(self, users):
        """The queues ``users`` are logged in to, in every company, as
        superuser (the ACD dispatches them, the callers compare them): their
        ids in one query, no membership records read."""
        # sudo: the users' memberships whatever the company selection; queue ids only
        Queue = self.env["omnichannel.queue"].sudo()
        if not users:
            return Queue
        self.env["omnichannel.queue.member"].flush_model(["user_id", "queue_id", "logged_in"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT queue_id FROM omnichannel_queue_member
                    WHERE user_id IN %s AND logged_in""",
                tuple(users.ids),
            )
        )
        return Queue.browse([row[0] for row in self.env.cr.fetchall()])

    # ------------------------------------------------------------------
    # Live session: no offers for an agent nobody is in front of
    # ------------------------------------------------------------------
    @api.model
    def _presence_timeout(self):
        """Minutes without a live session after which an agent is offline."""
        # sudo: a technical setting read by the ACD for every user
        value = self.env["ir.config_parameter"].sudo().get_param(PRESENCE_TIMEOUT_PARAM)
        try:
            minutes = int(value) if value else PRESENCE_TIMEOUT_DEFAULT
        except ValueError:
            minutes = PRESENCE_TIMEOUT_DEFAULT
        return max(minutes, 1)

    @api.model
    def _live_condition(self, alias, now=None):
        """SQL condition on the agent table ``alias``: the agent has a live
        session (bus presence polled, or console / API seen, within the timeout)."""
        now = now or fields.Datetime.now()
        cutoff = now - timedelta(minutes=self._presence_timeout())
        self.env["bus.presence"].flush_model(["user_id", "last_poll"])
        return SQL(
            """(%(agent)s.last_seen >= %(cutoff)s
                OR EXISTS (SELECT 1 FROM bus_presence presence
                            WHERE presence.user_id = %(agent)s.user_id
                              AND presence.last_poll >= %(cutoff)s))""",
            agent=SQL.identifier(alias),
            cutoff=cutoff,
        )

    def _touch_last_seen(self):
        """The agent is in front of the console (at most one write per
        LAST_SEEN_GRANULARITY seconds: the console calls often)."""
        now = fields.Datetime.now()
        stale = self.filtered(
            lambda a: (
                not a.last_seen or (now - a.last_seen).total_seconds() >= LAST_SEEN_GRANULARITY
            )
        )
        if stale:
            # sudo: agents may not write their own agent record; only the time they were seen
            stale.sudo().write({"last_seen": now})

    @api.model
    def _sweep_absent(self):
        """Set offline the agents who are available, busy or in wrap-up with no
        live session any more (browser closed without logging out, a demo
        user who never logged in): they would only miss offers."""
        self.flush_model(["state", "last_seen", "user_id"])
        self.env.cr.execute(
            SQL(
                """SELECT agent.id FROM omnichannel_agent agent
                    WHERE agent.state IN ('available', 'busy', 'wrapup')
                      AND NOT %s""",
                self._live_condition("agent"),
            )
        )
        # sudo: the sweep (a cron) changes the presence of agents of every company
        absent = self.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        for agent in absent:
            agent._write_state("offline", break_reason_id=False, wrapup_until=False)
        absent._withdraw_pending_offers()
        if absent:
            _logger.info(
                "Contact center: %s agent(s) set offline, no live session for %s minutes: %s",
                len(absent),
                self._presence_timeout(),
                ", ".join(absent.mapped("name")),
            )
        return absent

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
        # sudo: agents may not write their memberships; only their own (refused below otherwise)
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

    # ------------------------------------------------------------------
    # Agent console
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        # created Available (by a manager, an integration, data): a sign of
        # life as choosing Available is, for the presence timeout
        now = fields.Datetime.now()
        for vals in vals_list:
            if vals.get("state") in DISPATCHABLE_STATES and not vals.get("last_seen"):
                vals["last_seen"] = now
        return super().create(vals_list)

    def write(self, vals):
        result = super().write(vals)
        if {"state", "break_reason_id", "wrapup_until"}.intersection(vals):
            # sudo: the write may have taken the records out of the user's rules; ids only
            notify_console(self.env, self.sudo().user_id)
        if "state" in vals:
            # presence changes refresh the supervisors' wallboards
            # sudo: as above, only the companies' ids are read
            self.env["omnichannel.queue"]._wallboard_notify(self.sudo().company_id.ids)
        return result

    @api.model
    def action_console_state(self):
        """Everything the current user's agent console shows, in one call.

        Only the current user's own presence, queues, offers and
        interactions; no None anywhere (XML-RPC safe).
        """
        user = self.env.user
        if not user.has_group(AGENT_GROUP):
            raise AccessError(_("Only contact center agents have an agent console."))
        now = fields.Datetime.now()
        # the user's own agent record, sudo from _for_user(): in whatever company it is
        agent = self._for_user()
        agent._touch_last_seen()
        presence = agent._presence()
        presence.update(
            state_label=dict(AGENT_STATES)[agent.state],
            state_seconds=seconds_between(agent.state_since, now),
            break_reason_name=agent.break_reason_id.name or False,
            wrapup_seconds_left=seconds_between(now, agent.wrapup_until),
        )
        return {
            "server_time": fields.Datetime.to_string(now),
            "user_id": user.id,
            "presence": presence,
            "states": [
                {"value": value, "label": label}
                for value, label in AGENT_STATES
                if value in ("available", "offline")
            ],
            "break_reasons": [
                {"id": reason.id, "name": reason.name}
                for reason in self.env["omnichannel.break.reason"].search([])
            ],
            "queues": self._console_queues(),
            "offers": self.env["omnichannel.offer"]._console_offers(now),
            "interactions": self.env["omnichannel.interaction"]._console_interactions(now),
            "dispositions": [
                {"id": disposition.id, "name": disposition.name, "outcome": disposition.outcome}
                for disposition in self.env["omnichannel.disposition"].search([])
            ],
            "access": {
                "sale_order": self.env["sale.order"].has_access("read"),
                "sale_order_create": self.env["sale.order"].has_access("create"),
                "account_move": self.env["account.move"].has_access("read"),
                "case_create": self.env["omnichannel.case"].has_access("create"),
            },
        }

    @api.model
    def _console_queues(self):
        # sudo: the user's own memberships, of every company, and their queues' waiting counts
        members = (
            self.env["omnichannel.queue.member"]
            .sudo()
            .search([("user_id", "=", self.env.uid), ("queue_id.active", "=", True)])
        )
        # members.queue_id is sudo (the search above): the waiting counts of
        # the agent's own queues, all computed in one query
        return [
            {
                "id": member.queue_id.id,
                "name": member.queue_id.name,
                "logged_in": member.logged_in,
                "waiting_count": member.queue_id.waiting_count,
            }
            for member in members.sorted(lambda m: (m.queue_id.sequence, m.queue_id.name))
        ]
