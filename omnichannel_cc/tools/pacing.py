"""Outbound dialer pacing: how many calls a campaign places now.

Plain data in, decisions out: the dialer gathers the campaign's live figures
(agents available, agents in wrap-up with the seconds they have left, calls
ringing, answered calls waiting for an agent) into a ``PacingInput``, asks its
``PacingState.decide`` and stores the ``PacingDecision`` it gets back (every
pacing decision is recorded). Call outcomes and finished conversations are fed
back with ``record_attempt`` and ``record_handled``; the state keeps the
statistics over the campaign's sliding window incrementally, in buckets.

Modes
- progressive: one call per available agent; lines in progress (ringing plus
  answered and waiting) never exceed the free agents.
- power: ``floor(ratio * available agents)`` lines, ratio 1.0-3.0.
- predictive: ``round(level * (available + soon free agents))`` lines, where
  "soon free" are agents whose wrap-up ends within the look-ahead (the mean
  time from dial to a live answer in the window, else 10 s) and ``level`` is an
  adaptive dial level in [1.0, max_level].

Method of the predictive mode: the dial level is applied as VICIdial applies
its ``auto_dial_level`` (AST_VDauto_dial.pl: goal calls = dial level x agents
counted, calls to place = goal - calls already in progress; AST_VDadapt.pl: the
level never below 1.0 nor above the campaign's "adaptive maximum level", and
the ADAPT_HARD_LIMIT drop guard: when the day's drops over answered calls pass
``adaptive_dropped_percentage`` the level drops to 1.0). VICIdial adapts the
level from the difference between waiting agents and waiting calls, which
sees the abandon target only through the guard; here the level is adapted by
a PI controller on the abandon rate itself (K. J. Astrom, R. M. Murray,
"Feedback Systems", Princeton 2008, ch. 10 "PID Control", 10.4 "Integrator
Windup"; conditional integration as in K. J. Astrom, T. Hagglund, "Advanced
PID Control", ISA 2006, ch. 3):

    error = setpoint - abandon rate over the recent control window
    level = clamp(1 + kp * error + integral, 1.0, max_level)
    integral += ki * error * seconds since the last adaptation

with ``setpoint = setpoint_ratio * target`` (below the legal target, so the
noise of a few abandoned calls does not cross it) and anti-windup by
conditional integration: the integral does not move while the output is
saturated in the error's direction, nor upwards while the guard holds the
campaign in progressive mode, nor at all without enough live answers in the
control window to measure a rate. The level adapts every ``adapt_interval``
seconds (15 s, as AST_VDadapt.pl recalculates).

References: VICIdial (astguiclient, AGPLv2) bin/AST_VDadapt.pl, sub
calculate_dial_level, and bin/AST_VDauto_dial.pl, read for the method only.

Guard (predictive only; power keeps the ratio the supervisor chose): when the
abandon rate over the campaign's window (24 h, as Ofcom's persistent misuse
policy of 2016 measures it, or 30 days, as the US Telemarketing Sales Rule,
16 CFR 310.4(b)(4), does) is over the target, the campaign dials
progressively until the rate is back under it, with one abandoned call of
headroom: it dials predictively only while ``(abandoned + 1) / (live + 1)`` is
at or under the target, so one more abandoned call does not cross it (a new
window starts progressive until about 1 / target live answers are in).

Abandoned: answered by a person and not connected to an agent within
``ABANDON_SECONDS`` (2 s). The abandon rate is abandoned / answered by a person.
"""

import heapq
import math
from dataclasses import asdict, dataclass, field

MODES = ("progressive", "power", "predictive")
WINDOW_24H = 24 * 3600
WINDOW_30D = 30 * 24 * 3600
WINDOWS = (WINDOW_24H, WINDOW_30D)
ABANDON_SECONDS = 2.0
DEFAULT_LOOKAHEAD = 10.0
# final outcomes of one dial attempt; "connected" and "abandoned" are live answers
OUTCOMES = ("no_answer", "busy", "failed", "machine", "connected", "abandoned")
ANSWERED = ("machine", "connected", "abandoned")
LIVE = ("connected", "abandoned")

# reasons of a decision
REASON_PROGRESSIVE = "progressive"
REASON_POWER = "power"
REASON_PREDICTIVE = "predictive"
REASON_GUARD = "guard"
REASON_NO_AGENTS = "no_agents"


class PacingError(ValueError):
    """Settings or inputs the pacing cannot work with; the message says which."""


def _percent(value):
    return f"{value * 100:.1f} %"


