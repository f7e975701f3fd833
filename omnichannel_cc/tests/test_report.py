import xmlrpc.client
from datetime import date, datetime, timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import freeze_time, tagged, users

from ..tools import kpi
from .common import OmnichannelCommon

DAY = datetime(2025, 3, 3)  # a Monday; company and users in UTC unless a test says otherwise


def at(hour, minute=0, second=0, day=DAY):
    return day.replace(hour=hour, minute=minute, second=second)


@tagged("post_install", "-at_install")
class TestInteractionReport(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "UTC"
        (cls.agent_sales | cls.agent_claims | cls.supervisor_sales).tz = "UTC"
        cls.queue_claims.service_level_seconds = 3600  # e-mail: an hour
        Interaction = cls.env["omnichannel.interaction"]

        # one contact through the real lifecycle, with the clock frozen
        with freeze_time(at(9)):
            cls.answered_fast = Interaction.create(
                {
                    "channel_id": cls.channel_phone.id,
                    "queue_id": cls.queue_sales.id,
                    "state": "queued",
                }
            )
        with freeze_time(at(9, 0, 10)):
            cls.answered_fast.with_user(cls.agent_sales).action_answer()
        with freeze_time(at(9, 3, 10)):
            cls.answered_fast.with_user(cls.agent_sales).action_end()
        with freeze_time(at(9, 3, 40)):
            cls.answered_fast.with_user(cls.agent_sales).action_close()
        cls._set_create_date(cls.answered_fast, at(9))

        sales = cls.queue_sales
        cls.answered_slow = cls._contact(sales, at(9, 10), "done", 30, 120, 0, cls.agent_sales)
        cls.short_abandon = cls._contact(sales, at(9, 20), "abandoned", 3)
        cls.long_abandon = cls._contact(sales, at(9, 30), "abandoned", 40)
        cls.answered_at_threshold = cls._contact(
            sales, at(10, 5), "done", 20, 60, 10, cls.supervisor_sales
        )
        cls.waiting = cls._contact(sales, at(10, 15), "queued")
        cls.claim = cls._contact(
            cls.queue_claims, at(11), "done", 100, 300, 0, cls.agent_claims, cls.channel_email
        )
        cls.outbound = cls._contact(sales, at(12), "done", 0, 50, 0, cls.agent_sales)
        cls.outbound.direction = "outbound"
        cls.sales_inbound = (
            cls.answered_fast
            | cls.answered_slow
            | cls.short_abandon
            | cls.long_abandon
            | cls.answered_at_threshold
            | cls.waiting
        )
        cls.all_test = cls.sales_inbound | cls.claim | cls.outbound
        # created here: a company created by a user is added to that user's companies
        cls.other_company = cls.env["res.company"].create({"name": "Report Other Co"})
        cls.env.flush_all()

    @classmethod
    def _set_create_date(cls, interaction, when):
        interaction.flush_recordset()
        cls.env.cr.execute(
            "UPDATE omnichannel_interaction SET create_date = %s WHERE id = %s",
            (when, interaction.id),
        )
        interaction.invalidate_recordset(["create_date"])

    @classmethod
    def _contact(cls, queue, queued, state, wait=0, talk=0, wrap=0, agent=None, channel=None):
        """An interaction with known timestamps: wait, talk and wrap-up in seconds."""
        vals = {
            "channel_id": (channel or cls.channel_phone).id,
            "queue_id": queue.id,
            "state": state,
            "date_queued": queued,
            "agent_id": agent.id if agent else False,
        }
        if state == "done":
            answered = queued + timedelta(seconds=wait)
            ended = answered + timedelta(seconds=talk)
            vals.update(
                date_answered=answered,
                date_ended=ended,
                date_closed=ended + timedelta(seconds=wrap),
            )
        elif state == "abandoned":
            ended = queued + timedelta(seconds=wait)
            vals.update(date_ended=ended, date_closed=ended, end_reason="customer")
        interaction = cls.env["omnichannel.interaction"].create(vals)
        cls._set_create_date(interaction, queued)
        return interaction

    def _report(self, domain=()):
        self.env.flush_all()
        return self.env["omnichannel.interaction.report"].search(
            [("interaction_id", "in", self.all_test.ids), *domain]
        )

    def _kpis(self, domain, groupby=()):
        self.env.flush_all()
        return self.env["omnichannel.interaction.report"]._read_group(
            [("interaction_id", "in", self.all_test.ids), *domain],
            groupby=list(groupby),
            aggregates=[
                "nbr:sum",
                "answered:sum",
                "abandoned:sum",
                "short_abandoned:sum",
                "answered_within_sl:sum",
                "service_level:avg",
                "abandon_rate:avg",
                "abandon_rate_no_short:avg",
                "answer_wait:avg",
                "handle_duration:avg",
                "handle_total:sum",
            ],
        )

    def test_lifecycle_durations_reach_the_report(self):
        row = self._report([("interaction_id", "=", self.answered_fast.id)])
        self.assertEqual(len(row), 1)
        self.assertEqual(row.date, at(9))
        self.assertEqual((row.hour_of_day, row.weekday), ("09", "1"))
        self.assertEqual(
            (row.wait_duration, row.answer_wait, row.talk_duration, row.wrap_duration),
            (10, 10, 180, 30),
        )
        self.assertEqual((row.handle_duration, row.service_level), (210, 100))
        self.assertEqual(row.agent_id, self.agent_sales)
        self.assertEqual(row.channel_type, "phone")

    def test_queue_kpis(self):
        [(nbr, answered, abandoned, short, within, sl, ab, ab_no_short, asa, aht, handle)] = (
            self._kpis([("queue_id", "=", self.queue_sales.id), ("direction", "=", "inbound")])
        )
        self.assertEqual((nbr, answered, abandoned, short, within), (6, 3, 2, 1, 2))
        # SL counts fast (100), slow (0), long abandon (0), at threshold (100):
        # the short abandon and the contact still waiting do not count
        self.assertAlmostEqual(sl, 50.0)
        self.assertAlmostEqual(ab, 40.0)  # 2 of 5 with an outcome
        self.assertAlmostEqual(ab_no_short, 25.0)  # 1 of 4
        self.assertAlmostEqual(asa, 20.0)  # (10 + 30 + 20) / 3
        self.assertAlmostEqual(aht, 400 / 3)  # (210 + 120 + 70) / 3
        self.assertEqual(handle, 400)
        # the same as the pure functions give
        self.assertAlmostEqual(
            kpi.abandonment_rate(2, 5, short_abandoned=1, exclude_short=True) * 100, ab_no_short
        )

    def test_queue_threshold_and_outbound(self):
        claim = self._report([("interaction_id", "=", self.claim.id)])
        self.assertEqual((claim.answered_within_sl, claim.service_level), (1, 100))
        outbound = self._report([("interaction_id", "=", self.outbound.id)])
        self.assertEqual(outbound.direction, "outbound")
        self.assertFalse(outbound.service_level)
        [(nbr, sl)] = self.env["omnichannel.interaction.report"]._read_group(
            [("interaction_id", "=", self.outbound.id)], aggregates=["nbr:sum", "service_level:avg"]
        )
        self.assertEqual((nbr, sl), (1, False))  # no contact that counts: no figure

    def test_by_hour_agent_and_weekday(self):
        self.env.flush_all()
        by_hour = {
            hour: (nbr, sl)
            for hour, nbr, sl in self.env["omnichannel.interaction.report"]._read_group(
                [
                    ("interaction_id", "in", self.sales_inbound.ids),
                ],
                groupby=["hour_of_day"],
                aggregates=["nbr:sum", "service_level:avg"],
            )
        }
        self.assertEqual(by_hour, {"09": (4, 100 / 3), "10": (2, 100.0)})
        by_agent = dict(
            self.env["omnichannel.interaction.report"]._read_group(
                [("interaction_id", "in", self.all_test.ids), ("answered", "=", 1)],
                groupby=["agent_id"],
                aggregates=["nbr:sum"],
            )
        )
        self.assertEqual(
            by_agent, {self.agent_sales: 3, self.supervisor_sales: 1, self.agent_claims: 1}
        )
        weekdays = self.env["omnichannel.interaction.report"]._read_group(
            [("interaction_id", "in", self.all_test.ids)], groupby=["weekday"], aggregates=[]
        )
        self.assertEqual(weekdays, [("1",)])

    def test_hour_in_queue_time_zone(self):
        calendar = self.env["resource.calendar"].create(
            {"name": "Warsaw hours", "tz": "Europe/Warsaw"}
        )
        self.queue_sales.resource_calendar_id = calendar
        row = self._report([("interaction_id", "=", self.answered_fast.id)])
        self.assertEqual(row.hour_of_day, "10")  # 09:00 UTC is 10:00 in Warsaw in March
        self.assertEqual(row.date, at(9))  # the datetime itself stays UTC

    @users("occ_agent_sales")
    def test_agent_sees_own_rows(self):
        self.assertEqual(
            set(self._report().interaction_id.ids),
            set((self.answered_fast | self.answered_slow | self.outbound).ids),
        )

    @users("occ_agent_claims")
    def test_other_agent_sees_own_rows(self):
        rows = self._report()
        self.assertEqual(rows.interaction_id.ids, self.claim.ids)
        [(nbr, sl)] = self.env["omnichannel.interaction.report"]._read_group(
            [("interaction_id", "in", self.all_test.ids)],
            aggregates=["nbr:sum", "service_level:avg"],
        )
        self.assertEqual((nbr, sl), (1, 100.0))

    @users("occ_supervisor_sales")
    def test_supervisor_sees_their_queues(self):
        self.assertEqual(
            set(self._report().interaction_id.ids), set((self.sales_inbound | self.outbound).ids)
        )

    @users("occ_manager")
    def test_manager_sees_all_of_their_companies(self):
        self.assertEqual(set(self._report().interaction_id.ids), set(self.all_test.ids))
        other_company = self.other_company
        self.assertNotIn(other_company, self.env.user.company_ids)
        queue = (
            self.env["omnichannel.queue"]
            .sudo()
            .create({"name": "Other", "company_id": other_company.id})
        )
        foreign = (
            self.env["omnichannel.interaction"]
            .sudo()
            .create(
                {
                    "channel_id": self.channel_phone.id,
                    "queue_id": queue.id,
                    "company_id": other_company.id,
                    "state": "queued",
                }
            )
        )
        self.env.flush_all()
        self.assertFalse(
            self.env["omnichannel.interaction.report"].search([("interaction_id", "=", foreign.id)])
        )

    @users("occ_plain")
    def test_plain_user_sees_nothing(self):
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction.report"].search([])
        with self.assertRaises(AccessError):
            self.env["omnichannel.agent.state.report"].search([])

    # ------------------------------------------------------------------
    # Staffing
    # ------------------------------------------------------------------
    @users("occ_supervisor_sales")
    def test_staffing_suggestion_hourly(self):
        rows = self.env["omnichannel.interaction.report"].staffing_suggestion(
            self.queue_sales.id, "2025-03-03", "2025-03-03"
        )
        self.assertEqual(len(rows), 24)
        by_hour = {row["hour"]: row for row in rows}
        nine = by_hour[9]
        # offered at 9: fast, slow and the long abandon (the short abandon is noise)
        self.assertEqual((nine["interval"], nine["offered"], nine["calls"]), ("09:00", 3, 3.0))
        self.assertEqual(nine["aht"], 165.0)  # (210 + 120) / 2 handled
        self.assertEqual(nine["agents"], kpi.agents_needed(3, 3600, 165, 0.8, 20))
        self.assertEqual(nine["agents"], 1)
        self.assertGreaterEqual(nine["service_level"], 80.0)
        # 10 o'clock: one answered contact (the waiting one has no outcome yet)
        self.assertEqual((by_hour[10]["offered"], by_hour[10]["aht"]), (1, 70.0))
        # a quiet hour needs nobody, and its AHT is the period's
        self.assertEqual((by_hour[3]["offered"], by_hour[3]["agents"]), (0, 0))
        self.assertAlmostEqual(by_hour[3]["aht"], round(400 / 3, 1))
        # XML-RPC can carry it: no None anywhere
        xmlrpc.client.dumps((rows,), methodresponse=True, allow_none=False)

    @users("occ_supervisor_sales")
    def test_staffing_suggestion_averages_days_and_half_hours(self):
        Report = self.env["omnichannel.interaction.report"]
        two_days = Report.staffing_suggestion(
            self.queue_sales.id, date(2025, 3, 3), date(2025, 3, 4)
        )
        self.assertEqual(two_days[9]["calls"], 1.5)
        half_hours = Report.staffing_suggestion(
            self.queue_sales.id, "2025-03-03", "2025-03-03", interval_minutes=30
        )
        self.assertEqual(len(half_hours), 48)
        by_start = {row["interval"]: row["offered"] for row in half_hours}
        self.assertEqual((by_start["09:00"], by_start["09:30"], by_start["10:00"]), (2, 1, 1))
        # another day: nothing
        self.assertFalse(
            any(
                row["offered"]
                for row in Report.staffing_suggestion(
                    self.queue_sales.id, "2025-03-05", "2025-03-05"
                )
            )
        )
        with self.assertRaises(UserError):
            Report.staffing_suggestion(self.queue_sales.id, "2025-03-03", "2025-03-03", 7)
        with self.assertRaises(UserError):
            Report.staffing_suggestion(self.queue_sales.id, "2025-03-04", "2025-03-03")

    @users("occ_supervisor_sales")
    def test_staffing_suggestion_other_queue_is_closed(self):
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction.report"].staffing_suggestion(
                self.queue_claims.id, "2025-03-03", "2025-03-03"
            )

    @users("occ_agent_sales")
    def test_staffing_suggestion_needs_supervisor(self):
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction.report"].staffing_suggestion(
                self.queue_sales.id, "2025-03-03", "2025-03-03"
            )


