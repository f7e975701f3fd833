"""Outbound campaigns: who may be called, when, and what follows an attempt.

Plain data in, decisions out: the models gather partners, numbers, lists and
calendars with a few queries and ask here. No ORM, no database.

- ``build_contacts``: the targets of a campaign (source records resolved to
  customers) become one contact per customer and number, each either callable
  or excluded with its reason.
- ``dial_gate``: the compliance gates checked again just before each dial.
- ``contact_timezone`` / ``in_window`` / ``next_allowed``: calling hours in the
  contact's own time zone (DST through ``zoneinfo``).
- ``after_attempt``: the next step after an attempt's outcome (retry delay,
  maximum attempts, the 72 h lockout after an abandoned call).
"""

from collections import Counter, namedtuple
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import address

try:
    import pytz
except ImportError:  # pragma: no cover - a dependency of Odoo itself
    pytz = None

# Why a contact is not called. Order: the first that applies is the reason.
EXCLUSION_REASONS = [
    ("no_phone", "No phone number"),
    ("invalid_number", "Invalid number"),
    ("duplicate", "Duplicate number"),
    ("blacklisted", "Blacklisted"),
    ("do_not_call", "On the campaign's do-not-call list"),
    ("no_consent", "No marketing consent"),
    ("wrong_number", "Wrong number"),
    ("no_longer_matches", "No longer matches the campaign"),
    ("max_attempts", "Maximum attempts reached"),
    ("skipped", "Skipped by the agent"),
]
# Outcomes of one attempt, as the disposition's outcome or the PBX reports them.
RETRY_OUTCOMES = ("no_answer", "busy", "machine", "no_contact")
DEFAULT_RETRY_MINUTES = {
    "no_answer": 120,
    "no_contact": 120,
    "busy": 15,
    "machine": 240,
    "callback": 60,
    "abandoned": 60,
}
ABANDON_LOCKOUT = timedelta(hours=72)
DEFAULT_WINDOW = (8.0, 21.0)
# how far ahead next_allowed looks for an open day (holidays, weekends)
SEARCH_DAYS = 31

Target = namedtuple(
    "Target",
    "res_model res_id partner_id person_id phone mobile region consent",
    defaults=(None, None, None, False),
)
Contact = namedtuple(
    "Contact", "partner_id person_id phone res_model res_id excluded_reason raw_phone"
)
Decision = namedtuple("Decision", "state next_attempt reason action")


# ----------------------------------------------------------------------
# List building
# ----------------------------------------------------------------------
def target_number(target):
    """(E.164 number or None, raw number or None) of a target: the mobile
    first (a person answers it), else the landline."""
    for raw in (target.mobile, target.phone):
        if raw and raw.strip():
            number = address.normalize_phone_or_none(raw, target.region)
            if number:
                return number, raw
    raw = (target.mobile or "").strip() or (target.phone or "").strip() or None
    return None, raw


def exclusion_reason(number, raw, *, blacklist=(), do_not_call=(), marketing=False, consent=True):
    """The reason a number may not be called, or None.

    ``blacklist``: E.164 numbers of Odoo's phone.blacklist; ``do_not_call``:
    the campaign's own list; ``marketing`` campaigns need the person's prior
    consent (Polish Electronic Communications Law, art. 398)."""
    if not number:
        return "invalid_number" if raw else "no_phone"
    if number in blacklist:
        return "blacklisted"
    if number in do_not_call:
        return "do_not_call"
    if marketing and not consent:
        return "no_consent"
    return None


def build_contacts(targets, *, blacklist=(), do_not_call=(), marketing=False, known=()):
    """One contact per customer and number from ``targets`` (in their order:
    the first source record of a customer is the contact's source).

    A number already taken by another customer of the list is a
    ``duplicate`` (one call per number); a customer without a usable number
    gets one excluded contact. ``known``: (partner_id, phone or None) keys
    already in the campaign; they are not returned again.
    """
    blacklist, do_not_call = set(blacklist), set(do_not_call)
    seen = set(known)
    owner = {phone: partner for partner, phone in known if phone}
    contacts = []
    for target in targets:
        number, raw = target_number(target)
        key = (target.partner_id, number)
        if key in seen:
            continue
        seen.add(key)
        if number and owner.setdefault(number, target.partner_id) != target.partner_id:
            reason = "duplicate"
        else:
            reason = exclusion_reason(
                number,
                raw,
                blacklist=blacklist,
                do_not_call=do_not_call,
                marketing=marketing,
                consent=target.consent,
            )
        contacts.append(
            Contact(
                target.partner_id,
                target.person_id or target.partner_id,
                number,
                target.res_model,
                target.res_id,
                reason,
                raw,
            )
        )
    return contacts


def summary(total, reasons):
    """Counts for the campaign form: ``{"targets", "excluded", "callable",
    "reasons": [(reason, count), ...]}`` with the biggest reasons first."""
    counts = Counter(reason for reason in reasons if reason)
    excluded = sum(counts.values())
    return {
        "targets": total,
        "excluded": excluded,
        "callable": total - excluded,
        "reasons": sorted(counts.items(), key=lambda item: (-item[1], item[0])),
    }


# ----------------------------------------------------------------------
# Calling hours
# ----------------------------------------------------------------------
def _zone(name):
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def contact_timezone(partner_tz=None, country_code=None, company_tz=None):
    """The contact's time zone name: the partner's, else the main zone of
    their country (pytz's first for it), else the company's, else UTC."""
    if _zone(partner_tz):
        return partner_tz
    if country_code and pytz is not None:
        zones = pytz.country_timezones.get(country_code.upper())
        if zones and _zone(zones[0]):
            return zones[0]
    if _zone(company_tz):
        return company_tz
    return "UTC"


