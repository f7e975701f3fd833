"""The checks every signed public webhook makes before anything is written.

Pure Python, no ORM. A refused request raises :class:`WebhookError`, which
carries the HTTP status and a message for the sender's administrator; the
controller side (token lookup, signature, superuser environment, JSON
answers) is ``omnichannel_cc/controllers/webhook.py``. Used by the PBX
webhooks (``omnichannel_cc_voip``), the social messengers'
(``omnichannel_cc_social``) and any provider posting to Odoo.

The order of the checks is part of the contract: size (413), token (404),
signature (401), JSON (400), the provider's own fields (400), clock (401).
"""

import json

from .signature import DEFAULT_TOLERANCE


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


def load_json(body):
    """The JSON object of a raw body; 400 unless it is UTF-8 JSON holding an object."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
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
    if not -max_ahead <= now - timestamp <= max_age:
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