@tagged("post_install", "-at_install")
class TestAgentStateReport(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_sales.tz = "Europe/Warsaw"  # UTC+1 in March
        cls.agent_claims.tz = "UTC"
        Agent = cls.env["omnichannel.agent"]
        cls.agent = Agent._for_user(cls.agent_sales)
        cls.other_agent = Agent._for_user(cls.agent_claims)
        cls.coffee = cls.env.ref("omnichannel_cc.break_reason_coffee")
        cls.training = cls.env.ref("omnichannel_cc.break_reason_training")
        Log = cls.env["omnichannel.agent.state.log"]
        periods = [
            ("available", at(8), at(9), False),
            ("busy", at(9), at(9, 30), False),
            ("wrapup", at(9, 30), at(9, 31), False),
            ("break", at(9, 31), at(9, 46), cls.coffee),
            ("break", at(9, 46), at(10, 16), cls.training),
            ("offline", at(10, 16), at(22, 30), False),
            # 23:30 to 01:30 in Warsaw: split at local midnight (23:00 UTC)
            ("available", at(22, 30), at(0, 30, day=DAY + timedelta(days=1)), False),
        ]
        cls.logs = Log.create(
            [
                {
                    "agent_id": cls.agent.id,
                    "state": state,
                    "date_start": start,
                    "date_end": end,
                    "break_reason_id": reason.id if reason else False,
                }
                for state, start, end, reason in periods
            ]
        )
        cls.other_log = Log.create(
            {
                "agent_id": cls.other_agent.id,
                "state": "available",
                "date_start": at(8),
                "date_end": at(12),
            }
        )

    def _sums(self, domain):
        self.env.flush_all()
        return self.env["omnichannel.agent.state.report"]._read_group(
            domain,
            groupby=["date:day"],
            aggregates=[
                "duration:sum",
                "logged_in_duration:sum",
                "handling_duration:sum",
                "productive_duration:sum",
                "available_duration:sum",
                "break_duration:sum",
            ],
        )

    def test_durations_per_local_day(self):
        rows = self._sums([("agent_id", "=", self.agent.id), ("log_id", "in", self.logs.ids)])
        by_day = {day: values for day, *values in rows}
        self.assertEqual(set(by_day), {date(2025, 3, 3), date(2025, 3, 4)})
        # Monday: 1 h + 30 min available, 30 min busy, 1 min wrap-up, 15 min
        # coffee, 30 min training, 12 h 14 min offline
        self.assertEqual(
            by_day[date(2025, 3, 3)],
            [
                3600 + 1800 + 1800 + 60 + 900 + 1800 + 44040,
                3600 + 1800 + 1800 + 60 + 900 + 1800,
                1860,
                1860 + 1800,  # training is working time, coffee is not
                5400,
                2700,
            ],
        )
        self.assertEqual(by_day[date(2025, 3, 4)], [5400, 5400, 0, 0, 5400, 0])
        # occupancy from the sums
        monday = by_day[date(2025, 3, 3)]
        self.assertAlmostEqual(kpi.occupancy(monday[3], monday[4]), 3660 / 9060)

    def test_split_rows_keep_the_period(self):
        self.env.flush_all()
        rows = self.env["omnichannel.agent.state.report"].search(
            [("log_id", "=", self.logs[-1].id)], order="date_start"
        )
        self.assertEqual(rows.mapped("date"), [date(2025, 3, 3), date(2025, 3, 4)])
        self.assertEqual(rows[0].date_end, at(23))
        self.assertEqual(rows.mapped("duration"), [1800, 5400])
        self.assertEqual(len(set(rows.ids)), 2)
        self.assertFalse(any(rows.mapped("is_open")))

    def test_open_period_counts_until_now(self):
        now = self.env.cr.now()
        log = self.env["omnichannel.agent.state.log"].create(
            {
                "agent_id": self.other_agent.id,
                "state": "busy",
                "date_start": now - timedelta(hours=2),
            }
        )
        self.env.flush_all()
        rows = self.env["omnichannel.agent.state.report"].search([("log_id", "=", log.id)])
        self.assertTrue(rows)
        self.assertTrue(all(rows.mapped("is_open")))
        # the database's clock and the transaction's may differ by the test's run time
        self.assertAlmostEqual(sum(rows.mapped("duration")), 7200, delta=600)
        self.assertEqual(sum(rows.mapped("duration")), sum(rows.mapped("handling_duration")))

    @users("occ_agent_sales")
    def test_agent_sees_own_time(self):
        rows = self.env["omnichannel.agent.state.report"].search(
            [("log_id", "in", (self.logs | self.other_log).ids)]
        )
        self.assertEqual(set(rows.log_id.ids), set(self.logs.ids))

    @users("occ_supervisor_sales")
    def test_supervisor_sees_their_team(self):
        rows = self.env["omnichannel.agent.state.report"].search(
            [("log_id", "in", (self.logs | self.other_log).ids)]
        )
        # agent_sales is in the supervised Sales queue, agent_claims is not
        self.assertEqual(set(rows.log_id.ids), set(self.logs.ids))

    @users("occ_manager")
    def test_manager_sees_all(self):
        rows = self.env["omnichannel.agent.state.report"].search(
            [("log_id", "in", (self.logs | self.other_log).ids)]
        )
        self.assertEqual(set(rows.log_id.ids), set((self.logs | self.other_log).ids))

    def test_report_date_is_fields_date(self):
        # the day column is a date, not a datetime: grouping by day is exact
        self.env.flush_all()
        row = self.env["omnichannel.agent.state.report"].search(
            [("log_id", "=", self.other_log.id)]
        )
        self.assertEqual(row.date, fields.Date.to_date("2025-03-03"))
        self.assertEqual(row.duration, 4 * 3600)


# ---- issue 14: an agent available since before the day's history began ----
@tagged("post_install", "-at_install")
class TestAgentStateReportUnrecordedState(OmnichannelCommon):
    def test_agent_available_without_history_is_in_the_report(self):
        """An agent put Available by data (demo, import) has no state history:
        the report still counts their time, from state_since until now."""
        self.agent_sales.tz = "UTC"
        agent = self.env["omnichannel.agent"]._for_user(self.agent_sales)
        since = datetime(2026, 3, 2, 0, 0, 0)
        with freeze_time(since):
            agent.write({"state": "available", "state_since": since})
        self.assertFalse(
            self.env["omnichannel.agent.state.log"].search([("agent_id", "=", agent.id)])
        )
        with freeze_time(datetime(2026, 3, 2, 10, 30, 0)):
            self.env.flush_all()
            Report = self.env["omnichannel.agent.state.report"]
            # the view reads now() of the transaction: compare with its clock
            rows = Report.search([("agent_id", "=", agent.id), ("state", "=", "available")])
            self.assertTrue(rows, "the available agent is in the report")
            self.assertTrue(all(rows.mapped("is_open")))
            self.assertEqual(rows[-1].date_start, since)
            self.assertGreater(sum(rows.mapped("available_duration")), 0)
            # the next change records the period that was never logged
            agent._change_state("break", self.env.ref("omnichannel_cc.break_reason_coffee").id)
        logs = self.env["omnichannel.agent.state.log"].search(
            [("agent_id", "=", agent.id)], order="date_start"
        )
        self.assertEqual(logs.mapped("state"), ["available", "break"])
        self.assertEqual(logs[0].date_start, since)
        self.assertEqual(logs[0].date_end, datetime(2026, 3, 2, 10, 30, 0))
        self.assertEqual(logs[0].duration, 10 * 3600 + 30 * 60)
        self.env.flush_all()
        rows = self.env["omnichannel.agent.state.report"].search([("agent_id", "=", agent.id)])
        # no double count: the unrecorded period is gone, the logged ones are there
        self.assertEqual(sorted(set(rows.mapped("log_id").ids)), sorted(logs.ids))

    def test_state_change_closes_the_open_period_and_opens_the_next(self):
        """Each change closes the open period (end, duration) and opens the
        next with its break reason and the agent's user and company, in one
        statement; the records read afterwards show it."""
        agent = self.env["omnichannel.agent"]._for_user(self.agent_sales)
        coffee = self.env.ref("omnichannel_cc.break_reason_coffee")
        t0 = datetime(2026, 3, 2, 8, 0, 0)
        with freeze_time(t0):
            agent._change_state("available")
        with freeze_time(t0 + timedelta(minutes=50)):
            agent._change_state("break", coffee.id)
        with freeze_time(t0 + timedelta(minutes=65)):
            agent._change_state("available")
        logs = self.env["omnichannel.agent.state.log"].search(
            [("agent_id", "=", agent.id), ("date_start", ">=", t0)], order="date_start"
        )
        self.assertEqual(logs.mapped("state"), ["available", "break", "available"])
        self.assertEqual(logs.mapped("duration"), [50 * 60, 15 * 60, 0])
        self.assertEqual(logs[0].date_end, t0 + timedelta(minutes=50))
        self.assertEqual(logs[1].date_end, t0 + timedelta(minutes=65))
        self.assertFalse(logs[2].date_end)
        self.assertEqual(logs.mapped("break_reason_id"), coffee)
        self.assertEqual(logs[1].break_reason_id, coffee)
        self.assertEqual(logs.user_id, self.agent_sales)
        self.assertEqual(logs.company_id, agent.company_id)
        # one open period per agent, whatever the number of changes
        self.assertEqual(
            self.env["omnichannel.agent.state.log"].search_count(
                [("agent_id", "=", agent.id), ("date_end", "=", False)]
            ),
            1,
        )
