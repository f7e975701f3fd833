"""Satisfaction scores (omnichannel_cc_survey/tools/satisfaction.py)."""

import pytest

from tests.unit._tools import load_tools

(sat,) = load_tools("satisfaction", addon="omnichannel_cc_survey")


def test_nps_published_example():
    # 10 answers: 6 promoters, 2 passives, 2 detractors -> 60 % - 20 % = 40
    values = [9, 10, 9, 10, 9, 10, 7, 8, 3, 6]
    assert sat.nps_breakdown(values) == {"promoter": 6, "passive": 2, "detractor": 2}
    assert sat.score("nps", values) == 40.0


def test_nps_bounds():
    assert sat.score("nps", [10, 9]) == 100.0
    assert sat.score("nps", [0, 6]) == -100.0
    assert sat.score("nps", [7, 8]) == 0.0


def test_csat_percent_satisfied():
    assert sat.score("csat", [5, 4, 3, 2]) == 50.0
    assert sat.score("csat", [1, 2, 3]) == 0.0
    assert sat.score("csat", [4]) == 100.0


def test_ces_mean():
    assert sat.score("ces", [7, 5, 3]) == 5.0
    assert sat.score("ces", [1, 2]) == 1.5


def test_no_answers_no_score():
    for kind in sat.KINDS:
        assert sat.score(kind, []) is None
    assert sat.response_rate(0, 0) is None
    assert sat.response_rate(8, 2) == 25.0


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("csat", 0),
        ("csat", 6),
        ("nps", -1),
        ("nps", 11),
        ("ces", 0),
        ("ces", 8),
        ("nps", "x"),
        ("nps", "5.5"),
        ("nps", 5.5),
        ("nps", True),
        ("nps", None),
        ("other", 3),
    ],
)
def test_out_of_range_refused(kind, value):
    with pytest.raises(ValueError):
        sat.check_value(kind, value)


def test_check_value_parses_digits():
    assert sat.check_value("nps", "10") == 10
    assert sat.check_value("csat", " 4 ") == 4
    assert sat.check_value("ces", 7) == 7


def test_detractor_thresholds():
    assert sat.is_detractor("nps", 6) and not sat.is_detractor("nps", 7)
    assert sat.is_detractor("csat", 2) and not sat.is_detractor("csat", 3)
    assert sat.is_detractor("ces", 3) and not sat.is_detractor("ces", 4)
    # a queue's own threshold
    assert sat.is_detractor("csat", 3, threshold=3)
    assert not sat.is_detractor("nps", 6, threshold=4)


def test_sampling_deterministic_and_proportional():
    drawn = [key for key in range(1, 2001) if sat.sampled(key, 25, seed="q1")]
    assert drawn == [key for key in range(1, 2001) if sat.sampled(key, 25, seed="q1")]
    assert 400 < len(drawn) < 600
    # another seed draws other interactions
    assert drawn != [key for key in range(1, 2001) if sat.sampled(key, 25, seed="q2")]
    assert all(sat.sampled(key, 100) for key in range(50))
    assert not any(sat.sampled(key, 0) for key in range(50))


def test_delay_defaults():
    assert sat.delay_minutes(-1, "chat") == 0
    assert sat.delay_minutes(-1, "phone") == 0
    assert sat.delay_minutes(-1, "email") == 60
    assert sat.delay_minutes(-1, "sms") == 60
    assert sat.delay_minutes(15, "chat") == 15
