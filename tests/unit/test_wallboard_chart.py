"""omnichannel_cc/tools/wallboard_chart.py: the wallboard's intraday charts, without Odoo."""

import sys
import unittest
import xmlrpc.client
from datetime import date, datetime, timedelta

from tests.unit._tools import load_tools

(chart,) = load_tools("wallboard_chart")
NOW = datetime(2026, 3, 2, 9, 20, 0)  # UTC, a Monday; 10:20 in Warsaw
WARSAW = "Europe/Warsaw"


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


class TestIntervals(unittest.TestCase):
    def test_labels_and_index(self):
        labels = chart.interval_labels()
        self.assertEqual(len(labels), 96)
        self.assertEqual(
            (labels[0], labels[1], labels[40], labels[-1]), ("00:00", "00:15", "10:00", "23:45")
        )
        self.assertEqual(chart.interval_index(chart.local_now(NOW, WARSAW)), 41)  # 10:15
        self.assertEqual(chart.interval_index(chart.local_now(NOW, "UTC")), 37)  # 09:15
        self.assertEqual(chart.interval_labels(60)[9], "09:00")

    def test_forecast_weeks_parameter(self):
        self.assertEqual(chart.forecast_weeks("6"), 6)
        self.assertEqual(chart.forecast_weeks(" 2 "), 2)
        self.assertEqual(chart.forecast_weeks("0"), 1)
        self.assertEqual(chart.forecast_weeks("1000"), chart.MAX_FORECAST_WEEKS)
        self.assertEqual(chart.forecast_weeks("four"), chart.DEFAULT_FORECAST_WEEKS)
        self.assertEqual(chart.forecast_weeks(None), chart.DEFAULT_FORECAST_WEEKS)

    def test_day_offsets_and_windows(self):
        self.assertEqual(chart.day_offsets(2), [0, 1, 7, 14])
        windows = chart.day_windows(NOW, [WARSAW], 2)
        # today and yesterday merge into one window; local midnights in UTC
        self.assertEqual(
            windows,
            [
                (datetime(2026, 2, 15, 23, 0), datetime(2026, 2, 16, 23, 0)),
                (datetime(2026, 2, 22, 23, 0), datetime(2026, 2, 23, 23, 0)),
                (datetime(2026, 2, 28, 23, 0), datetime(2026, 3, 2, 23, 0)),
            ],
        )
        # two time zones: the windows of both, overlaps merged
        both = chart.day_windows(NOW, [WARSAW, "UTC", WARSAW], 1)
        self.assertEqual(
            both,
            [
                (datetime(2026, 2, 22, 23, 0), datetime(2026, 2, 24, 0, 0)),
                (datetime(2026, 2, 28, 23, 0), datetime(2026, 3, 3, 0, 0)),
            ],
        )

    def test_daylight_saving_day(self):
        # 29 March 2026: Warsaw skips 02:00-03:00; the intervals stay local
        now = datetime(2026, 3, 29, 1, 30)  # 03:30 local (summer time)
        samples = chart.sample_times(now, WARSAW)
        self.assertEqual(len(samples), 15)  # 00:00 ... 03:30 local
        self.assertEqual(samples[0], datetime(2026, 3, 28, 23, 0))
        self.assertEqual(samples[-1], datetime(2026, 3, 29, 1, 30))
        self.assertEqual(samples, sorted(samples))
        # 02:00-02:45 do not exist: sampled at the change, 03:00 local (01:00 UTC)
        self.assertEqual(set(samples[8:13]), {datetime(2026, 3, 29, 1, 0)})
        self.assertEqual(samples[7], datetime(2026, 3, 29, 0, 45))


