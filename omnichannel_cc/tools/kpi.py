"""Contact-center KPIs and Erlang C staffing: plain numbers in, plain numbers out.

Ratios are fractions (0.0 to 1.0), times are seconds. A ratio with nothing to
count (no contacts offered, no contact handled) is 0.0, never a
ZeroDivisionError: a wallboard at 08:00 has nothing offered yet.

Erlang C (M/M/N queue: Poisson arrivals, exponential handle times, callers
who never hang up) is computed through the Erlang B recursion

    B(0) = 1,  B(n) = A * B(n-1) / (n + A * B(n-1))
    C(N) = N * B(N) / (N - A * (1 - B(N)))

which stays within [0, 1] at every step: no factorial, no power of A, so it
holds for thousands of agents where the textbook formula overflows.
"""

import math
from dataclasses import dataclass

# An abandon this short is a wrong number or a caller who changed their mind,
# not a failure of the queue (common practice: 5 seconds).
SHORT_ABANDON_SECONDS = 5

# Service-level variants (see service_level())
SL_OFFERED = "offered"
SL_EXCLUDE_SHORT_ABANDONS = "exclude_short_abandons"
SL_ABANDONS_WITHIN_NEUTRAL = "abandons_within_neutral"
SL_METHODS = (SL_OFFERED, SL_EXCLUDE_SHORT_ABANDONS, SL_ABANDONS_WITHIN_NEUTRAL)

# Far beyond any real contact center; only guards against a loop that cannot end.
MAX_AGENTS = 100000


def ratio(numerator, denominator):
    """numerator / denominator, 0.0 when there is nothing to divide by."""
    if not denominator or denominator <= 0:
        return 0.0
    return numerator / denominator


# ----------------------------------------------------------------------
# Measured KPIs (from counts and durations of real contacts)
# ----------------------------------------------------------------------
def service_level(
    answered_within, offered, short_abandoned=0, abandoned_within=0, method=SL_OFFERED
):
    """Share of contacts answered within the threshold.

    - ``offered``: answered within / offered contacts.
    - ``exclude_short_abandons``: short abandons (the caller hung up within
      a few seconds) leave the denominator.
    - ``abandons_within_neutral``: contacts abandoned before the threshold
      count as neither met nor missed: they leave the denominator.
    """
    if method == SL_OFFERED:
        denominator = offered
    elif method == SL_EXCLUDE_SHORT_ABANDONS:
        denominator = offered - short_abandoned
    elif method == SL_ABANDONS_WITHIN_NEUTRAL:
        denominator = offered - abandoned_within
    else:
        raise ValueError(f"Unknown service level method {method!r}: use one of {SL_METHODS}")
    return ratio(answered_within, denominator)


def average_speed_of_answer(total_wait_answered, answered):
    """ASA: mean wait of the answered contacts (abandoned ones do not count)."""
    return ratio(total_wait_answered, answered)


def average_handle_time(total_talk, total_wrap, handled):
    """AHT: (talk + wrap-up) per handled contact."""
    return ratio(total_talk + total_wrap, handled)


def abandonment_rate(abandoned, offered, short_abandoned=0, exclude_short=False):
    """Abandoned / offered; with ``exclude_short`` short abandons leave both sides."""
    if exclude_short:
        return ratio(abandoned - short_abandoned, offered - short_abandoned)
    return ratio(abandoned, offered)


def occupancy(handle_seconds, available_seconds):
    """Share of staffed time spent on contacts: handle / (handle + available idle)."""
    return ratio(handle_seconds, handle_seconds + available_seconds)


@dataclass(frozen=True)
class Contact:
    """One offered contact as the KPIs see it."""

    wait: float = 0.0  # seconds until answered, or until the caller left
    answered: bool = False
    abandoned: bool = False
    talk: float = 0.0
    wrap: float = 0.0


@dataclass(frozen=True)
class Summary:
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_within: int
    abandoned_within: int
    service_level: float
    service_level_no_short: float
    service_level_neutral: float
    asa: float
    aht: float
    abandonment_rate: float
    abandonment_rate_no_short: float


def summarize(contacts, threshold_seconds, short_abandon_seconds=SHORT_ABANDON_SECONDS):
    """Every measured KPI of a list of :class:`Contact` at once."""
    offered = answered = abandoned = short = within = abandoned_within = 0
    wait_answered = talk = wrap = 0.0
    for contact in contacts:
        offered += 1
        if contact.answered:
            answered += 1
            wait_answered += contact.wait
            talk += contact.talk
            wrap += contact.wrap
            within += contact.wait <= threshold_seconds
        elif contact.abandoned:
            abandoned += 1
            short += contact.wait < short_abandon_seconds
            abandoned_within += contact.wait <= threshold_seconds
    return Summary(
        offered=offered,
        answered=answered,
        abandoned=abandoned,
        short_abandoned=short,
        answered_within=within,
        abandoned_within=abandoned_within,
        service_level=service_level(within, offered),
        service_level_no_short=service_level(
            within, offered, short_abandoned=short, method=SL_EXCLUDE_SHORT_ABANDONS
        ),
        service_level_neutral=service_level(
            within, offered, abandoned_within=abandoned_within, method=SL_ABANDONS_WITHIN_NEUTRAL
        ),
        asa=average_speed_of_answer(wait_answered, answered),
        aht=average_handle_time(talk, wrap, answered),
        abandonment_rate=abandonment_rate(abandoned, offered),
        abandonment_rate_no_short=abandonment_rate(
            abandoned, offered, short_abandoned=short, exclude_short=True
        ),
    )


