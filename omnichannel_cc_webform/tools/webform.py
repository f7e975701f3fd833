"""Web form checks: signed form tokens, submission and upload limits.

Pure Python (no Odoo import but the core's pure upload checks): the form's
model passes the signing function (``odoo.tools.misc.hmac`` keyed with the
database secret) and plain values.
"""

import hmac as std_hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from odoo.addons.omnichannel_cc.tools.upload import content_matches, safe_filename, sniff

TOKEN_SCOPE = "omnichannel-webform"  # the HMAC scope of form tokens
TOKEN_MAX_AGE = 24 * 3600  # a form may stay open in a browser tab for a day
TOKEN_MIN_AGE = 0  # seconds; >0 refuses forms sent faster than a human types
TOKEN_CLOCK_SKEW = 60
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

MAX_BODY_BYTES = 12 * 1024 * 1024
MAX_FILES = 5
MAX_FILE_BYTES = 5 * 1024 * 1024
ALLOWED_EXTENSIONS = {
    "pdf": ("application/pdf",),
    "png": ("image/png",),
    "jpg": ("image/jpeg",),
    "jpeg": ("image/jpeg",),
    "gif": ("image/gif",),
    "webp": ("image/webp",),
    "txt": ("text/plain",),
    "csv": ("text/csv", "text/plain", "application/vnd.ms-excel"),
    "odt": ("application/vnd.oasis.opendocument.text",),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet",),
    "doc": ("application/msword",),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
    "xls": ("application/vnd.ms-excel",),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",),
}
# what browsers send when they do not know the type
GENERIC_MIMETYPES = ("application/octet-stream", "")
FIELD_LIMITS = {"name": 128, "email": 254, "phone": 40, "subject": 200, "message": 20000}
HONEYPOT_FIELD = "website"
CALLBACK_MAX_DAYS = 60


