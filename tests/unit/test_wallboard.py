"""omnichannel_cc/tools/wallboard.py: the wallboard's pure figures and colours, without Odoo."""

import sys
import unittest
from datetime import datetime

from tests.unit._tools import load_tools

(wallboard,) = load_tools("wallboard")
T0 = datetime(2026, 3, 2, 9, 0, 0)  # UTC; 10:00 in Warsaw


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


class TestWallboardKpis(unittest.TestCase):
    """The pure figures, without a database."""

    def test_day_start_in_user_timezone(self):
        self.assertEqual(
            wallboard.day_start_utc(T0, "Europe/Warsaw"), datetime(2026, 3, 1, 23, 0, 0)
        )
        self.assertEqual(wallboard.day_start_utc(T0, False), datetime(2026, 3, 2, 0, 0, 0))
        self.assertEqual(wallboard.day_start_utc(T0, "Nowhere/Else"), datetime(2026, 3, 2))

    def test_colours(self):
        self.assertEqual(wallboard.service_level_status(80.0, 80.0), wallboard.GOOD)
        self.assertEqual(wallboard.service_level_status(70.0, 80.0), wallboard.WARN)
        self.assertEqual(wallboard.service_level_status(69.9, 80.0), wallboard.BAD)
        self.assertEqual(wallboard.service_level_status(0.0, 80.0, known=False), wallboard.NONE)
        self.assertEqual(wallboard.wait_status(0, 20), wallboard.NONE)
        self.assertEqual(wallboard.wait_status(10, 20), wallboard.GOOD)
        self.assertEqual(wallboard.wait_status(15, 20), wallboard.WARN)
        self.assertEqual(wallboard.wait_status(20, 20), wallboard.BAD)

    def test_no_division_by_zero(self):
        kpis = wallboard.queue_kpis(
            answered=0,
            answered_in_sl=0,
            abandoned=0,
            wait_sum=0.0,
            handled_timed=0,
            handle_sum=0.0,
            target=80.0,
            longest_wait=0,
            threshold=20,
        )
        self.assertEqual(kpis["service_level"], 0.0)
        self.assertFalse(kpis["service_level_known"])
        self.assertEqual((kpis["asa"], kpis["aht"], kpis["abandon_rate"]), (0, 0, 0.0))
        self.assertNotIn(None, kpis.values())
