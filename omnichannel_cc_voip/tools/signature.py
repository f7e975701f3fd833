"""HMAC-SHA256 signatures of PBX webhook bodies.

Pure functions, no ORM: the controller reads the raw body, the signature
header and the timestamp header, and asks :func:`verify` whether to trust
them.

The signed message is ``b"<timestamp>." + body`` when a timestamp is given
(as Stripe and Slack do), so that a captured request cannot be replayed
later with a fresh timestamp header; without a timestamp only the body is
signed.
"""

import hashlib
import hmac

PREFIX = "sha256="
DEFAULT_TOLERANCE = 300


def _to_bytes(value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"expected bytes or str, got {type(value).__name__}")


def _message(body_bytes, timestamp):
    body = _to_bytes(body_bytes)
    if timestamp is None:
        return body
    return b"%d." % int(timestamp) + body


def sign(secret, body_bytes, timestamp=None):
    """Return the signature header value ``'sha256=<hex>'`` of ``body_bytes``.

    :param secret: shared secret (str or bytes), never empty;
    :param body_bytes: the exact bytes sent as the HTTP body;
    :param timestamp: optional UNIX time (int seconds) included in the
        signed message.
    """
    if not secret:
        raise ValueError("a signature needs a non-empty secret")
    digest = hmac.new(_to_bytes(secret), _message(body_bytes, timestamp), hashlib.sha256)
    return PREFIX + digest.hexdigest()


def verify(secret, body_bytes, header, timestamp, now, tolerance=DEFAULT_TOLERANCE):
    """Tell whether ``header`` is a valid, fresh signature of ``body_bytes``.

    Never raises on malformed input: anything unexpected is simply invalid.

    :param header: value of the signature header (``'sha256=<hex>'``);
    :param timestamp: value of the timestamp header (UNIX seconds, int or
        str); it is part of the signed message;
    :param now: current UNIX time in seconds;
    :param tolerance: accepted clock difference, in seconds, both ways.
    """
    if not secret or not header or not isinstance(header, str | bytes):
        return False
    if isinstance(header, str):
        header = header.encode("utf-8", "replace")
    try:
        timestamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    try:
        expected = sign(secret, body_bytes, timestamp)
    except (TypeError, ValueError):
        return False
    # bytes on both sides: compare_digest refuses non-ASCII str
    return hmac.compare_digest(expected.encode("ascii"), header.strip())
