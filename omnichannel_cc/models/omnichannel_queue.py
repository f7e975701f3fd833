import contextlib
import dataclasses
import logging
from datetime import timedelta

import pytz
from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..tools import routing, wallboard, wallboard_chart
from .omnichannel_agent import AGENT_STATES
from .omnichannel_agent import HOLDING_STATES as AGENT_LOAD_STATES
from .omnichannel_interaction import WAITING_STATES

_logger = logging.getLogger(__name__)

# capacity columns of omnichannel_agent, in the order _agent_rows() reads them
CAPACITY_COLUMNS = ("voice", "chat", "email")


# ---- the live supervisor wallboard ----

PUSH_INTERVAL = 2

POLL_INTERVAL = 30

BUS_TYPE = "omnichannel.wallboard"

PUSH_TABLE = "omnichannel_wallboard_push"

PENDING_KEY = "omnichannel.wallboard.companies"

# companies whose push row this transaction wrote (cleared at commit / rollback)
PUSHED_KEY = "omnichannel.wallboard.pushed"

# (database, company id) -> the last committed push this process saw (naive
# UTC): a push seen less than PUSH_INTERVAL ago makes the next claim of this
# worker a no-op without asking PostgreSQL (every event of a busy center asks)
_LAST_PUSH_SEEN = {}

WAITING_LIST_SIZE = 15

HOLDING_STATES = ("offered", "active", "wrapup")
# key of the transaction's data (cr.precommit.data) while the event inbox
# applies a chunk of rows: ids of the queues whose new contacts wait for the
# chunk's one pass of the ACD (see _dispatch_deferred)
DEFERRED_DISPATCH_KEY = "omnichannel.acd.deferred"

LIVE_STATES = tuple(dict.fromkeys((*WAITING_STATES, *HOLDING_STATES)))

QUEUE_FIGURES = {
    "waiting": 0,
    "longest_wait": 0.0,
    "offered": 0,
    "answered": 0,
    "answered_in_sl": 0,
    "abandoned": 0,
    "wait_sum": 0.0,
    "handled": 0,
    "handled_timed": 0,
    "handle_sum": 0.0,
}


