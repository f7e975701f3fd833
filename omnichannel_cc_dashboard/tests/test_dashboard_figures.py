from datetime import date, datetime

from lxml import etree

from odoo import Command
from odoo.tests import TransactionCase, freeze_time, new_test_user, tagged

from .common import (
    MONTHS,
    EvaluatedPivot,
    Workbook,
    data_sources,
    filter_domain,
    load_json,
    make_contact,
)

MARCH = datetime(2025, 3, 10)  # the dashboard's "this month"; no demo data then
FEBRUARY = datetime(2025, 2, 10)  # its previous period
TODAY = date(2025, 3, 20)


def at(hour, minute=0, second=0, day=MARCH):
    return day.replace(hour=hour, minute=minute, second=second)


@tagged("post_install", "-at_install")
class TestDashboardFigures(TransactionCase):
    """The dashboard's pivots, charts and KPI formulas, evaluated as the
    spreadsheet evaluates them, give the figures of the report views and
    the hand-counted ones."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.data = load_json()
        cls.company = cls.env.company
        cls.company.partner_id.tz = "UTC"
        group = "omnichannel_cc.group_omnichannel_"
        cls.agent_x = new_test_user(cls.env, "dash_x", groups=group + "agent", name="Xena Agent")
        cls.agent_y = new_test_user(cls.env, "dash_y", groups=group + "agent", name="Yves Agent")
        cls.manager = new_test_user(cls.env, "dash_manager", groups=group + "manager")
        (cls.agent_x | cls.agent_y).tz = "UTC"
        Queue = cls.env["omnichannel.queue"]
        cls.queue_a = Queue.create(
            {"name": "Dash phone", "member_ids": [Command.set(cls.agent_x.ids)]}
        )
        cls.queue_b = Queue.create(
            {
                "name": "Dash mail",
                "member_ids": [Command.set(cls.agent_y.ids)],
                "service_level_seconds": 3600,
            }
        )
        cls.spring = cls.env["utm.campaign"].create({"name": "Dash spring radio"})
        Channel = cls.env["omnichannel.channel"]
        cls.phone = Channel.create(
            {
                "name": "Dash line",
                "channel_type": "phone",
                "address": "+48 22 555 09 09",
                "queue_id": cls.queue_a.id,
                "campaign_id": cls.spring.id,
            }
        )
        cls.email = Channel.create(
            {
                "name": "Dash mail",
                "channel_type": "email",
                "address": "dash-mail@example.com",
                "queue_id": cls.queue_b.id,
            }
        )
        # SL rows: a1 100, a2 0, b1 100 (a3 is a short abandon): 2 of 3
        cls.a1 = cls._contact(cls.queue_a, at(9), "done", 10, 100, 20, cls.agent_x)
        cls.a2 = cls._contact(cls.queue_a, at(9, 10), "done", 40, 200, 40, cls.agent_x)
        cls.a3 = cls._contact(cls.queue_a, at(9, 20), "abandoned", 3)
        cls.b1 = cls._contact(
            cls.queue_b, at(11), "done", 100, 300, 0, cls.agent_y, channel=cls.email
        )
        cls.outbound = cls._contact(
            cls.queue_a, at(12), "done", 0, 50, 0, cls.agent_x, direction="outbound"
        )
        cls.previous = cls._contact(cls.queue_a, at(9, day=FEBRUARY), "done", 5, 60, 0, cls.agent_x)

        customer = cls.env["res.partner"].create({"name": "Dash customer"})
        product = cls.env["product.product"].create({"name": "Dash policy", "list_price": 100})
        order = cls.env["sale.order"].create(
            {
                "partner_id": customer.id,
                "order_line": [
                    Command.create({"product_id": product.id, "price_unit": 100, "tax_id": []})
                ],
            }
        )
        order.action_confirm()
        cls.a1.sale_order_id = order

        Interaction = cls.env["omnichannel.interaction"]
        with freeze_time(at(14)):
            Interaction._survey_record_answer(cls.a1.id, "csat", 5)
            Interaction._survey_record_answer(cls.a2.id, "csat", 2)
            Interaction._survey_record_answer(cls.b1.id, "nps", 10)
        with freeze_time(at(14, day=FEBRUARY)):
            Interaction._survey_record_answer(cls.previous.id, "nps", 0)

        Agent = cls.env["omnichannel.agent"]
        agent_x, agent_y = Agent._for_user(cls.agent_x), Agent._for_user(cls.agent_y)
        coffee = cls.env.ref("omnichannel_cc.break_reason_coffee")
        periods = [
            (agent_x, "available", at(8), at(9), False),
            (agent_x, "busy", at(9), at(9, 30), False),
            (agent_x, "wrapup", at(9, 30), at(9, 40), False),
            (agent_x, "break", at(9, 40), at(9, 55), coffee),
            (agent_y, "available", at(10), at(10, 50), False),
            (agent_y, "busy", at(10, 50), at(11, 6, 40), False),
            (agent_x, "busy", at(9, day=FEBRUARY), at(10, day=FEBRUARY), False),
        ]
        cls.env["omnichannel.agent.state.log"].create(
            [
                {
                    "agent_id": agent.id,
                    "state": state,
                    "date_start": start,
                    "date_end": end,
                    "break_reason_id": reason.id if reason else False,
                }
                for agent, state, start, end, reason in periods
            ]
        )
        cls.env.flush_all()

    @classmethod
    def _contact(cls, queue, queued, state, wait=0, talk=0, wrap=0, agent=None, **extra):
        channel = extra.pop("channel", cls.phone)
        return make_contact(
            cls.env, channel, queue, queued, state, wait, talk, wrap, agent, **extra
        )

    # ------------------------------------------------------------------
    def _filter_values(self, **values):
        """Global filter values: the defaults (this month of TODAY) and ``values``
        by label."""
        result = {}
        for global_filter in self.data["globalFilters"]:
            if global_filter["type"] == "date":
                self.assertEqual(global_filter["defaultValue"], "this_month")
                value = {"year": TODAY.year, "period": MONTHS[TODAY.month - 1]}
            else:
                value = global_filter["defaultValue"]
            result[global_filter["id"]] = values.get(global_filter["label"].lower(), value)
        return result

    def _extra_domain(self, matching, values):
        filters = {f["id"]: f for f in self.data["globalFilters"]}
        domain = []
        for filter_id, match in matching.items():
            domain += filter_domain(filters[filter_id], match, values[filter_id])
        return domain

    def _workbook(self, user=None, **values):
        env = self.env(user=user or self.manager)
        filter_values = self._filter_values(**values)
        pivots = {
            pivot_id: EvaluatedPivot(
                env, pivot, self._extra_domain(pivot["fieldMatching"], filter_values)
            )
            for pivot_id, pivot in self.data["pivots"].items()
        }
        return Workbook(self.data, pivots)

    def _kpis(self, workbook, column="B"):
        data = workbook.sheets["Data"]["cells"]
        return {
            workbook.cell(f"Data!A{row}"): workbook.cell(f"Data!{column}{row}")
            for row in range(2, 13)
            if f"{column}{row}" in data
        }

    def _table(self, workbook, first_col, first_row):
        """{header: (value, value)} of a dashboard table, rows with a header."""
        cols = "ABCDEFG"
        start = cols.index(first_col)
        table = {}
        for row in range(first_row, first_row + 10):
            header = workbook.cell(f"{first_col}{row}")
            if header == "":
                continue
            values = (workbook.cell(f"{cols[start + offset]}{row}") for offset in (1, 2))
            table[header] = tuple(v if v == "" else round(v, 4) for v in values)
        return table

    def assertFigures(self, actual, expected):
        self.assertEqual(set(actual), set(expected))
        for key, value in expected.items():
            if isinstance(value, float):
                self.assertAlmostEqual(actual[key], value, places=2, msg=key)
            else:
                self.assertEqual(actual[key], value, key)

    # ------------------------------------------------------------------
    def test_kpis_by_hand(self):
        workbook = self._workbook()
        self.assertFigures(
            self._kpis(workbook),
            {
                "Service level": 200 / 3,
                "ASA": 50.0,  # (10 + 40 + 100) / 3
                "AHT": 220.0,  # (120 + 240 + 300) / 3
                "Abandonment": 25.0,  # the short abandon of 4 contacts with an outcome
                "Handled": 3,
                "Occupancy": 0.34,  # (1800 + 600 + 1000) / (3400 + 3600 + 3000)
                "CSAT": 50.0,  # 5 and 2 out of 5
                "NPS": 100.0,  # one promoter (February's detractor is out)
                "Campaign contacts reached": 2,  # a1, a2 on the radio campaign's line
                "Campaign conversions": 1,
                "Campaign revenue": 100.0,
            },
        )
        self.assertFigures(
            self._kpis(workbook, "C"),
            {"Service level": 100.0, "ASA": 5.0, "AHT": 60.0, "Abandonment": 0.0, "Handled": 1},
        )

    def test_tables_by_hand(self):
        workbook = self._workbook()
        x, y = self.agent_x.name, self.agent_y.name
        # rows 45..54: agents (handled, AHT) and their occupancy (hours, ratio)
        self.assertEqual(self._table(workbook, "A", 45), {x: (2, 180.0), y: (1, 300.0)})
        self.assertEqual(
            self._table(workbook, "E", 45),
            {x: (round(2400 / 3600, 4), 0.4), y: (round(1000 / 3600, 4), 0.25)},
        )
        self.assertEqual(workbook.cell("A45"), x, "sorted by contacts handled")
        # rows 59..68: marketing campaigns (reached, revenue), queues (CSAT, NPS)
        self.assertEqual(self._table(workbook, "A", 59), {self.spring.name: (2, 100.0)})
        satisfaction = self._table(workbook, "E", 59)
        self.assertEqual(
            satisfaction, {self.queue_a.name: (50.0, ""), self.queue_b.name: ("", 100.0)}
        )
        self.assertEqual(workbook.cell("E59"), self.queue_b.name, "sorted by NPS")

    def test_filters(self):
        by_queue = self._kpis(self._workbook(queue=self.queue_b.ids))
        self.assertEqual((by_queue["Service level"], by_queue["Handled"]), (100.0, 1))
        self.assertEqual(by_queue["Occupancy"], 0.34, "agent time belongs to no queue")
        self.assertEqual(by_queue["Campaign contacts reached"], "")
        by_channel = self._kpis(self._workbook(channel=self.phone.ids))
        self.assertEqual((by_channel["Service level"], by_channel["Handled"]), (50.0, 2))
        self.assertEqual(by_channel["CSAT"], 50.0)
        other = self.env["res.company"].create({"name": "Dash other company"})
        by_company = self._kpis(self._workbook(company=other.ids))
        self.assertEqual(
            (by_company["Handled"], by_company["Occupancy"], by_company["Service level"]),
            ("", "", ""),
        )
        january = self._kpis(self._workbook(period={"year": 2025, "period": "january"}))
        self.assertEqual(january["Handled"], "")

    def test_equal_to_the_report_views(self):
        """Each pivot's measures, against the report's pivot view measures
        read over the same records (the period, inbound for the service)."""
        workbook = self._workbook()
        filter_values = self._filter_values()
        checked = set()
        for view_xmlid, pivot_id, domain in (
            (
                "omnichannel_cc.omnichannel_interaction_report_view_pivot",
                "1",
                [("direction", "=", "inbound")],
            ),
            ("omnichannel_cc.omnichannel_campaign_report_view_pivot", "7", []),
            ("omnichannel_cc_survey.omnichannel_survey_report_view_pivot", "6", []),
        ):
            view = self.env.ref(view_xmlid)
            measures = etree.fromstring(view.arch).xpath("//field[@type='measure']/@name")
            pivot = self.data["pivots"][pivot_id]
            period = self._extra_domain(pivot["fieldMatching"], filter_values)
            Report = self.env[view.model].with_user(self.manager)
            [expected] = Report.read_group(domain + period, measures, [], lazy=False)
            for measure in pivot["measures"]:
                if measure["fieldName"] in measures:
                    checked.add((pivot_id, measure["id"]))
                    value = workbook.pivots[pivot_id].value(measure["id"])
                    self.assertEqual(
                        None if value == "" else value,
                        expected[measure["fieldName"]],
                        f"{view.model} {measure['id']}",
                    )
        self.assertGreaterEqual(len(checked), 9)
        # occupancy: productive / (productive + available) of the agent time report
        agent_time = self.env["omnichannel.agent.state.report"].with_user(self.manager)
        [(productive, available)] = agent_time._read_group(
            [("date", ">=", "2025-03-01"), ("date", "<=", "2025-03-31")],
            aggregates=["productive_duration:sum", "available_duration:sum"],
        )
        self.assertAlmostEqual(
            workbook.cell("Data!B7"), productive / (productive + available), places=6
        )

    def test_charts(self):
        """The Odoo charts read their groups as the graph view does."""
        filter_values = self._filter_values()
        env = self.env(user=self.manager)
        results = {}
        for kind, source_id, model, domain, matching, measures, _groupbys in data_sources(
            self.data
        ):
            if kind != "chart":
                continue
            chart = next(
                figure["data"]
                for figure in self.data["sheets"][0]["figures"]
                if figure["id"] == source_id
            )
            groups = env[model].read_group(
                [*map(tuple, domain), *self._extra_domain(matching, filter_values)],
                measures,
                chart["metaData"]["groupBy"],
                lazy=False,
            )
            key = (chart["metaData"]["groupBy"][0], measures[0])
            field = chart["metaData"]["groupBy"][0]
            results[key] = {
                group[field][1] if isinstance(group[field], tuple) else group[field]: group[
                    measures[0]
                ]
                for group in groups
            }
        self.assertEqual(results[("date:day", "nbr")], {"10 Mar 2025": 4})
        self.assertEqual(
            results[("queue_id", "service_level")],
            {self.queue_a.name: 50.0, self.queue_b.name: 100.0},
        )
        self.assertEqual(results[("channel_id", "nbr")], {self.phone.name: 3, self.email.name: 1})
        self.assertEqual(
            results[("agent_id", "answered")], {self.agent_x.name: 2, self.agent_y.name: 1}
        )