class FormError(ValueError):
    """A rejected submission: HTTP ``status`` and a message for the visitor."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Upload:
    """One posted file: its name and type as the browser sent them (once
    checked: as they are stored), and its content."""

    filename: str
    mimetype: str
    content: bytes = field(repr=False)

    @property
    def size(self):
        return len(self.content)


@dataclass
class Submission:
    name: str = ""
    email: str = ""
    phone: str = ""
    subject: str = ""
    message: str = ""
    callback_at: datetime | None = None
    uploads: list = field(default_factory=list)


def check_body_size(length):
    """FormError(413) when the announced request body is over the limit:
    refused before the body is parsed."""
    if length and length > MAX_BODY_BYTES:
        raise FormError(
            413,
            f"The form is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB: "
            "send fewer or smaller files.",
        )


def token_message(form_key, issued_at, nonce):
    return f"{form_key}:{int(issued_at)}:{nonce}"


def make_token(sign, form_key, issued_at, nonce):
    """``sign(message) -> hex`` signs the form key, issue time and nonce."""
    if not NONCE_RE.match(nonce):
        raise ValueError("bad nonce")
    signature = sign(token_message(form_key, issued_at, nonce))
    return f"{int(issued_at)}.{nonce}.{signature}"


def check_token(sign, form_key, token, now, max_age=TOKEN_MAX_AGE, min_age=TOKEN_MIN_AGE):
    """The nonce of a valid token for this form; FormError(400) otherwise.

    The nonce is unique per rendered form: it is the submission's id, so a
    double-submit of one form gives one interaction.
    """
    if not token or not isinstance(token, str) or len(token) > 300:
        raise FormError(400, "The form token is missing: reload the form and send it again.")
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not NONCE_RE.match(parts[1]):
        raise FormError(400, "The form token is malformed: reload the form and send it again.")
    issued_at, nonce, signature = int(parts[0]), parts[1], parts[2]
    expected = sign(token_message(form_key, issued_at, nonce))
    if not std_hmac.compare_digest(expected, signature):
        raise FormError(400, "The form token is invalid: reload the form and send it again.")
    age = now - issued_at
    if age > max_age or age < -TOKEN_CLOCK_SKEW:
        raise FormError(400, "The form has expired: reload the form and send it again.")
    if age < min_age:
        raise FormError(400, "The form was sent too fast: wait a moment and send it again.")
    return nonce


def is_spam(values):
    """The honeypot field is hidden from people; only bots fill it."""
    return bool((values.get(HONEYPOT_FIELD) or "").strip())


def check_upload(upload, max_bytes=MAX_FILE_BYTES):
    """The upload as it is stored: its base name (no client path, no control
    characters) and the type of its extension, once its content was found to
    be what the extension says (sniffed, not the browser's word).

    FormError(413) when too big, FormError(400) for a name, type or content
    not accepted.
    """
    name = safe_filename(upload.filename)
    if not name:
        raise FormError(400, "A file has no usable name: rename it and send it again.")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ALLOWED_EXTENSIONS:
        raise FormError(
            400,
            f"Files of type '{extension or name}' are not accepted; send one of: "
            + ", ".join(sorted(ALLOWED_EXTENSIONS))
            + ".",
        )
    mimetype = (upload.mimetype or "").split(";")[0].strip().lower()
    if mimetype not in GENERIC_MIMETYPES and mimetype not in ALLOWED_EXTENSIONS[extension]:
        raise FormError(400, f"The file {name} is not what its name says ({mimetype}).")
    if upload.size > max_bytes:
        raise FormError(413, f"The file {name} is larger than {max_bytes // (1024 * 1024)} MB.")
    if upload.size == 0:
        raise FormError(400, f"The file {name} is empty.")
    if not content_matches(name, sniff(upload.content), strict=True):
        raise FormError(
            400,
            f"The file {name} is not what its name says: its content is not {extension.upper()}.",
        )
    return Upload(name, ALLOWED_EXTENSIONS[extension][0], upload.content)


def parse_callback_time(text, tz_offset_minutes, now):
    """The UTC datetime of a ``datetime-local`` value (``YYYY-MM-DDTHH:MM``).

    ``tz_offset_minutes`` is the browser's ``Date.getTimezoneOffset()``
    (UTC minus local, in minutes). A time in the past means "as soon as
    possible" (now).
    """
    text = (text or "").strip()
    if not text:
        return now
    try:
        local = datetime.strptime(text[:16], "%Y-%m-%dT%H:%M")
    except ValueError as error:
        raise FormError(400, "The call-back time is not a date and time.") from error
    try:
        offset = int(tz_offset_minutes or 0)
    except (TypeError, ValueError):
        offset = 0
    if abs(offset) > 14 * 60:
        offset = 0
    when = local + timedelta(minutes=offset)
    if when > now + timedelta(days=CALLBACK_MAX_DAYS):
        raise FormError(
            400, f"A call-back can be requested at most {CALLBACK_MAX_DAYS} days ahead."
        )
    return max(when, now)


def check_submission(values, uploads, now, max_files=MAX_FILES, max_file_bytes=MAX_FILE_BYTES):
    """A clean Submission from the posted text fields and Upload list (the
    uploads as ``check_upload`` returns them).

    Raises FormError (400 bad input, 413 too large). E-mail syntax is checked
    by the caller (one normaliser for the whole product).
    """
    clean = {}
    for name, limit in FIELD_LIMITS.items():
        value = values.get(name) or ""
        if not isinstance(value, str):
            raise FormError(400, f"The field {name} must be text.")
        value = value.replace("\x00", "").strip()
        if len(value) > limit:
            raise FormError(
                413 if name == "message" else 400,
                f"The {name} is longer than {limit} characters.",
            )
        clean[name] = value
    if not clean["email"] and not clean["phone"]:
        raise FormError(400, "Give an e-mail address or a phone number so that we can answer.")
    if not clean["message"] and not clean["subject"]:
        raise FormError(400, "Write a message.")
    if len(uploads) > max_files:
        raise FormError(413, f"Send at most {max_files} files.")
    uploads = [check_upload(upload, max_file_bytes) for upload in uploads]
    callback_at = None
    if (values.get("callback") or "") in ("1", "on", "true", "yes"):
        if not clean["phone"]:
            raise FormError(400, "Give a phone number to be called back.")
        callback_at = parse_callback_time(values.get("callback_at"), values.get("tz_offset"), now)
    return Submission(uploads=uploads, callback_at=callback_at, **clean)


def rate_limited(recent_for_ip, recent_for_channel, limit_ip, limit_channel):
    """The reason to refuse (HTTP 429) or None; limits of 0 mean none."""
    if limit_ip and recent_for_ip >= limit_ip:
        return (
            f"Too many forms sent from your address ({limit_ip} in 10 minutes): "
            "please try again later."
        )
    if limit_channel and recent_for_channel >= limit_channel:
        return "This form receives too many messages right now: please try again later."
    return None
