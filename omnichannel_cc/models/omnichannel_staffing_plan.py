import io
from collections import defaultdict
from datetime import datetime, time, timedelta

import pytz
import xlsxwriter

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import format_datetime

from ..report.omnichannel_interaction_report import WEEKDAYS
from ..tools import kpi

SHRINKAGE_PARAM = "omnichannel_cc.staffing_shrinkage_percent"
SHRINKAGE_DEFAULT = 30.0
INTERVALS = [("60", "1 hour"), ("30", "30 minutes"), ("15", "15 minutes")]
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class OmnichannelStaffingPlan(models.Model):
    """The agents one day of the week needs, interval by interval, against
    the agents whose working hours cover it.

    The forecast is the average of the same weekday over the last N weeks
    (queue-local time, as the interaction analysis counts: inbound contacts
    with an outcome, short abandons left out); Erlang C turns it into the
    agents required, shrinkage into the agents to schedule.
    """

    _name = "omnichannel.staffing.plan"
    _description = "Contact center staffing plan"
    _order = "queue_id, weekday, id"

    @api.model
    def _default_shrinkage(self):
        # sudo: a setting of the contact center read by every planner
        value = self.env["ir.config_parameter"].sudo().get_param(SHRINKAGE_PARAM)
        try:
            return float(value) if value else SHRINKAGE_DEFAULT
        except ValueError:
            return SHRINKAGE_DEFAULT

    queue_id = fields.Many2one("omnichannel.queue", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(
        related="queue_id.company_id", store=True, index=True, precompute=True
    )
    weekday = fields.Selection(WEEKDAYS, required=True, default="1")
    weeks = fields.Integer(
        string="Past weeks",
        default=4,
        required=True,
        help="The forecast is the average of this weekday over so many past weeks (a week "
        "without contacts counts as none).",
    )
    interval_minutes = fields.Selection(
        INTERVALS, string="Interval length", default="60", required=True
    )
    aht_override = fields.Float(
        string="AHT override (s)",
        help="Average handle time to plan with. Empty: the AHT measured in each interval "
        "(an interval without handled contacts takes the whole day's).",
    )
    service_level_target = fields.Float(
        string="Service level target (%)",
        compute="_compute_service_level",
        store=True,
        readonly=False,
        precompute=True,
    )
    service_level_seconds = fields.Integer(
        string="Service level threshold (s)",
        compute="_compute_service_level",
        store=True,
        readonly=False,
        precompute=True,
    )
    shrinkage = fields.Float(
        string="Shrinkage (%)",
        default=_default_shrinkage,
        help="Share of paid time off the phones (breaks, meetings, training, absence): "
        "agents to schedule = agents required / (1 - shrinkage).",
    )
    line_ids = fields.One2many("omnichannel.staffing.plan.line", "plan_id", string="Intervals")
    date_computed = fields.Datetime(string="Computed on", readonly=True)
    history_date_from = fields.Date(string="History from", readonly=True)
    history_date_to = fields.Date(string="History to", readonly=True)
    schedule_date = fields.Date(
        string="Schedule of",
        readonly=True,
        help="The day whose working hours give the agents scheduled: the next one of this weekday.",
    )
    aht_measured = fields.Float(
        string="AHT measured (s)", readonly=True, help="Over the whole history of the plan."
    )
    peak_required = fields.Integer(
        string="Peak agents to schedule", compute="_compute_totals", store=True
    )
    understaffed_count = fields.Integer(
        string="Intervals understaffed", compute="_compute_totals", store=True
    )

    _sql_constraints = [
        ("weeks_range", "CHECK(weeks BETWEEN 1 AND 53)", "Plan on 1 to 53 past weeks."),
        (
            "shrinkage_range",
            "CHECK(shrinkage >= 0 AND shrinkage < 100)",
            "Shrinkage is a percentage from 0 to less than 100.",
        ),
        (
            "service_level_range",
            "CHECK(service_level_target BETWEEN 0 AND 100 AND service_level_seconds >= 0)",
            "The service level target is a percentage from 0 to 100 within a positive time.",
        ),
        ("aht_positive", "CHECK(aht_override >= 0)", "The AHT override cannot be negative."),
    ]

    @api.depends("queue_id")
    def _compute_service_level(self):
        for plan in self:
            queue = plan.queue_id
            plan.service_level_target = queue.service_level_target if queue else 80.0
            plan.service_level_seconds = queue.service_level_seconds if queue else 20

    @api.depends("line_ids.required_shrinkage", "line_ids.understaffed")
    def _compute_totals(self):
        for plan in self:
            plan.peak_required = max(plan.line_ids.mapped("required_shrinkage"), default=0)
            plan.understaffed_count = len(plan.line_ids.filtered("understaffed"))

    @api.depends("queue_id", "weekday")
    def _compute_display_name(self):
        weekdays = dict(self._fields["weekday"]._description_selection(self.env))
        for plan in self:
            plan.display_name = _(
                "%(queue)s, %(weekday)s",
                queue=plan.queue_id.display_name or "",
                weekday=weekdays.get(plan.weekday, ""),
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_compute(self):
        for plan in self:
            plan._compute_plan()
        return True

    def action_export_xlsx(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/omnichannel_cc/staffing_plan/{self.id}/xlsx",
            "target": "download",
        }

    def action_view_chart(self):
        """Agents to schedule against agents scheduled, interval by interval."""
        return self._action_of_plan("omnichannel_cc.omnichannel_staffing_plan_chart_action")

    def action_view_lines(self):
        """The intervals on their own: list (and its standard export), pivot, graph."""
        return self._action_of_plan("omnichannel_cc.omnichannel_staffing_plan_line_action")

    def _action_of_plan(self, xmlid):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        action["domain"] = [("plan_id", "=", self.id)]
        action["display_name"] = self.display_name
        action["context"] = {"create": False, "default_plan_id": self.id}
        return action

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _queue_tz(self):
        """The queue's time zone, as the interaction analysis takes it."""
        self.ensure_one()
        queue = self.queue_id
        name = queue.resource_calendar_id.tz or queue.company_id.partner_id.tz or "UTC"
        return pytz.timezone(name)

    def _compute_plan(self):
        self.ensure_one()
        self.check_access("write")
        if not 0 <= self.shrinkage < 100:
            raise ValidationError(_("Shrinkage is a percentage from 0 to less than 100."))
        tz = self._queue_tz()
        now = fields.Datetime.now()
        today = pytz.utc.localize(now).astimezone(tz).date()
        weekday = int(self.weekday)
        # the last N of this weekday before today: today is not over yet
        history_to = today - timedelta(days=(today.isoweekday() - weekday - 1) % 7 + 1)
        history_from = history_to - timedelta(weeks=self.weeks - 1)
        schedule_date = today + timedelta(days=(weekday - today.isoweekday()) % 7)
        minutes = int(self.interval_minutes)

        buckets = self.env["omnichannel.interaction.report"]._staffing_history(
            self.queue_id, history_from, history_to, minutes, weekday=self.weekday
        )
        period_aht = kpi.ratio(
            sum(b["handle"] for b in buckets.values()), sum(b["handled"] for b in buckets.values())
        )
        scheduled = self._scheduled_agents(schedule_date, tz, minutes)
        target_sl = self.service_level_target / 100.0
        shrinkage = self.shrinkage / 100.0
        vals_list = []
        for bucket in range(1440 // minutes):
            history = buckets.get(bucket, {"offered": 0, "handled": 0, "handle": 0})
            calls = history["offered"] / self.weeks
            aht = (
                self.aht_override or kpi.ratio(history["handle"], history["handled"]) or period_aht
            )
            forecast = kpi.staffing(calls, minutes * 60, aht, target_sl, self.service_level_seconds)
            to_schedule = kpi.agents_with_shrinkage(forecast.agents, shrinkage)
            start = bucket * minutes
            vals_list.append(
                {
                    "plan_id": self.id,
                    "sequence": bucket,
                    "interval": f"{start // 60:02d}:{start % 60:02d}",
                    "hour_from": start / 60,
                    "offered": history["offered"],
                    "forecast": calls,
                    "aht": aht,
                    "traffic": forecast.traffic,
                    "required": forecast.agents,
                    "required_shrinkage": to_schedule,
                    "service_level": forecast.service_level * 100,
                    "asa": forecast.asa,
                    "occupancy": forecast.occupancy * 100,
                    "scheduled": scheduled[bucket],
                }
            )
        # sudo: intervals are read-only to users and written here only (plan write checked)
        self.sudo().line_ids.unlink()
        # sudo: as above, the intervals of this plan only
        self.env["omnichannel.staffing.plan.line"].sudo().create(vals_list)
        self.write(
            {
                "date_computed": now,
                "history_date_from": history_from,
                "history_date_to": history_to,
                "schedule_date": schedule_date,
                "aht_measured": period_aht,
            }
        )

    def _scheduled_agents(self, day, tz, minutes):
        """Agents at work in each interval of ``day`` (local to ``tz``): the
        queue's members whose working hours cover it; one who works part of
        an interval counts for that part. Attendances only: leaves and public
        holidays are the shrinkage's business."""
        self.ensure_one()
        members = self.env["omnichannel.queue.member"].search(
            [("queue_id", "=", self.queue_id.id), ("user_id.active", "=", True)]
        )
        agents = self.env["omnichannel.agent"].search([("user_id", "in", members.user_id.ids)])
        calendar_of = {
            agent.user_id: agent.resource_calendar_id or agent.company_id.resource_calendar_id
            for agent in agents
        }
        # a member who never opened the console has no agent record yet
        default = self.queue_id.company_id.resource_calendar_id
        heads = defaultdict(int)
        for user in members.user_id:
            calendar = calendar_of.get(user, default)
            if calendar:
                heads[calendar] += 1

        count = 1440 // minutes
        day_start = datetime.combine(day, time.min)
        bounds = [
            tz.localize(day_start + timedelta(minutes=minutes * bucket)) for bucket in range(count)
        ]
        bounds.append(tz.localize(day_start + timedelta(days=1)))
        scheduled = [0.0] * count
        for calendar, number in heads.items():
            intervals = calendar._attendance_intervals_batch(bounds[0], bounds[-1])[False]
            for bucket in range(count):
                start, stop = bounds[bucket], bounds[bucket + 1]
                length = (stop - start).total_seconds()
                if length <= 0:
                    continue  # an hour the clocks skip (daylight saving time starts)
                worked = sum(
                    max((min(stop, end) - max(start, begin)).total_seconds(), 0)
                    for begin, end, _attendance in intervals
                )
                scheduled[bucket] += number * min(worked / length, 1.0)
        return scheduled

    def _export_xlsx(self):
        """(xlsx file content, file name) of the plan: its parameters, then its lines."""
        self.ensure_one()
        self.check_access("read")
        output = io.BytesIO()
        workbook = xlsxwriter.Workbook(output, {"in_memory": True})
        sheet = workbook.add_worksheet(_("Staffing plan")[:31])
        bold = workbook.add_format({"bold": True})
        title = workbook.add_format({"bold": True, "font_size": 14})
        decimal = workbook.add_format({"num_format": "0.0"})
        red = workbook.add_format({"num_format": "0.0", "font_color": "#C00000", "bold": True})
        fields_ = self._fields
        weekdays = dict(fields_["weekday"]._description_selection(self.env))
        intervals = dict(fields_["interval_minutes"]._description_selection(self.env))
        sheet.write(0, 0, self.display_name, title)
        header = [
            (fields_["queue_id"].get_description(self.env)["string"], self.queue_id.display_name),
            (fields_["weekday"].get_description(self.env)["string"], weekdays[self.weekday]),
            (fields_["weeks"].get_description(self.env)["string"], self.weeks),
            (
                fields_["interval_minutes"].get_description(self.env)["string"],
                intervals[self.interval_minutes],
            ),
            (
                fields_["aht_override"].get_description(self.env)["string"],
                self.aht_override or "",
            ),
            (fields_["aht_measured"].get_description(self.env)["string"], self.aht_measured),
            (
                fields_["service_level_target"].get_description(self.env)["string"],
                self.service_level_target,
            ),
            (
                fields_["service_level_seconds"].get_description(self.env)["string"],
                self.service_level_seconds,
            ),
            (fields_["shrinkage"].get_description(self.env)["string"], self.shrinkage),
            (
                fields_["history_date_from"].get_description(self.env)["string"],
                fields.Date.to_string(self.history_date_from) or "",
            ),
            (
                fields_["history_date_to"].get_description(self.env)["string"],
                fields.Date.to_string(self.history_date_to) or "",
            ),
            (
                fields_["schedule_date"].get_description(self.env)["string"],
                fields.Date.to_string(self.schedule_date) or "",
            ),
            (
                fields_["date_computed"].get_description(self.env)["string"],
                format_datetime(self.env, self.date_computed) if self.date_computed else "",
            ),
            (fields_["company_id"].get_description(self.env)["string"], self.company_id.name),
        ]
        for row, (label, value) in enumerate(header, start=2):
            sheet.write(row, 0, label, bold)
            sheet.write(row, 1, value)

        Line = self.env["omnichannel.staffing.plan.line"]
        columns = [
            "interval",
            "offered",
            "forecast",
            "aht",
            "traffic",
            "required",
            "required_shrinkage",
            "scheduled",
            "gap",
            "service_level",
            "asa",
            "occupancy",
        ]
        first = len(header) + 3
        for col, name in enumerate(columns):
            sheet.write(first, col, Line._fields[name].get_description(self.env)["string"], bold)
        for row, line in enumerate(self.line_ids.sorted("sequence"), start=first + 1):
            for col, name in enumerate(columns):
                value = line[name]
                if name == "gap":
                    sheet.write_number(row, col, value, red if line.understaffed else decimal)
                elif isinstance(value, float):
                    sheet.write_number(row, col, value, decimal)
                else:
                    sheet.write(row, col, value)
        sheet.set_column(0, 0, 28)
        sheet.set_column(1, len(columns) - 1, 14)
        sheet.freeze_panes(first + 1, 1)
        workbook.close()
        weekday = weekdays[self.weekday]
        filename = f"{self.queue_id.display_name} - {weekday}.xlsx".replace("/", "-")
        return output.getvalue(), filename
