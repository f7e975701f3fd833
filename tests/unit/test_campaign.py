"""omnichannel_cc/tools/campaign.py: list building, calling hours, gates and
retries of outbound campaigns, without Odoo."""

import sys
from datetime import date, datetime, timedelta

import pytest

from tests.unit._tools import load_tools

(campaign,) = load_tools("campaign")
Target = campaign.Target

NOW = datetime(2026, 3, 2, 10, 0)  # a Monday, UTC


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


# ----------------------------------------------------------------------
# List building
# ----------------------------------------------------------------------
def target(partner, mobile=None, phone=None, res_id=None, region="PL", consent=False, person=None):
    return Target(
        "account.move", res_id or partner * 10, partner, person, phone, mobile, region, consent
    )


def test_each_exclusion_reason():
    targets = [
        target(1, mobile="601 234 567"),  # fine
        target(2),  # no phone
        target(3, phone="12 34"),  # invalid
        target(4, mobile="+48 602 000 004"),  # blacklisted
        target(5, mobile="603 000 005"),  # on the campaign's do-not-call list
        target(6, mobile="601-234-567"),  # another customer with number 1: duplicate
    ]
    contacts = campaign.build_contacts(
        targets, blacklist={"+48602000004"}, do_not_call={"+48603000005"}
    )
    reasons = {c.partner_id: c.excluded_reason for c in contacts}
    assert reasons == {
        1: None,
        2: "no_phone",
        3: "invalid_number",
        4: "blacklisted",
        5: "do_not_call",
        6: "duplicate",
    }
    assert contacts[0].phone == "+48601234567"
    assert contacts[2].raw_phone == "12 34"


def test_marketing_needs_consent():
    targets = [target(1, mobile="601 234 567"), target(2, mobile="601 234 568", consent=True)]
    service = campaign.build_contacts(targets)
    marketing = campaign.build_contacts(targets, marketing=True)
    assert [c.excluded_reason for c in service] == [None, None]
    assert [c.excluded_reason for c in marketing] == ["no_consent", None]


def test_blacklist_wins_over_consent():
    contacts = campaign.build_contacts(
        [target(1, mobile="601 234 567", consent=True)], blacklist={"+48601234567"}, marketing=True
    )
    assert contacts[0].excluded_reason == "blacklisted"


def test_one_contact_per_customer_and_number():
    targets = [
        target(1, mobile="601 234 567", res_id=11),
        target(1, mobile="+48601234567", res_id=12),  # the same customer and number
        target(1, phone="22 555 01 01", res_id=13, person=7),  # another person of the customer
    ]
    contacts = campaign.build_contacts(targets)
    assert [(c.partner_id, c.phone, c.res_id) for c in contacts] == [
        (1, "+48601234567", 11),
        (1, "+48225550101", 13),
    ]
    assert contacts[1].person_id == 7
    assert contacts[0].person_id == 1


def test_mobile_first_then_landline_and_region():
    # a national number read in the customer's country
    (contact,) = campaign.build_contacts([target(1, phone="030 1234567", region="DE")])
    assert contact.phone == "+49301234567"
    (contact,) = campaign.build_contacts([target(1, mobile="601 234 567", phone="22 555 01 01")])
    assert contact.phone == "+48601234567"
    # an unusable mobile falls back to the landline
    (contact,) = campaign.build_contacts([target(1, mobile="12", phone="22 555 01 01")])
    assert contact.phone == "+48225550101"


def test_known_contacts_are_not_returned_again():
    known = {(1, "+48601234567"), (2, None)}
    targets = [target(1, mobile="601 234 567"), target(2), target(3, mobile="601 234 567")]
    contacts = campaign.build_contacts(targets, known=known)
    # customer 3 has customer 1's number: a duplicate, kept with its reason
    assert [(c.partner_id, c.excluded_reason) for c in contacts] == [(3, "duplicate")]


def test_summary_counts():
    result = campaign.summary(
        1240, ["blacklisted"] * 12 + ["no_consent"] * 20 + ["no_phone"] * 5 + [None] * 3
    )
    assert result == {
        "targets": 1240,
        "excluded": 37,
        "callable": 1203,
        "reasons": [("no_consent", 20), ("blacklisted", 12), ("no_phone", 5)],
    }


# ----------------------------------------------------------------------
# Time zones and calling hours
# ----------------------------------------------------------------------
def test_contact_timezone_order():
    assert campaign.contact_timezone("America/New_York", "PL", "Europe/Warsaw") == (
        "America/New_York"
    )
    assert campaign.contact_timezone(False, "PL", "UTC") == "Europe/Warsaw"
    # a country with several zones: pytz's first (the main one)
    assert campaign.contact_timezone(None, "us", "UTC") == "America/New_York"
    assert campaign.contact_timezone("Not/AZone", None, "Europe/Lisbon") == "Europe/Lisbon"
    assert campaign.contact_timezone(None, None, None) == "UTC"


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        # winter: Warsaw is UTC+1
        (datetime(2026, 3, 2, 6, 59), False),
        (datetime(2026, 3, 2, 7, 0), True),
        (datetime(2026, 3, 2, 19, 59), True),
        (datetime(2026, 3, 2, 20, 0), False),
        # summer: Warsaw is UTC+2
        (datetime(2026, 7, 6, 5, 59), False),
        (datetime(2026, 7, 6, 6, 0), True),
        (datetime(2026, 7, 6, 18, 59), True),
        (datetime(2026, 7, 6, 19, 0), False),
    ],
)
def test_window_in_local_time_across_dst(utc, expected):
    assert campaign.in_window(utc, "Europe/Warsaw", 8, 21) is expected


