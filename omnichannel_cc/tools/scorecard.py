"""The agent scorecard's figures: break adherence and the ratios, without Odoo.

The SQL view ``omnichannel.agent.scorecard`` computes the same numbers per
row and per group; these functions are the reference the tests hold it to,
and what code outside the view (an agent's summary) should call.

Break limits are set per break reason:

- ``max_minutes``: break time allowed per agent and day (0: no daily limit);
- ``max_duration``: minutes allowed per break (0: no limit per break).

For one agent, day and limited reason, the time *allowed* is the daily
limit, else (per-break limit only) the number of breaks times the per-break
limit. The *overrun* is the larger of the time taken beyond the daily limit
and the sum of each break's time beyond the per-break limit (the larger, not
the sum: one long break over both limits is one fault, not two). A break is
judged per day: one that runs over midnight counts as two.

Adherence of any group of days and reasons is ``100 × (1 − overrun /
allowed)`` from the sums, never below 0; nothing allowed (no limited reason)
gives no figure.
"""

from collections import namedtuple

from . import kpi

BreakFigures = namedtuple("BreakFigures", "taken allowed overrun")


def break_figures(durations, max_minutes=0, max_duration=0):
    """Seconds taken, allowed and overrun of one agent's breaks with one
    reason on one day, as ``BreakFigures``; ``durations`` in seconds.

    A reason without any limit allows nothing and overruns nothing (it is
    left out of adherence).
    """
    durations = [max(int(seconds), 0) for seconds in durations]
    taken = sum(durations)
    daily_limit = max(int(max_minutes or 0), 0) * 60
    break_limit = max(int(max_duration or 0), 0) * 60
    if daily_limit:
        allowed = daily_limit
    elif break_limit:
        allowed = break_limit * len(durations)
    else:
        return BreakFigures(taken, 0, 0)
    over_day = max(taken - daily_limit, 0) if daily_limit else 0
    over_breaks = sum(max(seconds - break_limit, 0) for seconds in durations) if break_limit else 0
    return BreakFigures(taken, allowed, max(over_day, over_breaks))


def adherence(overrun, allowed):
    """Break adherence in percent: 100 × (1 − overrun / allowed), at least 0;
    None when nothing was allowed."""
    if not allowed or allowed <= 0:
        return None
    return max(0.0, 100.0 * (1.0 - overrun / allowed))


def occupancy(productive, available):
    """Occupancy in percent: productive / (productive + available) time;
    None when the agent was neither (offline or on breaks only)."""
    if productive + available <= 0:
        return None
    return 100.0 * kpi.occupancy(productive, available)
