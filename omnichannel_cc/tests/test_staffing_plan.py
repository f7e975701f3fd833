"""Staffing plans (issue 18): Erlang C per interval of a weekday, from the
last N weeks, against the agents whose working hours cover the interval."""

import io
import zipfile
from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, freeze_time, new_test_user, tagged, users

from ..models.omnichannel_staffing_plan import SHRINKAGE_PARAM
from ..tools import kpi
from .common import OmnichannelCommon

try:
    import openpyxl
except ImportError:  # pragma: no cover - the export is then checked as a zip
    openpyxl = None

# Wednesday 12 March 2025: the last Monday is the 10th, the next one the 17th
# (winter time: Warsaw is UTC+1)
WEDNESDAY = datetime(2025, 3, 12, 12, 0)
LAST_MONDAY = datetime(2025, 3, 10)


def make_calendar(env, name, tz, hour_from, hour_to, dayofweek="0"):
    """Working hours on one day of the week only."""
    return env["resource.calendar"].create(
        {
            "name": name,
            "tz": tz,
            "attendance_ids": [
                Command.create(
                    {
                        "name": name,
                        "dayofweek": dayofweek,
                        "hour_from": hour_from,
                        "hour_to": hour_to,
                        "day_period": "morning",
                    }
                )
            ],
        }
    )


