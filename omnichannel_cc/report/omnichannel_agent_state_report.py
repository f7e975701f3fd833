from odoo import fields, models, tools
from odoo.tools import SQL

from ..models.omnichannel_agent import AGENT_STATES

# Busy on contacts or wrapping them up: the "handle" side of occupancy.
HANDLING_STATES = ("busy", "wrapup")


class OmnichannelAgentStateReport(models.Model):
    """Agents' time per day and state, from the state history.

    A period that runs over midnight (in the agent's time zone) is split into
    one row per day; a period still open counts until now. Occupancy of any
    group is productive / (productive + available) from the sums, where
    productive time is busy, wrap-up and breaks with a productive reason
    (training, back-office work); handling / (handling + available) is the
    occupancy on contacts alone.
    """

    _name = "omnichannel.agent.state.report"
    _description = "Contact center agent time analysis"
    _auto = False
    _order = "date desc, agent_id"
    _rec_name = "agent_id"

    log_id = fields.Many2one("omnichannel.agent.state.log", string="State period", readonly=True)
    agent_id = fields.Many2one("omnichannel.agent", readonly=True)
    user_id = fields.Many2one("res.users", string="Agent user", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    state = fields.Selection(AGENT_STATES, readonly=True)
    break_reason_id = fields.Many2one("omnichannel.break.reason", readonly=True)
    date = fields.Date(string="Day", readonly=True)
    date_start = fields.Datetime(string="From", readonly=True)
    date_end = fields.Datetime(string="Until", readonly=True)
    is_open = fields.Boolean(string="Still going", readonly=True)
    duration = fields.Integer(string="Duration (s)", readonly=True, aggregator="sum")
    logged_in_duration = fields.Integer(
        string="Logged in (s)", readonly=True, aggregator="sum", help="Every state but offline."
    )
    handling_duration = fields.Integer(
        string="Handling (s)", readonly=True, aggregator="sum", help="Busy and wrap-up."
    )
    productive_duration = fields.Integer(
        string="Productive (s)",
        readonly=True,
        aggregator="sum",
        help="Busy, wrap-up and breaks with a productive reason (training, back-office work).",
    )
    available_duration = fields.Integer(
        string="Available (s)", readonly=True, aggregator="sum", help="Logged in and idle."
    )
    break_duration = fields.Integer(string="Break (s)", readonly=True, aggregator="sum")

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
CREATE OR REPLACE VIEW %(view)s AS (
    WITH periods AS (
        SELECT
            l.id AS log_id,
            l.agent_id,
            a.user_id,
            a.company_id,
            l.state,
            l.break_reason_id,
            l.date_start,
            COALESCE(l.date_end, now() AT TIME ZONE 'UTC') AS date_end,
            l.date_end IS NULL AS is_open,
            COALESCE(br.productive, FALSE) AS productive_break,
            COALESCE(NULLIF(p.tz, ''), NULLIF(cp.tz, ''), 'UTC') AS tz
        FROM omnichannel_agent_state_log l
        LEFT JOIN omnichannel_break_reason br ON br.id = l.break_reason_id
        JOIN omnichannel_agent a ON a.id = l.agent_id
        JOIN res_users u ON u.id = a.user_id
        JOIN res_partner p ON p.id = u.partner_id
        JOIN res_company c ON c.id = a.company_id
        LEFT JOIN res_partner cp ON cp.id = c.partner_id
        UNION ALL
        -- an agent's current state that no open period records (set before
        -- the history began: imported, demo data, an agent record created in
        -- that state) counts from state_since, like an open period
        SELECT
            NULL AS log_id,
            a.id AS agent_id,
            a.user_id,
            a.company_id,
            a.state,
            a.break_reason_id,
            a.state_since AS date_start,
            now() AT TIME ZONE 'UTC' AS date_end,
            TRUE AS is_open,
            COALESCE(br.productive, FALSE) AS productive_break,
            COALESCE(NULLIF(p.tz, ''), NULLIF(cp.tz, ''), 'UTC') AS tz
        FROM omnichannel_agent a
        LEFT JOIN omnichannel_break_reason br ON br.id = a.break_reason_id
        JOIN res_users u ON u.id = a.user_id
        JOIN res_partner p ON p.id = u.partner_id
        JOIN res_company c ON c.id = a.company_id
        LEFT JOIN res_partner cp ON cp.id = c.partner_id
        WHERE a.state_since IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM omnichannel_agent_state_log open_log
                           WHERE open_log.agent_id = a.id AND open_log.date_end IS NULL)
    ),
    slices AS (
        SELECT
            pr.*,
            d.day::date AS day,
            d.n,
            GREATEST(pr.date_start, (d.day AT TIME ZONE pr.tz) AT TIME ZONE 'UTC') AS slice_start,
            LEAST(
                pr.date_end, ((d.day + interval '1 day') AT TIME ZONE pr.tz) AT TIME ZONE 'UTC'
            ) AS slice_end
        FROM periods pr
        CROSS JOIN LATERAL generate_series(
            date_trunc('day', (pr.date_start AT TIME ZONE 'UTC') AT TIME ZONE pr.tz),
            date_trunc('day', (pr.date_end AT TIME ZONE 'UTC') AT TIME ZONE pr.tz),
            interval '1 day'
        ) WITH ORDINALITY AS d(day, n)
    ),
    durations AS (
        SELECT s.*, extract(epoch FROM s.slice_end - s.slice_start)::int AS seconds
        FROM slices s
        WHERE s.slice_end > s.slice_start
    )
    SELECT
        -- stable ids: the period's id and the day's rank within it; an
        -- unrecorded current state: above every period's, by agent
        COALESCE(d.log_id::bigint, 1000000000 + d.agent_id::bigint) * 100000 + d.n AS id,
        d.log_id,
        d.agent_id,
        d.user_id,
        d.company_id,
        d.state,
        d.break_reason_id,
        d.day AS date,
        d.slice_start AS date_start,
        d.slice_end AS date_end,
        d.is_open,
        d.seconds AS duration,
        CASE WHEN d.state != 'offline' THEN d.seconds ELSE 0 END AS logged_in_duration,
        CASE WHEN d.state IN %(handling)s THEN d.seconds ELSE 0 END AS handling_duration,
        CASE WHEN d.state IN %(handling)s OR (d.state = 'break' AND d.productive_break)
             THEN d.seconds ELSE 0 END AS productive_duration,
        CASE WHEN d.state = 'available' THEN d.seconds ELSE 0 END AS available_duration,
        CASE WHEN d.state = 'break' THEN d.seconds ELSE 0 END AS break_duration
    FROM durations d
)""",
                view=SQL.identifier(self._table),
                handling=HANDLING_STATES,
            )
        )
