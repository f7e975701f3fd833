"""The PBX-neutral CTI contract: checking the JSON bodies a PBX posts.

Pure Python, no ORM. :func:`parse_event` and :func:`parse_route` turn the
decoded JSON object of a request into a plain dict or raise
:class:`CtiError` (a ``WebhookError``: the HTTP status and a message meant
for the PBX administrator). Size, signature, JSON and clock are checked
before, by the webhook preamble every signed endpoint shares
(``omnichannel_cc/controllers/webhook.py``); the JSON it decodes has finite
numbers only and a bounded depth.
"""

import re

from odoo.addons.omnichannel_cc.tools.webhook import WebhookError, has_control_chars

EVENTS = (
    "ringing",
    "answered",
    "held",
    "resumed",
    "transferred",
    "hangup",
    "failed",
    "voicemail",
    "recording",
    # the customer's keypad answer to the satisfaction survey played after the
    # call: applied by a survey addon (omnichannel_cc_survey_voip), else 400
    "survey_answer",
)
# events whose 'agent' names the phone ringing or talking: an extension no
# user has is refused (400) rather than applied to nobody
AGENT_EVENTS = ("ringing", "answered", "transferred")
# answering-machine detection on an 'answered' event of a campaign call
AMD_VALUES = ("human", "machine", "notsure")
MAX_BODY = 64 * 1024
MAX_TEXT = 255
EXTENSION_RE = re.compile(r"^\d{1,10}$")
# numbers and SIP user parts: digits, +, *, # and common separators
ADDRESS_RE = re.compile(r"^[0-9A-Za-z+*#()./ _@:;=-]{1,128}$")
URL_RE = re.compile(r"^https?://[^\s]{1,2000}$")
# keypad digits of a 'survey_answer' (ASCII only: \d would take other scripts)
DIGITS_RE = re.compile(r"^[0-9]{1,4}$")
# events about a call already known: no from / to needed, an unknown call is refused
KNOWN_CALL_EVENTS = ("survey_answer",)


class CtiError(WebhookError):
    """A request the PBX must not repeat as is: ``status`` is the HTTP answer."""


def _object(payload):
    if not isinstance(payload, dict):
        raise CtiError(400, "The body must be a JSON object.")
    return payload


def _text(payload, key, required=True, pattern=None):
    value = payload.get(key)
    if value is None or value == "":
        if required:
            raise CtiError(400, f"'{key}' is required.")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise CtiError(400, f"'{key}' must be a string.")
    value = value.strip()
    if not value or len(value) > MAX_TEXT and key != "recording_url":
        raise CtiError(400, f"'{key}' must hold 1 to {MAX_TEXT} characters.")
    if has_control_chars(value):
        # a NUL is refused by PostgreSQL, a newline breaks the chatter and the logs
        raise CtiError(400, f"'{key}' must not hold control characters (NUL, newline ...).")
    if pattern is not None and not pattern.match(value):
        raise CtiError(400, f"'{key}' has an invalid value: {value[:40]!r}.")
    return value


def _timestamp(payload):
    value = payload.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CtiError(400, "'timestamp' (Unix seconds, a number) is required.")
    if not 0 < value < 2**32:
        raise CtiError(400, "'timestamp' is out of range.")
    return int(value)


def sip_user(address):
    """The user part of a SIP URI (``sip:+4822...@host`` → ``+4822...``), else as given."""
    address = address.strip().strip("<>")
    for prefix in ("sips:", "sip:", "tel:"):
        if address.lower().startswith(prefix):
            address = address[len(prefix) :]
            break
    return address.split("@", 1)[0].split(";", 1)[0]


def parse_route(payload):
    """Checked ``{call_id, from, to, timestamp}`` of a route request."""
    payload = _object(payload)
    return {
        "call_id": _text(payload, "call_id"),
        "from": sip_user(_text(payload, "from", pattern=ADDRESS_RE)),
        "to": sip_user(_text(payload, "to", pattern=ADDRESS_RE)),
        "timestamp": _timestamp(payload),
    }


def parse_event(payload):
    """Checked event dict; unknown events and malformed fields are refused."""
    payload = _object(payload)
    event = payload.get("event")
    if event not in EVENTS:
        raise CtiError(400, f"'event' must be one of {', '.join(EVENTS)}; got {event!r}.")
    # a known call's event may leave out the numbers: the call_id finds it
    addresses = event not in KNOWN_CALL_EVENTS
    caller = _text(payload, "from", required=addresses, pattern=ADDRESS_RE)
    callee = _text(payload, "to", required=addresses, pattern=ADDRESS_RE)
    values = {
        "event": event,
        "call_id": _text(payload, "call_id"),
        "from": caller and sip_user(caller),
        "to": callee and sip_user(callee),
        "timestamp": _timestamp(payload),
        "agent": _text(payload, "agent", required=False, pattern=EXTENSION_RE),
        "recording_url": _text(payload, "recording_url", required=False, pattern=URL_RE),
        "reason": _text(payload, "reason", required=False),
    }
    amd = _text(payload, "amd", required=False)
    if amd is not None:
        # campaign calls: answering-machine detection of an 'answered' event
        if event != "answered" or amd.lower() not in AMD_VALUES:
            raise CtiError(400, f"'amd' goes on 'answered' only, one of {', '.join(AMD_VALUES)}.")
        values["amd"] = amd.lower()
    digits = _text(payload, "digits", required=event == "survey_answer", pattern=DIGITS_RE)
    if digits is not None:
        if event != "survey_answer":
            raise CtiError(400, "'digits' goes on 'survey_answer' only.")
        values["digits"] = digits
    if event in ("recording", "voicemail") and not values["recording_url"]:
        raise CtiError(400, f"A '{event}' event needs 'recording_url'.")
    if event == "transferred" and not values["agent"]:
        raise CtiError(400, "A 'transferred' event needs 'agent', the extension it went to.")
    return values


def event_key(values):
    """Idempotency key: the same event of the same call at the same PBX time."""
    return "|".join(
        str(values.get(key) or "") for key in ("call_id", "event", "timestamp", "agent")
    )