class TestContactSeries(unittest.TestCase):
    def test_today_yesterday_forecast(self):
        today = date(2026, 3, 2)
        rows = [
            # queue, local day, interval, contacts, counting for the SL, within
            (1, today, 40, 3, 2, 1),
            (2, today, 40, 1, 1, 1),
            (1, today - timedelta(days=1), 40, 5, 5, 5),
            (1, today - timedelta(days=7), 40, 4, 4, 0),
            (2, today - timedelta(days=14), 40, 2, 2, 0),
            (1, today - timedelta(days=14), 41, 1, 1, 1),
            # another day, an unknown queue, an interval out of range: ignored
            (1, today - timedelta(days=3), 40, 50, 50, 50),
            (9, today, 40, 50, 50, 50),
            (1, today, 96, 50, 50, 50),
        ]
        series = chart.contact_series(rows, {1: today, 2: today}, weeks=2)
        self.assertEqual(series["today"][40], 4)
        self.assertEqual(series["yesterday"][40], 5)
        self.assertEqual(series["forecast"][40], 3.0)  # (4 + 2) / 2 weeks
        self.assertEqual(series["forecast"][41], 0.5)
        self.assertEqual(sum(series["today"]), 4)
        self.assertEqual((series["sl_counted"][40], series["sl_within"][40]), (3, 2))
        self.assertEqual(series["sl_counted_by_queue"], {1: 2, 2: 1})
        values, known = chart.service_level_series(series["sl_counted"], series["sl_within"])
        self.assertEqual((values[40], known[40]), (66.7, True))
        self.assertEqual((values[41], known[41]), (0.0, False))
        xmlrpc.client.dumps(({"v": values, "k": known, "f": series["forecast"]},), allow_none=False)

    def test_queue_in_another_time_zone_has_its_own_today(self):
        # at 23:30 UTC it is already tomorrow in Warsaw
        rows = [(1, date(2026, 3, 3), 2, 1, 0, 0), (2, date(2026, 3, 3), 94, 1, 0, 0)]
        series = chart.contact_series(rows, {1: date(2026, 3, 3), 2: date(2026, 3, 2)}, weeks=1)
        self.assertEqual(series["today"][2], 1)
        # for queue 2 the row is of tomorrow: not shown
        self.assertEqual(series["today"][94], 0)
        self.assertEqual(sum(series["yesterday"]), 0)

    def test_blended_target(self):
        self.assertEqual(chart.blended_target({}, {}), 0.0)
        self.assertEqual(chart.blended_target({1: 80.0, 2: 90.0}, {}), 85.0)
        self.assertEqual(chart.blended_target({1: 80.0, 2: 90.0}, {1: 3, 2: 1}), 82.5)
        self.assertEqual(chart.blended_target({1: 80.0}, {1: 0, 7: 4}), 80.0)


class TestAgentsByState(unittest.TestCase):
    def test_sampled_states(self):
        t = datetime(2026, 3, 2, 8, 0)
        samples = [t + timedelta(minutes=15 * k) for k in range(6)]  # 08:00 ... 09:15
        now = datetime(2026, 3, 2, 9, 20)
        agents = [
            (1, "busy", t + timedelta(minutes=40)),
            (2, "available", t + timedelta(minutes=30)),
            (3, "offline", t),
            (4, "break", t),
        ]
        periods = [
            # agent 1: available 08:05-08:40, busy since (open)
            (1, "available", t + timedelta(minutes=5), t + timedelta(minutes=40)),
            (1, "busy", t + timedelta(minutes=40), None),
            # agent 2: wrap-up until exactly 08:30 (end excluded), then nothing recorded
            (2, "wrapup", t - timedelta(hours=1), t + timedelta(minutes=30)),
            # not an agent of the board
            (9, "busy", t, None),
        ]
        # agent 2's "available" has no open period: it counts from its state_since
        series = chart.agents_by_state(agents, periods, samples, now)
        self.assertEqual(set(series), set(chart.AGENT_STATES))
        self.assertEqual(series["available"], [0, 1, 2, 1, 1, 1])
        self.assertEqual(series["busy"], [0, 0, 0, 1, 1, 1])
        # agent 4 is on a break with no history: since its state_since
        self.assertEqual(series["break"], [1, 1, 1, 1, 1, 1])
        self.assertEqual(series["wrapup"], [1, 1, 0, 0, 0, 0])
        # agent 1 before 08:05 and agent 3 all along: offline or absent
        self.assertEqual(series["offline"], [2, 1, 1, 1, 1, 1])
        for position in range(len(samples)):
            self.assertEqual(sum(s[position] for s in series.values()), 4)

    def test_open_period_counts_until_now_and_absent_agents(self):
        t = datetime(2026, 3, 2, 9, 0)
        now = t + timedelta(minutes=30)
        samples = [t, t + timedelta(minutes=15), t + timedelta(minutes=30)]
        periods = [(1, "available", t + timedelta(minutes=10), None)]
        series = chart.agents_by_state(
            [(1, "available", t + timedelta(minutes=10)), (2, "offline", False)],
            periods,
            samples,
            now,
        )
        self.assertEqual(series["available"], [0, 1, 1])
        self.assertEqual(series["offline"], [2, 1, 1])
        self.assertEqual(chart.agents_by_state([], [], [], now)["busy"], [])