def test_next_allowed_keeps_local_hours_over_the_dst_change():
    # Saturday 28 March 2026, 21:30 in Warsaw (UTC+1); the clocks go forward
    # that night: Sunday's 08:00 is 06:00 UTC, not 07:00
    late = datetime(2026, 3, 28, 20, 30)
    assert campaign.next_allowed(late, "Europe/Warsaw") == datetime(2026, 3, 29, 6, 0)
    # and back in October: Sunday 25 October 08:00 is 07:00 UTC again
    late = datetime(2026, 10, 24, 19, 30)
    assert campaign.next_allowed(late, "Europe/Warsaw") == datetime(2026, 10, 25, 7, 0)


def test_next_allowed_inside_the_window_is_now():
    assert campaign.next_allowed(NOW, "Europe/Warsaw") == NOW


def test_one_moment_two_zones():
    # 07:30 UTC: 08:30 in Warsaw (callable), 02:30 in New York (not before 08:00)
    moment = datetime(2026, 3, 2, 7, 30)
    assert campaign.in_window(moment, "Europe/Warsaw")
    assert not campaign.in_window(moment, "America/New_York")
    # the US changed to summer time on 8 March 2026, Europe not yet: 12:00 UTC
    assert campaign.next_allowed(moment, "America/New_York") == datetime(2026, 3, 2, 13, 0)
    assert campaign.next_allowed(datetime(2026, 3, 9, 7, 30), "America/New_York") == (
        datetime(2026, 3, 9, 12, 0)
    )


def test_weekdays_and_holidays():
    friday_evening = datetime(2026, 3, 6, 20, 30)  # 21:30 in Warsaw
    working = {0, 1, 2, 3, 4}
    assert campaign.next_allowed(
        friday_evening, "Europe/Warsaw", 9, 17, weekdays=working
    ) == datetime(2026, 3, 9, 8, 0)
    # Monday is a public holiday: Tuesday
    assert campaign.next_allowed(
        friday_evening, "Europe/Warsaw", 9, 17, weekdays=working, holidays={date(2026, 3, 9)}
    ) == datetime(2026, 3, 10, 8, 0)
    assert not campaign.in_window(
        datetime(2026, 3, 9, 10, 0), "Europe/Warsaw", holidays={date(2026, 3, 9)}
    )


def test_no_open_day_at_all():
    assert campaign.next_allowed(NOW, "Europe/Warsaw", weekdays=set()) is None


def test_half_hours_and_end_of_day():
    assert campaign.in_window(datetime(2026, 3, 2, 7, 45), "Europe/Warsaw", 8.5, 24)
    assert not campaign.in_window(datetime(2026, 3, 2, 7, 15), "Europe/Warsaw", 8.5, 24)


def test_holidays_between():
    leaves = [(datetime(2026, 5, 1, 0, 0), datetime(2026, 5, 3, 23, 59))]
    assert campaign.holidays_between(leaves, date(2026, 5, 2), date(2026, 5, 10)) == {
        date(2026, 5, 2),
        date(2026, 5, 3),
    }


# ----------------------------------------------------------------------
# Gates, retries, lockout
# ----------------------------------------------------------------------
def test_dial_gate_order():
    assert campaign.dial_gate(NOW) == ("dial", None)
    assert campaign.dial_gate(NOW, matches=False, reason="blacklisted") == (
        "exclude",
        "no_longer_matches",
    )
    assert campaign.dial_gate(NOW, reason="blacklisted") == ("exclude", "blacklisted")
    assert campaign.dial_gate(NOW, attempts=3, max_attempts=3) == ("fail", "max_attempts")
    later = NOW + timedelta(hours=1)
    assert campaign.dial_gate(NOW, lockout=later) == ("wait", later)
    assert campaign.dial_gate(NOW, lockout=NOW - timedelta(seconds=1)) == ("dial", None)


def test_retry_delay_per_outcome():
    decision = campaign.after_attempt("busy", 1, 3, NOW)
    assert decision == ("pending", NOW + timedelta(minutes=15), None, "retry")
    decision = campaign.after_attempt("no_answer", 1, 3, NOW, delays={"no_answer": 30})
    assert decision.next_attempt == NOW + timedelta(minutes=30)
    assert campaign.after_attempt("machine", 2, 3, NOW).next_attempt == NOW + timedelta(hours=4)
    assert campaign.retry_minutes("unknown") == campaign.retry_minutes("no_answer")
    assert campaign.retry_minutes("busy", {"busy": -5}) == 0


def test_max_attempts():
    assert campaign.after_attempt("no_answer", 3, 3, NOW) == (
        "failed",
        None,
        "max_attempts",
        "none",
    )


def test_abandoned_call_locks_the_number_for_72_hours():
    decision = campaign.after_attempt("abandoned", 1, 5, NOW)
    assert decision.state == "pending"
    assert decision.next_attempt == NOW + timedelta(hours=72)
    # a later no-answer within the lockout still waits for its end
    abandoned = NOW - timedelta(hours=70)
    decision = campaign.after_attempt("busy", 2, 5, NOW, abandoned_at=abandoned)
    assert decision.next_attempt == abandoned + timedelta(hours=72)
    assert campaign.lockout_until(None) is None


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("wrong_number", ("failed", None, "wrong_number", "flag_number")),
        ("do_not_call", ("excluded", None, "do_not_call", "blacklist")),
        ("callback", ("done", None, None, "callback")),
        ("promise_to_pay", ("done", None, None, "promise_to_pay")),
        ("resolved", ("done", None, None, "none")),
        ("sale", ("done", None, None, "none")),
    ],
)
def test_outcomes(outcome, expected):
    assert campaign.after_attempt(outcome, 1, 3, NOW) == expected
