"""A discrete-event simulation of an outbound campaign's day, paced by the real
``omnichannel_cc/tools/pacing.py``. Used by tests/bench/bench_pacing.py and by
the smoke test in tests/unit/test_pacing.py.

Time is simulated (seconds from 0); nothing sleeps. Every contact's outcome
for each attempt (answered or not, person or machine, ring, talk and wrap-up
times) is drawn once from the seed before the day starts, so the modes
compared meet the same people with the same answers (common random numbers).

One call, as the simulated PBX plays it:
- not answered: the line rings until the no-answer timeout, or a busy /
  failed signal comes back after a few seconds;
- answered by a machine: answering-machine detection hangs up after
  ``amd_seconds``; the contact is retried later;
- answered by a person: detected after ``amd_seconds``; connected to the
  longest-free agent, or to the first agent who finishes wrap-up within
  ``ABANDON_SECONDS``, else abandoned (and not redialed that day).
The dialer asks the pacing every ``tick`` seconds how many calls to place.
"""

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field

from tests.unit._tools import load_tools

(pacing,) = load_tools("pacing")


@dataclass(frozen=True)
class SimConfig:
    agents: int = 20
    contacts: int = 10_000
    seed: int = 1
    day_seconds: float = 8 * 3600
    answer_rate: float = 0.30
    machine_share: float = 0.15  # of answered calls
    busy_share: float = 0.15  # of unanswered calls: busy / failed, known quickly
    busy_seconds: float = 5.0
    ring_timeout: float = 25.0
    ring_median: float = 9.0  # seconds to answer, lognormal
    ring_sigma: float = 0.5
    amd_seconds: float = 2.5
    talk_median: float = 110.0  # lognormal
    talk_sigma: float = 0.6
    wrap_mean: float = 25.0  # exponential, at least wrap_min
    wrap_min: float = 3.0
    max_attempts: int = 3
    retry_seconds: float = 3600.0
    tick: float = 1.0


@dataclass
class SimResult:
    label: str
    placed: int = 0
    live: int = 0
    connected: int = 0
    abandoned: int = 0
    machines: int = 0
    busy_seconds: float = 0.0
    wait_seconds: float = 0.0
    waits: int = 0
    end: float = 0.0
    decisions: int = 0
    guard_decisions: int = 0
    level_sum: float = 0.0
    # lines in progress over what the mode allows, counted per decision
    over_limit: int = 0
    agents: int = 0
    decision_log: list = field(default_factory=list, repr=False)

    @property
    def abandon_rate(self):
        return self.abandoned / self.live if self.live else 0.0

    @property
    def occupancy(self):
        return self.busy_seconds / (self.agents * self.end) if self.end else 0.0

    @property
    def mean_wait(self):
        return self.wait_seconds / self.waits if self.waits else 0.0

    @property
    def per_agent_hour(self):
        return self.connected / (self.agents * self.end / 3600) if self.end else 0.0

    @property
    def mean_level(self):
        return self.level_sum / self.decisions if self.decisions else 0.0


@dataclass
class _Agent:
    index: int
    state: str = "free"  # free, talk, wrap
    free_since: float = 0.0
    wrap_end: float = 0.0


def draw_contacts(config):
    """Per contact, per attempt: (outcome, seconds to outcome or answer, talk, wrap)."""
    rng = random.Random(config.seed)
    plans = []
    for _contact in range(config.contacts):
        attempts = []
        for _attempt in range(config.max_attempts):
            if rng.random() < config.answer_rate:
                ring = min(
                    config.ring_timeout - 1.0,
                    rng.lognormvariate(math.log(config.ring_median), config.ring_sigma),
                )
                human = rng.random() >= config.machine_share
                outcome = "human" if human else "machine"
            elif rng.random() < config.busy_share:
                ring, outcome = config.busy_seconds, "busy"
            else:
                ring, outcome = config.ring_timeout, "no_answer"
            talk = rng.lognormvariate(math.log(config.talk_median), config.talk_sigma)
            wrap = max(config.wrap_min, rng.expovariate(1.0 / config.wrap_mean))
            attempts.append((outcome, ring, talk, wrap))
        plans.append(attempts)
    return plans


def mode_limit(settings, inputs):
    """Lines a mode allows, computed here independently of tools/pacing.py."""
    if settings.mode == "progressive":
        return inputs.agents_available
    if settings.mode == "power":
        return math.floor(settings.power_ratio * inputs.agents_available + 1e-9)
    counted = inputs.agents_available + len(inputs.wrapup_seconds_left)
    if not counted:
        return 0
    return math.floor(settings.max_level * counted + 0.5)