@dataclass(frozen=True)
class PacingSettings:
    """A campaign's pacing settings, validated on creation."""

    mode: str
    power_ratio: float = 1.0
    abandon_target: float = 0.03
    window_seconds: int = WINDOW_24H
    max_level: float = 3.0
    # PI controller of the predictive level
    kp: float = 5.0
    ki: float = 0.01
    setpoint_ratio: float = 0.7
    adapt_interval: float = 15.0
    control_window: int = 1800
    control_min_live: int = 5
    # seconds of wrap-up left under which an agent counts as soon free; None:
    # the window's mean time from dial to a live answer
    lookahead: float | None = None
    bucket_seconds: int = 60

    def __post_init__(self):
        if self.mode not in MODES:
            if self.mode == "preview":
                raise PacingError(
                    "Preview campaigns are dialed by the agent; only progressive, power "
                    "and predictive campaigns are paced."
                )
            raise PacingError(
                f"Unknown dial mode {self.mode!r}: expected one of {', '.join(MODES)}."
            )
        if not 1.0 <= self.power_ratio <= 3.0:
            raise PacingError(
                f"The power dialing ratio must be between 1.0 and 3.0 lines per available "
                f"agent (got {self.power_ratio})."
            )
        if not 0.0 < self.abandon_target <= 0.1:
            raise PacingError(
                f"The abandon rate target must be over 0 % and at most 10 % "
                f"(got {_percent(self.abandon_target)})."
            )
        if self.window_seconds not in WINDOWS:
            raise PacingError(
                f"The abandon rate window must be 24 hours ({WINDOW_24H} s) or 30 days "
                f"({WINDOW_30D} s) (got {self.window_seconds} s)."
            )
        if not 1.0 <= self.max_level <= 10.0:
            raise PacingError(
                f"The maximum dial level must be between 1.0 and 10.0 (got {self.max_level})."
            )
        if self.kp < 0 or self.ki < 0:
            raise PacingError(
                f"The controller's gains cannot be negative (kp {self.kp}, ki {self.ki})."
            )
        if not 0.0 < self.setpoint_ratio <= 1.0:
            raise PacingError(
                f"The setpoint ratio must be over 0 and at most 1 (got {self.setpoint_ratio})."
            )
        if self.adapt_interval <= 0 or self.control_window <= 0 or self.bucket_seconds <= 0:
            raise PacingError(
                "The adaptation interval, control window and bucket must be positive "
                f"(got {self.adapt_interval}, {self.control_window}, {self.bucket_seconds})."
            )
        if self.control_window < self.bucket_seconds:
            raise PacingError(
                f"The control window ({self.control_window} s) cannot be shorter than one "
                f"bucket ({self.bucket_seconds} s)."
            )
        if self.lookahead is not None and not 0.0 <= self.lookahead <= 120.0:
            raise PacingError(
                f"The look-ahead must be between 0 and 120 seconds (got {self.lookahead})."
            )

    @property
    def setpoint(self):
        return self.abandon_target * self.setpoint_ratio


