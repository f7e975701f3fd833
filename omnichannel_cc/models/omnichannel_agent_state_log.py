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
        vals_list = []
        if closed:
            self.browse(closed).invalidate_recordset(
                ["date_end", "duration", "write_date", "write_uid"]
            )
        elif agent.state_since and agent.state_since < now:
            # the state being left was never recorded (demo data, an import):
            # keep its period, so that the agents' time adds up
            vals_list.append(
                {
                    "agent_id": agent.id,
                    "state": agent.state,
                    "break_reason_id": agent.break_reason_id.id,
                    "date_start": agent.state_since,
                    "date_end": now,
                    "user_id": agent.user_id.id,
                    "company_id": agent.company_id.id,
                    "duration": int((now - agent.state_since).total_seconds()),
                }
            )
        vals_list.append(
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
        self.create(vals_list)
