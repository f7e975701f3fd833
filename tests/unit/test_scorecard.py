"""omnichannel_cc/tools/scorecard.py: break adherence and the scorecard's ratios, without Odoo."""

import sys

import pytest

from tests.unit._tools import load_tools

(scorecard,) = load_tools("scorecard")
BreakFigures = scorecard.BreakFigures


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


def test_no_limit_allows_and_overruns_nothing():
    assert scorecard.break_figures([600, 1200]) == BreakFigures(1800, 0, 0)
    assert scorecard.break_figures([]) == BreakFigures(0, 0, 0)


def test_daily_limit():
    # lunch: 30 minutes a day; 20 + 15 minutes taken is 5 over
    assert scorecard.break_figures([1200, 900], max_minutes=30) == BreakFigures(2100, 1800, 300)
    # within the limit, or nothing taken: no overrun, the day's allowance stands
    assert scorecard.break_figures([1500], max_minutes=30) == BreakFigures(1500, 1800, 0)
    assert scorecard.break_figures([], max_minutes=30) == BreakFigures(0, 1800, 0)


def test_per_break_limit_alone_allows_per_break_taken():
    # coffee: 15 minutes a break, no daily limit; 10 and 25 minutes: the
    # second is 10 over, the allowance is two breaks' worth
    assert scorecard.break_figures([600, 1500], max_duration=15) == BreakFigures(2100, 1800, 600)


def test_both_limits_count_the_larger_overrun_once():
    # 30 a day, 15 a break: one 40-minute break is 25 over the break limit
    # and 10 over the day's, which is one fault of 25 minutes, not 35
    assert scorecard.break_figures([2400], max_minutes=30, max_duration=15) == BreakFigures(
        2400, 1800, 1500
    )
    # three 14-minute breaks: each within its limit, the day 12 minutes over
    assert scorecard.break_figures(
        [840, 840, 840], max_minutes=30, max_duration=15
    ) == BreakFigures(2520, 1800, 720)


def test_negative_inputs_are_nothing():
    assert scorecard.break_figures([-5, 60], max_minutes=-1, max_duration=-3) == BreakFigures(
        60, 0, 0
    )


@pytest.mark.parametrize(
    ("overrun", "allowed", "expected"),
    [
        (0, 1800, 100.0),
        (300, 1800, 100.0 * (1 - 300 / 1800)),
        (1800, 1800, 0.0),
        (5400, 1800, 0.0),  # never below 0
        (0, 0, None),  # no limit: no figure
        (100, 0, None),
    ],
)
def test_adherence(overrun, allowed, expected):
    result = scorecard.adherence(overrun, allowed)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_adherence_of_a_group_is_from_its_sums():
    days = [scorecard.break_figures([2400], max_minutes=30), scorecard.break_figures([600], 30)]
    overrun = sum(day.overrun for day in days)
    allowed = sum(day.allowed for day in days)
    # 600 s over 3600 s allowed: 83.3 %, not the mean of 66.7 % and 100 %
    assert scorecard.adherence(overrun, allowed) == pytest.approx(100 * (1 - 600 / 3600))


def test_occupancy():
    assert scorecard.occupancy(3660, 5400) == pytest.approx(100 * 3660 / 9060)
    assert scorecard.occupancy(0, 600) == 0.0
    assert scorecard.occupancy(600, 0) == 100.0
    assert scorecard.occupancy(0, 0) is None
