"""Satisfaction scores (CSAT, NPS, CES): pure arithmetic, no database.

- CSAT: 1 to 5; satisfied = 4 or 5; score = % satisfied.
- NPS: 0 to 10; promoters 9-10, passives 7-8, detractors 0-6;
  score = % promoters - % detractors (from -100 to 100).
- CES: 1 to 7 (agreement that the issue was easy to solve); score = mean.

Sampling is deterministic: an interaction is in the sample when a hash of
its id (and the queue's seed) falls under the rate, so a rerun or a test
draws the same interactions.
"""

import hashlib

KINDS = ("csat", "nps", "ces")
RANGES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
# default highest answer that counts as a detractor (closed-loop follow-up)
DETRACTOR_MAX = {"csat": 2, "nps": 6, "ces": 3}
CSAT_SATISFIED_MIN = 4
NPS_PROMOTER_MIN = 9
NPS_DETRACTOR_MAX = 6
# delay between closing and inviting when the queue does not set one, minutes
DEFAULT_DELAY_MINUTES = {"chat": 0, "phone": 0, "email": 60, "sms": 60}
OTHER_DELAY_MINUTES = 60


def check_value(kind, value):
    """``value`` as an int within ``kind``'s range; ValueError otherwise."""
    if kind not in RANGES:
        raise ValueError(f"unknown survey kind {kind!r}")
    # True is an int to Python, not an answer
    is_flag = isinstance(value, bool)
    if is_flag:
        raise ValueError("a score is a number")
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            raise ValueError(f"{value!r} is not a score")
    try:
        number = int(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{value!r} is not a score") from error
    if number != value and str(number) != str(value):
        raise ValueError(f"{value!r} is not a whole score")
    low, high = RANGES[kind]
    if not low <= number <= high:
        raise ValueError(f"{kind} answers go from {low} to {high}, not {number}")
    return number


def nps_category(value):
    if value >= NPS_PROMOTER_MIN:
        return "promoter"
    if value <= NPS_DETRACTOR_MAX:
        return "detractor"
    return "passive"


def is_detractor(kind, value, threshold=None):
    """Whether the answer calls for a follow-up: ``value`` <= the queue's
    threshold (``None`` or negative: the kind's default)."""
    limit = DETRACTOR_MAX[kind] if threshold is None or threshold < 0 else threshold
    return value <= limit


def contribution(kind, value):
    """The per-answer number whose mean over any group is that group's
    score (what the SQL report averages): CSAT 100/0, NPS 100/0/-100, CES
    the value itself."""
    if kind == "csat":
        return 100.0 if value >= CSAT_SATISFIED_MIN else 0.0
    if kind == "nps":
        return {"promoter": 100.0, "passive": 0.0, "detractor": -100.0}[nps_category(value)]
    return float(value)


def score(kind, values):
    """The score of ``values`` (answers of one kind), or None without answers."""
    values = [check_value(kind, value) for value in values]
    if not values:
        return None
    return round(sum(contribution(kind, value) for value in values) / len(values), 2)


def format_score(kind, score):
    """A score as a board shows it: CSAT "80%", NPS "40", CES "5.5"; "–"
    without answers."""
    if score is None:
        return "–"
    if kind == "csat":
        return f"{round(score)}%"
    if kind == "nps":
        return str(round(score))
    return f"{score:.1f}"


def nps_breakdown(values):
    counts = {"promoter": 0, "passive": 0, "detractor": 0}
    for value in values:
        counts[nps_category(check_value("nps", value))] += 1
    return counts


def response_rate(sent, answered):
    """Answered invitations in percent of the sent ones (None when none sent)."""
    return round(100.0 * answered / sent, 2) if sent else None


def sampled(key, rate, seed=""):
    """Whether ``key`` (an interaction id) is in a sample of ``rate`` percent.

    A hash, not a random draw: the same key, rate and seed always give the
    same answer, and about ``rate`` % of consecutive keys are drawn.
    """
    if rate >= 100:
        return True
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 10000
    return bucket < round(rate * 100)


def delay_minutes(configured, channel_type):
    """The delay before inviting: the queue's own (>= 0) or the channel's default."""
    if configured is not None and configured >= 0:
        return configured
    return DEFAULT_DELAY_MINUTES.get(channel_type, OTHER_DELAY_MINUTES)
