"""Weeks of contact-center history for a demo: a small queueing simulation.

Contacts arrive per queue by hour of day and weekday (Poisson); agents on
shift answer them in arrival order when free, take their breaks, and callers
who wait longer than their patience hang up. What comes out is consistent the
way real history is: every answered contact has an agent who was on shift and
free, busy / wrap-up / break / available periods of each agent tile the shift
without overlap, waits grow at the peaks, service level drops there.

Plain data in, plain data out, local naive datetimes; the model converts to
UTC and writes (``omnichannel.interaction._demo_generate_history``).
"""

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

# share of the day's contacts per local hour
HOUR_PROFILE = {
    8: 0.6,
    9: 1.2,
    10: 1.5,
    11: 1.4,
    12: 1.1,
    13: 1.0,
    14: 1.2,
    15: 1.1,
    16: 0.8,
    17: 0.5,
}
# Monday is 0: Mondays are busiest, Sundays closed
WEEKDAY_FACTOR = (1.25, 1.1, 1.0, 1.0, 0.9, 0.25, 0.0)
# talk time (median seconds, spread of the log-normal) per channel type
TALK = {
    "phone": (240, 0.5),
    "chat": (420, 0.4),
    "email": (200, 0.4),
    "sms": (90, 0.4),
    "social": (150, 0.4),
    "webform": (200, 0.4),
    "fax": (150, 0.3),
    "video": (480, 0.4),
}
# mean patience in seconds of the contacts that can hang up; the others wait
PATIENCE = {"phone": 110, "chat": 200, "video": 150}
# (planned local start, minutes, reason key) of every agent's breaks
BREAKS = ((time(10, 30), 15, "short"), (time(12, 30), 30, "lunch"), (time(14, 45), 15, "short"))


@dataclass
class QueueSpec:
    key: object
    daily: float  # contacts on an ordinary weekday
    channels: list  # [(channel key, channel type, weight)]
    agents: list  # agent keys, members of the queue
    dispositions: list = field(default_factory=list)  # [(key, weight)]


@dataclass
class Contact:
    queue: object
    channel: object
    channel_type: str
    arrival: datetime
    customer: object = None
    agent: object = None
    answered: datetime = None
    ended: datetime = None
    closed: datetime = None
    disposition: object = None

    @property
    def state(self):
        return "done" if self.answered else "abandoned"


@dataclass
class Period:
    agent: object
    state: str  # available, busy, wrapup, break, offline
    start: datetime
    end: datetime = None  # None: still going
    reason: object = None  # break reason key


def poisson(rng, mean):
    """Knuth's method: fine for the small means of one hour of one queue."""
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def arrivals(rng, day, spec):
    """The contacts of one queue on one day, in arrival order."""
    daily = spec.daily * WEEKDAY_FACTOR[day.weekday()]
    total = sum(HOUR_PROFILE.values())
    weights = [weight for _key, _type, weight in spec.channels]
    contacts = []
    for hour, share in HOUR_PROFILE.items():
        for _n in range(poisson(rng, daily * share / total)):
            channel, channel_type, _weight = rng.choices(spec.channels, weights)[0]
            start = datetime.combine(day, time(hour)) + timedelta(seconds=rng.randrange(3600))
            contacts.append(Contact(spec.key, channel, channel_type, start))
    contacts.sort(key=lambda c: c.arrival)
    return contacts


class _Agent:
    def __init__(self, key, shift_start, shift_end):
        self.key = key
        self.start, self.end = shift_start, shift_end
        self.free_at = shift_start
        self.breaks = []  # pending (planned start, minutes, reason)
        self.taken = []  # (start, end, reason)
        self.work = []  # (answered, ended, closed)

    def plan_breaks(self, day):
        self.breaks = [
            (datetime.combine(day, planned), minutes, reason)
            for planned, minutes, reason in BREAKS
            if self.start <= datetime.combine(day, planned) < self.end
        ]

    def next_free(self, when, commit=False):
        """When the agent can take a contact that is there at ``when``: a break
        planned before that is taken first (late if a contact ran over)."""
        free_at, pending = self.free_at, list(self.breaks)
        start = max(when, free_at)
        while pending and pending[0][0] <= start:
            planned, minutes, reason = pending.pop(0)
            begin = max(planned, free_at)
            free_at = begin + timedelta(minutes=minutes)
            if commit:
                self.taken.append((begin, free_at, reason))
            start = max(when, free_at)
        if commit:
            self.free_at, self.breaks = free_at, pending
        return start