class StaffingCommon(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "UTC"
        # the published example (callcentrehelper.com, as in tests/unit/test_kpi.py):
        # 100 calls in half an hour, AHT 180 s, 80 % in 20 s -> 14 agents, 20
        # with 30 % shrinkage, SL 88.8 %, occupancy 71.4 %, ASA 7.8 s
        cls._history(cls.queue_sales, LAST_MONDAY.replace(hour=9), 100, talk=180)
        cls.Plan = cls.env["omnichannel.staffing.plan"]

    @classmethod
    def _history(cls, queue, when, count, talk=0, wrap=0, wait=5, state="done", **extra):
        """``count`` contacts queued at ``when`` with these durations (seconds)."""
        vals = {
            "channel_id": cls.channel_phone.id,
            "queue_id": queue.id,
            "state": state,
            "date_queued": when,
            **extra,
        }
        if state == "done":
            answered = when + timedelta(seconds=wait)
            ended = answered + timedelta(seconds=talk)
            vals.update(
                date_answered=answered,
                date_ended=ended,
                date_closed=ended + timedelta(seconds=wrap),
            )
        elif state == "abandoned":
            ended = when + timedelta(seconds=wait)
            vals.update(date_ended=ended, date_closed=ended, end_reason="customer")
        contacts = cls.env["omnichannel.interaction"].create([dict(vals) for _i in range(count)])
        contacts.flush_recordset()
        cls.env.cr.execute(
            "UPDATE omnichannel_interaction SET create_date = %s WHERE id IN %s",
            (when, tuple(contacts.ids)),
        )
        contacts.invalidate_recordset(["create_date"])
        return contacts

    def _plan(self, **vals):
        return self.Plan.create(
            {
                "queue_id": self.queue_sales.id,
                "weekday": "1",
                "weeks": 1,
                "interval_minutes": "30",
                "shrinkage": 30.0,
                **vals,
            }
        )

    @staticmethod
    def _at(plan, interval):
        line = plan.line_ids.filtered(lambda line: line.interval == interval)
        assert len(line) == 1, interval
        return line


@tagged("post_install", "-at_install")
class TestStaffingPlan(StaffingCommon):
    @freeze_time(WEDNESDAY)
    @users("occ_supervisor_sales")
    def test_published_erlang_c_example(self):
        plan = self._plan()
        self.assertEqual((plan.service_level_target, plan.service_level_seconds), (80.0, 20))
        plan.action_compute()
        self.assertEqual(len(plan.line_ids), 48)
        nine = self._at(plan, "09:00")
        self.assertEqual((nine.offered, nine.forecast, nine.aht), (100, 100.0, 180.0))
        self.assertEqual(nine.traffic, 10.0)
        self.assertEqual(nine.required, 14)
        self.assertEqual(nine.required_shrinkage, 20)
        self.assertAlmostEqual(nine.service_level, 88.8, places=1)
        self.assertAlmostEqual(nine.occupancy, 71.4, places=1)
        self.assertAlmostEqual(nine.asa, 7.8, places=1)  # 7.836 s, kept to a tenth
        # the half hour after: no history, nobody needed
        half_past = self._at(plan, "09:30")
        self.assertEqual((half_past.forecast, half_past.required), (0.0, 0))
        self.assertEqual((half_past.service_level, half_past.occupancy), (100.0, 0.0))
        self.assertEqual(plan.aht_measured, 180.0)
        self.assertEqual(str(plan.history_date_from), "2025-03-10")
        self.assertEqual(str(plan.schedule_date), "2025-03-17")

    @freeze_time(WEDNESDAY)
    def test_aht_override_and_hourly_interval(self):
        plan = self._plan(aht_override=90.0, interval_minutes="60")
        plan.action_compute()
        self.assertEqual(len(plan.line_ids), 24)
        nine = self._at(plan, "09:00")
        # 100 calls in an hour of 90 s each: 2.5 Erlangs
        self.assertEqual((nine.aht, nine.traffic), (90.0, 2.5))
        self.assertEqual(nine.required, kpi.agents_needed(100, 3600, 90, 0.8, 20))
        # a computed plan is computed again from scratch
        plan.interval_minutes = "15"
        plan.action_compute()
        self.assertEqual(len(plan.line_ids), 96)
        self.assertEqual(self._at(plan, "09:00").forecast, 100.0)

    def test_weekday_and_weeks_averaging(self):
        queue = self.env["omnichannel.queue"].create({"name": "Averaging"})
        monday = datetime(2025, 3, 17)  # "today" in this test, at 10:00
        self._history(queue, monday.replace(hour=9), 4, talk=60)  # today: not over yet
        self._history(queue, monday.replace(hour=9, minute=10) - timedelta(weeks=1), 3, talk=60)
        self._history(
            queue,
            monday.replace(hour=9, minute=11) - timedelta(weeks=1),
            1,
            state="abandoned",
            wait=40,
        )
        # a short abandon is noise; an outbound call is no demand; a waiting
        # contact has no outcome yet
        self._history(
            queue,
            monday.replace(hour=9, minute=12) - timedelta(weeks=1),
            2,
            state="abandoned",
            wait=2,
        )
        self._history(
            queue, monday.replace(hour=9) - timedelta(weeks=1), 2, talk=60, direction="outbound"
        )
        self._history(queue, monday.replace(hour=9) - timedelta(weeks=1), 1, state="queued")
        self._history(queue, monday.replace(hour=14) - timedelta(weeks=1), 2, talk=60)
        self._history(queue, monday.replace(hour=9, minute=20) - timedelta(weeks=2), 1, talk=60)
        # three weeks ago is older than the two weeks of the plan; Tuesday is another day
        self._history(queue, monday.replace(hour=9) - timedelta(weeks=3), 5, talk=60)
        self._history(queue, monday.replace(hour=9) - timedelta(days=6), 7, talk=60)
        plan = self.Plan.create(
            {"queue_id": queue.id, "weekday": "1", "weeks": 2, "interval_minutes": "60"}
        )
        with freeze_time(monday.replace(hour=10)):
            plan.action_compute()
        self.assertEqual(
            (str(plan.history_date_from), str(plan.history_date_to)), ("2025-03-03", "2025-03-10")
        )
        self.assertEqual(str(plan.schedule_date), "2025-03-17")
        nine = self._at(plan, "09:00")
        # (3 answered + 1 long abandon) on the 10th, 1 on the 3rd: 5 in 2 weeks
        self.assertEqual((nine.offered, nine.forecast), (5, 2.5))
        self.assertEqual(nine.aht, 60.0)
        self.assertEqual(self._at(plan, "14:00").forecast, 1.0)
        self.assertEqual(sum(plan.line_ids.mapped("offered")), 7)

        # a Tuesday plan sees the Tuesday only
        plan.weekday = "2"
        with freeze_time(monday.replace(hour=10)):
            plan.action_compute()
        self.assertEqual(str(plan.history_date_to), "2025-03-11")
        self.assertEqual(self._at(plan, "09:00").forecast, 3.5)
        self.assertEqual(sum(plan.line_ids.mapped("offered")), 7)

    def test_weekday_is_the_queue_local_day(self):
        queue = self.env["omnichannel.queue"].create({"name": "Local day"})
        # Sunday 23:30 UTC is Monday 00:30 in Warsaw (UTC+1 in winter)
        self._history(queue, datetime(2025, 3, 9, 23, 30), 2, talk=60)
        plan = self.Plan.create(
            {"queue_id": queue.id, "weekday": "1", "weeks": 1, "interval_minutes": "60"}
        )
        with freeze_time(WEDNESDAY):
            plan.action_compute()
        self.assertFalse(sum(plan.line_ids.mapped("offered")), "Sunday in UTC")
        self.company.partner_id.tz = "Europe/Warsaw"
        with freeze_time(WEDNESDAY):
            plan.action_compute()
        self.assertEqual(self._at(plan, "00:00").offered, 2)

    @freeze_time(WEDNESDAY)
    def test_scheduled_agents_from_working_hours(self):
        Agent = self.env["omnichannel.agent"]
        # a shift 08:00-16:00 UTC
        Agent._for_user(self.agent_sales).resource_calendar_id = make_calendar(
            self.env, "Early UTC", "UTC", 8, 16
        )
        # 09:00-17:00 in Warsaw: 08:00-16:00 UTC on Monday 17 March (winter)
        warsaw = new_test_user(
            self.env, "occ_staff_warsaw", groups="omnichannel_cc.group_omnichannel_agent"
        )
        Agent._for_user(warsaw).resource_calendar_id = make_calendar(
            self.env, "Warsaw day", "Europe/Warsaw", 9, 17
        )
        # starts at 08:30: half of the 08:00 hour
        late = new_test_user(
            self.env, "occ_staff_late", groups="omnichannel_cc.group_omnichannel_agent"
        )
        Agent._for_user(late).resource_calendar_id = make_calendar(self.env, "Late", "UTC", 8.5, 16)
        # never opened the console: no agent record, the company's working hours
        newcomer = new_test_user(
            self.env, "occ_staff_new", groups="omnichannel_cc.group_omnichannel_agent"
        )
        self.company.resource_calendar_id = make_calendar(self.env, "Company", "UTC", 12, 20)
        # a member of another queue only does not count
        Agent._for_user(self.agent_claims).resource_calendar_id = make_calendar(
            self.env, "Claims", "UTC", 0, 24
        )
        self.queue_sales.member_ids = [Command.link(u.id) for u in (warsaw, late, newcomer)]
        self.assertFalse(Agent.search([("user_id", "=", newcomer.id)]))

        plan = self._plan(interval_minutes="60")
        plan.with_user(self.supervisor_sales).action_compute()
        scheduled = {line.interval: line.scheduled for line in plan.line_ids}
        self.assertEqual(scheduled["07:00"], 0.0)
        self.assertEqual(scheduled["08:00"], 2.5)
        self.assertEqual(scheduled["09:00"], 3.0)
        self.assertEqual(scheduled["12:00"], 4.0)
        self.assertEqual(scheduled["15:00"], 4.0)
        self.assertEqual(scheduled["16:00"], 1.0, "the Warsaw shift ends at 16:00 UTC")
        self.assertEqual(scheduled["17:00"], 1.0)
        self.assertEqual(scheduled["20:00"], 0.0)
        # the plan is for a Monday: on a Tuesday nobody is scheduled
        plan.weekday = "2"
        plan.action_compute()
        self.assertFalse(any(plan.line_ids.mapped("scheduled")))

    @freeze_time(datetime(2025, 3, 28, 12, 0))
    def test_scheduled_agents_when_the_clocks_change(self):
        # Sunday 30 March 2025: Warsaw skips from 02:00 to 03:00
        self.company.partner_id.tz = "Europe/Warsaw"
        self.env["omnichannel.agent"]._for_user(
            self.agent_sales
        ).resource_calendar_id = make_calendar(
            self.env, "Sunday", "Europe/Warsaw", 0, 24, dayofweek="6"
        )
        plan = self._plan(weekday="7", interval_minutes="60")
        plan.action_compute()
        self.assertEqual(str(plan.schedule_date), "2025-03-30")
        scheduled = {line.interval: line.scheduled for line in plan.line_ids}
        self.assertEqual((scheduled["01:00"], scheduled["03:00"], scheduled["23:00"]), (1, 1, 1))
        self.assertEqual(scheduled["02:00"], 0.0, "no such hour that day")

    @freeze_time(WEDNESDAY)
    def test_shrinkage_and_gap(self):
        self.env["omnichannel.agent"]._for_user(
            self.agent_sales
        ).resource_calendar_id = make_calendar(self.env, "Early UTC", "UTC", 8, 16)
        plan = self._plan()
        plan.action_compute()
        nine = self._at(plan, "09:00")
        self.assertEqual((nine.required, nine.required_shrinkage, nine.scheduled), (14, 20, 1.0))
        self.assertEqual(nine.gap, -19.0)
        self.assertTrue(nine.understaffed)
        noon = self._at(plan, "12:00")
        self.assertEqual((noon.required_shrinkage, noon.scheduled, noon.gap), (0, 1.0, 1.0))
        self.assertFalse(noon.understaffed)
        night = self._at(plan, "03:00")
        self.assertEqual((night.gap, night.understaffed), (0.0, False))
        self.assertEqual((plan.peak_required, plan.understaffed_count), (20, 1))
        # the chart: both series of every interval, side by side
        chart = self.env["omnichannel.staffing.plan.chart"]._read_group(
            [("plan_id", "=", plan.id)], ["interval", "series"], ["agents:sum"]
        )
        self.assertEqual(len(chart), 96)
        series = {(interval, name): agents for interval, name, agents in chart}
        self.assertEqual((series["09:00", "required"], series["09:00", "scheduled"]), (20.0, 1.0))
        self.assertEqual((series["12:00", "required"], series["12:00", "scheduled"]), (0.0, 1.0))

        plan.shrinkage = 0.0
        plan.action_compute()
        self.assertEqual(self._at(plan, "09:00").required_shrinkage, 14)
        self.assertEqual(self._at(plan, "09:00").gap, -13.0)
        plan.shrinkage = 50.0
        plan.action_compute()
        self.assertEqual(self._at(plan, "09:00").required_shrinkage, 28)

    def test_default_shrinkage_from_settings(self):
        Param = self.env["ir.config_parameter"]
        Param.set_param(SHRINKAGE_PARAM, False)
        plan = self.Plan.create({"queue_id": self.queue_sales.id})
        self.assertEqual((plan.shrinkage, plan.weeks, plan.interval_minutes), (30.0, 4, "60"))
        Param.set_param(SHRINKAGE_PARAM, "25")
        self.assertEqual(self.Plan.create({"queue_id": self.queue_sales.id}).shrinkage, 25.0)
        # the queue's target is the default, the plan may aim elsewhere
        self.queue_claims.write({"service_level_target": 90.0, "service_level_seconds": 60})
        plan = self.Plan.create({"queue_id": self.queue_claims.id, "service_level_seconds": 30})
        self.assertEqual((plan.service_level_target, plan.service_level_seconds), (90.0, 30))

    @freeze_time(WEDNESDAY)
    @users("occ_supervisor_sales")
    def test_export_xlsx(self):
        plan = self._plan()
        plan.action_compute()
        action = plan.action_export_xlsx()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(action["url"], f"/omnichannel_cc/staffing_plan/{plan.id}/xlsx")
        content, filename = plan._export_xlsx()
        self.assertEqual(filename, "Sales - Monday.xlsx")
        self.assertEqual(content[:2], b"PK")
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            self.assertIn("xl/worksheets/sheet1.xml", archive.namelist())
        if not openpyxl:
            return
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        rows = [tuple(cell.value for cell in row) for row in sheet.iter_rows()]
        header = dict(row[:2] for row in rows[2:16] if row[0])
        self.assertEqual(header["Queue"], "Sales")
        self.assertEqual(header["Weekday"], "Monday")
        self.assertEqual(header["Shrinkage (%)"], 30)
        titles = next(row for row in rows if row[0] == "Interval")
        lines = {
            row[0]: dict(zip(titles, row, strict=True))
            for row in rows
            if row[0] and ":" in str(row[0])
        }
        self.assertEqual(len(lines), 48)
        nine = lines["09:00"]
        self.assertEqual(nine["Forecast contacts"], 100)
        self.assertEqual(nine["Agents required"], 14)
        self.assertEqual(nine["Agents to schedule"], 20)
        self.assertEqual(nine["Gap"], self._at(plan, "09:00").gap)
        self.assertAlmostEqual(nine["Expected SL (%)"], 88.8, places=1)

    @users("occ_agent_sales")
    def test_access_agent_refused(self):
        with self.assertRaises(AccessError):
            self.env["omnichannel.staffing.plan"].search([])
        with self.assertRaises(AccessError):
            self.env["omnichannel.staffing.plan"].create({"queue_id": self.queue_sales.id})
        with self.assertRaises(AccessError):
            self.env["omnichannel.staffing.plan.line"].search([])
        with self.assertRaises(AccessError):
            self.env["omnichannel.staffing.plan.chart"].search([])

    def test_access_supervisor_and_manager(self):
        sales = self._plan()
        claims = self.Plan.create({"queue_id": self.queue_claims.id})
        claims.action_compute()
        as_supervisor = self.Plan.with_user(self.supervisor_sales)
        self.assertEqual(as_supervisor.search([("id", "in", (sales | claims).ids)]), sales)
        with self.assertRaises(AccessError):
            as_supervisor.browse(claims.id).read(["weekday"])
        with self.assertRaises(AccessError):
            claims.with_user(self.supervisor_sales).action_compute()
        with self.assertRaises(AccessError):
            as_supervisor.browse(claims.id)._export_xlsx()
        with self.assertRaises(AccessError):
            as_supervisor.create({"queue_id": self.queue_claims.id})
        self.assertFalse(
            self.env["omnichannel.staffing.plan.line"]
            .with_user(self.supervisor_sales)
            .search([("plan_id", "=", claims.id)])
        )
        self.assertFalse(
            self.env["omnichannel.staffing.plan.chart"]
            .with_user(self.supervisor_sales)
            .search([("plan_id", "=", claims.id)])
        )
        own = as_supervisor.create({"queue_id": self.queue_sales.id})
        own.action_compute()
        self.assertEqual(len(own.line_ids), 24)
        # the intervals are the computation's: read-only, even to their planner
        with self.assertRaises(AccessError):
            own.line_ids[9].scheduled = 40
        with self.assertRaises(AccessError):
            own.line_ids[9].unlink()
        own.unlink()

        as_manager = self.Plan.with_user(self.manager)
        self.assertEqual(as_manager.search([("id", "in", (sales | claims).ids)]), sales | claims)
        as_manager.browse(claims.id).action_compute()

    def test_access_other_company(self):
        other = self.env["res.company"].create({"name": "Staffing Other Co"})
        queue = self.env["omnichannel.queue"].create({"name": "Elsewhere", "company_id": other.id})
        plan = self.Plan.create({"queue_id": queue.id})
        self.assertEqual(plan.company_id, other)
        as_manager = self.Plan.with_user(self.manager)
        self.assertFalse(as_manager.search([("id", "=", plan.id)]))
        with self.assertRaises(AccessError):
            as_manager.browse(plan.id).read(["weekday"])
        with self.assertRaises(AccessError):
            as_manager.browse(plan.id)._export_xlsx()


@tagged("post_install", "-at_install")
class TestStaffingPlanHttp(HttpCase):
    """The one-click spreadsheet and the plan's form in the web client."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        group = "omnichannel_cc.group_omnichannel_"
        cls.supervisor = new_test_user(cls.env, "occ_staff_sup", groups=group + "supervisor")
        cls.other_supervisor = new_test_user(cls.env, "occ_staff_sup2", groups=group + "supervisor")
        cls.agent = new_test_user(cls.env, "occ_staff_agent", groups=group + "agent")
        cls.queue = cls.env["omnichannel.queue"].create(
            {
                "name": "Staffing tour queue",
                "member_ids": [Command.set(cls.agent.ids)],
                "supervisor_ids": [Command.set(cls.supervisor.ids)],
            }
        )
        cls.plan = cls.env["omnichannel.staffing.plan"].create(
            {"queue_id": cls.queue.id, "weekday": "3", "interval_minutes": "60"}
        )

    def _download(self, login):
        self.authenticate(login, login)
        return self.url_open(f"/omnichannel_cc/staffing_plan/{self.plan.id}/xlsx")

    def test_download_xlsx(self):
        self.plan.action_compute()
        response = self._download("occ_staff_sup")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Type"].startswith("application/vnd.openxml"))
        self.assertIn("Staffing%20tour%20queue", response.headers["Content-Disposition"])
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            sheet = archive.read("xl/worksheets/sheet1.xml").decode()
            strings = archive.read("xl/sharedStrings.xml").decode()
        self.assertIn("Staffing tour queue", strings)
        self.assertIn("23:00", strings)
        self.assertIn("<row", sheet)
        self.assertEqual(self._download("occ_staff_agent").status_code, 403)
        self.assertEqual(self._download("occ_staff_sup2").status_code, 403)
        self.authenticate("occ_staff_sup", "occ_staff_sup")
        missing = self.url_open("/omnichannel_cc/staffing_plan/999999999/xlsx")
        self.assertEqual(missing.status_code, 404)

    def test_tour_compute_plan(self):
        self.assertFalse(self.plan.line_ids)
        self.start_tour("/odoo", "omnichannel_cc_staffing_plan_tour", login="occ_staff_sup")
        self.plan.invalidate_recordset()
        self.assertEqual(len(self.plan.line_ids), 24)