# ----------------------------------------------------------------------
# Erlang C: forecasts and staffing
# ----------------------------------------------------------------------
def traffic_intensity(calls, interval_seconds, aht_seconds):
    """Offered load in Erlangs: calls * AHT / interval (both in seconds)."""
    if calls <= 0 or aht_seconds <= 0 or interval_seconds <= 0:
        return 0.0
    return calls * aht_seconds / interval_seconds


def erlang_b(agents, traffic):
    """Blocking probability of ``agents`` servers under ``traffic`` Erlangs."""
    if traffic <= 0:
        return 0.0
    blocking = 1.0
    for n in range(1, int(agents) + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return blocking


def _erlang_c_from_b(agents, traffic, blocking):
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def erlang_c(agents, traffic):
    """Probability that a contact waits (is not answered at once).

    1.0 when the agents cannot keep up (traffic >= agents): the queue grows
    without end.
    """
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    return _erlang_c_from_b(agents, traffic, erlang_b(agents, traffic))


def _service_level_from_c(agents, traffic, aht_seconds, target_seconds, wait_probability):
    if aht_seconds <= 0:
        return 1.0 - wait_probability if target_seconds <= 0 else 1.0
    return 1.0 - wait_probability * math.exp(
        -(agents - traffic) * max(target_seconds, 0) / aht_seconds
    )


def erlang_service_level(agents, traffic, aht_seconds, target_seconds):
    """Forecast share answered within ``target_seconds`` with ``agents`` agents."""
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    return _service_level_from_c(
        agents, traffic, aht_seconds, target_seconds, erlang_c(agents, traffic)
    )


def erlang_asa(agents, traffic, aht_seconds):
    """Forecast average speed of answer (seconds); infinite when agents <= traffic."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(agents, traffic) * aht_seconds / (agents - traffic)


def agents_needed(
    calls_per_interval,
    interval_seconds,
    aht_seconds,
    target_sl,
    target_seconds,
    max_occupancy=None,
):
    """Fewest agents meeting ``target_sl`` (fraction, e.g. 0.8) within
    ``target_seconds``, and an occupancy of at most ``max_occupancy`` (fraction)
    when given. 0 when there is no work."""
    if not 0 <= target_sl <= 1:
        raise ValueError(f"target_sl is a fraction between 0 and 1, not {target_sl!r}")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError(f"max_occupancy is a fraction in (0, 1], not {max_occupancy!r}")
    traffic = traffic_intensity(calls_per_interval, interval_seconds, aht_seconds)
    if traffic <= 0:
        return 0
    agents = math.floor(traffic) + 1  # the first count that keeps the queue finite
    if max_occupancy is not None:
        agents = max(agents, math.ceil(traffic / max_occupancy - 1e-9))
        if agents <= traffic:
            agents += 1
    # walk up the Erlang B recursion once instead of restarting it for every count
    blocking = erlang_b(agents, traffic)
    while agents <= MAX_AGENTS:
        wait_probability = _erlang_c_from_b(agents, traffic, blocking)
        sl = _service_level_from_c(agents, traffic, aht_seconds, target_seconds, wait_probability)
        if sl >= target_sl:
            return agents
        agents += 1
        blocking = traffic * blocking / (agents + traffic * blocking)
    raise ValueError(f"No staffing up to {MAX_AGENTS} agents meets a service level of {target_sl}")


def agents_with_shrinkage(agents, shrinkage):
    """Agents to schedule so that ``agents`` are on the phones despite
    ``shrinkage`` (fraction of paid time off the phones: breaks, training...)."""
    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage is a fraction in [0, 1), not {shrinkage!r}")
    return math.ceil(agents / (1 - shrinkage) - 1e-9)


@dataclass(frozen=True)
class Staffing:
    traffic: float
    agents: int
    wait_probability: float
    service_level: float
    asa: float
    occupancy: float


def staffing(
    calls_per_interval,
    interval_seconds,
    aht_seconds,
    target_sl,
    target_seconds,
    max_occupancy=None,
):
    """agents_needed() with the forecast it gives (all finite numbers)."""
    traffic = traffic_intensity(calls_per_interval, interval_seconds, aht_seconds)
    agents = agents_needed(
        calls_per_interval, interval_seconds, aht_seconds, target_sl, target_seconds, max_occupancy
    )
    if not agents:
        return Staffing(traffic, 0, 0.0, 1.0, 0.0, 0.0)
    return Staffing(
        traffic=traffic,
        agents=agents,
        wait_probability=erlang_c(agents, traffic),
        service_level=erlang_service_level(agents, traffic, aht_seconds, target_seconds),
        asa=erlang_asa(agents, traffic, aht_seconds),
        occupancy=traffic / agents,
    )