def simulate(rng, days, now, queues, shifts, customers=()):
    """(contacts, periods) of ``days`` (dates, oldest first) up to ``now``.

    ``shifts``: {agent key: (start time, end time)} on weekdays; on Saturday
    everyone works until 13:00, on Sunday the center is closed. Contacts not
    finished by ``now`` are left out, and so are e-mails and other written
    contacts nobody could take on their day (they would still be waiting).
    Periods of each agent end with an open offline period (``close_offline``
    joins the days).
    """
    contacts, periods = [], []
    for day in days:
        if WEEKDAY_FACTOR[day.weekday()] == 0:
            continue
        agents = {}
        for key, (begin, end) in shifts.items():
            if day.weekday() == 5:  # Saturday: a short morning shift
                end = min(end, time(13))
            agent = _Agent(key, datetime.combine(day, begin), datetime.combine(day, end))
            agent.plan_breaks(day)
            agents[key] = agent
        todays = [c for spec in queues for c in arrivals(rng, day, spec)]
        todays.sort(key=lambda c: c.arrival)
        specs = {spec.key: spec for spec in queues}
        for contact in todays:
            spec = specs[contact.queue]
            contact.customer = rng.choice(customers) if customers else None
            best = None
            for key in spec.agents:
                agent = agents.get(key)
                if agent is None or contact.arrival >= agent.end:
                    continue
                start = max(agent.next_free(contact.arrival), agent.start)
                if start < agent.end and (best is None or start < best[0]):
                    best = (start, agent)
            patience = PATIENCE.get(contact.channel_type)
            wait_limit = rng.expovariate(1 / patience) if patience else None
            if best is None or (
                wait_limit is not None and (best[0] - contact.arrival).total_seconds() > wait_limit
            ):
                if wait_limit is None:
                    continue  # an e-mail nobody could take today: not history yet
                contact.ended = contact.arrival + timedelta(seconds=max(wait_limit, 2))
                contact.closed = contact.ended
                if contact.closed <= now:
                    contacts.append(contact)
                continue
            start, agent = best
            agent.next_free(contact.arrival, commit=True)
            median, spread = TALK.get(contact.channel_type, (180, 0.4))
            talk = max(20, rng.lognormvariate(math.log(median), spread))
            wrap = rng.uniform(15, 90)
            contact.agent = agent.key
            contact.answered = start
            contact.ended = start + timedelta(seconds=talk)
            contact.closed = contact.ended + timedelta(seconds=wrap)
            if spec.dispositions:
                keys, weights = zip(*spec.dispositions, strict=True)
                contact.disposition = rng.choices(keys, weights)[0]
            agent.free_at = contact.closed
            if contact.closed <= now:
                agent.work.append((contact.answered, contact.ended, contact.closed))
                contacts.append(contact)
        for agent in agents.values():
            # breaks still due after the last contact
            agent.next_free(agent.end, commit=True)
            periods.extend(agent_periods(agent, now))
    return contacts, periods


def agent_periods(agent, now):
    """Available / busy / wrap-up / break periods tiling the agent's shift up
    to ``now``, then an open offline period."""
    # a contact taken just before the end of the shift is finished first
    last = max(
        [agent.end] + [closed for _a, _e, closed in agent.work] + [e for _b, e, _r in agent.taken]
    )
    shift_end = min(last, now)
    if agent.start >= shift_end:
        return []
    busy = []
    for answered, ended, closed in agent.work:
        busy.append((answered, ended, "busy", None))
        busy.append((ended, closed, "wrapup", None))
    for begin, end, reason in agent.taken:
        busy.append((begin, end, "break", reason))
    busy.sort(key=lambda item: item[0])
    result, cursor = [], agent.start
    for begin, end, state, reason in busy:
        begin, end = max(begin, cursor), min(end, shift_end)
        if end <= begin:
            continue
        if begin > cursor:
            result.append(Period(agent.key, "available", cursor, begin))
        result.append(Period(agent.key, state, begin, end, reason))
        cursor = end
    if cursor < shift_end:
        result.append(Period(agent.key, "available", cursor, shift_end))
    result.append(Period(agent.key, "offline", shift_end, None))
    return result


def close_offline(periods):
    """Close each agent's offline period where their next period starts; the
    last one of each agent stays open (the agent is offline now)."""
    by_agent = {}
    for period in sorted(periods, key=lambda p: (str(p.agent), p.start)):
        by_agent.setdefault(period.agent, []).append(period)
    result = []
    for agent_periods_ in by_agent.values():
        for current, following in itertools.pairwise(agent_periods_):
            if current.end is None:
                current.end = following.start
        result.extend(agent_periods_)
    return result
