"""The wallboard's intraday charts from plain rows: intervals, series, samples.

Three pictures of the day, each per interval of ``INTERVAL_MINUTES`` in local
time (a queue's business hours time zone, else its company's, as the
interaction analysis):

- contacts: inbound contacts that reached the queues (short abandons left
  out), today, yesterday and the forecast: the average of the same weekday of
  the last weeks;
- service level: the interaction analysis' ``service_level`` per interval
  (answered within the threshold / contacts with an outcome; short abandons,
  waiting and closed-hours contacts left out);
- agents by state: how many agents were in each state at the start of every
  interval, from their state history (an open period lasts until now).

Rows in, lists out: no ORM, no None (the result travels over XML-RPC).
"""

from datetime import datetime, time, timedelta

import pytz

INTERVAL_MINUTES = 15
DEFAULT_FORECAST_WEEKS = 4
MAX_FORECAST_WEEKS = 52
# the stacking order of the agents chart; "offline" also holds the agents
# no period covers (absent: not logged in yet today)
AGENT_STATES = ("available", "busy", "wrapup", "break", "offline")
OFFLINE = "offline"


def timezone(tz_name):
    try:
        return pytz.timezone(tz_name or "UTC")
    except pytz.UnknownTimeZoneError:
        return pytz.utc


def intervals(minutes=INTERVAL_MINUTES):
    return 1440 // minutes


def interval_labels(minutes=INTERVAL_MINUTES):
    """["00:00", "00:15", ...]: the start of every interval of a day."""
    return [f"{m // 60:02d}:{m % 60:02d}" for m in range(0, 1440, minutes)]


def local_now(now_utc, tz_name):
    """Naive local datetime of the naive UTC ``now_utc``."""
    return pytz.utc.localize(now_utc).astimezone(timezone(tz_name)).replace(tzinfo=None)


def interval_index(local_dt, minutes=INTERVAL_MINUTES):
    return (local_dt.hour * 60 + local_dt.minute) // minutes


def to_utc(local_dt, tz_name):
    """Naive UTC of a naive local datetime (a time skipped or repeated by a
    daylight saving change counts as standard time)."""
    aware = timezone(tz_name).localize(local_dt, is_dst=False)
    return aware.astimezone(pytz.utc).replace(tzinfo=None)


def forecast_weeks(value, default=DEFAULT_FORECAST_WEEKS):
    """The system parameter as a number of weeks, 1 to MAX_FORECAST_WEEKS."""
    try:
        weeks = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return min(max(weeks, 1), MAX_FORECAST_WEEKS)


def day_offsets(weeks):
    """Days before today that the contacts chart reads: today, yesterday and
    the same weekday of the last ``weeks`` weeks."""
    return sorted({0, 1, *(7 * k for k in range(1, weeks + 1))})


def day_windows(now_utc, tz_names, weeks):
    """[(start, end)] naive UTC: the local days of ``day_offsets`` in every
    time zone of ``tz_names``, overlapping windows merged."""
    windows = []
    for tz_name in set(tz_names):
        today = local_now(now_utc, tz_name).date()
        for offset in day_offsets(weeks):
            day = today - timedelta(days=offset)
            windows.append(
                (
                    to_utc(datetime.combine(day, time.min), tz_name),
                    to_utc(datetime.combine(day + timedelta(days=1), time.min), tz_name),
                )
            )
    merged = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def contact_series(rows, today_by_queue, weeks, minutes=INTERVAL_MINUTES):
    """Per-interval series from rows grouped by queue, local day and interval.

    ``rows``: (queue id, local date, interval index, contacts, contacts that
    count for the service level, of which answered within the threshold).
    ``today_by_queue``: {queue id: the queue's local date today}.

    Returns {"today", "yesterday", "forecast", "sl_counted", "sl_within"}
    (lists of one number per interval; the service level of today) and
    "sl_counted_by_queue" ({queue id: today's contacts counting for it}).
    """
    size = intervals(minutes)
    today = [0] * size
    yesterday = [0] * size
    history = [0] * size
    sl_counted = [0] * size
    sl_within = [0] * size
    counted_by_queue = {}
    forecast_days = {7 * k for k in range(1, weeks + 1)}
    for queue_id, day, index, count, counted, within in rows:
        queue_today = today_by_queue.get(queue_id)
        if queue_today is None or not 0 <= index < size:
            continue
        offset = (queue_today - day).days
        if offset == 0:
            today[index] += count
            sl_counted[index] += counted
            sl_within[index] += within
            counted_by_queue[queue_id] = counted_by_queue.get(queue_id, 0) + counted
        elif offset == 1:
            yesterday[index] += count
        if offset in forecast_days:
            history[index] += count
    return {
        "today": today,
        "yesterday": yesterday,
        "forecast": [round(total / weeks, 2) for total in history],
        "sl_counted": sl_counted,
        "sl_within": sl_within,
        "sl_counted_by_queue": counted_by_queue,
    }


def service_level_series(counted, within):
    """([percent per interval], [known per interval]): 0.0 where no contact counts."""
    values = [round(100.0 * w / c, 1) if c else 0.0 for c, w in zip(counted, within, strict=True)]
    return values, [bool(c) for c in counted]


def blended_target(targets, counted):
    """The service-level target of several queues together: each queue's
    target weighted by its contacts that count today (the overall figure if
    every queue just met its own), their plain mean before any contact."""
    if not targets:
        return 0.0
    total = sum(counted.get(queue_id, 0) for queue_id in targets)
    if not total:
        return round(sum(targets.values()) / len(targets), 1)
    weighted = sum(target * counted.get(queue_id, 0) for queue_id, target in targets.items())
    return round(weighted / total, 1)


def sample_times(now_utc, tz_name, minutes=INTERVAL_MINUTES):
    """Naive UTC starts of today's local intervals, up to now."""
    now = local_now(now_utc, tz_name)
    midnight = datetime.combine(now.date(), time.min)
    samples = [
        to_utc(midnight + timedelta(minutes=minutes * index), tz_name)
        for index in range(interval_index(now, minutes) + 1)
    ]
    # the local times a daylight saving change skips: the moment of the change
    # (the first time after the gap), so that the samples never go back
    for index in range(len(samples) - 2, -1, -1):
        samples[index] = min(samples[index], samples[index + 1])
    return samples


def agents_by_state(agents, periods, samples, now_utc):
    """{state: [agents in that state at each sample]} over ``AGENT_STATES``.

    ``agents``: (agent id, current state, state since) of the agents shown.
    ``periods``: (agent id, state, start, end or None) of their history; a
    period without end lasts until ``now_utc``. An agent whose current state
    no open period records (set before the history began) is in it since
    ``state since``, as the agent time analysis counts it. An agent no period
    covers at a sample counts offline (absent).
    """
    by_agent = {agent_id: [] for agent_id, _state, _since in agents}
    has_open = set()
    for agent_id, state, start, end in periods:
        if agent_id not in by_agent:
            continue
        if end is None:
            has_open.add(agent_id)
        by_agent[agent_id].append((start, end or now_utc, state))
    for agent_id, state, since in agents:
        if agent_id not in has_open and since:
            by_agent[agent_id].append((since, now_utc, state))
    series = {state: [0] * len(samples) for state in AGENT_STATES}
    for spans in by_agent.values():
        spans.sort()
        for position, moment in enumerate(samples):
            # the latest period begun by then, if it has not ended
            state = OFFLINE
            for start, end, span_state in spans:
                if start > moment:
                    break
                if moment < end or (moment == end == now_utc):
                    state = span_state
            series[state if state in series else OFFLINE][position] += 1
    return series
