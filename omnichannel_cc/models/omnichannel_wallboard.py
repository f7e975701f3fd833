import logging
from datetime import timedelta

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..tools import wallboard
from .omnichannel_agent import AGENT_STATES
from .omnichannel_interaction import WAITING_STATES

_logger = logging.getLogger(__name__)

# At most one wallboard push per company within this many seconds: a busy
# center changes state many times a second, browsers need not know each one.
PUSH_INTERVAL = 2
POLL_INTERVAL = 30
BUS_TYPE = "omnichannel.wallboard"
PUSH_TABLE = "omnichannel_wallboard_push"
PENDING_KEY = "omnichannel.wallboard.companies"
WAITING_LIST_SIZE = 15
HOLDING_STATES = ("offered", "active", "wrapup")
# every contact still on the board: waiting or held by an agent
LIVE_STATES = tuple(dict.fromkeys((*WAITING_STATES, *HOLDING_STATES)))
# figures of a queue with no contact today
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
    """The live supervisor wallboard: figures of the queues and their agents."""

    _inherit = "omnichannel.queue"

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
        group = self.env.ref(
            "omnichannel_cc.group_omnichannel_supervisor", raise_if_not_found=False
        )
        if not group:
            return
        for company_id in sorted(company_ids):
            if self._wallboard_claim_push(company_id):
                group.sudo()._bus_send(BUS_TYPE, {"company_id": company_id})

    @api.model
    def _wallboard_claim_push(self, company_id, now=None):
        """True when this transaction may push the wallboards of ``company_id``.

        Never blocks and never fails the business transaction: a row locked by
        another transaction means that one is pushing; a row it changed since
        our snapshot means it pushed a moment ago. Either way we skip.
        """
        now = now or fields.Datetime.now()
        cr = self.env.cr
        table = SQL.identifier(PUSH_TABLE)
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
                    return cr.rowcount == 1
                window = timedelta(seconds=PUSH_INTERVAL)
                # a last push far in the future is a clock jump, not a push
                if now - window < row[0] <= now + window:
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
                return cr.rowcount == 1
        except (pg_errors.LockNotAvailable, pg_errors.SerializationFailure):
            return False

    def _offer(self, interaction, ordered):
        # the ACD offers through SQL, out of reach of write()
        made = super()._offer(interaction, ordered)
        if made:
            self._wallboard_notify(self.company_id.ids)
        return made

    # ------------------------------------------------------------------
    # Board data
    # ------------------------------------------------------------------
    @api.model
    def wallboard_data(self):
        """The whole wallboard of the current user (client action, XML-RPC).

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
        return {
            "now": fields.Datetime.to_string(now),
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
        }

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
                          count(*) FILTER (WHERE i.state IN %(holding)s),
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
                holding=HOLDING_STATES,
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
