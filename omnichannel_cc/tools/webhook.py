"""The checks every signed public webhook makes before anything is written.

Pure Python, no ORM. A refused request raises :class:`WebhookError`, which
carries the HTTP status and a message for the sender's administrator; the
controller side (token lookup, signature, superuser environment, JSON
answers) is ``omnichannel_cc/controllers/webhook.py``. Used by the PBX
webhooks (``omnichannel_cc_voip``), the social messengers'
(``omnichannel_cc_social``) and any provider posting to Odoo.

The order of the checks is part of the contract: size (413), token (404),
signature (401, or 403 from a provider's own check: secret, address),
content type (415), JSON or form (400), the provider's own fields (400),
clock (401).

Most providers post JSON (:func:`load_json`); SMS gateways post forms or
call with a query string (:func:`load_form`).
"""

import json
import math
import re
from typing import NamedTuple
from urllib.parse import parse_qsl

from .signature import DEFAULT_TOLERANCE

MAX_TOKEN = 128
# more fields than any provider's form (Twilio: about 30, with 10 media)
MAX_FORM_FIELDS = 200
FORM_MIMETYPES = ("application/x-www-form-urlencoded",)
# deeper than any provider's body; json.loads recurses once per level
MAX_DEPTH = 64
# a JSON string (escapes included) and the brackets outside strings
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InboxEntry(NamedTuple):
    """How a fire-and-forget delivery is stored in the event inbox:
    ``scope`` and ``key`` (its idempotency key: a redelivery inserts
    nothing), ``conversation`` (call id, message id: rows of one
    conversation are applied in order of receipt; None: no order) and
    ``payload``, the JSON the applying method receives (None: the parsed
    values themselves)."""

    scope: str
    key: str
    conversation: str | None = None
    payload: object = None


class WebhookError(Exception):
    """A request the sender must not repeat as is: ``status`` is the HTTP answer."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def check_size(length, limit):
    """Refuse (413) a body of ``length`` bytes, announced or read, over ``limit``."""
    if length and length > limit:
        raise WebhookError(413, f"The body is larger than {limit} bytes.")


def check_token(token, message="Unknown webhook token."):
    """Refuse (404) a URL token no channel can have, before it is looked up:
    empty, too long, or holding control characters (PostgreSQL refuses NUL)
    or anything but printable ASCII."""
    if (
        not isinstance(token, str)
        or not token
        or len(token) > MAX_TOKEN
        or not token.isascii()
        or not token.isprintable()
    ):
        raise WebhookError(404, message)


def check_content_type(mimetype):
    """Refuse (415) a body declared as anything but JSON (a form, text):
    ``mimetype`` without parameters, empty when the sender declared none."""
    mimetype = (mimetype or "").strip().lower()
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise WebhookError(
            415, f"The body must be sent as Content-Type: application/json, not {mimetype[:80]}."
        )


def check_form_content_type(mimetype):
    """Refuse (415) a body declared as anything but a URL-encoded form
    (``mimetype`` without parameters; empty when the sender declared none,
    e.g. a GET or an empty POST)."""
    mimetype = (mimetype or "").strip().lower()
    if mimetype and mimetype not in FORM_MIMETYPES:
        raise WebhookError(
            415,
            "The body must be sent as Content-Type: application/x-www-form-urlencoded, "
            f"not {mimetype[:80]}.",
        )


def form_pairs(data, max_fields=MAX_FORM_FIELDS):
    """The (name, value) pairs of a URL-encoded form or query string
    (bytes or str), in order, blank values kept; 400 unless it is UTF-8
    with at most ``max_fields`` fields."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise WebhookError(400, f"The form is not valid UTF-8: {error}") from error
    try:
        return parse_qsl(
            data or "",
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=max_fields,
        )
    except (UnicodeDecodeError, ValueError) as error:
        raise WebhookError(400, f"The form cannot be read: {error}") from error


def load_form(body, query=b"", max_fields=MAX_FORM_FIELDS):
    """The fields of a form body and of the URL's query string as one dict
    of str (a body field wins over a query parameter of the same name; of a
    name repeated, the first value); 400 as :func:`form_pairs`."""
    values = {}
    for pairs in (form_pairs(query, max_fields), form_pairs(body, max_fields)):
        seen = set()
        for name, value in pairs:
            if name not in seen:
                values[name] = value
                seen.add(name)
    return values


def has_control_chars(text):
    """Whether ``text`` holds a control character (NUL, newline, escape ...)."""
    return bool(_CONTROL.search(text))


def json_depth(body, limit=MAX_DEPTH):
    """Nesting depth of the JSON text ``body`` (bytes), counted without
    parsing (brackets outside strings), stopping once over ``limit``."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        if bracket.group() in b"[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        else:
            depth -= 1
    return deepest


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def load_json(body, max_depth=MAX_DEPTH):
    """The JSON object of a raw body; 400 unless it is UTF-8 JSON holding an
    object, nested at most ``max_depth`` deep, with finite numbers only
    (``NaN``, ``Infinity`` and ``1e400`` are refused)."""
    if json_depth(body, max_depth) > max_depth:
        raise WebhookError(400, f"The body is nested more than {max_depth} levels deep.")
    try:
        payload = json.loads(
            body.decode("utf-8"), parse_float=_finite_float, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise WebhookError(400, f"The body is not valid UTF-8 JSON: {error}") from error
    if not isinstance(payload, dict):
        raise WebhookError(400, "The body must be a JSON object.")
    return payload


def check_clock(
    timestamp, now, max_age=DEFAULT_TOLERANCE, max_ahead=DEFAULT_TOLERANCE, sender="sender"
):
    """Refuse (401) a signed ``timestamp`` (UNIX seconds) older than
    ``max_age`` or more than ``max_ahead`` seconds ahead of ``now``: a
    replayed or badly clocked request."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise WebhookError(401, "The request carries no timestamp.")
    try:
        offset = now - float(timestamp)
    except OverflowError:
        offset = math.inf
    if not -max_ahead <= offset <= max_age:
        if max_age == max_ahead:
            window = f"more than {_duration(max_age)} off"
        else:
            window = f"older than {_duration(max_age)} or ahead by more than {_duration(max_ahead)}"
        raise WebhookError(401, f"The timestamp is {window}: check the {sender}'s clock.")


def _duration(seconds):
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} seconds"
