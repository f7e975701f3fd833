from datetime import timedelta

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..models.omnichannel_interaction import STATES, WAITING_STATES
from ..tools import kpi

HOURS = [(f"{hour:02d}", f"{hour:02d}:00") for hour in range(24)]
# ISO day of week: Monday is 1, so groups sort Monday first
WEEKDAYS = [
    ("1", "Monday"),
    ("2", "Tuesday"),
    ("3", "Wednesday"),
    ("4", "Thursday"),
    ("5", "Friday"),
    ("6", "Saturday"),
    ("7", "Sunday"),
]
DEFAULT_SL_SECONDS = 20


class OmnichannelInteractionReport(models.Model):
    """One row per interaction with its KPI contributions.

    Pivot and graph cannot divide one sum by another, so every ratio is a
    per-row number that averages right: ``service_level`` is 100 or 0 (NULL
    where the contact does not count), so its average over any group is the
    group's service level in percent; likewise the abandonment rates. Average
    durations that concern answered contacts only (ASA, AHT) are NULL on the
    other rows, which AVG skips.

    Hour of day and weekday are local to the queue's business hours (or the
    company's time zone), so that "9 o'clock" means the same for everyone.
    """

    _name = "omnichannel.interaction.report"
    _description = "Contact center interaction analysis"
    _auto = False
    _order = "date desc"
    _rec_name = "interaction_id"

    interaction_id = fields.Many2one("omnichannel.interaction", readonly=True)
    date = fields.Datetime(readonly=True)
    hour_of_day = fields.Selection(HOURS, string="Hour", readonly=True)
    weekday = fields.Selection(WEEKDAYS, readonly=True)
    queue_id = fields.Many2one("omnichannel.queue", readonly=True)
    agent_id = fields.Many2one("res.users", readonly=True)
    channel_id = fields.Many2one("omnichannel.channel", readonly=True)
    channel_type = fields.Selection(selection="_selection_channel_type", readonly=True)
    direction = fields.Selection([("inbound", "Inbound"), ("outbound", "Outbound")], readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    commercial_partner_id = fields.Many2one("res.partner", string="Customer company", readonly=True)
    state = fields.Selection(STATES, readonly=True)
    disposition_id = fields.Many2one("omnichannel.disposition", readonly=True)

    nbr = fields.Integer(string="# Interactions", readonly=True, aggregator="sum")
    answered = fields.Integer(string="# Answered", readonly=True, aggregator="sum")
    abandoned = fields.Integer(string="# Abandoned", readonly=True, aggregator="sum")
    short_abandoned = fields.Integer(
        string="# Short abandons",
        readonly=True,
        aggregator="sum",
        help="Abandoned within a few seconds: wrong numbers, callers who changed their mind.",
    )
    answered_within_sl = fields.Integer(
        string="# Answered within SL", readonly=True, aggregator="sum"
    )
    wait_duration = fields.Float(
        string="Wait (s)", readonly=True, aggregator="avg", help="Answered and abandoned alike."
    )
    answer_wait = fields.Float(
        string="ASA (s)",
        readonly=True,
        aggregator="avg",
        help="Average speed of answer: the wait of answered contacts.",
    )
    talk_duration = fields.Float(string="Talk (s)", readonly=True, aggregator="avg")
    wrap_duration = fields.Float(string="Wrap-up (s)", readonly=True, aggregator="avg")
    handle_duration = fields.Float(
        string="AHT (s)",
        readonly=True,
        aggregator="avg",
        help="Average handle time: talk plus wrap-up of answered contacts.",
    )
    handle_total = fields.Integer(
        string="Handle time (s)", readonly=True, aggregator="sum", help="Talk plus wrap-up."
    )
    service_level = fields.Float(
        string="Service level (%)",
        readonly=True,
        aggregator="avg",
        help="Share of inbound contacts answered within the queue's threshold. Short "
        "abandons, contacts still waiting and contacts received while the queue was "
        "closed do not count.",
    )
    abandon_rate = fields.Float(string="Abandonment (%)", readonly=True, aggregator="avg")
    abandon_rate_no_short = fields.Float(
        string="Abandonment without short (%)",
        readonly=True,
        aggregator="avg",
        help="Abandonment rate with short abandons left out of both sides.",
    )

    @api.model
    def _selection_channel_type(self):
        return (
            self.env["omnichannel.channel"]._fields["channel_type"]._description_selection(self.env)
        )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
CREATE OR REPLACE VIEW %(view)s AS (
    SELECT
        i.id AS id,
        i.id AS interaction_id,
        i.create_date AS date,
        lt.local_date AS date_local,
        to_char(lt.local_date, 'HH24') AS hour_of_day,
        extract(isodow FROM lt.local_date)::int::varchar AS weekday,
        i.queue_id,
        i.agent_id,
        i.channel_id,
        i.channel_type,
        i.direction,
        i.company_id,
        i.partner_id,
        i.commercial_partner_id,
        i.state,
        i.disposition_id,
        1 AS nbr,
        (f.is_answered)::int AS answered,
        (i.state = 'abandoned')::int AS abandoned,
        (f.is_short)::int AS short_abandoned,
        (f.is_answered AND f.within)::int AS answered_within_sl,
        i.wait_duration AS wait_duration,
        CASE WHEN f.is_answered THEN i.wait_duration END AS answer_wait,
        CASE WHEN f.is_answered THEN i.talk_duration END AS talk_duration,
        CASE WHEN f.is_answered THEN i.wrap_duration END AS wrap_duration,
        CASE WHEN f.is_answered THEN COALESCE(i.talk_duration, 0) + COALESCE(i.wrap_duration, 0)
        END AS handle_duration,
        CASE WHEN f.is_answered THEN COALESCE(i.talk_duration, 0) + COALESCE(i.wrap_duration, 0)
             ELSE 0 END AS handle_total,
        CASE WHEN NOT f.counts OR f.is_short THEN NULL
             WHEN f.is_answered AND f.within THEN 100.0
             ELSE 0.0 END AS service_level,
        CASE WHEN NOT f.counts THEN NULL
             WHEN i.state = 'abandoned' THEN 100.0
             ELSE 0.0 END AS abandon_rate,
        CASE WHEN NOT f.counts OR f.is_short THEN NULL
             WHEN i.state = 'abandoned' THEN 100.0
             ELSE 0.0 END AS abandon_rate_no_short
    FROM omnichannel_interaction i
    JOIN res_company c ON c.id = i.company_id
    LEFT JOIN res_partner cp ON cp.id = c.partner_id
    LEFT JOIN omnichannel_queue q ON q.id = i.queue_id
    LEFT JOIN resource_calendar cal ON cal.id = q.resource_calendar_id
    CROSS JOIN LATERAL (
        SELECT (i.create_date AT TIME ZONE 'UTC')
               AT TIME ZONE COALESCE(NULLIF(cal.tz, ''), NULLIF(cp.tz, ''), 'UTC') AS local_date
    ) lt
    CROSS JOIN LATERAL (
        SELECT
            i.date_answered IS NOT NULL AS is_answered,
            i.state = 'abandoned' AND COALESCE(i.wait_duration, 0) < %(short)s AS is_short,
            COALESCE(i.wait_duration, 0) <= COALESCE(q.service_level_seconds, %(sl)s) AS within,
            -- offered inbound contacts with an outcome: the denominator of the ratios
            i.direction = 'inbound'
                AND i.state NOT IN %(waiting)s
                AND COALESCE(i.end_reason, '') != 'closed'
                AND NOT (i.state = 'transferred' AND i.date_answered IS NULL) AS counts
    ) f
)""",
                view=SQL.identifier(self._table),
                short=kpi.SHORT_ABANDON_SECONDS,
                sl=DEFAULT_SL_SECONDS,
                waiting=WAITING_STATES,
            )
        )

    # ------------------------------------------------------------------
    # Staffing
    # ------------------------------------------------------------------
    @api.model
    @api.readonly
    def staffing_suggestion(self, queue_id, date_from, date_to, interval_minutes=60):
        """Agents needed per interval of the day, from the queue's own history.

        For each interval (local time of the queue), the inbound contacts
        offered between ``date_from`` and ``date_to`` (dates, both included;
        short abandons and contacts received while closed left out) are
        averaged per day, their AHT measured, and Erlang C gives the fewest
        agents meeting the queue's service-level target. An interval without
        handled contacts of its own uses the AHT of the whole period.

        Returns a list of dicts (XML-RPC safe: no None, no infinity).
        """
        if not self.env.user.has_group("omnichannel_cc.group_omnichannel_supervisor"):
            raise AccessError(_("Only supervisors and managers may plan the staffing."))
        interval_minutes = int(interval_minutes)
        if interval_minutes < 5 or 1440 % interval_minutes:
            raise UserError(
                _(
                    "The interval must divide a day into equal parts (e.g. 15, 30 or 60 "
                    "minutes), not %(minutes)s minutes.",
                    minutes=interval_minutes,
                )
            )
        date_from = fields.Date.to_date(date_from)
        date_to = fields.Date.to_date(date_to)
        if not date_from or not date_to or date_to < date_from:
            raise UserError(_("Give a period: a start date on or before the end date."))
        queue = self.env["omnichannel.queue"].browse(int(queue_id)).exists()
        if not queue:
            raise UserError(_("No queue has the id %(id)s.", id=queue_id))
        queue.check_access("read")

        days = (date_to - date_from).days + 1
        buckets = self._staffing_history(queue, date_from, date_to, interval_minutes)
        total_handled = sum(b["handled"] for b in buckets.values())
        total_handle = sum(b["handle"] for b in buckets.values())
        period_aht = kpi.ratio(total_handle, total_handled)
        target_sl = min(max(queue.service_level_target / 100.0, 0.0), 1.0)
        target_seconds = queue.service_level_seconds
        interval_seconds = interval_minutes * 60

        result = []
        for bucket in range(1440 // interval_minutes):
            history = buckets.get(bucket, {"offered": 0, "handled": 0, "handle": 0})
            calls = history["offered"] / days
            aht = kpi.ratio(history["handle"], history["handled"]) or period_aht
            forecast = kpi.staffing(calls, interval_seconds, aht, target_sl, target_seconds)
            start = bucket * interval_minutes
            result.append(
                {
                    "interval": f"{start // 60:02d}:{start % 60:02d}",
                    "hour": start // 60,
                    "minute": start % 60,
                    "offered": history["offered"],
                    "calls": round(calls, 2),
                    "aht": round(aht, 1),
                    "traffic": round(forecast.traffic, 3),
                    "agents": forecast.agents,
                    "service_level": round(forecast.service_level * 100, 1),
                    "asa": round(forecast.asa, 1),
                    "occupancy": round(forecast.occupancy * 100, 1),
                }
            )
        return result

    def _staffing_history(self, queue, date_from, date_to, interval_minutes, weekday=None):
        """{interval index: offered, handled, handle seconds} of the queue's
        inbound contacts, through the record rules of the current user.

        ``weekday`` (ISO, "1" for Monday, local time): only that day of the
        week, e.g. the last N Mondays in one query (the staffing plan)."""
        self.env.flush_all()
        domain = [("queue_id", "=", queue.id), ("direction", "=", "inbound")]
        if weekday:
            domain.append(("weekday", "=", str(weekday)))
        query = self._search(domain)
        table = SQL.identifier(query.table)
        local = SQL("%s.date_local", table)
        # offered contacts with an outcome (see the view): abandon_rate is not NULL
        query.add_where(SQL("%s.abandon_rate IS NOT NULL", table))
        query.add_where(SQL("%s >= %s", local, date_from))
        query.add_where(SQL("%s < %s", local, date_to + timedelta(days=1)))
        query.add_where(SQL("%s.short_abandoned = 0", table))
        bucket = SQL(
            "(floor((extract(hour FROM %s) * 60 + extract(minute FROM %s)) / %s))::int",
            local,
            local,
            interval_minutes,
        )
        query.groupby = bucket
        self.env.cr.execute(
            query.select(
                bucket,
                SQL("count(*)"),
                SQL("sum(%s.answered)", table),
                SQL("sum(%s.handle_total)", table),
            )
        )
        return {
            row[0]: {"offered": row[1], "handled": row[2] or 0, "handle": row[3] or 0}
            for row in self.env.cr.fetchall()
        }