class OmnichannelQueue(models.Model):
    """Where interactions wait for an agent."""

    _name = "omnichannel.queue"
    _description = "Contact center queue"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(help="Short code used by integrations (e.g. SALES).")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    member_line_ids = fields.One2many("omnichannel.queue.member", "queue_id", string="Members")
    member_ids = fields.Many2many(
        "res.users",
        "omnichannel_queue_member_rel",
        "queue_id",
        "user_id",
        string="Agents",
        compute="_compute_member_ids",
        inverse="_inverse_member_ids",
        store=True,
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("omnichannel_cc.group_omnichannel_agent").id)
        ],
        help="Agents who work this queue (record rules use it); tiers and log-in are on Members.",
    )
    supervisor_ids = fields.Many2many(
        "res.users",
        "omnichannel_queue_supervisor_rel",
        "queue_id",
        "user_id",
        string="Supervisors",
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("omnichannel_cc.group_omnichannel_supervisor").id)
        ],
    )
    priority = fields.Integer(default=0, help="Higher goes first when agents serve several queues.")
    service_level_target = fields.Float(
        string="Service level target (%)", default=80.0, help="Share answered within the threshold."
    )
    service_level_seconds = fields.Integer(string="Service level threshold (s)", default=20)
    wrapup_seconds = fields.Integer(string="Wrap-up time (s)", default=30)
    strategy = fields.Selection(
        [
            (routing.LONGEST_IDLE, "Longest idle agent"),
            (routing.LEAST_BUSY, "Least busy agent"),
            (routing.ROUND_ROBIN, "Round robin"),
            (routing.SKILLS, "Best skill, then longest idle"),
            (routing.RING_ALL, "Ring all (first to accept)"),
        ],
        default=routing.LONGEST_IDLE,
        required=True,
    )
    ring_timeout = fields.Integer(
        string="Offer timeout (s)",
        default=20,
        help="How long an offer waits for the agent's accept.",
    )
    aging_seconds = fields.Integer(
        string="Aging (s per priority point)",
        default=60,
        help="Every so many seconds of waiting count as one priority point, so that "
        "low-priority work is not starved. 0: strict priority.",
    )
    resource_calendar_id = fields.Many2one(
        "resource.calendar",
        string="Business hours",
        help="Empty: always open. Public holidays of the calendar close the queue.",
    )
    closed_action = fields.Selection(
        [
            ("queue", "Keep waiting until opening"),
            ("voicemail", "Voicemail"),
            ("callback", "Call-back request"),
            ("auto_reply", "Automatic reply, then wait"),
        ],
        string="When closed",
        default="queue",
        required=True,
    )
    closed_message = fields.Text(
        translate=True,
        default=lambda self: _("We are closed now. We will get back to you as soon as we open."),
    )
    max_wait_seconds = fields.Integer(string="Maximum wait (s)", help="0: no limit.")
    max_queue_length = fields.Integer(help="0: no limit.")
    overflow_action = fields.Selection(
        [("queue", "Overflow queue"), ("callback", "Call-back request")],
        default="queue",
        required=True,
    )
    overflow_queue_id = fields.Many2one("omnichannel.queue", string="Overflow to")
    interaction_ids = fields.One2many("omnichannel.interaction", "queue_id")
    waiting_count = fields.Integer(compute="_compute_waiting_count")

    _sql_constraints = [
        (
            "service_level_target_range",
            "CHECK(service_level_target >= 0 AND service_level_target <= 100)",
            "The service level target is a percentage between 0 and 100.",
        ),
        (
            "code_company_uniq",
            "unique(code, company_id)",
            "A queue code must be unique within a company.",
        ),
    ]

    script_id = fields.Many2one(
        "omnichannel.script",
        ondelete="set null",
        index="btree_not_null",
        help="The call script agents follow for this queue's interactions.",
    )

    @api.depends("member_line_ids.user_id")
    def _compute_member_ids(self):
        for queue in self:
            queue.member_ids = queue.member_line_ids.user_id

    def _inverse_member_ids(self):
        Member = self.env["omnichannel.queue.member"]
        for queue in self:
            current = queue.member_line_ids.user_id
            wanted = queue.member_ids
            queue.member_line_ids.filtered(
                lambda m, wanted=wanted: m.user_id not in wanted
            ).unlink()
            Member.create([{"queue_id": queue.id, "user_id": user.id} for user in wanted - current])

    @api.depends("interaction_ids.state")
    def _compute_waiting_count(self):
        counts = dict(
            self.env["omnichannel.interaction"]._read_group(
                [("queue_id", "in", self.ids), ("state", "in", WAITING_STATES)],
                ["queue_id"],
                ["__count"],
            )
        )
        for queue in self:
            queue.waiting_count = counts.get(queue, 0)

    def action_view_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_interaction_action"
        )
        action["domain"] = [("queue_id", "=", self.id)]
        action["context"] = {"default_queue_id": self.id}
        return action

    # ------------------------------------------------------------------
    # Business hours
    # ------------------------------------------------------------------
    def _is_open(self, when=None):
        self.ensure_one()
        calendar = self.resource_calendar_id
        if not calendar:
            return True
        when = when or fields.Datetime.now()
        tz = pytz.timezone(calendar.tz or "UTC")
        start = pytz.utc.localize(when - timedelta(seconds=1)).astimezone(tz)
        end = pytz.utc.localize(when + timedelta(seconds=1)).astimezone(tz)
        intervals = calendar._work_intervals_batch(start, end)[False]
        return any(True for _interval in intervals)

    # ------------------------------------------------------------------
    # The ACD: offer waiting interactions to free agents
    # ------------------------------------------------------------------
    def _dispatch(self, max_offers=200):
        """Offer what waits in these queues to free agents, best first.

        Safe across workers and servers: each interaction and each agent is
        claimed with FOR UPDATE SKIP LOCKED and a conditional UPDATE; partial
        unique indexes on offers are the last guard. Returns offers made.
        """
        made = 0
        # sudo: the ACD runs as superuser: it reads and offers the work of every agent
        queues = self.sudo().filtered("active").sorted(lambda q: (-q.priority, q.sequence, q.id))
        for queue in queues:
            if made >= max_offers:
                break
            if not queue._is_open():
                continue
            made += queue._dispatch_queue(max_offers - made)
        return made

    def _dispatch_or_defer(self):
        """Offer the new contacts of these queues: at once, or in the pass of
        the ACD that ends the event inbox's chunk (:meth:`_dispatch_deferred`)."""
        deferred = self.env.cr.precommit.data.get(DEFERRED_DISPATCH_KEY)
        if deferred is None:
            return self._dispatch()
        deferred.update(self.ids)
        return 0

    @contextlib.contextmanager
    def _dispatch_deferred(self):
        """While the block runs, new contacts wait (:meth:`_dispatch_or_defer`);
        after it, one pass of the ACD offers those of every queue concerned:
        the inbox applies many new calls per chunk, and one pass reads the
        waiting calls, the agents and their loads once instead of once each.
        A block that raises offers nothing (its savepoint is rolled back)."""
        data = self.env.cr.precommit.data
        data[DEFERRED_DISPATCH_KEY] = deferred = set()
        try:
            yield
        finally:
            data.pop(DEFERRED_DISPATCH_KEY, None)
        if deferred:
            self.browse(sorted(deferred))._dispatch()

    def _waiting_in_order(self):
        """Waiting interactions, best first, as plain rows (one query)."""
        self.ensure_one()
        Interaction = self.env["omnichannel.interaction"]
        Interaction.flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT id, priority, EXTRACT(EPOCH FROM %s - date_queued), channel_type,
                          preferred_agent_id, preferred_until, required_skill_id
                     FROM omnichannel_interaction
                    WHERE queue_id = %s AND state = 'queued'
                    ORDER BY priority DESC, date_queued, id
                    LIMIT 1000""",
                fields.Datetime.now(),
                self.id,
            )
        )
        rows, items = {}, []
        for (
            ident,
            priority,
            waited,
            channel_type,
            preferred,
            until,
            skill,
        ) in self.env.cr.fetchall():
            rows[ident] = {
                "id": ident,
                "channel_class": routing.CHANNEL_CLASS.get(channel_type, "email"),
                "preferred_agent_id": preferred,
                "preferred_until": until,
                "required_skill_id": skill,
            }
            items.append((ident, priority, float(waited or 0)))
        return [rows[item[0]] for item in routing.order_waiting(items, self.aging_seconds)]

    def _agent_rows(self, user_ids=None):
        """Dispatchable agents: queue members logged in, or the given users."""
        self.env.cr.execute(self._agent_rows_sql(user_ids))
        return self.env.cr.fetchall()

    def _agent_rows_sql(self, user_ids=None):
        """The statement of :meth:`_agent_rows` (its first column is named
        ``user_id``). Flushes what it reads."""
        self.ensure_one()
        self.env["omnichannel.agent"].flush_model()
        self.env["omnichannel.queue.member"].flush_model()
        # only agents with a live session (see omnichannel.agent._live_condition)
        live = self.env["omnichannel.agent"]._live_condition("a")
        # user, tier, penalty, agent, then what the candidates need of the agent
        agent_columns = SQL(
            """a.id, COALESCE(a.last_end_date, a.state_since), a.rr_seq,
               a.capacity_voice, a.capacity_chat, a.capacity_email"""
        )
        if user_ids:
            query = SQL(
                """SELECT a.user_id, 0 AS tier, 0 AS penalty, %s
                     FROM omnichannel_agent a
                    WHERE a.user_id IN %s AND a.state IN ('available', 'busy') AND %s""",
                agent_columns,
                tuple(user_ids),
                live,
            )
        else:
            query = SQL(
                """SELECT m.user_id, m.tier, m.penalty, %s
                     FROM omnichannel_queue_member m
                     JOIN omnichannel_agent a ON a.user_id = m.user_id
                    WHERE m.queue_id = %s AND m.logged_in
                      AND a.state IN ('available', 'busy') AND %s""",
                agent_columns,
                self.id,
                live,
            )
        return query

    def _declined_by(self, interaction):
        """Users who rejected or missed this interaction (one query)."""
        if interaction._is_new_in_transaction() and not interaction.offer_ids:
            # created by this transaction and never offered (its offers are
            # this transaction's, in the cache): nobody declined it yet
            return set()
        self.env["omnichannel.offer"].flush_model(["interaction_id", "state", "user_id"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT user_id FROM omnichannel_offer
                    WHERE interaction_id = %s AND state IN ('rejected', 'timeout')""",
                interaction.id,
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    @staticmethod
    def _capacity_index(channel_class):
        """Where an ``_agent_rows`` row holds the agent's capacity for ``channel_class``."""
        return 6 + CAPACITY_COLUMNS.index(channel_class)

    def _candidates(self, interaction, rows, declined, loads=None):
        """routing.Candidate objects for one interaction. ``loads``: the
        agents' loads (``omnichannel.agent._loads_of_users``) when the caller
        read them with the rows; read here otherwise."""
        if loads is None:
            # one load query for all the agents (SQL); the rest comes with the rows
            loads = self.env["omnichannel.agent"]._loads_of_users([row[0] for row in rows])
        channel_class = routing.CHANNEL_CLASS.get(interaction.channel_type, "email")
        capacity_index = self._capacity_index(channel_class)
        now = fields.Datetime.now()
        skill = interaction.required_skill_id
        levels = {}
        if skill:
            # sudo: the skills of every candidate agent (a visitor's chat asks too); levels only
            for line in (
                self.env["omnichannel.agent.skill"]
                .sudo()
                .search([("agent_id", "in", [row[3] for row in rows]), ("skill_id", "=", skill.id)])
            ):
                levels[line.agent_id.id] = max(levels.get(line.agent_id.id, 0), line.level)
        candidates = []
        for row in rows:
            user_id, tier, penalty, agent_id, idle_since, rr_seq = row[:6]
            user_loads = loads.get(user_id, {})
            candidates.append(
                routing.Candidate(
                    user_id=user_id,
                    tier=tier,
                    penalty=penalty,
                    skill_level=levels.get(agent_id, 0),
                    idle_seconds=(now - (idle_since or now)).total_seconds(),
                    load=sum(user_loads.values()),
                    free_slots=row[capacity_index] - user_loads.get(channel_class, 0),
                    last_assigned_seq=rr_seq or 0,
                )
            )
        if declined:
            others = [c for c in candidates if c.user_id not in declined]
            if others:
                candidates = others
        return candidates

    def _dispatch_queue(self, max_offers):
        self.ensure_one()
        made = 0
        # sudo: as _dispatch: the ACD offers waiting interactions whoever triggered it
        Interaction = self.env["omnichannel.interaction"].sudo()
        now = fields.Datetime.now()
        member_rows = None
        candidates_cache = {}  # (channel class, skill) -> candidates, while loads are unchanged
        full_classes = set()  # nobody of the queue has room for these
        waiting = self._waiting_in_order()
        # the preferred agents of every waiting interaction, read at once: a
        # queue where many wait for their (absent) case owner costs one query
        preferred_ids = {
            row["preferred_agent_id"]
            for row in waiting
            if row["preferred_agent_id"] and row["preferred_until"] and row["preferred_until"] > now
        }
        preferred_rows = {}
        if preferred_ids:
            for agent_row in self._agent_rows(user_ids=sorted(preferred_ids)):
                preferred_rows.setdefault(agent_row[0], []).append(agent_row)
        for row in waiting:
            if made >= max_offers:
                break
            channel_class = row["channel_class"]
            preferred = row["preferred_until"] and row["preferred_until"] > now
            if not preferred and channel_class in full_classes:
                continue
            interaction = Interaction.browse(row["id"])
            if preferred:
                rows = preferred_rows.get(row["preferred_agent_id"], [])
            else:
                if member_rows is None:
                    member_rows = self._agent_rows()
                    candidates_cache = {}
                rows = member_rows
            if not rows:
                if not preferred:
                    full_classes.add(channel_class)
                continue
            declined = self._declined_by(interaction)
            key = (channel_class, row["required_skill_id"])
            if preferred or declined:
                candidates = self._candidates(interaction, rows, declined)
            else:
                if key not in candidates_cache:
                    candidates_cache[key] = self._candidates(interaction, rows, declined)
                candidates = candidates_cache[key]
            ordered = routing.order_candidates(
                self.strategy, candidates, required_skill=bool(row["required_skill_id"])
            )
            if not ordered:
                if not preferred and not any(c.free_slots > 0 for c in candidates):
                    full_classes.add(channel_class)
                continue
            claimed = self._offer(interaction, ordered)
            if claimed:
                made += 1
                # the claimed agents hold one more: update the cached
                # candidates instead of reading every agent again (the
                # claim itself re-checks capacity under the row lock)
                candidates_cache = {
                    cache_key: [
                        dataclasses.replace(
                            c,
                            load=c.load + 1,
                            free_slots=c.free_slots - (cache_key[0] == channel_class),
                            last_assigned_seq=max(c.last_assigned_seq, 0) + 10**9,
                        )
                        if c.user_id in claimed.user_id.ids
                        else c
                        for c in cached
                    ]
                    for cache_key, cached in candidates_cache.items()
                }
        return made

    def _try_lock(self, query, savepoint=None):
        """Run a ``FOR UPDATE SKIP LOCKED`` query; None when another
        transaction changed the row after this one's snapshot (REPEATABLE
        READ raises a serialization failure there instead of skipping).

        Only the savepoint is rolled back: the request goes on with the next
        interaction or agent instead of being retried from the start. The row
        changed since this request began (an offer, a close, a requeue, a
        state change) and may be dispatchable now: a sweep, at once and in its
        own transaction, makes sure no call waits while an agent is free.

        ``savepoint``: the caller's own (an ``SQL`` identifier), set by the
        caller (in ``query`` itself, say, saving a round trip) and released
        by it or by the commit; without it, one is set and released here.
        """
        cr = self.env.cr
        try:
            if savepoint is not None:
                cr.execute(query, log_exceptions=False)
                return cr.fetchone() or ()
            with cr.savepoint(flush=False):
                cr.execute(query, log_exceptions=False)
                return cr.fetchone() or ()
        except pg_errors.SerializationFailure:
            if savepoint is not None:
                cr.execute(SQL("ROLLBACK TO SAVEPOINT %s", savepoint))
            self._retrigger_dispatch()
            return None

    def _retrigger_dispatch(self):
        """Ask for an ACD sweep now (once per transaction)."""
        data = self.env.cr.precommit.data  # cleared at commit and rollback
        if data.get("omnichannel_acd_retrigger"):
            return
        data["omnichannel_acd_retrigger"] = True
        self.env.ref("omnichannel_cc.ir_cron_acd_sweep")._trigger()

    def _trigger_sweep_at(self, when):
        """One sweep trigger per expiry time and transaction (offers made in
        the same second expire together)."""
        triggered = self.env.cr.precommit.data.setdefault("omnichannel_acd_sweep_at", set())
        if when not in triggered:
            triggered.add(when)
            # the cached xml id, without env.ref()'s existence query (every
            # offer with a ring timeout comes here)
            cron_id = self.env["ir.model.data"]._xmlid_to_res_id("omnichannel_cc.ir_cron_acd_sweep")
            if when > fields.Datetime.now():
                # a later sweep is its trigger row alone: ir.cron._trigger()
                # reads the whole cron first, only to drop the triggers of an
                # archived one (which never runs them anyway); nothing to wake now
                # sudo: the ACD's own cron; offers are made whoever triggered the dispatch
                self.env["ir.cron.trigger"].sudo().create({"cron_id": cron_id, "call_at": when})
            else:
                # sudo: as above
                self.env["ir.cron"].sudo().browse(cron_id)._trigger(when)

    def _lock_interaction(self, interaction):
        if interaction._is_new_in_transaction():
            # nobody else sees it before commit; the offer's conditional
            # UPDATE (state = 'queued') still checks the row itself
            return interaction.state == "queued"
        return bool(
            self._try_lock(
                SQL(
                    """SELECT id FROM omnichannel_interaction
                        WHERE id = %s AND state = 'queued' FOR UPDATE SKIP LOCKED""",
                    interaction.id,
                )
            )
        )

    @api.model
    def _lock_agent_sql(self, user_id):
        """The statement locking a user's agent row when they may be offered
        work (available or busy), skipping it when another transaction holds
        it; run through :meth:`_try_lock`. Returns the agent's id."""
        return SQL(
            """SELECT id FROM omnichannel_agent
                WHERE user_id = %s AND state IN ('available', 'busy')
                FOR UPDATE SKIP LOCKED""",
            user_id,
        )

    def _lock_agent(self, user_id, channel_class, loads=None):
        """Claim a free agent: row lock, then capacity checked under the lock.

        ``loads``: a dict that receives the agent's loads read under the lock.
        """
        row = self._try_lock(self._lock_agent_sql(user_id))
        if not row:
            return False
        # sudo: the ACD claims other users' agent records; this one is locked above
        agent = self.env["omnichannel.agent"].sudo().browse(row[0])
        agent.invalidate_recordset()
        agent_loads = agent._loads_of_users([user_id])
        if loads is not None:
            loads.update(agent_loads)
        load = agent_loads.get(user_id, {}).get(channel_class, 0)
        return agent if load < agent._capacity(channel_class) else False

    def _offer(self, interaction, ordered):
        """Offer one interaction: to the first agent that can be claimed, or to
        every claimable agent for ring-all. Returns the claimed agents (empty
        when no offer was made)."""
        if not self._lock_interaction(interaction):
            return self.env["omnichannel.agent"]
        channel_class = routing.CHANNEL_CLASS.get(interaction.channel_type, "email")
        ring_all = self.strategy == routing.RING_ALL and channel_class == "voice"
        # sudo: the claimed agents' records are written (state, load) by the ACD, not by them
        claimed = self.env["omnichannel.agent"].sudo()
        loads = {}  # of the claimed agents, read under their locks
        for candidate in ordered:
            agent = self._lock_agent(candidate.user_id, channel_class, loads)
            if agent:
                claimed |= agent
                if not ring_all:
                    break
        if not claimed:
            return self.env["omnichannel.agent"]
        cr = self.env.cr
        now = fields.Datetime.now()
        offered = interaction._set_state(
            "offered",
            guard=SQL("state = 'queued'"),
            agent_id=False if ring_all else claimed.user_id.id,
            date_offered=now,
        )
        if not offered:
            return self.env["omnichannel.agent"]
        cr.execute(
            SQL(
                """UPDATE omnichannel_agent
                      SET last_offer_date = %s, rr_seq = nextval('omnichannel_agent_rr_seq')
                    WHERE id IN %s""",
                now,
                tuple(claimed.ids),
            ),
            log_exceptions=False,
        )
        claimed.invalidate_recordset(["last_offer_date", "rr_seq"])
        expire = now + timedelta(seconds=self.ring_timeout) if self.ring_timeout > 0 else False
        # sudo: only managers create offers; the ACD makes them to the agents claimed above
        offers = (
            self.env["omnichannel.offer"]
            .sudo()
            .create(
                [
                    {
                        "interaction_id": interaction.id,
                        "user_id": agent.user_id.id,
                        "queue_id": self.id,
                        "ring_all": ring_all,
                        "date_offered": now,
                        "date_expire": expire,
                    }
                    for agent in claimed
                ]
            )
        )
        for user_id in claimed.user_id.ids:  # + the offer just made
            user_loads = loads.setdefault(user_id, {})
            user_loads[channel_class] = user_loads.get(channel_class, 0) + 1
        claimed._refresh_state(loads)
        if expire:
            self._trigger_sweep_at(expire)
        offers._notify_agents()
        return claimed

    # ------------------------------------------------------------------
    # Sweep: what events did not trigger (expired offers, ended wrap-ups,
    # preferred-agent timeouts, maximum wait)
    # ------------------------------------------------------------------
    @api.model
    def _acd_sweep(self):
        now = fields.Datetime.now()
        # sudo: the ACD's sweep (a cron) acts on the offers and agents of every company
        sweep = self.sudo()
        Offer = sweep.env["omnichannel.offer"]
        Offer.search([("state", "=", "pending"), ("date_expire", "<", now)])._timeout()
        Agent = sweep.env["omnichannel.agent"]
        Agent._sweep_absent()
        Agent.search([("wrapup_until", "!=", False), ("wrapup_until", "<=", now)])._end_wrapup()
        Interaction = sweep.env["omnichannel.interaction"]
        for queue in sweep.search([("max_wait_seconds", ">", 0)]):
            late = Interaction.search(
                [
                    ("queue_id", "=", queue.id),
                    ("state", "=", "queued"),
                    ("date_queued", "<", now - timedelta(seconds=queue.max_wait_seconds)),
                ]
            )
            late._overflow(_("waited longer than %(seconds)s s", seconds=queue.max_wait_seconds))
        waiting_queues = Interaction.search([("state", "=", "queued")]).queue_id
        return waiting_queues._dispatch()

    @api.model
    def _cron_acd_sweep(self):
        try:
            self._acd_sweep()
        except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
            # another worker changed the same rows: the next run does it
            _logger.info("ACD sweep met a concurrent update; retrying at the next run")
            self.env.cr.rollback()
            self.env.ref("omnichannel_cc.ir_cron_acd_sweep")._trigger()

    # ------------------------------------------------------------------
    # Call scripts
    # ------------------------------------------------------------------
    # ------------------------------------------------------------------
    # The live supervisor wallboard
    # ------------------------------------------------------------------
    # The live supervisor wallboard: figures of the queues and their agents.
    def init(self):
        res = super().init()
        # One row per company: when its wallboards were last pushed (rate limit
        # shared by every worker and server).
        self.env.cr.execute(
            SQL(
                """CREATE TABLE IF NOT EXISTS %s (
                       company_id integer PRIMARY KEY
                           REFERENCES res_company (id) ON DELETE CASCADE,
                       last_push timestamp without time zone NOT NULL
                   )""",
                SQL.identifier(PUSH_TABLE),
            )
        )
        self.env.cr.execute(
            SQL(
                """INSERT INTO %s (company_id, last_push)
                   SELECT id, '1970-01-01' FROM res_company
                   ON CONFLICT (company_id) DO NOTHING""",
                SQL.identifier(PUSH_TABLE),
            )
        )
        return res

    # ------------------------------------------------------------------
    # Live push, rate-limited through PostgreSQL
    # ------------------------------------------------------------------
    @api.model
    def _wallboard_notify(self, company_ids):
        """Ask for a wallboard push for these companies at the end of the transaction."""
        precommit = self.env.cr.precommit
        if PENDING_KEY not in precommit.data:
            precommit.data[PENDING_KEY] = set()
            precommit.add(self._wallboard_push_pending)
        precommit.data[PENDING_KEY].update(cid for cid in company_ids if cid)

    def _wallboard_push_pending(self):
        company_ids = self.env.cr.precommit.data.pop(PENDING_KEY, set())
        for company_id in sorted(company_ids):
            if self._wallboard_claim_push(company_id):
                # the cached xml id, without env.ref()'s existence query (every event comes here)
                group_id = self.env["ir.model.data"]._xmlid_to_res_id(
                    "omnichannel_cc.group_omnichannel_supervisor", raise_if_not_found=False
                )
                if group_id:
                    # sudo: a bus notification helper: to every supervisor, only a company id
                    self.env["res.groups"].sudo().browse(group_id)._bus_send(
                        BUS_TYPE, {"company_id": company_id}
                    )

    @api.model
    def _wallboard_claim_push(self, company_id, now=None):
        """True when this transaction may push the wallboards of ``company_id``.

        Never blocks and never fails the business transaction: a row locked by
        another transaction means that one is pushing; a row it changed since
        our snapshot means it pushed a moment ago. Either way we skip. A push
        this process saw committed less than PUSH_INTERVAL ago skips without
        asking PostgreSQL (on a busy center every event asks).
        """
        now = now or fields.Datetime.now()
        cr = self.env.cr
        window = timedelta(seconds=PUSH_INTERVAL)
        seen_key = (cr.dbname, company_id)
        seen = _LAST_PUSH_SEEN.get(seen_key)
        if seen and now - window < seen <= now:
            return False
        table = SQL.identifier(PUSH_TABLE)
        written = cr.precommit.data.setdefault(PUSHED_KEY, set())
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    SQL(
                        "SELECT last_push FROM %s WHERE company_id = %s FOR UPDATE NOWAIT",
                        table,
                        company_id,
                    ),
                    log_exceptions=False,
                )
                row = cr.fetchone()
                if row is None:
                    cr.execute(
                        SQL(
                            """INSERT INTO %s (company_id, last_push) VALUES (%s, %s)
                               ON CONFLICT (company_id) DO NOTHING""",
                            table,
                            company_id,
                            now,
                        ),
                        log_exceptions=False,
                    )
                    return self._wallboard_pushed(company_id, now) if cr.rowcount == 1 else False
                # a last push far in the future is a clock jump, not a push
                if now - window < row[0] <= now + window:
                    if company_id not in written:
                        # another transaction's push, committed (our snapshot sees it)
                        _LAST_PUSH_SEEN[seen_key] = row[0]
                    return False
                cr.execute(
                    SQL(
                        "UPDATE %s SET last_push = %s WHERE company_id = %s",
                        table,
                        now,
                        company_id,
                    ),
                    log_exceptions=False,
                )
                return self._wallboard_pushed(company_id, now) if cr.rowcount == 1 else False
        except (pg_errors.LockNotAvailable, pg_errors.SerializationFailure):
            return False

    @api.model
    def _wallboard_pushed(self, company_id, when):
        """This transaction pushes ``company_id``'s wallboards: remembered by
        the process once committed (a rolled-back push was never seen)."""
        cr = self.env.cr
        cr.precommit.data.setdefault(PUSHED_KEY, set()).add(company_id)
        seen_key = (cr.dbname, company_id)

        @cr.postcommit.add
        def remember():
            _LAST_PUSH_SEEN[seen_key] = max(_LAST_PUSH_SEEN.get(seen_key) or when, when)

        return True

    # ------------------------------------------------------------------
    # Board data
    # ------------------------------------------------------------------
    @api.model
    def _wallboard_as_of(self, now):
        """(when the figures read in this transaction are from, naive UTC;
        whether they come from a replica).

        On the primary: ``now``. On a streaming replica (``--db_replica_host``,
        ``@api.readonly`` methods called from the web client): the commit
        time of the last transaction it replayed while WAL received from the
        primary still waits to be replayed (replay behind or paused) or no
        WAL receiver runs (primary unreachable); ``now`` when it has replayed
        all it received: the replay timestamp alone would make the figures of
        an idle primary look old although nothing is missing.
        """
        self.env.cr.execute(
            SQL(
                """SELECT pg_is_in_recovery(),
                          CASE WHEN NOT pg_is_in_recovery() THEN NULL
                               WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                                    AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver)
                                   THEN NULL
                               ELSE pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC'
                          END"""
            )
        )
        replica, replayed = self.env.cr.fetchone()
        as_of = min(replayed, now) if replayed else now
        return as_of.replace(microsecond=0), bool(replica)

    @api.model
    @api.readonly
    def wallboard_data(self):
        """The whole wallboard of the current user (client action, XML-RPC).

        Read-only (``@api.readonly``): from the web client it runs on the
        read replica when Odoo has one; ``as_of`` says when its figures are
        from, ``replica`` whether they were read there.

        Supervisors see the queues they supervise or belong to, managers all
        queues of their companies (the record rules decide). The same few
        queries whatever the number of queues, agents and contacts: one for
        every figure of queues and agents, one for the waiting lists and the
        agents' current contacts (see _wallboard_figures, _wallboard_live).
        """
        user = self.env.user
        if not self.env.su and not user.has_group("omnichannel_cc.group_omnichannel_supervisor"):
            raise AccessError(_("Only Contact Center supervisors and managers see the wallboard."))
        is_manager = self.env.su or user.has_group("omnichannel_cc.group_omnichannel_manager")
        now = fields.Datetime.now()
        tz = self.env.context.get("tz") or user.tz
        day_start = wallboard.day_start_utc(now, tz)
        queues = self.search([])
        for model in (
            "omnichannel.interaction",
            "omnichannel.agent",
            "omnichannel.queue.member",
            "omnichannel.offer",
        ):
            self.env[model].flush_model()
        self.flush_model()

        members = self._wallboard_members(queues)
        agents = self.env["omnichannel.agent"].search(
            [("user_id", "in", list({row[1] for row in members}))]
        )
        stats, agent_counts = self._wallboard_figures(queues, agents.user_id, now, day_start)
        current, waiting = self._wallboard_live(queues, agents.user_id, now)
        extras = self._wallboard_queue_extra(queues, day_start)

        supervised = set(queues.filtered(lambda q: user in q.supervisor_ids).ids)
        agents_by_state = {}
        queue_members = {}
        user_queues = {}
        for queue_id, user_id, state in members:
            counts = agents_by_state.setdefault(queue_id, dict.fromkeys(dict(AGENT_STATES), 0))
            counts[state] += 1
            queue_members.setdefault(queue_id, []).append(user_id)
            user_queues.setdefault(user_id, []).append(queue_id)
        queue_list = []
        for queue in queues:
            row = stats.get(queue.id, {})
            longest = int(row.get("longest_wait", 0))
            kpis = wallboard.queue_kpis(
                answered=row.get("answered", 0),
                answered_in_sl=row.get("answered_in_sl", 0),
                abandoned=row.get("abandoned", 0),
                wait_sum=row.get("wait_sum", 0.0),
                handled_timed=row.get("handled_timed", 0),
                handle_sum=row.get("handle_sum", 0.0),
                target=queue.service_level_target,
                longest_wait=longest,
                threshold=queue.service_level_seconds,
            )
            queue_list.append(
                dict(
                    kpis,
                    id=queue.id,
                    name=queue.name,
                    company_id=queue.company_id.id,
                    company_name=queue.company_id.name,
                    service_level_target=queue.service_level_target,
                    service_level_seconds=queue.service_level_seconds,
                    waiting=row.get("waiting", 0),
                    longest_wait=longest,
                    offered=row.get("offered", 0),
                    answered=row.get("answered", 0),
                    answered_in_sl=row.get("answered_in_sl", 0),
                    abandoned=row.get("abandoned", 0),
                    handled=row.get("handled", 0),
                    agents=agents_by_state.get(queue.id, dict.fromkeys(dict(AGENT_STATES), 0)),
                    member_user_ids=queue_members.get(queue.id, []),
                    can_manage=bool(is_manager or queue.id in supervised),
                    waiting_items=waiting.get(queue.id, []),
                    extra=extras.get(queue.id, []),
                )
            )
        agent_list = []
        for agent in agents:
            load, handled = agent_counts.get(agent.user_id.id, (0, 0))
            agent_list.append(
                {
                    "id": agent.id,
                    "user_id": agent.user_id.id,
                    "name": agent.name or agent.user_id.name or "",
                    "state": agent.state,
                    "break_reason": agent.break_reason_id.name or "",
                    "seconds_in_state": max(int((now - agent.state_since).total_seconds()), 0)
                    if agent.state_since
                    else 0,
                    "load": load,
                    "handled_today": handled,
                    "current": current.get(agent.user_id.id, False),
                    "queue_ids": user_queues.get(agent.user_id.id, []),
                    "can_manage": bool(
                        is_manager
                        or agent.user_id == user
                        or supervised.intersection(user_queues.get(agent.user_id.id, []))
                    ),
                }
            )
        reasons = self.env["omnichannel.break.reason"].search([])
        as_of, replica = self._wallboard_as_of(now)
        return {
            "now": fields.Datetime.to_string(now),
            "as_of": fields.Datetime.to_string(as_of),
            "replica": replica,
            "day_start": fields.Datetime.to_string(day_start),
            "user_id": user.id,
            "is_manager": bool(is_manager),
            "push_interval": PUSH_INTERVAL,
            "poll_interval": POLL_INTERVAL,
            "queues": queue_list,
            "agents": agent_list,
            "agent_states": self._wallboard_labels("omnichannel.agent", "state"),
            "channel_types": self._wallboard_labels("omnichannel.channel", "channel_type"),
            "break_reasons": [{"id": r.id, "name": r.name} for r in reasons],
            "totals": self._wallboard_totals(queue_list, agent_list),
            "campaigns": self._wallboard_campaigns(queues, day_start),
        }

    @api.model
    def _wallboard_campaigns(self, queues, day_start):
        """Campaigns (issue 16): tiles of the running campaigns of ``queues``:
        contacts left, reached today and today's abandonment rate."""
        campaigns = self.env["omnichannel.campaign"].search(
            [("state", "=", "running"), ("queue_id", "in", queues.ids)]
        )
        if not campaigns:
            return []
        left = dict(
            self.env["omnichannel.campaign.contact"]._read_group(
                [
                    ("campaign_id", "in", campaigns.ids),
                    ("state", "in", ("pending", "in_progress")),
                ],
                ["campaign_id"],
                ["__count"],
            )
        )
        Interaction = self.env["omnichannel.interaction"]
        today = [("campaign_id", "in", campaigns.ids), ("create_date", ">=", day_start)]
        reached = dict(
            Interaction._read_group(
                today + campaigns._reached_domain(),
                ["campaign_id"],
                ["campaign_contact_id:count_distinct"],
            )
        )
        # calls of today that reached the customer or were abandoned
        calls = {}
        for campaign, state, count in Interaction._read_group(
            today + campaigns._abandon_rate_domain(),
            ["campaign_id", "state"],
            ["__count"],
        ):
            figures = calls.setdefault(campaign, [0, 0])
            figures[0] += count
            if state == "abandoned":
                figures[1] += count
        modes = dict(campaigns._fields["dial_mode"]._description_selection(self.env))
        result = []
        for campaign in campaigns:
            answered_or_abandoned, abandoned = calls.get(campaign, (0, 0))
            result.append(
                {
                    "id": campaign.id,
                    "name": campaign.name,
                    "queue_id": campaign.queue_id.id,
                    "dial_mode": campaign.dial_mode,
                    "dial_mode_label": modes.get(campaign.dial_mode, ""),
                    "left": left.get(campaign, 0),
                    "reached_today": reached.get(campaign, 0),
                    "abandon_rate": round(100.0 * abandoned / answered_or_abandoned, 1)
                    if answered_or_abandoned
                    else 0.0,
                }
            )
        return result

    @api.model
    def _wallboard_labels(self, model, field):
        """[[key, translated label]] of a selection field."""
        return [
            [key, label]
            for key, label in self.env[model]._fields[field]._description_selection(self.env)
        ]

    @api.model
    def _wallboard_totals(self, queue_list, agent_list):
        states = dict.fromkeys(dict(AGENT_STATES), 0)
        for agent in agent_list:
            states[agent["state"]] += 1
        return {
            "waiting": sum(q["waiting"] for q in queue_list),
            "longest_wait": max([q["longest_wait"] for q in queue_list] or [0]),
            "handled": sum(q["handled"] for q in queue_list),
            "abandoned": sum(q["abandoned"] for q in queue_list),
            "agents": states,
        }

    def _wallboard_queue_extra(self, queues, day_start):
        """Extra figures of each queue's tile, for the addons to fill:
        ``{queue_id: [{"key", "label", "value", "detail"}]}`` (``detail``
        optional), shown under the tile's figures. Gather them for all the
        queues at once (a query at most), today being from ``day_start``."""
        return {}

    def _wallboard_figures(self, queues, users, now, day_start):
        """({queue id: counts and sums}, {user id: (load, handled today)}) in one query.

        Three index-driven parts, each reading only what the board shows (see
        omnichannel_interaction_wallboard): the live contacts (waiting or
        held), today's contacts by entry time and the ones closed done today,
        so the cost follows today's volume, never the history's. Each part
        is grouped twice (GROUPING SETS): by queue for the tiles, by agent for
        the agents' rows (an agent's contacts count in every queue).
        """
        if not queues:
            return {}, {}
        self.env.cr.execute(
            SQL(
                """SELECT CASE WHEN GROUPING(i.agent_id) = 1 THEN 'queue_live'
                               ELSE 'agent_live' END,
                          i.queue_id, i.agent_id,
                          count(*) FILTER (WHERE i.state IN %(waiting)s),
                          COALESCE(max(EXTRACT(EPOCH FROM %(now)s
                                   - COALESCE(i.date_queued, i.create_date)))
                                   FILTER (WHERE i.state IN %(waiting)s), 0),
                          count(*) FILTER (WHERE i.state IN %(load)s),
                          0, 0, 0
                     FROM omnichannel_interaction i
                    WHERE i.state IN %(live)s
                      AND (i.queue_id IN %(queues)s OR i.agent_id IN %(users)s)
                    GROUP BY GROUPING SETS ((i.queue_id), (i.agent_id))
                UNION ALL
                   SELECT 'queue_today', i.queue_id, NULL,
                          count(*),
                          count(*) FILTER (WHERE i.date_answered IS NOT NULL),
                          count(*) FILTER (WHERE i.date_answered - i.date_queued
                                                 <= make_interval(secs => q.service_level_seconds)),
                          count(*) FILTER (WHERE i.state = 'abandoned'),
                          COALESCE(EXTRACT(EPOCH FROM sum(i.date_answered - i.date_queued)), 0),
                          0
                     FROM omnichannel_interaction i
                     JOIN omnichannel_queue q ON q.id = i.queue_id
                    WHERE i.date_queued >= %(start)s AND i.queue_id IN %(queues)s
                    GROUP BY i.queue_id
                UNION ALL
                   SELECT CASE WHEN GROUPING(i.agent_id) = 1 THEN 'queue_closed'
                               ELSE 'agent_closed' END,
                          i.queue_id, i.agent_id,
                          count(*),
                          count(*) FILTER (WHERE i.date_answered IS NOT NULL),
                          COALESCE(EXTRACT(EPOCH FROM sum(i.date_closed - i.date_answered)), 0),
                          0, 0, 0
                     FROM omnichannel_interaction i
                    WHERE i.state = 'done' AND i.date_closed >= %(start)s
                      AND (i.queue_id IN %(queues)s OR i.agent_id IN %(users)s)
                    GROUP BY GROUPING SETS ((i.queue_id), (i.agent_id))""",
                waiting=WAITING_STATES,
                # an agent's load as the ACD counts it: a contact in wrap-up
                # whose agent's wrap-up time is over no longer holds them
                load=AGENT_LOAD_STATES,
                live=LIVE_STATES,
                now=now,
                start=day_start,
                queues=tuple(queues.ids),
                users=tuple(users.ids) or (0,),
            )
        )
        # one column type per position across the parts: numeric, cast back here
        stats, agents = {}, {}
        for part, queue_id, user_id, *values in self.env.cr.fetchall():
            if part.startswith("agent_"):
                if user_id:
                    counts = agents.setdefault(user_id, [0, 0])
                    counts[part == "agent_closed"] = int(values[2 if part == "agent_live" else 0])
                continue
            row = stats.setdefault(queue_id, dict(QUEUE_FIGURES))
            if part == "queue_live":
                row["waiting"] = int(values[0])
                row["longest_wait"] = float(values[1] or 0)
            elif part == "queue_today":
                row["offered"], row["answered"], row["answered_in_sl"], row["abandoned"] = map(
                    int, values[:4]
                )
                row["wait_sum"] = float(values[4] or 0)
            else:
                row["handled"], row["handled_timed"] = int(values[0]), int(values[1])
                row["handle_sum"] = float(values[2] or 0)
        return stats, {user_id: tuple(counts) for user_id, counts in agents.items()}

    def _wallboard_members(self, queues):
        """[(queue id, user id, presence in that queue)]: logged-out members count offline."""
        if not queues:
            return []
        self.env.cr.execute(
            SQL(
                """SELECT m.queue_id, m.user_id,
                          CASE WHEN m.logged_in THEN COALESCE(a.state, 'offline')
                               ELSE 'offline' END
                     FROM omnichannel_queue_member m
                     JOIN res_users u ON u.id = m.user_id AND u.active
                LEFT JOIN omnichannel_agent a ON a.user_id = m.user_id
                    WHERE m.queue_id IN %s
                    ORDER BY m.queue_id, m.id""",
                tuple(queues.ids),
            )
        )
        return self.env.cr.fetchall()

    def _wallboard_live(self, queues, users, now):
        """({user id: current interaction}, {queue id: first waiting contacts}) in one query.

        The current interaction of an agent: active first, then wrap-up, then
        ringing. The waiting contacts: in queue order, for assign / pick. Both
        read the live contacts only (the partial live index).
        """
        if not queues:
            return {}, {}
        cr = self.env.cr
        cr.execute(
            SQL(
                """WITH live AS MATERIALIZED (
                       SELECT i.id, i.queue_id, i.agent_id, i.name, i.state, i.priority,
                              i.date_queued, i.date_offered, i.date_answered, i.create_date,
                              COALESCE(p.name, i.contact_address, '') AS customer,
                              COALESCE(i.channel_type, '') AS channel_type
                         FROM omnichannel_interaction i
                    LEFT JOIN res_partner p ON p.id = i.partner_id
                        WHERE i.state IN %(live)s
                          AND (i.queue_id IN %(queues)s OR i.agent_id IN %(users)s))
                SELECT 'waiting', queue_id, position, id, name, customer, channel_type,
                       state, seconds
                  FROM (SELECT queue_id, id, name, customer, channel_type, state,
                               EXTRACT(EPOCH FROM %(now)s
                                       - COALESCE(date_queued, create_date)) AS seconds,
                               row_number() OVER (
                                   PARTITION BY queue_id
                                   ORDER BY priority DESC, date_queued, id) AS position
                          FROM live
                         WHERE queue_id IN %(queues)s AND state IN %(waiting)s) w
                 WHERE position <= %(size)s
             UNION ALL
               (SELECT DISTINCT ON (agent_id)
                       'current', agent_id, 0, id, name, customer, channel_type, state,
                       EXTRACT(EPOCH FROM %(now)s
                               - COALESCE(date_answered, date_offered, create_date))
                  FROM live
                 WHERE agent_id IN %(users)s AND state IN %(holding)s
                   -- wrap-up is current only while the agent is in wrap-up
                   AND (state <> 'wrapup'
                        OR agent_id IN (SELECT user_id FROM omnichannel_agent
                                         WHERE state = 'wrapup'))
                 ORDER BY agent_id,
                          CASE state WHEN 'active' THEN 0 WHEN 'wrapup' THEN 1 ELSE 2 END,
                          id DESC)
              ORDER BY 1, 2, 3""",
                live=LIVE_STATES,
                waiting=WAITING_STATES,
                holding=HOLDING_STATES,
                queues=tuple(queues.ids),
                users=tuple(users.ids) or (0,),
                now=now,
                size=WAITING_LIST_SIZE,
            )
        )
        rows = cr.fetchall()
        # record rules: a supervisor sees only the contacts they may read
        visible = set(
            self.env["omnichannel.interaction"].search([("id", "in", [row[3] for row in rows])]).ids
        )
        offered_to = {}
        offer_ids = [row[3] for row in rows if row[0] == "waiting" and row[7] == "offered"]
        if offer_ids:
            cr.execute(
                SQL(
                    """SELECT o.interaction_id, string_agg(u_p.name, ', ' ORDER BY u_p.name)
                         FROM omnichannel_offer o
                         JOIN res_users u ON u.id = o.user_id
                         JOIN res_partner u_p ON u_p.id = u.partner_id
                        WHERE o.interaction_id IN %s AND o.state = 'pending'
                        GROUP BY o.interaction_id""",
                    tuple(offer_ids),
                )
            )
            offered_to = dict(cr.fetchall())
        current, waiting = {}, {}
        for part, key, _position, iid, name, customer, channel_type, state, seconds in rows:
            readable = iid in visible
            if part == "current":
                current[key] = {
                    "id": iid if readable else 0,
                    "name": name if readable else _("Private"),
                    "customer": customer if readable else "",
                    "channel_type": channel_type,
                    "state": state,
                    "seconds": max(int(seconds or 0), 0),
                }
            elif readable:
                waiting.setdefault(key, []).append(
                    {
                        "id": iid,
                        "name": name,
                        "customer": customer,
                        "channel_type": channel_type,
                        "state": state,
                        "offered_to": offered_to.get(iid) or "",
                        "seconds": max(int(seconds or 0), 0),
                    }
                )
        return current, waiting

    # ------------------------------------------------------------------
    # Intraday charts of the wallboard (issue 18)
    # ------------------------------------------------------------------
    @api.model
    @api.readonly
    def wallboard_chart_data(self, queue_ids=None):
        """The wallboard's charts of today per 15-minute interval (XML-RPC, no None).

        Contacts today, yesterday and forecast (the same weekday of the last
        ``omnichannel_cc.forecast_weeks`` weeks, 4 by default), today's
        service level with its target, and the agents of the queues by state.
        ``queue_ids``: the queues to show (each must be readable); all the
        visible ones when empty. Supervisors and managers only, through the
        record rules, in the same few queries whatever the volume: see
        tools/wallboard_chart.py for the definitions.
        """
        user = self.env.user
        if not self.env.su and not user.has_group("omnichannel_cc.group_omnichannel_supervisor"):
            raise AccessError(_("Only Contact Center supervisors and managers see the wallboard."))
        if queue_ids:
            queues = self.browse([int(qid) for qid in queue_ids]).exists()
            queues.check_access("read")
        else:
            queues = self.search([])
        # sudo: supervisors may not read system parameters; only this number of weeks
        param = self.env["ir.config_parameter"].sudo().get_param("omnichannel_cc.forecast_weeks")
        weeks = wallboard_chart.forecast_weeks(param or wallboard_chart.DEFAULT_FORECAST_WEEKS)
        minutes = wallboard_chart.INTERVAL_MINUTES
        now = fields.Datetime.now()
        self.env.flush_all()
        cr = self.env.cr

        # each queue's time zone, as the interaction analysis localises its contacts
        zones = {}
        if queues:
            cr.execute(
                SQL(
                    """SELECT q.id, COALESCE(NULLIF(cal.tz, ''), NULLIF(cp.tz, ''), 'UTC')
                         FROM omnichannel_queue q
                         JOIN res_company c ON c.id = q.company_id
                    LEFT JOIN res_partner cp ON cp.id = c.partner_id
                    LEFT JOIN resource_calendar cal ON cal.id = q.resource_calendar_id
                        WHERE q.id IN %s""",
                    tuple(queues.ids),
                )
            )
            zones = dict(cr.fetchall())
        # the board's clock: the first queue's time zone, else the user's
        board_tz = zones.get(queues[:1].id) or self.env.context.get("tz") or user.tz or "UTC"
        today_by_queue = {
            queue_id: wallboard_chart.local_now(now, tz).date() for queue_id, tz in zones.items()
        }

        # 1. contacts and service level by queue, local day and interval
        rows = []
        if queues:
            Report = self.env["omnichannel.interaction.report"]
            query = Report._search([("queue_id", "in", queues.ids), ("direction", "=", "inbound")])
            table = SQL.identifier(query.table)
            date, local = SQL("%s.date", table), SQL("%s.date_local", table)
            query.add_where(SQL("%s.short_abandoned = 0", table))
            # only the days shown (today, yesterday, the forecast's): UTC windows
            query.add_where(
                SQL(
                    "(%s)",
                    SQL(" OR ").join(
                        SQL("(%s >= %s AND %s < %s)", date, start, date, end)
                        for start, end in wallboard_chart.day_windows(now, zones.values(), weeks)
                    ),
                )
            )
            day = SQL("%s::date", local)
            bucket = SQL(
                "(floor((extract(hour FROM %s) * 60 + extract(minute FROM %s)) / %s))::int",
                local,
                local,
                minutes,
            )
            query.groupby = SQL("%s.queue_id, %s, %s", table, day, bucket)
            cr.execute(
                query.select(
                    SQL("%s.queue_id", table),
                    day,
                    bucket,
                    SQL("count(*)"),
                    # the report's service level: 100 or 0 where it counts, NULL elsewhere
                    SQL("count(%s.service_level)", table),
                    SQL("count(*) FILTER (WHERE %s.service_level > 0)", table),
                )
            )
            rows = cr.fetchall()
        series = wallboard_chart.contact_series(rows, today_by_queue, weeks, minutes)
        sl_values, sl_known = wallboard_chart.service_level_series(
            series["sl_counted"], series["sl_within"]
        )
        target = wallboard_chart.blended_target(
            {queue.id: queue.service_level_target for queue in queues},
            series["sl_counted_by_queue"],
        )

        # 2. the queues' agents by state, from their state history
        member_users = list({row[1] for row in self._wallboard_members(queues)})
        agents = self.env["omnichannel.agent"].search([("user_id", "in", member_users)])
        samples = wallboard_chart.sample_times(now, board_tz, minutes)
        periods = []
        if agents and samples:
            query = self.env["omnichannel.agent.state.log"]._search(
                [
                    ("agent_id", "in", agents.ids),
                    ("date_start", "<=", now),
                    "|",
                    ("date_end", "=", False),
                    ("date_end", ">", samples[0]),
                ]
            )
            table = SQL.identifier(query.table)
            cr.execute(
                query.select(
                    SQL("%s.agent_id", table),
                    SQL("%s.state", table),
                    SQL("%s.date_start", table),
                    SQL("%s.date_end", table),
                )
            )
            periods = cr.fetchall()
        by_state = wallboard_chart.agents_by_state(
            [(agent.id, agent.state, agent.state_since) for agent in agents],
            periods,
            samples,
            now,
        )
        labels = dict(self._wallboard_labels("omnichannel.agent", "state"))
        labels["offline"] = _("Offline or absent")
        return {
            "interval_minutes": minutes,
            "labels": wallboard_chart.interval_labels(minutes),
            "now_index": wallboard_chart.interval_index(
                wallboard_chart.local_now(now, board_tz), minutes
            ),
            "date": fields.Date.to_string(wallboard_chart.local_now(now, board_tz).date()),
            "forecast_weeks": weeks,
            "queue_ids": queues.ids,
            "has_contacts": any(series["today"]),
            "contacts": {
                "today": series["today"],
                "yesterday": series["yesterday"],
                "forecast": series["forecast"],
            },
            "service_level": {
                "values": sl_values,
                "known": sl_known,
                "counted": series["sl_counted"],
                "target": target,
            },
            "agents": {
                "states": [
                    [state, labels.get(state, state)] for state in wallboard_chart.AGENT_STATES
                ],
                "series": by_state,
                "total": len(agents),
            },
        }
