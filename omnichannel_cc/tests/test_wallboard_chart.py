import random
import xmlrpc.client
from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, freeze_time, new_test_user, tagged, users

from .common import OmnichannelCommon

AGENT = "omnichannel_cc.group_omnichannel_agent"
SUPERVISOR = "omnichannel_cc.group_omnichannel_supervisor"
NOW = datetime(2026, 3, 2, 10, 20, 0)  # a Monday; company in UTC unless a test says otherwise


def at(hour, minute=0, second=0, days_ago=0):
    return NOW.replace(hour=hour, minute=minute, second=second) - timedelta(days=days_ago)


def interval(hour, minute=0):
    """Index of the 15-minute interval starting at hour:minute."""
    return (hour * 60 + minute) // 15


@tagged("post_install", "-at_install")
class TestWallboardChart(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "UTC"
        cls.agent_b = new_test_user(cls.env, "occ_wbc_agent_b", groups=AGENT, name="Bea Chart")
        cls.queue_sales.write(
            {
                "member_ids": [Command.set((cls.agent_sales | cls.agent_b).ids)],
                "service_level_seconds": 20,
                "service_level_target": 80.0,
            }
        )
        cls.queue_claims.write({"service_level_seconds": 60, "service_level_target": 90.0})
        cls.env["ir.config_parameter"].set_param("omnichannel_cc.forecast_weeks", "2")
        sales = cls.queue_sales
        # today
        cls.fast = cls._contact(sales, at(9, 0), "done", wait=10)
        cls.slow = cls._contact(sales, at(9, 5), "done", wait=30)
        cls.short = cls._contact(sales, at(9, 10), "abandoned", wait=3)
        cls.long_abandon = cls._contact(sales, at(9, 20), "abandoned", wait=40)
        cls.waiting = cls._contact(sales, at(10, 5), "queued")
        cls.outbound = cls._contact(sales, at(10, 10), "done", wait=0)
        cls.outbound.direction = "outbound"
        cls.claim = cls._contact(
            cls.queue_claims, at(10, 15), "done", wait=30, channel=cls.channel_email
        )
        # yesterday, and the same weekday 1, 2 and 3 weeks ago (the forecast reads 2)
        cls._contact(sales, at(9, 1, days_ago=1), "done", wait=5)
        cls._contact(sales, at(9, 14, days_ago=1), "done", wait=5)
        for minute in (0, 5, 10):
            cls._contact(sales, at(9, minute, days_ago=7), "done", wait=5)
        cls._contact(sales, at(9, 3, days_ago=14), "done", wait=5)
        cls._contact(sales, at(9, 30, days_ago=14), "abandoned", wait=60)
        cls._contact(sales, at(9, 0, days_ago=21), "done", wait=5)
        cls._contact(sales, at(9, 0, days_ago=6), "done", wait=5)  # another weekday

        # the agents' day: Anna available 08:00, busy 09:00, wrap-up 09:40,
        # available 09:50; Bea on a break 08:30, offline 09:30
        Agent = cls.env["omnichannel.agent"]
        with freeze_time(at(7)):
            cls.a_sales = Agent._for_user(cls.agent_sales)
            cls.a_b = Agent._for_user(cls.agent_b)
            cls.a_claims = Agent._for_user(cls.agent_claims)
        lunch = cls.env["omnichannel.break.reason"].create({"name": "Chart lunch"})
        for when, agent, state, reason in (
            (at(8), cls.a_sales, "available", False),
            (at(8, 30), cls.a_b, "break", lunch.id),
            (at(9), cls.a_sales, "busy", False),
            (at(9, 30), cls.a_b, "offline", False),
            (at(9, 40), cls.a_sales, "wrapup", False),
            (at(9, 50), cls.a_sales, "available", False),
            (at(10), cls.a_claims, "available", False),
        ):
            with freeze_time(when):
                agent._write_state(state, break_reason_id=reason)
        cls.env.flush_all()

    @classmethod
    def _contact(cls, queue, created, state, wait=0, channel=None):
        """An inbound interaction created at ``created``, waiting ``wait`` seconds."""
        vals = {
            "channel_id": (channel or cls.channel_phone).id,
            "queue_id": queue.id,
            "state": state,
            "date_queued": created,
        }
        if state == "done":
            answered = created + timedelta(seconds=wait)
            vals.update(
                date_answered=answered,
                date_ended=answered + timedelta(seconds=60),
                date_closed=answered + timedelta(seconds=90),
                agent_id=cls.agent_sales.id,
            )
        elif state == "abandoned":
            ended = created + timedelta(seconds=wait)
            vals.update(date_ended=ended, date_closed=ended, end_reason="customer")
        interaction = cls.env["omnichannel.interaction"].create(vals)
        interaction.flush_recordset()
        cls.env.cr.execute(
            "UPDATE omnichannel_interaction SET create_date = %s WHERE id = %s",
            (created, interaction.id),
        )
        interaction.invalidate_recordset(["create_date"])
        return interaction

    def _charts(self, user=None, queues=None):
        Queue = self.env["omnichannel.queue"]
        if user:
            Queue = Queue.with_user(user)
        with freeze_time(NOW):
            return Queue.wallboard_chart_data(queues.ids if queues else None)

    def _report_service_level(self, interactions):
        self.env.flush_all()
        [(value,)] = self.env["omnichannel.interaction.report"]._read_group(
            [("interaction_id", "in", interactions.ids)], [], ["service_level:avg"]
        )
        return value

    # ------------------------------------------------------------------
    # Contacts per interval
    # ------------------------------------------------------------------
    def test_contacts_today_yesterday_forecast(self):
        data = self._charts(self.supervisor_sales)
        self.assertEqual(data["queue_ids"], self.queue_sales.ids)
        self.assertEqual(len(data["labels"]), 96)
        self.assertEqual(data["labels"][interval(9)], "09:00")
        self.assertEqual(data["now_index"], interval(10, 15))
        self.assertEqual(data["date"], "2026-03-02")
        self.assertEqual(data["forecast_weeks"], 2)
        today = data["contacts"]["today"]
        # 09:00: fast and slow (the short abandon is noise); 09:15 the long
        # abandon; 10:00 the one still waiting; outbound and claims not shown
        self.assertEqual(today[interval(9)], 2)
        self.assertEqual(today[interval(9, 15)], 1)
        self.assertEqual(today[interval(10)], 1)
        self.assertEqual(sum(today), 4)
        self.assertTrue(data["has_contacts"])
        self.assertEqual(data["contacts"]["yesterday"][interval(9)], 2)
        self.assertEqual(sum(data["contacts"]["yesterday"]), 2)
        forecast = data["contacts"]["forecast"]
        # 2 weeks: (3 + 1) / 2 at 09:00, 1 / 2 at 09:30; 3 weeks ago and Tuesday not read
        self.assertEqual(forecast[interval(9)], 2.0)
        self.assertEqual(forecast[interval(9, 30)], 0.5)
        self.assertEqual(sum(forecast), 2.5)
        # the whole answer travels over XML-RPC
        xmlrpc.client.dumps((data,), methodresponse=True, allow_none=False)

    def test_forecast_weeks_parameter_default(self):
        self.env["ir.config_parameter"].search(
            [("key", "=", "omnichannel_cc.forecast_weeks")]
        ).unlink()
        data = self._charts(self.manager, self.queue_sales)
        self.assertEqual(data["forecast_weeks"], 4)
        # (3 + 1 + 1) / 4 weeks
        self.assertEqual(data["contacts"]["forecast"][interval(9)], 1.25)

    def test_intervals_in_the_queue_time_zone(self):
        self.company.partner_id.tz = "Europe/Warsaw"  # UTC+1 in March
        data = self._charts(self.manager, self.queue_sales)
        self.assertEqual(data["now_index"], interval(11, 15))
        today = data["contacts"]["today"]
        self.assertEqual((today[interval(10)], today[interval(10, 15)]), (2, 1))
        self.assertEqual(data["contacts"]["forecast"][interval(10)], 2.0)

    def test_manager_sees_both_queues(self):
        other_company = self.env["res.company"].create({"name": "Chart Other Co"})
        other = self.env["omnichannel.queue"].create(
            {"name": "Elsewhere", "company_id": other_company.id}
        )
        shown = self._charts(self.manager)["queue_ids"]
        self.assertIn(self.queue_sales.id, shown)
        self.assertIn(self.queue_claims.id, shown)
        self.assertNotIn(other.id, shown)  # not one of the manager's companies
        data = self._charts(self.manager, self.queue_sales | self.queue_claims)
        self.assertEqual(data["contacts"]["today"][interval(10, 15)], 1)  # the claim
        self.assertEqual(sum(data["contacts"]["today"]), 5)
        # the target of both: each queue's weighted by its contacts counting today
        # (sales: fast, slow, long abandon; claims: one)
        self.assertEqual(data["service_level"]["target"], round((80 * 3 + 90) / 4, 1))

    # ------------------------------------------------------------------
    # Service level per interval
    # ------------------------------------------------------------------
    def test_service_level_per_interval_is_the_report_figure(self):
        data = self._charts(self.supervisor_sales)
        sl = data["service_level"]
        self.assertEqual(sl["target"], 80.0)
        self.assertEqual(len(sl["values"]), 96)
        # 09:00: fast within, slow not; the short abandon does not count
        self.assertEqual(sl["values"][interval(9)], 50.0)
        self.assertEqual(
            sl["values"][interval(9)],
            self._report_service_level(self.fast | self.slow | self.short),
        )
        self.assertEqual(sl["counted"][interval(9)], 2)
        self.assertEqual(
            sl["values"][interval(9, 15)], self._report_service_level(self.long_abandon)
        )
        self.assertEqual(sl["values"][interval(9, 15)], 0.0)
        self.assertTrue(sl["known"][interval(9, 15)])
        # 10:00: only a contact still waiting: no service level yet
        self.assertFalse(sl["known"][interval(10)])
        self.assertFalse(self._report_service_level(self.waiting))
        self.assertEqual(sl["values"][interval(10)], 0.0)

    # ------------------------------------------------------------------
    # Agents by state
    # ------------------------------------------------------------------
    def test_agents_by_state_from_the_history(self):
        data = self._charts(self.supervisor_sales)
        agents = data["agents"]
        self.assertEqual([key for key, _label in agents["states"]][-1], "offline")
        self.assertEqual(dict(agents["states"])["offline"], "Offline or absent")
        self.assertEqual(agents["total"], 2)  # Anna and Bea: the claims agent is not here
        series = agents["series"]
        self.assertEqual(len(series["available"]), interval(10, 15) + 1)

        def states_at(hour, minute=0):
            index = interval(hour, minute)
            return {state: values[index] for state, values in series.items() if values[index]}

        self.assertEqual(states_at(7, 45), {"offline": 2})
        self.assertEqual(states_at(8), {"available": 1, "offline": 1})
        self.assertEqual(states_at(8, 30), {"available": 1, "break": 1})
        self.assertEqual(states_at(9), {"busy": 1, "break": 1})
        self.assertEqual(states_at(9, 45), {"wrapup": 1, "offline": 1})
        # Anna's open period lasts until now
        self.assertEqual(states_at(10, 15), {"available": 1, "offline": 1})

    # ------------------------------------------------------------------
    # Access
    # ------------------------------------------------------------------
    @users("occ_agent_sales")
    def test_agent_gets_no_charts(self):
        with self.assertRaises(AccessError):
            self.env["omnichannel.queue"].wallboard_chart_data()

    @users("occ_supervisor_sales")
    def test_supervisor_only_own_queues(self):
        with self.assertRaises(AccessError):
            self.env["omnichannel.queue"].wallboard_chart_data(self.queue_claims.ids)
        data = self._charts(queues=self.queue_sales)
        self.assertEqual(data["queue_ids"], self.queue_sales.ids)
        self.assertEqual(data["contacts"]["today"][interval(10, 15)], 0)  # not the claim

    def test_no_contacts_yet_today(self):
        with freeze_time(NOW):
            data = (
                self.env["omnichannel.queue"]
                .with_user(self.manager)
                .wallboard_chart_data(self.queue_claims.ids)
            )
        self.assertEqual(data["contacts"]["today"][interval(10, 15)], 1)
        with freeze_time(NOW + timedelta(days=1)):
            data = (
                self.env["omnichannel.queue"]
                .with_user(self.manager)
                .wallboard_chart_data(self.queue_claims.ids)
            )
        self.assertFalse(data["has_contacts"])
        self.assertFalse(any(data["service_level"]["known"]))
        self.assertEqual(data["service_level"]["target"], 90.0)
        self.assertEqual(sum(data["contacts"]["yesterday"]), 1)
        xmlrpc.client.dumps((data,), methodresponse=True, allow_none=False)

    # ------------------------------------------------------------------
    # Cost
    # ------------------------------------------------------------------
    def _random_contacts(self, seed, n):
        rng = random.Random(seed)
        for _k in range(n):
            created = NOW - timedelta(seconds=rng.randrange(1, 15 * 86400))
            queue = rng.choice((self.queue_sales, self.queue_claims))
            state = rng.choice(("queued", "done", "done", "abandoned"))
            self._contact(queue, created, state, wait=rng.randrange(0, 90))

    def test_query_count_does_not_grow_with_contacts(self):
        queues = self.queue_sales | self.queue_claims
        self._random_contacts(seed=1, n=10)
        Queue = self.env["omnichannel.queue"].with_user(self.supervisor_sales)
        with freeze_time(NOW):
            Queue.wallboard_chart_data(queues.ids[:1])  # warm the caches
            self.env.invalidate_all()
            with self.assertQueryCount(14):
                Queue.wallboard_chart_data(queues.ids[:1])
            self._random_contacts(seed=2, n=150)
            self.env.invalidate_all()
            with self.assertQueryCount(14):
                data = Queue.wallboard_chart_data(queues.ids[:1])
        self.assertGreater(sum(data["contacts"]["forecast"]), 2.5)


@tagged("post_install", "-at_install")
class TestWallboardChartUi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.supervisor = new_test_user(
            cls.env, "occ_wbc_tour_sup", groups=SUPERVISOR, name="WBC Supervisor", tz="UTC"
        )
        cls.agent = new_test_user(cls.env, "occ_wbc_tour_agent", groups=AGENT, name="WBC Agent")
        cls.queue = cls.env["omnichannel.queue"].create(
            {
                "name": "Tour WBC queue",
                "member_ids": [Command.set(cls.agent.ids)],
                "supervisor_ids": [Command.set(cls.supervisor.ids)],
            }
        )
        cls.queue.member_line_ids.logged_in = False
        channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Tour WBC chat",
                "channel_type": "chat",
                "address": "tour-wbc-chat",
                "queue_id": cls.queue.id,
            }
        )
        cls.env["omnichannel.interaction"].create(
            {
                "name": "WBCCHAT",
                "channel_id": channel.id,
                "queue_id": cls.queue.id,
                "state": "queued",
            }
        )

    def test_wallboard_charts(self):
        self.start_tour(
            "/odoo/omnichannel-wallboard",
            "omnichannel_cc_wallboard_charts_tour",
            login="occ_wbc_tour_sup",
        )
