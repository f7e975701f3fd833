"""HMAC-SHA256 signatures of webhook bodies: ``sha256=<hex>``.

Pure functions, no ORM. Used by the PBX webhooks (``X-Omnichannel-Signature``,
``omnichannel_cc_voip``) and Meta's ``X-Hub-Signature-256`` (social channels):
the sender signs the raw HTTP body with the channel's shared secret. A PBX
body carries its ``timestamp``, which is therefore signed too: the
controller refuses one more than five minutes off (:func:`is_fresh`), and
the idempotency keys make a replay within that window a no-op. There is no
other scheme (no timestamp header, no ``"<ts>." + body``): the Asterisk
bridge (``omnichannel_cc_voip/scripts/ami_bridge.py``) and the Kamailio
reference configuration sign exactly this.
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


def sign(secret, body_bytes):
    """Return the signature header value ``'sha256=<hex>'`` of ``body_bytes``.

    :param secret: shared secret (str or bytes), never empty;
    :param body_bytes: the exact bytes sent as the HTTP body.
    """
    if not secret:
        raise ValueError("a signature needs a non-empty secret")
    digest = hmac.new(_to_bytes(secret), _to_bytes(body_bytes), hashlib.sha256)
    return PREFIX + digest.hexdigest()


def verify(secret, body_bytes, header):
    """Tell whether ``header`` is the signature of ``body_bytes`` with ``secret``.

    Never raises on malformed input: anything unexpected is simply invalid.
    """
    if not secret or not header or not isinstance(header, str | bytes):
        return False
    if isinstance(header, str):
        header = header.encode("utf-8", "replace")
    try:
        expected = sign(secret, body_bytes)
    except (TypeError, ValueError):
        return False
    # bytes on both sides: compare_digest refuses non-ASCII str
    return hmac.compare_digest(expected.encode("ascii"), header.strip().lower())


def is_fresh(timestamp, now, tolerance=DEFAULT_TOLERANCE):
    """True when the PBX's ``timestamp`` (UNIX seconds) is within ``tolerance`` of ``now``."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        return False
    return abs(now - timestamp) <= tolerance
