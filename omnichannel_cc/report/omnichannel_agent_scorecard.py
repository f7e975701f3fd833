from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..models.omnichannel_agent import AGENT_STATES

# Offers the agent let ring out or declined (as ``omnichannel.agent.miss_count``)
MISSED_OFFER_STATES = ("rejected", "timeout")
# Offers that count: the agent answered or missed them (pending ones are
# undecided, cancelled ones were taken by a colleague or the customer left)
DECIDED_OFFER_STATES = ("accepted", "transferred", *MISSED_OFFER_STATES)
# room in the ids for this many sources (row key * ID_SLOTS + source rank)
ID_SLOTS = 16


class OmnichannelAgentScorecard(models.Model):
    """An agent's figures per day and channel, for the agent and their supervisor.

    The view is a UNION ALL of *sources*, each row carrying the keys (agent,
    day, channel type, disposition, break reason) and the measures of its own
    source, 0 (sums) or NULL (averages) in the others:

    - ``interaction``: one row per contact of ``omnichannel.interaction.report``
      with an agent: handled count, handle time, AHT and ASA (NULL on
      unanswered rows, which AVG skips, as in that report);
    - ``offer``: one row per decided offer: offers and missed offers;
    - ``time``: one row per ``omnichannel.agent.state.report`` row (offline
      left out): logged-in, available, handling, productive and break time;
    - ``break``: one row per agent, day and break reason with a limit: break
      time taken, allowed and overrun (``tools/scorecard.break_figures``).

    Contacts and time are taken from the two reports' views, so the figures
    equal theirs by construction. The day is the agent's own (their time
    zone, else the company's), as in the time report; a contact's day is
    that of its creation. Time and break rows have no channel nor
    disposition: occupancy belongs to the agent, not to a channel.

    Ratios (occupancy, adherence) are per row in the view and, for any
    group, computed from the group's sums (``_read_group_select``), so a
    pivot by week or by team shows the true ratio, not an average of days.

    Extension: an addon adds measures with ``_scorecard_columns`` and rows
    with ``_scorecard_sources`` (the survey addon adds satisfaction). An
    addon that extends either source report must extend this model too: the
    source's ``DROP VIEW ... CASCADE`` drops this view, and only the init of
    the models an addon touches runs again.
    """

    _name = "omnichannel.agent.scorecard"
    _description = "Contact center agent scorecard"
    _auto = False
    _order = "date desc, user_id"
    _rec_name = "user_id"

    user_id = fields.Many2one("res.users", string="Agent", readonly=True)
    agent_id = fields.Many2one("omnichannel.agent", string="Agent record", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    date = fields.Date(string="Day", readonly=True, help="In the agent's time zone.")
    channel_type = fields.Selection(selection="_selection_channel_type", readonly=True)
    disposition_id = fields.Many2one("omnichannel.disposition", readonly=True)
    break_reason_id = fields.Many2one("omnichannel.break.reason", readonly=True)
    state = fields.Selection(AGENT_STATES, string="Agent state", readonly=True)

    nbr = fields.Integer(
        string="# Contacts",
        readonly=True,
        aggregator="sum",
        help="Contacts assigned to the agent, answered or not.",
    )
    handled = fields.Integer(string="# Handled", readonly=True, aggregator="sum")
    handle_total = fields.Integer(
        string="Handle time (s)", readonly=True, aggregator="sum", help="Talk plus wrap-up."
    )
    handle_duration = fields.Float(
        string="AHT (s)",
        readonly=True,
        aggregator="avg",
        help="Average handle time: talk plus wrap-up of handled contacts.",
    )
    answer_wait = fields.Float(
        string="ASA (s)",
        readonly=True,
        aggregator="avg",
        help="Average speed of answer: the customers' wait before the agent answered.",
    )
    offers = fields.Integer(
        string="# Offers",
        readonly=True,
        aggregator="sum",
        help="Contacts offered to the agent that they answered, declined or let ring out.",
    )
    missed_offers = fields.Integer(
        string="# Missed offers",
        readonly=True,
        aggregator="sum",
        help="Offers declined or not answered in time.",
    )
    logged_in_duration = fields.Integer(
        string="Logged in (s)", readonly=True, aggregator="sum", help="Every state but offline."
    )
    available_duration = fields.Integer(
        string="Available (s)", readonly=True, aggregator="sum", help="Logged in and idle."
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
    break_duration = fields.Integer(string="Break (s)", readonly=True, aggregator="sum")
    occupancy = fields.Float(
        string="Occupancy (%)",
        readonly=True,
        aggregator="avg",
        help="Productive time over productive plus available time, from the sums.",
    )
    handling_occupancy = fields.Float(
        string="Occupancy on contacts (%)",
        readonly=True,
        aggregator="avg",
        help="Handling time over handling plus available time, from the sums.",
    )
    break_taken = fields.Integer(
        string="Limited break (s)",
        readonly=True,
        aggregator="sum",
        help="Break time with reasons that have a limit.",
    )
    break_allowed = fields.Integer(
        string="Break allowed (s)",
        readonly=True,
        aggregator="sum",
        help="Per day and reason: the reason's daily limit, else its limit per break times "
        "the breaks taken.",
    )
    break_overrun = fields.Integer(
        string="Break overrun (s)",
        readonly=True,
        aggregator="sum",
        help="Per day and reason: the larger of the time beyond the daily limit and the sum "
        "of each break's time beyond the limit per break.",
    )
    break_adherence = fields.Float(
        string="Break adherence (%)",
        readonly=True,
        aggregator="avg",
        help="100 × (1 − overrun / allowed) from the sums, at least 0; empty when no break "
        "with a limit was taken.",
    )

    @api.model
    def _selection_channel_type(self):
        return (
            self.env["omnichannel.channel"]._fields["channel_type"]._description_selection(self.env)
        )

    # ------------------------------------------------------------------
    # The view
    # ------------------------------------------------------------------
    @api.model
    def _scorecard_columns(self):
        """{column: (SQL type, default)} of every column but the id; a source
        that lacks a column gets its default (a literal: "NULL" or "0")."""
        return {
            "user_id": ("integer", "NULL"),
            "agent_id": ("integer", "NULL"),
            "company_id": ("integer", "NULL"),
            "date": ("date", "NULL"),
            "channel_type": ("varchar", "NULL"),
            "disposition_id": ("integer", "NULL"),
            "break_reason_id": ("integer", "NULL"),
            "state": ("varchar", "NULL"),
            "nbr": ("integer", "0"),
            "handled": ("integer", "0"),
            "handle_total": ("integer", "0"),
            "handle_duration": ("float", "NULL"),
            "answer_wait": ("float", "NULL"),
            "offers": ("integer", "0"),
            "missed_offers": ("integer", "0"),
            "logged_in_duration": ("integer", "0"),
            "available_duration": ("integer", "0"),
            "handling_duration": ("integer", "0"),
            "productive_duration": ("integer", "0"),
            "break_duration": ("integer", "0"),
            "break_taken": ("integer", "0"),
            "break_allowed": ("integer", "0"),
            "break_overrun": ("integer", "0"),
        }

    @api.model
    def _scorecard_ratios(self):
        """{ratio column: function(value) -> SQL}, where ``value(column)`` is
        the SQL of a measure: the row's value in the view, the group's sum in
        read_group. One formula for both, so a row and a group agree."""
        return {
            "occupancy": lambda value: SQL(
                "100.0 * %(productive)s / NULLIF(%(productive)s + %(available)s, 0)",
                productive=value("productive_duration"),
                available=value("available_duration"),
            ),
            "handling_occupancy": lambda value: SQL(
                "100.0 * %(handling)s / NULLIF(%(handling)s + %(available)s, 0)",
                handling=value("handling_duration"),
                available=value("available_duration"),
            ),
            "break_adherence": lambda value: SQL(
                "CASE WHEN %(allowed)s > 0 THEN GREATEST(0.0, 100.0 - 100.0 * %(overrun)s "
                "/ %(allowed)s) END",
                allowed=value("break_allowed"),
                overrun=value("break_overrun"),
            ),
        }

    @api.model
    def _scorecard_sources(self):
        """[(name, SQL query, columns it selects)]: the rows of the view.

        Each query selects ``row_key`` (a bigint unique within the source,
        stable) and the listed columns of ``_scorecard_columns``; append to
        the list to add rows, keep the order (it is part of the ids).
        """
        # the agent's day: their time zone, else their company's (as the time report)
        agent_tz = SQL("COALESCE(NULLIF(p.tz, ''), NULLIF(cp.tz, ''), 'UTC')")
        interactions = SQL(
            """
            SELECT r.id AS row_key, r.agent_id AS user_id, a.id AS agent_id, r.company_id,
                   ((r.date AT TIME ZONE 'UTC') AT TIME ZONE %(tz)s)::date AS date,
                   r.channel_type, r.disposition_id, r.nbr, r.answered AS handled,
                   r.handle_total, r.handle_duration, r.answer_wait
              FROM omnichannel_interaction_report r
              JOIN res_users u ON u.id = r.agent_id
              JOIN res_partner p ON p.id = u.partner_id
              LEFT JOIN omnichannel_agent a ON a.user_id = r.agent_id
              JOIN res_company c ON c.id = COALESCE(a.company_id, r.company_id)
              LEFT JOIN res_partner cp ON cp.id = c.partner_id
             WHERE r.agent_id IS NOT NULL""",
            tz=agent_tz,
        )
        offers = SQL(
            """
            SELECT o.id AS row_key, o.user_id, a.id AS agent_id, i.company_id,
                   ((o.date_offered AT TIME ZONE 'UTC') AT TIME ZONE %(tz)s)::date AS date,
                   i.channel_type, 1 AS offers,
                   (o.state IN %(missed)s)::int AS missed_offers
              FROM omnichannel_offer o
              JOIN omnichannel_interaction i ON i.id = o.interaction_id
              JOIN res_users u ON u.id = o.user_id
              JOIN res_partner p ON p.id = u.partner_id
              LEFT JOIN omnichannel_agent a ON a.user_id = o.user_id
              JOIN res_company c ON c.id = COALESCE(a.company_id, i.company_id)
              LEFT JOIN res_partner cp ON cp.id = c.partner_id
             WHERE o.state IN %(decided)s""",
            tz=agent_tz,
            missed=MISSED_OFFER_STATES,
            decided=DECIDED_OFFER_STATES,
        )
        time = SQL(
            """
            SELECT s.id AS row_key, s.user_id, s.agent_id, s.company_id, s.date,
                   s.break_reason_id, s.state, s.logged_in_duration, s.available_duration,
                   s.handling_duration, s.productive_duration, s.break_duration
              FROM omnichannel_agent_state_report s
             WHERE s.state != 'offline'"""
        )
        # one row per agent, day and limited reason; the smallest row id of
        # the group is unique to it
        breaks = SQL(
            """
            SELECT min(s.id) AS row_key, s.user_id, s.agent_id, s.company_id, s.date,
                   s.break_reason_id, 'break' AS state,
                   sum(s.break_duration) AS break_taken,
                   CASE WHEN br.max_minutes > 0 THEN br.max_minutes * 60
                        ELSE br.max_duration * 60 * count(*) END AS break_allowed,
                   GREATEST(
                       CASE WHEN br.max_minutes > 0
                            THEN GREATEST(sum(s.break_duration) - br.max_minutes * 60, 0)
                            ELSE 0 END,
                       CASE WHEN br.max_duration > 0
                            THEN sum(GREATEST(s.break_duration - br.max_duration * 60, 0))
                            ELSE 0 END
                   ) AS break_overrun
              FROM omnichannel_agent_state_report s
              JOIN omnichannel_break_reason br ON br.id = s.break_reason_id
             WHERE s.state = 'break' AND (br.max_minutes > 0 OR br.max_duration > 0)
             GROUP BY s.user_id, s.agent_id, s.company_id, s.date, s.break_reason_id,
                      br.max_minutes, br.max_duration"""
        )
        return [
            (
                "interaction",
                interactions,
                (
                    "user_id",
                    "agent_id",
                    "company_id",
                    "date",
                    "channel_type",
                    "disposition_id",
                    "nbr",
                    "handled",
                    "handle_total",
                    "handle_duration",
                    "answer_wait",
                ),
            ),
            (
                "offer",
                offers,
                (
                    "user_id",
                    "agent_id",
                    "company_id",
                    "date",
                    "channel_type",
                    "offers",
                    "missed_offers",
                ),
            ),
            (
                "time",
                time,
                (
                    "user_id",
                    "agent_id",
                    "company_id",
                    "date",
                    "break_reason_id",
                    "state",
                    "logged_in_duration",
                    "available_duration",
                    "handling_duration",
                    "productive_duration",
                    "break_duration",
                ),
            ),
            (
                "break",
                breaks,
                (
                    "user_id",
                    "agent_id",
                    "company_id",
                    "date",
                    "break_reason_id",
                    "state",
                    "break_taken",
                    "break_allowed",
                    "break_overrun",
                ),
            ),
        ]

    def _scorecard_query(self):
        """The SELECT of the view, from the columns, ratios and sources."""
        columns = self._scorecard_columns()
        sources = self._scorecard_sources()
        if len(sources) > ID_SLOTS:
            raise ValueError(f"The scorecard has room for {ID_SLOTS} sources, not {len(sources)}.")
        branches = []
        for rank, (name, query, provided) in enumerate(sources):
            unknown = set(provided) - set(columns)
            if unknown:
                raise ValueError(f"Scorecard source {name!r} selects unknown {sorted(unknown)}.")
            selected = [SQL("src.row_key::bigint * %s + %s AS id", ID_SLOTS, rank)]
            for column, (sql_type, default) in columns.items():
                value = SQL.identifier("src", column) if column in provided else SQL(default)
                selected.append(SQL("%s::%s AS %s", value, SQL(sql_type), SQL.identifier(column)))
            branches.append(SQL("SELECT %s FROM (%s) src", SQL(", ").join(selected), query))
        ratios = [
            SQL(
                "%s AS %s",
                formula(lambda column: SQL.identifier("u", column)),
                SQL.identifier(name),
            )
            for name, formula in self._scorecard_ratios().items()
        ]
        return SQL(
            "SELECT u.*, %s FROM (%s) u",
            SQL(", ").join(ratios),
            SQL("\nUNION ALL\n").join(branches),
        )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                "CREATE OR REPLACE VIEW %s AS (%s)",
                SQL.identifier(self._table),
                self._scorecard_query(),
            )
        )

    # ------------------------------------------------------------------
    # Grouped ratios
    # ------------------------------------------------------------------
    def _read_group_select(self, aggregate_spec, query):
        """A ratio of a group is the ratio of its sums, whatever aggregate
        the client asks for (an average of daily ratios would weigh a short
        day like a long one)."""
        fname = aggregate_spec.split(":", 1)[0]
        ratios = self._scorecard_ratios()
        if fname not in ratios or aggregate_spec == "__count":
            return super()._read_group_select(aggregate_spec, query)
        # checks the field's access as the standard aggregate would
        super()._read_group_select(f"{fname}:max", query)
        return ratios[fname](
            lambda column: SQL("SUM(%s)", self._field_to_sql(self._table, column, query))
        )