def _hour_time(hours):
    """8.5 -> 08:30; 24 -> the end of the day."""
    if hours >= 24:
        return time.max
    minutes = round(hours * 60)
    return time(minutes // 60, minutes % 60)


def _as_utc(moment):
    """A naive UTC datetime (Odoo's) or an aware one, as aware UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day_open(day, weekdays, holidays):
    return (weekdays is None or day.weekday() in weekdays) and day not in holidays


def in_window(moment, tzname, start=DEFAULT_WINDOW[0], end=DEFAULT_WINDOW[1], **days):
    """Whether ``moment`` (UTC, naive or aware) falls inside the calling
    hours [start, end) of the contact's local day. ``weekdays``: allowed
    days (0 = Monday; None: all); ``holidays``: local dates not to call."""
    weekdays, holidays = days.get("weekdays"), set(days.get("holidays") or ())
    local = _as_utc(moment).astimezone(_zone(tzname) or UTC)
    if not _day_open(local.date(), weekdays, holidays):
        return False
    return _hour_time(start) <= local.time().replace(tzinfo=None) < _hour_time(end)


def next_allowed(moment, tzname, start=DEFAULT_WINDOW[0], end=DEFAULT_WINDOW[1], **days):
    """The first moment at or after ``moment`` inside the calling hours, as
    a naive UTC datetime; None when no day in the next month is open.

    Local wall-clock hours are kept across DST changes: 08:00 in Warsaw is
    07:00 UTC in winter and 06:00 UTC in summer."""
    weekdays, holidays = days.get("weekdays"), set(days.get("holidays") or ())
    zone = _zone(tzname) or UTC
    now = _as_utc(moment)
    if in_window(now, tzname, start, end, weekdays=weekdays, holidays=holidays):
        return now.replace(tzinfo=None)
    local_day = now.astimezone(zone).date()
    for offset in range(SEARCH_DAYS + 1):
        day = local_day + timedelta(days=offset)
        if not _day_open(day, weekdays, holidays):
            continue
        opening = datetime.combine(day, _hour_time(start), tzinfo=zone).astimezone(UTC)
        if opening >= now:
            return opening.replace(tzinfo=None)
    return None


# ----------------------------------------------------------------------
# Gates before a dial, and the step after an attempt
# ----------------------------------------------------------------------
def lockout_until(date_abandoned):
    """No redial within 72 hours of an abandoned call (an answered call no
    agent took): the moment calling is allowed again, or None."""
    return date_abandoned + ABANDON_LOCKOUT if date_abandoned else None


def dial_gate(now, *, matches=True, reason=None, attempts=0, max_attempts=1, lockout=None):
    """What to do with a claimed contact right before the dial:
    ``("dial", None)``, ``("exclude", reason)``, ``("fail", reason)`` or
    ``("wait", until)``. ``reason``: an exclusion reason found now (blacklist,
    do-not-call, consent); the calling window is checked by the caller with
    ``next_allowed`` (it needs the contact's zone and calendar)."""
    if not matches:
        return "exclude", "no_longer_matches"
    if reason:
        return "exclude", reason
    if attempts >= max_attempts:
        return "fail", "max_attempts"
    if lockout and lockout > now:
        return "wait", lockout
    return "dial", None


def retry_minutes(outcome, delays=None):
    """Minutes to wait before the next attempt after ``outcome``."""
    merged = dict(DEFAULT_RETRY_MINUTES, **(delays or {}))
    return max(int(merged.get(outcome, merged["no_answer"]) or 0), 0)


def after_attempt(outcome, attempts, max_attempts, now, delays=None, abandoned_at=None):
    """The contact's next step after an attempt ended with ``outcome``.

    ``outcome``: a disposition outcome (``promise_to_pay``, ``callback``,
    ``wrong_number``, ``do_not_call``, ``no_answer``, ``busy``, ``machine``,
    ``resolved``, ...) or ``abandoned`` (answered, nobody free). Returns a
    ``Decision(state, next_attempt, reason, action)``: state ``pending``
    (retry at next_attempt), ``done``, ``excluded`` or ``failed``.
    """
    if outcome == "wrong_number":
        return Decision("failed", None, "wrong_number", "flag_number")
    if outcome == "do_not_call":
        return Decision("excluded", None, "do_not_call", "blacklist")
    if outcome == "callback":
        return Decision("done", None, None, "callback")
    if outcome == "promise_to_pay":
        return Decision("done", None, None, "promise_to_pay")
    if outcome in RETRY_OUTCOMES or outcome == "abandoned":
        if attempts >= max_attempts:
            return Decision("failed", None, "max_attempts", "none")
        retry = now + timedelta(minutes=retry_minutes(outcome, delays))
        locked = lockout_until(abandoned_at if outcome != "abandoned" else abandoned_at or now)
        if locked and locked > retry:
            retry = locked
        return Decision("pending", retry, None, "retry")
    return Decision("done", None, None, "none")


def holidays_between(leaves, first, last):
    """Local dates fully or partly covered by ``leaves`` ((start, end) local
    datetimes of a calendar's public holidays) from ``first`` to ``last``."""
    found = set()
    for start, end in leaves:
        day = max(start.date(), first)
        while day <= min(end.date(), last):
            found.add(day)
            day += timedelta(days=1)
    return found
