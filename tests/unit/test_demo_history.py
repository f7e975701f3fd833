"""The demo's simulated history (omnichannel_cc/tools/demo_history.py) is
consistent the way real history is."""

import itertools
import random
from datetime import date, datetime, time, timedelta

import pytest

from tests.unit._tools import load_tools

(demo_history,) = load_tools("demo_history")

MONDAY = date(2026, 11, 2)
SHIFTS = {"anna": (time(8), time(16)), "piotr": (time(10), time(18)), "ewa": (time(8), time(16))}


def queues(daily=60):
    return [
        demo_history.QueueSpec(
            "sales",
            daily,
            [("sales_phone", "phone", 3), ("sales_email", "email", 1)],
            ["anna", "piotr"],
            [("resolved", 2), ("sale", 1)],
        ),
        demo_history.QueueSpec("collections", daily / 3, [("coll_phone", "phone", 1)], ["ewa"]),
    ]


def run(days=14, daily=60, seed=18, now=None):
    first = MONDAY
    day_list = [first + timedelta(days=n) for n in range(days)]
    now = now or datetime.combine(day_list[-1] + timedelta(days=1), time(0))
    contacts, periods = demo_history.simulate(
        random.Random(seed), day_list, now, queues(daily), SHIFTS, customers=["c1", "c2"]
    )
    return contacts, demo_history.close_offline(periods), now


def test_same_seed_same_history():
    first, _periods, _now = run(seed=7)
    again, _periods, _now = run(seed=7)
    other, _periods, _now = run(seed=8)
    key = [(c.queue, c.arrival, c.agent, c.state) for c in first]
    assert key == [(c.queue, c.arrival, c.agent, c.state) for c in again]
    assert key != [(c.queue, c.arrival, c.agent, c.state) for c in other]


def test_answered_by_a_member_on_shift_and_free():
    contacts, _periods, _now = run()
    members = {spec.key: set(spec.agents) for spec in queues()}
    by_agent = {}
    for contact in contacts:
        assert contact.arrival <= contact.ended <= contact.closed
        if contact.state == "abandoned":
            assert contact.agent is None and contact.channel_type == "phone"
            continue
        assert contact.agent in members[contact.queue]
        begin, end = SHIFTS[contact.agent]
        assert (
            begin <= contact.answered.time() and contact.answered.date() == contact.arrival.date()
        )
        assert contact.answered < datetime.combine(contact.answered.date(), end)
        by_agent.setdefault(contact.agent, []).append(contact)
    for handled in by_agent.values():
        handled.sort(key=lambda c: c.answered)
        for before, after in itertools.pairwise(handled):
            assert before.closed <= after.answered, "an agent took two contacts at once"


def test_no_contact_on_sunday_and_fewer_on_saturday():
    contacts, _periods, _now = run(days=7, daily=200)
    per_day = {}
    for contact in contacts:
        per_day[contact.arrival.weekday()] = per_day.get(contact.arrival.weekday(), 0) + 1
    assert 6 not in per_day
    assert per_day[5] < per_day[0] / 2


def test_agent_periods_tile_the_time_without_overlap():
    contacts, periods, _now = run()
    by_agent = {}
    for period in periods:
        by_agent.setdefault(period.agent, []).append(period)
    assert set(by_agent) == set(SHIFTS)
    for agent, agent_periods in by_agent.items():
        agent_periods.sort(key=lambda p: p.start)
        for before, after in itertools.pairwise(agent_periods):
            assert before.end == after.start, (agent, before, after)
        assert agent_periods[-1].end is None and agent_periods[-1].state == "offline"
        busy = sum((p.end - p.start).total_seconds() for p in agent_periods if p.state == "busy")
        talk = sum((c.ended - c.answered).total_seconds() for c in contacts if c.agent == agent)
        assert busy == pytest.approx(talk)
        breaks = [p for p in agent_periods if p.state == "break"]
        # three breaks per weekday, two on Saturday (the afternoon one is after 13:00)
        assert len(breaks) == 10 * 3 + 2 * 2 or agent == "piotr"


def test_peaks_wait_longer_and_overload_abandons():
    calm, _periods, _now = run(daily=20)
    busy, _periods, _now = run(daily=400)

    def abandon_rate(contacts):
        phone = [c for c in contacts if c.channel_type == "phone"]
        return sum(c.state == "abandoned" for c in phone) / len(phone)

    assert abandon_rate(busy) > abandon_rate(calm) + 0.2


def test_nothing_after_now():
    now = datetime.combine(MONDAY + timedelta(days=7), time(11, 30))
    contacts, periods, _now = run(days=8, now=now)
    assert contacts and max(c.closed for c in contacts) <= now
    today = [p for p in periods if p.start.date() == now.date()]
    assert today and all(p.start <= now for p in today)
    assert all(p.end is None or p.end <= now for p in today)
