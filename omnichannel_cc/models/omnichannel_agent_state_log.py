from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import create_index

from .omnichannel_agent import AGENT_STATES


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

    def init(self):
        res = super().init()
        # the agent's open period, closed on every state change of every
        # agent (_log_change): found through this index whatever the length
        # of the history; with only the indexes on agent_id and date_end,
        # PostgreSQL combined all the agent's periods with every open one
        # and the dead row versions the updates leave (6 ms per change seen
        # on a busy day's table)
        create_index(
            self.env.cr,
            "omnichannel_agent_state_log_open_idx",
            self._table,
            ["agent_id"],
            where="date_end IS NULL",
        )
        return res

    @api.depends("date_start", "date_end")
    def _compute_duration(self):
        for log in self:
            if log.date_start and log.date_end:
                log.duration = int((log.date_end - log.date_start).total_seconds())
            else:
                log.duration = 0

    @api.model
    def _log_change(self, agent, state, break_reason_id, now):
        """Close the agent's open period and open the one of ``state`` at
        ``now``, in one statement (it runs on every state change of every
        agent: the event inbox's applier makes two per call). Durations as
        _compute_duration computes them, in the statement; the stored related
        fields given.
        When no period was open although the agent was in a state before
        (demo data, an import), that state's period is kept too, so that
        the agents' time adds up."""
        self.flush_model()
        write = self.env.cr.now()
        self.env.cr.execute(
            SQL(
                """WITH closed AS (
                       UPDATE omnichannel_agent_state_log
                          SET date_end = %(now)s, write_date = %(write)s, write_uid = %(uid)s,
                              duration = CASE WHEN date_start IS NULL THEN 0
                                              ELSE trunc(EXTRACT(EPOCH FROM %(now)s - date_start))
                                         END
                        WHERE agent_id = %(agent)s AND date_end IS NULL
                    RETURNING id
                   ), opened AS (
                       INSERT INTO omnichannel_agent_state_log
                              (agent_id, user_id, company_id, state, break_reason_id,
                               date_start, date_end, duration,
                               create_uid, create_date, write_uid, write_date)
                       SELECT %(agent)s, %(user)s, %(company)s, period.state, period.reason,
                              period.date_start, period.date_end,
                              COALESCE(trunc(EXTRACT(EPOCH FROM
                                                     period.date_end - period.date_start)), 0),
                              %(uid)s, %(write)s, %(uid)s, %(write)s
                         FROM (VALUES
                                  (1, %(old_state)s, %(old_reason)s::int4,
                                   %(old_since)s::timestamp, %(now)s::timestamp),
                                  (2, %(state)s, %(reason)s::int4,
                                   %(now)s::timestamp, NULL::timestamp)
                              ) AS period (seq, state, reason, date_start, date_end)
                        WHERE period.seq = 2
                           OR (%(old_since)s::timestamp < %(now)s
                               AND NOT EXISTS (SELECT 1 FROM closed))
                        ORDER BY period.seq
                    RETURNING id
                   )
                   SELECT (SELECT array_agg(id) FROM closed), (SELECT array_agg(id) FROM opened)""",
                now=now,
                write=write,
                uid=self.env.uid,
                agent=agent.id,
                user=agent.user_id.id,
                company=agent.company_id.id,
                old_state=agent.state,
                old_reason=agent.break_reason_id.id or None,
                old_since=agent.state_since or now,
                state=state,
                reason=break_reason_id or None,
            )
        )
        closed, opened = self.env.cr.fetchone()
        if closed:
            self.browse(closed).invalidate_recordset(
                ["date_end", "duration", "write_date", "write_uid"]
            )
        return self.browse(opened or ())
