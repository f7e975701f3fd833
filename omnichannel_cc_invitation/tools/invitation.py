"""Invitation links: tokens, signatures, validity and upload checks.

Pure functions, no ORM. A link carries a random token; the database keeps
its SHA-256 digest (to find the invitation) and an HMAC signature over
(id, token, expiry) made with the database secret, the same construction as
``odoo.tools.misc.hmac``. A row whose expiry was changed without the secret
no longer verifies.
"""

import hashlib
import hmac
import mimetypes
import secrets

# True when the sniffed type of a file fits its extension (one table for every upload)
from odoo.addons.omnichannel_cc.tools.upload import content_matches  # noqa: F401  (re-exported)

SCOPE = "omnichannel.invitation"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128

VALID = "valid"
EXPIRED = "expired"
REVOKED = "revoked"
USED = "used"

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_FILES = 10
# photos and documents a customer sends for a claim; no HTML, SVG or scripts
DEFAULT_ALLOWED_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".pdf", ".txt"}
)


class UploadError(ValueError):
    """A file that must not be stored; ``args[0]`` is the reason code."""

    def __init__(self, code, filename=""):
        super().__init__(code)
        self.code = code
        self.filename = filename


def new_token():
    """A fresh random token, URL-safe, 43 characters."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token):
    """The stored digest of ``token`` (hex SHA-256); None for a malformed token."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return hashlib.sha256(token.encode()).hexdigest()


def signature_message(invitation_id, token, expiry):
    """What is signed: the id, the token and the expiry (a naive UTC datetime)."""
    return f"{int(invitation_id)}|{token}|{expiry.replace(microsecond=0).isoformat()}"


def sign(secret, invitation_id, token, expiry):
    """HMAC-SHA256 as ``odoo.tools.misc.hmac(env, SCOPE, message)`` computes it."""
    if not secret:
        raise ValueError("a signature needs a non-empty secret")
    message = repr((SCOPE, signature_message(invitation_id, token, expiry)))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def same_signature(expected, given):
    """Constant-time comparison; anything but two non-empty strings is a mismatch."""
    if not isinstance(expected, str) or not isinstance(given, str) or not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def status(state, expiry, now, single_use, use_count):
    """Whether a link may be opened now: VALID, EXPIRED, REVOKED or USED.

    A revoked link stays revoked after its expiry, a used single-use link
    stays used.
    """
    if state == "revoked":
        return REVOKED
    if state == "used" or (single_use and use_count > 0):
        return USED
    if state == "expired" or expiry is None or now >= expiry:
        return EXPIRED
    return VALID


def parse_extensions(text):
    """``".jpg, png;PDF"`` -> ``frozenset({".jpg", ".png", ".pdf"})``."""
    result = set()
    for part in (text or "").replace(";", ",").replace(" ", ",").split(","):
        part = part.strip().lower()
        if part:
            result.add(part if part.startswith(".") else "." + part)
    return frozenset(result)


def check_upload(
    files,
    max_bytes=DEFAULT_MAX_UPLOAD_BYTES,
    allowed_extensions=DEFAULT_ALLOWED_EXTENSIONS,
    max_files=DEFAULT_MAX_FILES,
):
    """Check the uploaded ``files`` (pairs ``(filename, size)``) all at once.

    Returns the cleaned ``[(name, mimetype)]`` in order; raises
    :class:`UploadError` (``no_file``, ``too_many``, ``bad_name``,
    ``too_large``, ``bad_type``) when any file is unacceptable, so that
    nothing is stored from a partly bad upload.
    """
    files = [(name, size) for name, size in files if name or size]
    if not files:
        raise UploadError("no_file")
    if len(files) > max_files:
        raise UploadError("too_many")
    cleaned = []
    for name, size in files:
        # browsers send a base name, old ones a full client path
        base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
        if not base or base.startswith(".") or len(base) > 255 or "\x00" in base:
            raise UploadError("bad_name", base)
        if size <= 0 or size > max_bytes:
            raise UploadError("too_large" if size > 0 else "no_file", base)
        extension = "." + base.rsplit(".", 1)[-1].lower() if "." in base else ""
        if extension not in allowed_extensions:
            raise UploadError("bad_type", base)
        mimetype = mimetypes.guess_type(base)[0] or "application/octet-stream"
        cleaned.append((base, mimetype))
    return cleaned
