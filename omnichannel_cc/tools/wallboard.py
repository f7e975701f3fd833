"""Wallboard figures from plain counts: service level, ASA, AHT, abandonment, colours.

Definitions (one cohort: contacts that entered the queue today):
- service level = answered within the threshold / (answered + abandoned);
- ASA (average speed of answer) = mean wait of the answered ones;
- abandonment rate = abandoned / (answered + abandoned);
- AHT (average handle time) = mean of answer -> close (talk + wrap-up) over
  the contacts closed today.
"""

from datetime import datetime, time

import pytz

GOOD = "good"
WARN = "warn"
BAD = "bad"
NONE = "none"

# Amber when the service level is below target by at most this many points.
SL_WARN_POINTS = 10.0
# Amber when the longest wait passed this share of the service-level threshold.
WAIT_WARN_SHARE = 0.75


def day_start_utc(now_utc, tz_name):
    """Naive UTC datetime of today's midnight in ``tz_name`` (UTC when unknown)."""
    try:
        tz = pytz.timezone(tz_name or "UTC")
    except pytz.UnknownTimeZoneError:
        tz = pytz.utc
    local = pytz.utc.localize(now_utc).astimezone(tz)
    midnight = tz.localize(datetime.combine(local.date(), time.min))
    return midnight.astimezone(pytz.utc).replace(tzinfo=None)


def service_level_status(service_level, target, known=True):
    if not known:
        return NONE
    if service_level >= target:
        return GOOD
    if service_level >= target - SL_WARN_POINTS:
        return WARN
    return BAD


def wait_status(longest_wait, threshold):
    if longest_wait <= 0:
        return NONE
    if threshold <= 0 or longest_wait >= threshold:
        return BAD
    if longest_wait >= threshold * WAIT_WARN_SHARE:
        return WARN
    return GOOD


def queue_kpis(
    *,
    answered,
    answered_in_sl,
    abandoned,
    wait_sum,
    handled_timed,
    handle_sum,
    target,
    longest_wait,
    threshold,
):
    """Percentages and averages of one queue; never None (0 when nothing to average)."""
    resolved = answered + abandoned
    known = resolved > 0
    service_level = round(100.0 * answered_in_sl / resolved, 1) if known else 0.0
    return {
        "service_level": service_level,
        "service_level_known": known,
        "abandon_rate": round(100.0 * abandoned / resolved, 1) if known else 0.0,
        "asa": round(wait_sum / answered) if answered else 0,
        "aht": round(handle_sum / handled_timed) if handled_timed else 0,
        "sl_status": service_level_status(service_level, target, known),
        "wait_status": wait_status(longest_wait, threshold),
    }