def _count(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PacingError(f"{name} must be a whole number of zero or more (got {value!r}).")


@dataclass(frozen=True)
class PacingInput:
    """The campaign's live figures at ``now`` (seconds, any epoch)."""

    now: float
    agents_available: int
    # one entry per agent in wrap-up: seconds until it is free
    wrapup_seconds_left: tuple = ()
    calls_ringing: int = 0
    # answered by a person, not yet connected to an agent
    calls_waiting: int = 0

    def __post_init__(self):
        _count(self.agents_available, "Agents available")
        _count(self.calls_ringing, "Calls ringing")
        _count(self.calls_waiting, "Calls waiting")
        object.__setattr__(self, "wrapup_seconds_left", tuple(self.wrapup_seconds_left))
        for left in self.wrapup_seconds_left:
            if left < 0:
                raise PacingError(f"Wrap-up seconds left cannot be negative (got {left}).")

    def soon_free(self, lookahead):
        return sum(1 for left in self.wrapup_seconds_left if left <= lookahead)


@dataclass(frozen=True)
class PacingDecision:
    """One decision, as the dialer stores it."""

    time: float
    mode: str
    calls: int
    level: float
    reason: str
    lines_allowed: int
    agents_available: int
    agents_soon_free: int
    calls_ringing: int
    calls_waiting: int
    abandon_rate: float
    abandon_rate_recent: float
    guard: bool

    def as_dict(self):
        return asdict(self)


class SlidingStats:
    """Counts and sums over the last ``window`` seconds, kept per bucket.

    Adding is O(1) (O(log n) for a new bucket) and expiry removes whole
    buckets, so a 30-day window holds at most 43,200 one-minute buckets
    whatever the number of calls. Figures are exact to one bucket.
    """

    FIELDS = (
        "attempts",
        "answered",
        "live",
        "abandoned",
        "answer_seconds",
        "handled",
        "talk_seconds",
        "wrap_seconds",
    )

    def __init__(self, window, bucket=60):
        if window <= 0 or bucket <= 0:
            raise PacingError(f"Window and bucket must be positive (got {window}, {bucket}).")
        self.window = window
        self.bucket = bucket
        self.buckets = {}
        self._keys = []
        self.totals = dict.fromkeys(self.FIELDS, 0)
        self.latest = None

    def _add(self, now, **values):
        self.latest = now if self.latest is None else max(self.latest, now)
        key = int(now // self.bucket)
        if key <= self._cutoff_key(self.latest):
            return  # older than the window (a late report)
        counts = self.buckets.get(key)
        if counts is None:
            counts = self.buckets[key] = dict.fromkeys(self.FIELDS, 0)
            heapq.heappush(self._keys, key)
        for name, value in values.items():
            counts[name] += value
            self.totals[name] += value
        self.expire(now)

    def _cutoff_key(self, now):
        # buckets ending at or before now - window are out
        return math.floor((now - self.window) / self.bucket) - 1

    def expire(self, now):
        """Drop the buckets that have left the window at ``now``."""
        self.latest = now if self.latest is None else max(self.latest, now)
        cutoff = self._cutoff_key(self.latest)
        while self._keys and self._keys[0] <= cutoff:
            counts = self.buckets.pop(heapq.heappop(self._keys))
            for name, value in counts.items():
                self.totals[name] -= value

    def record_attempt(self, now, outcome, answer_seconds=0.0):
        if outcome not in OUTCOMES:
            raise PacingError(
                f"Unknown call outcome {outcome!r}: expected one of {', '.join(OUTCOMES)}."
            )
        live = outcome in LIVE
        self._add(
            now,
            attempts=1,
            answered=int(outcome in ANSWERED),
            live=int(live),
            abandoned=int(outcome == "abandoned"),
            answer_seconds=answer_seconds if live else 0.0,
        )

    def record_handled(self, now, talk_seconds, wrap_seconds):
        if talk_seconds < 0 or wrap_seconds < 0:
            raise PacingError(
                f"Talk and wrap-up seconds cannot be negative (got {talk_seconds}, {wrap_seconds})."
            )
        self._add(now, handled=1, talk_seconds=talk_seconds, wrap_seconds=wrap_seconds)

    def _ratio(self, name, over):
        below = self.totals[over]
        return self.totals[name] / below if below else 0.0

    @property
    def answer_rate(self):
        return self._ratio("answered", "attempts")

    @property
    def live_rate(self):
        return self._ratio("live", "attempts")

    @property
    def abandon_rate(self):
        """Abandoned calls over calls answered by a person."""
        return self._ratio("abandoned", "live")

    @property
    def mean_answer_seconds(self):
        return self._ratio("answer_seconds", "live")

    @property
    def mean_talk_seconds(self):
        return self._ratio("talk_seconds", "handled")

    @property
    def mean_wrap_seconds(self):
        return self._ratio("wrap_seconds", "handled")

    def summary(self):
        return dict(
            self.totals,
            answer_rate=self.answer_rate,
            live_rate=self.live_rate,
            abandon_rate=self.abandon_rate,
            mean_answer_seconds=self.mean_answer_seconds,
            mean_talk_seconds=self.mean_talk_seconds,
            mean_wrap_seconds=self.mean_wrap_seconds,
        )

    def to_dict(self):
        return {
            "window": self.window,
            "bucket": self.bucket,
            "latest": self.latest,
            "buckets": {str(key): dict(counts) for key, counts in self.buckets.items()},
        }

    @classmethod
    def from_dict(cls, data):
        stats = cls(data["window"], data["bucket"])
        stats.latest = data.get("latest")
        for key, counts in data["buckets"].items():
            key = int(key)
            stats.buckets[key] = dict(dict.fromkeys(cls.FIELDS, 0), **counts)
            heapq.heappush(stats._keys, key)
            for name in cls.FIELDS:
                stats.totals[name] += stats.buckets[key][name]
        return stats


@dataclass
class PacingState:
    """One campaign's pacing: settings, window statistics, controller state."""

    settings: PacingSettings
    level: float = 1.0
    integral: float = 0.0
    last_adapt: float | None = None
    guard: bool = False
    stats: SlidingStats = field(default=None)
    recent: SlidingStats = field(default=None)

    def __post_init__(self):
        if self.stats is None:
            self.stats = SlidingStats(self.settings.window_seconds, self.settings.bucket_seconds)
        if self.recent is None:
            self.recent = SlidingStats(self.settings.control_window, self.settings.bucket_seconds)

    # feedback from the dialer
    def record_attempt(self, now, outcome, answer_seconds=0.0):
        """The final outcome of one dial; ``answer_seconds``: from dial to a live answer."""
        self.stats.record_attempt(now, outcome, answer_seconds)
        self.recent.record_attempt(now, outcome, answer_seconds)

    def record_handled(self, now, talk_seconds, wrap_seconds):
        """A conversation finished its wrap-up."""
        self.stats.record_handled(now, talk_seconds, wrap_seconds)

    # decisions
    @property
    def lookahead(self):
        if self.settings.lookahead is not None:
            return self.settings.lookahead
        return self.stats.mean_answer_seconds or DEFAULT_LOOKAHEAD

    def _update_guard(self):
        """Progressive while one more abandoned call would put the window over target."""
        totals = self.stats.totals
        headroom = (totals["abandoned"] + 1) / (totals["live"] + 1)
        self.guard = headroom > self.settings.abandon_target
        return self.stats.abandon_rate

    def _adapt(self, now):
        """One PI step on the recent abandon rate, with conditional integration."""
        settings = self.settings
        if self.last_adapt is None:
            self.last_adapt = now
        elapsed = now - self.last_adapt
        if elapsed < settings.adapt_interval:
            return
        self.last_adapt = now
        self.recent.expire(now)
        if self.recent.totals["live"] < settings.control_min_live:
            return  # nothing to measure: hold the level
        error = settings.setpoint - self.recent.abandon_rate
        raw = 1.0 + settings.kp * error + self.integral
        saturated = (raw >= settings.max_level and error > 0) or (raw <= 1.0 and error < 0)
        held = self.guard and error > 0
        if not saturated and not held:
            self.integral += settings.ki * error * elapsed
            raw = 1.0 + settings.kp * error + self.integral
        self.level = min(settings.max_level, max(1.0, raw))

    def decide(self, inputs):
        """How many calls to place now; the returned decision is to be stored."""
        settings = self.settings
        now = inputs.now
        self.stats.expire(now)
        self.recent.expire(now)
        rate = self._update_guard()
        in_progress = inputs.calls_ringing + inputs.calls_waiting
        soon_free = 0
        level = 1.0
        if settings.mode == "progressive":
            reason = REASON_PROGRESSIVE
            allowed = inputs.agents_available
        elif settings.mode == "power":
            reason = REASON_POWER
            level = settings.power_ratio
            allowed = math.floor(settings.power_ratio * inputs.agents_available + 1e-9)
        else:
            self._adapt(now)
            if self.guard:
                reason = REASON_GUARD
                allowed = inputs.agents_available
            else:
                reason = REASON_PREDICTIVE
                level = self.level
                soon_free = inputs.soon_free(self.lookahead)
                allowed = math.floor(level * (inputs.agents_available + soon_free) + 0.5)
        if not inputs.agents_available and not soon_free:
            reason = REASON_NO_AGENTS
        calls = max(0, allowed - in_progress)
        return PacingDecision(
            time=now,
            mode=settings.mode,
            calls=calls,
            level=round(level, 4),
            reason=reason,
            lines_allowed=allowed,
            agents_available=inputs.agents_available,
            agents_soon_free=soon_free,
            calls_ringing=inputs.calls_ringing,
            calls_waiting=inputs.calls_waiting,
            abandon_rate=rate,
            abandon_rate_recent=self.recent.abandon_rate,
            guard=self.guard and settings.mode == "predictive",
        )

    # storage between runs of the dialer
    def to_dict(self):
        return {
            "settings": asdict(self.settings),
            "level": self.level,
            "integral": self.integral,
            "last_adapt": self.last_adapt,
            "guard": self.guard,
            "stats": self.stats.to_dict(),
            "recent": self.recent.to_dict(),
        }

    @classmethod
    def from_dict(cls, data):
        return cls(
            settings=PacingSettings(**data["settings"]),
            level=data["level"],
            integral=data["integral"],
            last_adapt=data["last_adapt"],
            guard=data["guard"],
            stats=SlidingStats.from_dict(data["stats"]),
            recent=SlidingStats.from_dict(data["recent"]),
        )