class _Day:
    """One simulated day: the agents, the lines, the event queue."""

    def __init__(self, config, settings, label, plans, keep_log):
        self.config = config
        self.settings = settings
        self.plans = plans
        self.keep_log = keep_log
        self.state = pacing.PacingState(settings)
        self.result = SimResult(label=label or settings.mode, agents=config.agents)
        self.agents = [_Agent(i) for i in range(config.agents)]
        self.fresh = deque(range(len(plans)))
        self.retries = []  # (ready time, contact)
        self.attempts_made = [0] * len(plans)
        self.events = []
        self.seq = 0
        self.ringing = 0
        self.waiting = deque()  # (contact, attempt, live at, seconds from dial to answer)
        self.stopped_at = None

    @property
    def end(self):
        return self.stopped_at if self.stopped_at is not None else self.config.day_seconds

    def push(self, time, kind, data):
        self.seq += 1
        heapq.heappush(self.events, (time, self.seq, kind, data))

    def run(self):
        self.push(0.0, "tick", None)
        while self.events:
            now, _seq, kind, data = heapq.heappop(self.events)
            getattr(self, f"on_{kind}")(now, data)
        self.result.end = self.end
        return self.result

    # the dialer
    def next_contact(self, now):
        if self.retries and self.retries[0][0] <= now:
            return heapq.heappop(self.retries)[1]
        return self.fresh.popleft() if self.fresh else None

    def dial(self, now, contact):
        attempt = self.attempts_made[contact]
        self.attempts_made[contact] += 1
        outcome, ring, _talk, _wrap = self.plans[contact][attempt]
        self.result.placed += 1
        self.ringing += 1
        amd = self.config.amd_seconds
        if outcome == "human":
            self.push(now + ring + amd, "live", (contact, attempt, now))
        elif outcome == "machine":
            self.push(now + ring + amd, "line_end", (contact, "machine"))
        else:
            self.push(now + ring, "line_end", (contact, outcome))

    def on_tick(self, now, _data):
        if self.stopped_at is not None or now >= self.config.day_seconds:
            if self.stopped_at is None:
                self.stopped_at = min(now, self.config.day_seconds)
            return
        inputs = pacing.PacingInput(
            now=now,
            agents_available=sum(1 for a in self.agents if a.state == "free"),
            wrapup_seconds_left=tuple(a.wrap_end - now for a in self.agents if a.state == "wrap"),
            calls_ringing=self.ringing,
            calls_waiting=len(self.waiting),
        )
        decision = self.state.decide(inputs)
        result = self.result
        result.decisions += 1
        result.level_sum += decision.level
        result.guard_decisions += decision.guard and self.settings.mode == "predictive"
        if self.keep_log:
            result.decision_log.append(decision)
        placed = 0
        for _ in range(decision.calls):
            contact = self.next_contact(now)
            if contact is None:
                break
            self.dial(now, contact)
            placed += 1
        if placed and self.ringing + len(self.waiting) > mode_limit(self.settings, inputs):
            result.over_limit += 1
        if not (self.fresh or self.retries or self.ringing or self.waiting):
            self.stopped_at = now  # the list is worked out
            return
        self.push(now + self.config.tick, "tick", None)

    # the PBX
    def on_line_end(self, now, data):
        contact, outcome = data
        self.ringing -= 1
        self.result.machines += outcome == "machine"
        self.state.record_attempt(now, outcome)
        if self.attempts_made[contact] < self.config.max_attempts:
            heapq.heappush(self.retries, (now + self.config.retry_seconds, contact))

    def on_live(self, now, data):
        contact, attempt, dialed = data
        self.ringing -= 1
        self.result.live += now <= self.end
        free = [a for a in self.agents if a.state == "free"]
        if free:
            agent = min(free, key=lambda a: (a.free_since, a.index))
            self.connect(now, agent, contact, attempt, now - dialed)
        else:
            call = (contact, attempt, now, now - dialed)
            self.waiting.append(call)
            self.push(now + pacing.ABANDON_SECONDS, "abandon", call)

    def on_abandon(self, now, call):
        if call in self.waiting:
            self.waiting.remove(call)
            self.result.abandoned += call[2] <= self.end
            self.state.record_attempt(now, "abandoned", call[3])

    def connect(self, now, agent, contact, attempt, answer_seconds):
        _outcome, _ring, talk, wrap = self.plans[contact][attempt]
        result = self.result
        if now <= self.end:
            result.wait_seconds += now - agent.free_since
            result.waits += 1
            result.connected += 1
        agent.state = "talk"
        self.state.record_attempt(now, "connected", answer_seconds)
        self.push(now + talk, "talk_end", (agent.index, talk, wrap))
        result.busy_seconds += max(0.0, min(now + talk + wrap, self.end) - now)

    # the agents
    def on_talk_end(self, now, data):
        index, _talk, wrap = data
        agent = self.agents[index]
        agent.state = "wrap"
        agent.wrap_end = now + wrap
        self.push(now + wrap, "wrap_end", data)

    def on_wrap_end(self, now, data):
        index, talk, wrap = data
        agent = self.agents[index]
        agent.state = "free"
        agent.free_since = now
        self.state.record_handled(now, talk, wrap)
        if self.waiting:
            contact, attempt, _live_at, answer_seconds = self.waiting.popleft()
            self.connect(now, agent, contact, attempt, answer_seconds)


def simulate(config, settings, label=None, plans=None, keep_log=False):
    """One day with one pacing setting; returns a SimResult."""
    plans = plans if plans is not None else draw_contacts(config)
    return _Day(config, settings, label, plans, keep_log).run()


def default_modes(max_level=3.0):
    """The settings compared by the benchmark: (label, settings)."""
    settings = pacing.PacingSettings
    return [
        ("progressive", settings("progressive")),
        ("power 1.5", settings("power", power_ratio=1.5)),
        ("power 2.0", settings("power", power_ratio=2.0)),
        ("predictive", settings("predictive", max_level=max_level)),
    ]
