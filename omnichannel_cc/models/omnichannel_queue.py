import dataclasses
import logging
from datetime import timedelta

import pytz
from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..tools import routing

_logger = logging.getLogger(__name__)

# capacity columns of omnichannel_agent, in the order _agent_rows() reads them
CAPACITY_COLUMNS = ("voice", "chat", "email")


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
                [("queue_id", "in", self.ids), ("state", "in", ("new", "queued", "offered"))],
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
        queues = self.sudo().filtered("active").sorted(lambda q: (-q.priority, q.sequence, q.id))
        for queue in queues:
            if made >= max_offers:
                break
            if not queue._is_open():
                continue
            made += queue._dispatch_queue(max_offers - made)
        return made

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
        self.ensure_one()
        self.env["omnichannel.agent"].flush_model()
        self.env["omnichannel.queue.member"].flush_model()
        # user, tier, penalty, agent, then what the candidates need of the agent
        agent_columns = SQL(
            """a.id, COALESCE(a.last_end_date, a.state_since), a.rr_seq,
               a.capacity_voice, a.capacity_chat, a.capacity_email"""
        )
        if user_ids:
            query = SQL(
                """SELECT a.user_id, 0, 0, %s
                     FROM omnichannel_agent a
                    WHERE a.user_id IN %s AND a.state IN ('available', 'busy')""",
                agent_columns,
                tuple(user_ids),
            )
        else:
            query = SQL(
                """SELECT m.user_id, m.tier, m.penalty, %s
                     FROM omnichannel_queue_member m
                     JOIN omnichannel_agent a ON a.user_id = m.user_id
                    WHERE m.queue_id = %s AND m.logged_in
                      AND a.state IN ('available', 'busy')""",
                agent_columns,
                self.id,
            )
        self.env.cr.execute(query)
        return self.env.cr.fetchall()

    def _declined_by(self, interaction):
        """Users who rejected or missed this interaction (one query)."""
        self.env["omnichannel.offer"].flush_model(["interaction_id", "state", "user_id"])
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT user_id FROM omnichannel_offer
                    WHERE interaction_id = %s AND state IN ('rejected', 'timeout')""",
                interaction.id,
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def _candidates(self, interaction, rows, declined):
        """routing.Candidate objects for one interaction."""
        Agent = self.env["omnichannel.agent"].sudo()
        # one load query for all the agents; the rest comes with the rows
        loads = Agent._loads_of_users([row[0] for row in rows])
        channel_class = routing.CHANNEL_CLASS.get(interaction.channel_type, "email")
        capacity_index = 6 + CAPACITY_COLUMNS.index(channel_class)
        now = fields.Datetime.now()
        skill = interaction.required_skill_id
        levels = {}
        if skill:
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
        Interaction = self.env["omnichannel.interaction"].sudo()
        now = fields.Datetime.now()
        member_rows = None
        candidates_cache = {}  # (channel class, skill) -> candidates, while loads are unchanged
        full_classes = set()  # nobody of the queue has room for these
        for row in self._waiting_in_order():
            if made >= max_offers:
                break
            channel_class = row["channel_class"]
            preferred = row["preferred_until"] and row["preferred_until"] > now
            if not preferred and channel_class in full_classes:
                continue
            interaction = Interaction.browse(row["id"])
            if preferred:
                rows = self._agent_rows(user_ids=[row["preferred_agent_id"]])
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

    def _try_lock(self, query):
        """Run a ``FOR UPDATE SKIP LOCKED`` query; None when another
        transaction changed the row after this one's snapshot (REPEATABLE
        READ raises a serialization failure there instead of skipping).

        Only the savepoint is rolled back: the request goes on with the next
        interaction or agent instead of being retried from the start. The row
        changed since this request began (an offer, a close, a requeue, a
        state change) and may be dispatchable now: a sweep, at once and in its
        own transaction, makes sure no call waits while an agent is free.
        """
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(query, log_exceptions=False)
                return cr.fetchone() or ()
        except pg_errors.SerializationFailure:
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
            self.env.ref("omnichannel_cc.ir_cron_acd_sweep")._trigger(when)

    def _lock_interaction(self, interaction):
        return bool(
            self._try_lock(
                SQL(
                    """SELECT id FROM omnichannel_interaction
                        WHERE id = %s AND state = 'queued' FOR UPDATE SKIP LOCKED""",
                    interaction.id,
                )
            )
        )

    def _lock_agent(self, user_id, channel_class, loads=None):
        """Claim a free agent: row lock, then capacity checked under the lock.

        ``loads``: a dict that receives the agent's loads read under the lock.
        """
        query = SQL(
            """SELECT id FROM omnichannel_agent
                WHERE user_id = %s AND state IN ('available', 'busy')
                FOR UPDATE SKIP LOCKED""",
            user_id,
        )
        row = self._try_lock(query)
        if not row:
            return False
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
        cr.execute(
            SQL(
                """UPDATE omnichannel_interaction
                      SET state = 'offered', agent_id = %s, date_offered = %s
                    WHERE id = %s AND state = 'queued'""",
                None if ring_all else claimed.user_id.id,
                now,
                interaction.id,
            ),
            log_exceptions=False,
        )
        if cr.rowcount != 1:
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
        interaction.invalidate_recordset()
        claimed.invalidate_recordset()
        expire = now + timedelta(seconds=self.ring_timeout) if self.ring_timeout > 0 else False
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
        Offer = self.env["omnichannel.offer"].sudo()
        Offer.search([("state", "=", "pending"), ("date_expire", "<", now)])._timeout()
        Agent = self.env["omnichannel.agent"].sudo()
        Agent.search([("wrapup_until", "!=", False), ("wrapup_until", "<=", now)])._end_wrapup()
        Interaction = self.env["omnichannel.interaction"].sudo()
        for queue in self.sudo().search([("max_wait_seconds", ">", 0)]):
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
