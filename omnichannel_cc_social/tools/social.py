"""Social messengers (WhatsApp Cloud API, Facebook Messenger, Telegram Bot API).

Pure Python, no ORM:

- webhook signatures: :func:`sign`, :func:`verify_signature` (Meta's
  ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``),
  :func:`verify_secret_token` (Telegram's ``X-Telegram-Bot-Api-Secret-Token``),
  :func:`verify_request` choosing by platform;
- :func:`parse_events` turns one webhook body into plain message dicts and
  status dicts, whatever the platform;
- provider adapters (:class:`WhatsAppAdapter`, :class:`MessengerAdapter`,
  :class:`TelegramAdapter`) send text and download media over HTTP with
  ``requests`` and timeouts; media only from the platform's media hosts
  (:func:`check_media_url`: allow-list, no private address, redirects
  checked too), within a size cap and an overall deadline. Every HTTP call
  goes through :meth:`SocialAdapter._transport`, every host lookup through
  :meth:`SocialAdapter._resolve`: the places tests may patch. Every error
  leaves an adapter through :func:`redact` (no token in a message shown,
  stored or logged).

A parsed message::

    {"platform", "message_id", "account_id", "sender_id", "phone", "name",
     "text", "media": None | {"id", "type", "url", "mime_type", "filename",
     "caption"}, "timestamp"}

``sender_id`` is where replies go (WhatsApp: the customer's wa_id, i.e. the
number without "+"; Messenger: the page-scoped id; Telegram: the chat id).
A status: ``{"message_id", "status", "recipient_id", "timestamp", "error"}``.
"""

import contextlib
import hmac
import ipaddress
import math
import mimetypes
import re
import socket
import threading
import time
from urllib.parse import quote, urljoin, urlsplit

import requests
import urllib3

# Meta signs with the same HMAC-SHA256 scheme as the PBX webhooks
from odoo.addons.omnichannel_cc.tools.signature import sign  # noqa: F401  (re-exported for callers and tests)
from odoo.addons.omnichannel_cc.tools.signature import verify as verify_signature
from odoo.addons.omnichannel_cc.tools.webhook import WebhookError, has_control_chars

PLATFORMS = [
    ("whatsapp", "WhatsApp Cloud API"),
    ("messenger", "Facebook Messenger"),
    ("telegram", "Telegram"),
]
DEFAULT_API_URLS = {
    "whatsapp": "https://graph.facebook.com/v19.0",
    "messenger": "https://graph.facebook.com/v19.0",
    "telegram": "https://api.telegram.org",
}
SIGNATURE_HEADER = "X-Hub-Signature-256"
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024
# WhatsApp retries a refused webhook for up to 7 days (Messenger and
# Telegram for less): a body whose newest event is older is a replay
MAX_EVENT_AGE = 8 * 86400
MAX_MEDIA = 25 * 1024 * 1024
# seconds a whole media download may take (API calls, redirects, body)
MEDIA_DEADLINE = 60
MAX_REDIRECTS = 3
# Where media are downloaded from: the platform's media hosts ("name" or
# "*.domain" for its subdomains; the system parameter
# omnichannel_cc.social_media_hosts.<platform> replaces them), over HTTPS,
# and the channel's own API server. A host resolving to a private,
# loopback or link-local address is refused whatever the list says.
DEFAULT_MEDIA_HOSTS = {
    "whatsapp": ("lookaside.fbsbx.com", "*.fbsbx.com", "*.fbcdn.net", "*.whatsapp.net"),
    "messenger": ("*.fbcdn.net", "*.fbsbx.com", "lookaside.fbsbx.com"),
    "telegram": ("api.telegram.org",),
}
# 2**33 seconds: the year 2242; a larger time is a forged one
MAX_TIMESTAMP = 2**33
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TEXT = {"whatsapp": 4096, "messenger": 2000, "telegram": 4096}
# delivery states, in the order a message goes through them
STATUS_ORDER = ("sent", "delivered", "read")
# (connect, read) seconds of one API call: a send blocks the request that
# queued the reply (after its commit) or the retry cron, never for long
TIMEOUT = (5, 10)


class SocialError(WebhookError):
    """A webhook request refused with an HTTP status."""


class ProviderError(Exception):
    """The platform's API failed or refused a call."""

    def __init__(self, message, status=None, transient=False):
        super().__init__(message)
        self.status = status
        self.message = message
        # the platform surely did not act on the call (no connection, a 5xx
        # or 429 answer): trying again later cannot send a reply twice
        self.transient = transient


def _not_sent(error):
    """Whether a ``requests`` error broke off before the request left: no
    connection made (refused, unreachable, connect timeout). A read timeout
    is not: the platform may have acted on the request."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


# ----------------------------------------------------------------------
# Signatures
# ----------------------------------------------------------------------
def verify_secret_token(secret, header):
    """Whether Telegram's secret-token header equals ``secret`` (constant time)."""
    if not secret or not header or not isinstance(header, str):
        return False
    return hmac.compare_digest(secret.encode("utf-8", "replace"), header.encode("utf-8", "replace"))


def verify_request(platform, secret, body, headers):
    """Check one webhook request; ``headers`` is a mapping with ``get``."""
    if platform == "telegram":
        return verify_secret_token(secret, headers.get(TELEGRAM_SECRET_HEADER))
    return verify_signature(secret, body, headers.get(SIGNATURE_HEADER))


def verify_handshake(verify_token, args):
    """The challenge to echo for a valid subscription handshake, else None.

    ``args``: the query string (``hub.mode``, ``hub.verify_token``,
    ``hub.challenge``).
    """
    given = args.get("hub.verify_token")
    challenge = args.get("hub.challenge")
    if args.get("hub.mode") != "subscribe" or not verify_token or not given or not challenge:
        return None
    if not hmac.compare_digest(
        verify_token.encode("utf-8", "replace"), given.encode("utf-8", "replace")
    ):
        return None
    return challenge


# ----------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------
def _str(value):
    """A text of the body, stripped, control characters (NUL ...) but line
    breaks and tabs dropped: PostgreSQL refuses a NUL."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, int | float):
        return str(int(value))
    return _TEXT_CONTROL.sub("", value).strip() if isinstance(value, str) else ""


def _id(value, what):
    """An identifier of the body (message, sender, account, media): a
    control character in one refuses the body (400), never cleaned into
    another id."""
    if isinstance(value, str) and has_control_chars(value):
        raise SocialError(400, f"The {what} holds control characters.")
    return _str(value)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def _timestamp(value, unit=1):
    """UNIX seconds of a body's time (``unit``: 1000 for milliseconds), 0
    when absent; refused (400) out of range, never an overflow later."""
    seconds = _int(value) // unit
    if not 0 <= seconds < MAX_TIMESTAMP:
        raise SocialError(400, f"The timestamp {str(value)[:40]} is out of range.")
    return seconds


def _list(value):
    return value if isinstance(value, list) else []


def _dict(value):
    return value if isinstance(value, dict) else {}


def _coordinate(value):
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value) if math.isfinite(value) else ""
    return _str(value)


def _message(platform, message_id, sender_id, **values):
    base = {
        "platform": platform,
        "message_id": message_id,
        "account_id": "",
        "sender_id": sender_id,
        "phone": "",
        "name": "",
        "text": "",
        "media": None,
        "timestamp": 0,
    }
    base.update(values)
    return base


def _media(media_type, media_id="", url="", mime_type="", filename="", caption=""):
    return {
        "type": _str(media_type),
        "id": _id(media_id, "media id"),
        "url": _str(url),
        "mime_type": _str(mime_type),
        "filename": _str(filename),
        "caption": _str(caption),
    }


WHATSAPP_MEDIA = ("image", "video", "audio", "document", "sticker", "voice")


def _parse_whatsapp(payload):
    messages, statuses = [], []
    for entry in _list(payload.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            value = _dict(_dict(change).get("value"))
            account_id = _id(_dict(value.get("metadata")).get("phone_number_id"), "account id")
            names = {
                _str(contact.get("wa_id")): _str(_dict(contact.get("profile")).get("name"))
                for contact in map(_dict, _list(value.get("contacts")))
            }
            for raw in map(_dict, _list(value.get("messages"))):
                message_id, sender = (
                    _id(raw.get("id"), "message id"),
                    _id(raw.get("from"), "sender"),
                )
                if not message_id or not sender:
                    continue
                kind = _str(raw.get("type"))
                body = _dict(raw.get(kind))
                text, media = "", None
                if kind == "text":
                    text = _str(body.get("body"))
                elif kind in WHATSAPP_MEDIA:
                    media = _media(
                        kind,
                        media_id=body.get("id"),
                        mime_type=body.get("mime_type"),
                        filename=body.get("filename"),
                        caption=body.get("caption"),
                    )
                    text = media["caption"]
                elif kind == "location":
                    text = " ".join(
                        _coordinate(body.get(key)) for key in ("latitude", "longitude", "name")
                    )
                    text = f"📍 {text}".strip()
                elif kind == "button":
                    text = _str(body.get("text"))
                elif kind == "interactive":
                    reply = _dict(body.get("button_reply") or body.get("list_reply"))
                    text = _str(reply.get("title"))
                elif kind == "reaction":
                    continue  # an emoji on an earlier message, not a message
                if not text and not media:
                    text = f"[{kind or 'unknown'} message]"
                messages.append(
                    _message(
                        "whatsapp",
                        message_id,
                        sender,
                        account_id=account_id,
                        phone="+" + sender.lstrip("+"),
                        name=names.get(sender, ""),
                        text=text,
                        media=media,
                        timestamp=_timestamp(raw.get("timestamp")),
                    )
                )
            for raw in map(_dict, _list(value.get("statuses"))):
                errors = [_str(_dict(e).get("title")) for e in _list(raw.get("errors"))]
                status_id = _id(raw.get("id"), "message id")
                if status_id:
                    statuses.append(
                        {
                            "message_id": status_id,
                            "status": _str(raw.get("status")),
                            "recipient_id": _id(raw.get("recipient_id"), "recipient"),
                            "timestamp": _timestamp(raw.get("timestamp")),
                            "error": "; ".join(e for e in errors if e),
                        }
                    )
    return messages, statuses


def _parse_messenger(payload):
    messages, statuses = [], []
    for entry in map(_dict, _list(payload.get("entry"))):
        account_id = _id(entry.get("id"), "account id")
        for event in map(_dict, _list(entry.get("messaging"))):
            sender = _id(_dict(event.get("sender")).get("id"), "sender")
            timestamp = _timestamp(event.get("timestamp"), unit=1000)
            raw = _dict(event.get("message"))
            if raw and not raw.get("is_echo"):
                message_id = _id(raw.get("mid"), "message id")
                if not message_id or not sender:
                    continue
                attachments = [_dict(a) for a in _list(raw.get("attachments"))]
                media_attachments = [a for a in attachments if _dict(a.get("payload")).get("url")]
                media = None
                if media_attachments:
                    first = media_attachments[0]
                    media = _media(_str(first.get("type")) or "file", url=first["payload"]["url"])
                text = _str(raw.get("text"))
                if not text and not media:
                    text = "[attachment]" if attachments else "[empty message]"
                messages.append(
                    _message(
                        "messenger",
                        message_id,
                        sender,
                        account_id=account_id,
                        text=text,
                        media=media,
                        timestamp=timestamp,
                    )
                )
            for kind, status in (("delivery", "delivered"), ("read", "read")):
                if kind in event:
                    for mid in _list(_dict(event[kind]).get("mids")):
                        statuses.append(
                            {
                                "message_id": _id(mid, "message id"),
                                "status": status,
                                "recipient_id": sender,
                                "timestamp": timestamp,
                                "error": "",
                            }
                        )
    return messages, statuses


TELEGRAM_MEDIA = ("document", "video", "audio", "voice", "sticker", "animation", "video_note")


def _parse_telegram(payload):
    raw = _dict(payload.get("message"))
    if not raw:
        # edited messages, channel posts, callbacks: nothing for a conversation
        return [], []
    chat_id = _id(_dict(raw.get("chat")).get("id"), "chat id")
    number = _id(raw.get("message_id"), "message id")
    if not chat_id or not number:
        return [], []
    sender = _dict(raw.get("from"))
    name = " ".join(p for p in (_str(sender.get("first_name")), _str(sender.get("last_name"))) if p)
    name = name or _str(sender.get("username"))
    media = None
    photos = [_dict(p) for p in _list(raw.get("photo"))]
    if photos:
        # Telegram sends each size of a photo: keep the largest
        best = max(photos, key=lambda p: _int(p.get("file_size")) or _int(p.get("width")))
        media = _media("image", media_id=best.get("file_id"), mime_type="image/jpeg")
    else:
        for kind in TELEGRAM_MEDIA:
            if kind in raw:
                body = _dict(raw[kind])
                media = _media(
                    kind,
                    media_id=body.get("file_id"),
                    mime_type=body.get("mime_type"),
                    filename=body.get("file_name"),
                )
                break
    caption = _str(raw.get("caption"))
    if media:
        media["caption"] = caption
    text = _str(raw.get("text")) or caption
    if not text and not media:
        text = "[message]"
    return [
        _message(
            "telegram",
            # message ids are unique within one chat only
            f"{chat_id}:{number}",
            chat_id,
            name=name,
            text=text,
            media=media,
            timestamp=_timestamp(raw.get("date")),
        )
    ], []


PARSERS = {
    "whatsapp": _parse_whatsapp,
    "messenger": _parse_messenger,
    "telegram": _parse_telegram,
}


def parse_events(platform, payload):
    """``(messages, statuses)`` of one decoded webhook body.

    Raises :class:`SocialError` (400) when the body is not a JSON object,
    the platform is unknown, an id holds a control character or a time is
    out of range; unknown event shapes are ignored (platforms add event
    kinds over time and retry whatever is refused). Control characters of
    texts (names, messages, captions, file names) are dropped.
    """
    if platform not in PARSERS:
        raise SocialError(400, f"Unknown platform {platform!r}.")
    if not isinstance(payload, dict):
        raise SocialError(400, "The body must be a JSON object.")
    return PARSERS[platform](payload)


def newest_timestamp(messages, statuses):
    """UNIX time of the newest event of one parsed body, None when no event
    says when it happened (the clock check is then skipped)."""
    stamps = [event["timestamp"] for event in (*messages, *statuses) if event["timestamp"] > 0]
    return max(stamps) if stamps else None


def media_filename(media):
    """A file name for a downloaded media: the sender's, else type + id + extension."""
    if media.get("filename"):
        return media["filename"]
    extension = mimetypes.guess_extension((media.get("mime_type") or "").split(";")[0].strip())
    stem = media.get("id") or "file"
    return f"{media.get('type') or 'file'}-{stem[-24:]}{extension or ''}"


# ----------------------------------------------------------------------
# Credentials in errors
# ----------------------------------------------------------------------
_SECRET_PATTERNS = (
    # Telegram's bot token is part of its URLs: /bot<id>:<secret>/<method>
    (re.compile(r"(/bot)\d+:[\w-]+", re.ASCII), r"\1***"),
    # a credential in a query string (Graph API: ?access_token=...)
    (
        re.compile(
            r"\b((?:access_|auth_|bot_)?token|appsecret_proof|secret|key|signature)=[^&\s\"'<>]+",
            re.IGNORECASE,
        ),
        r"\1=***",
    ),
    # an Authorization header's value
    (re.compile(r"\b(bearer|basic|oauth)\s+[\w.~+/=-]+", re.IGNORECASE), r"\1 ***"),
)


def redact(text, secrets=()):
    """``text`` without the credentials it may carry: each of ``secrets``
    (as is and URL-encoded), Telegram bot tokens in URLs, ``access_token=``
    and the like in query strings, Authorization values. Every error an
    adapter raises goes through it (:meth:`SocialAdapter._safe_errors`):
    agents read them, the reply stores them, the log keeps them."""
    text = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, "***")
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# ----------------------------------------------------------------------
# Where media may come from
# ----------------------------------------------------------------------
def host_allowed(host, patterns):
    """Whether ``host`` is one of ``patterns``: a name, or ``*.domain`` for
    any subdomain of ``domain`` (not ``domain`` itself)."""
    host = (host or "").rstrip(".").lower()
    for pattern in patterns:
        pattern = (pattern or "").strip().rstrip(".").lower()
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif pattern and host == pattern:
            return True
    return False


def _origin(url):
    """``(scheme, host, port)`` of ``url``; ValueError when malformed."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return (
        scheme,
        (parts.hostname or "").rstrip(".").lower(),
        parts.port
        or {
            "http": 80,
            "https": 443,
        }.get(scheme),
    )


def resolve_host(host, port):
    """The IP addresses ``host`` resolves to."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def check_media_url(url, media_hosts, api_url="", private_hosts=(), resolve=resolve_host):
    """Refuse (:class:`ProviderError`) a media URL Odoo must not fetch.

    Allowed: the channel's API server (``api_url``'s scheme, host and port),
    or HTTPS on one of ``media_hosts`` (see :func:`host_allowed`); then the
    host must resolve (``resolve(host, port)``) to public addresses only: a
    private, loopback, link-local, multicast or reserved one is refused
    unless the host is one of ``private_hosts`` (tests serving media from a
    local mock; empty in production). The URL itself is never quoted in the
    error (a Telegram file URL holds the bot token).
    """
    try:
        scheme, host, port = _origin(url)
        parts = urlsplit(url)
    except ValueError:
        raise ProviderError("Refused to download the file: its URL is malformed.") from None
    if scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise ProviderError("Refused to download the file: not a plain http(s) URL.")
    try:
        api_origin = _origin(api_url) if api_url else None
    except ValueError:
        api_origin = None
    if (scheme, host, port) != api_origin and not (
        scheme == "https" and host_allowed(host, media_hosts)
    ):
        raise ProviderError(
            f"Refused to download the file from {host}: not one of the platform's media hosts."
        )
    if host in {h.strip().rstrip(".").lower() for h in private_hosts if h and h.strip()}:
        return
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise ProviderError(f"Cannot resolve the media host {host}.") from None
    if not addresses:
        raise ProviderError(f"Cannot resolve the media host {host}.")
    for address in addresses:
        try:
            ip = ipaddress.ip_address(str(address).split("%", 1)[0])
        except ValueError:
            raise ProviderError(f"Cannot resolve the media host {host}.") from None
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise ProviderError(
                f"Refused to download the file from {host}: it resolves to {ip}, "
                "a private, loopback or link-local address."
            )


@contextlib.contextmanager
def _deadline_watchdog(response, deadline):
    """Shut the response's socket down at ``deadline``: a read blocked on a
    sender dripping bytes returns (``requests`` times out each read only,
    and a read waits for a whole chunk). Yields an Event set when it did."""
    fired = threading.Event()
    try:
        fileno = response.raw.fileno()
    except (AttributeError, OSError, ValueError):
        # no live socket (a response already read, a test's canned one)
        fileno = None
    if fileno is None or fileno < 0:
        yield fired
        return

    def cut():
        fired.set()
        with contextlib.suppress(OSError):
            # the TCP socket under TLS too: shutting it down wakes the reader
            sock = socket.socket(fileno=fileno)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.detach()

    timer = threading.Timer(max(0.0, deadline - time.monotonic()), cut)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()
        # a cut under way ends before the response (and its socket) is closed
        timer.join()


# ----------------------------------------------------------------------
# Provider adapters
# ----------------------------------------------------------------------
class SocialAdapter:
    """Send text and download media through one platform's HTTP API.

    The public methods (:meth:`send_text`, :meth:`download_media`) raise
    :class:`ProviderError` only, its message cleared of credentials
    (:meth:`_safe_errors`); the platforms' subclasses implement
    ``_send_text`` and ``_download_media``.
    """

    platform = None

    def __init__(
        self,
        api_url,
        access_token,
        account_id,
        timeout=TIMEOUT,
        max_media=MAX_MEDIA,
        media_hosts=None,
        private_hosts=(),
        media_deadline=MEDIA_DEADLINE,
    ):
        self.api_url = (api_url or DEFAULT_API_URLS[self.platform]).rstrip("/")
        self.access_token = access_token or ""
        self.account_id = account_id or ""
        self.timeout = timeout
        self.max_media = max_media
        self.media_hosts = tuple(
            DEFAULT_MEDIA_HOSTS[self.platform] if media_hosts is None else media_hosts
        )
        self.private_hosts = tuple(private_hosts or ())
        self.media_deadline = media_deadline

    # the network: tests patch these two when no real peer is running
    def _transport(self, method, url, timeout=TIMEOUT, **kwargs):
        return requests.request(method, url, timeout=timeout, **kwargs)

    def _resolve(self, host, port):
        return resolve_host(host, port)

    def send_text(self, to, text):
        """Send ``text`` to ``to``; return the platform's message id."""
        with self._safe_errors():
            return self._send_text(to, text)

    def download_media(self, media):
        """``(bytes, mime_type)`` of a parsed message's media: from the
        platform's media hosts only, at most ``max_media`` bytes, all of it
        within ``media_deadline`` seconds."""
        deadline = time.monotonic() + self.media_deadline
        with self._safe_errors():
            return self._download_media(media, deadline)

    @contextlib.contextmanager
    def _safe_errors(self):
        """The one way out of an adapter for an error: a ProviderError (a
        ``requests`` error becomes one), its text through :func:`redact`,
        without the chained exception (whose text holds the URL)."""
        try:
            yield
        except ProviderError as error:
            raise ProviderError(
                redact(error.message, self._secrets()), error.status, error.transient
            ) from None
        except requests.RequestException as error:
            message = f"The {self.platform} API call broke off: {error}"
            raise ProviderError(
                redact(message, self._secrets()), transient=_not_sent(error)
            ) from None

    def _secrets(self):
        return (self.access_token,)

    def _timeout(self, deadline):
        """``requests``' (connect, read) timeout, within ``deadline``."""
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout,) * 2
        if deadline is None:
            return connect, read
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProviderError(self._too_slow())
        return min(connect, left), min(read, left)

    def _too_slow(self):
        return f"The media download took more than {self.media_deadline} seconds."

    def _call(self, method, url, deadline=None, **kwargs):
        if not self.access_token:
            raise ProviderError("No access token is configured for this channel.")
        kwargs["timeout"] = self._timeout(deadline)
        try:
            response = self._transport(method, url, **kwargs)
        except requests.Timeout as error:
            raise ProviderError(
                f"The {self.platform} API did not answer in time.", transient=_not_sent(error)
            ) from None
        except requests.RequestException as error:
            raise ProviderError(
                f"Cannot reach the {self.platform} API: {error}", transient=_not_sent(error)
            ) from None
        if response.status_code >= 400:
            raise ProviderError(
                f"The {self.platform} API answered HTTP {response.status_code}: "
                f"{self._error_text(response)}",
                status=response.status_code,
                transient=response.status_code >= 500 or response.status_code == 429,
            )
        return response

    def _json(self, response):
        try:
            data = response.json()
        except ValueError as error:
            raise ProviderError(f"The {self.platform} API did not answer JSON.") from error
        if not isinstance(data, dict):
            raise ProviderError(f"The {self.platform} API answered an unexpected {data!r}.")
        return data

    @staticmethod
    def _error_text(response):
        try:
            data = response.json()
        except ValueError:
            return (response.text or "").strip()[:300] or response.reason or "no detail"
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):
            return str(error.get("message") or error)[:300]
        if isinstance(data, dict) and data.get("description"):
            return str(data["description"])[:300]
        return str(data)[:300]

    def _bearer(self):
        return {"Authorization": f"Bearer {self.access_token}"}

    def _check_text(self, text):
        text = (text or "").strip()
        if not text:
            raise ProviderError("There is no text to send.")
        limit = MAX_TEXT[self.platform]
        if len(text) > limit:
            raise ProviderError(
                f"The message has {len(text)} characters; {self.platform} accepts {limit}."
            )
        return text

    def _download(self, url, deadline, headers=None):
        """Bytes at ``url``: each URL (redirects included) checked by
        :func:`check_media_url`, at most ``max_media`` bytes, cut at
        ``deadline``."""
        headers = dict(headers or {})
        for _hop in range(MAX_REDIRECTS + 1):
            check_media_url(url, self.media_hosts, self.api_url, self.private_hosts, self._resolve)
            response = self._call(
                "GET", url, deadline, headers=headers, stream=True, allow_redirects=False
            )
            if not response.is_redirect:
                break
            response.close()
            target = urljoin(url, response.headers["Location"])
            try:
                if _origin(target) != _origin(url):
                    # the token is for the platform's own server
                    headers.pop("Authorization", None)
            except ValueError:
                pass
            url = target
        else:
            raise ProviderError(
                f"The media download was redirected more than {MAX_REDIRECTS} times."
            )
        with response, _deadline_watchdog(response, deadline) as cut:
            length = _int(response.headers.get("Content-Length"))
            if length > self.max_media:
                raise ProviderError(
                    f"The file has {length} bytes, more than the {self.max_media} accepted."
                )
            chunks, size = [], 0
            try:
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > self.max_media:
                        raise ProviderError(
                            f"The file is larger than the {self.max_media} accepted."
                        )
                    if cut.is_set() or time.monotonic() > deadline:
                        raise ProviderError(self._too_slow())
                    chunks.append(chunk)
            except requests.RequestException:
                if cut.is_set():
                    raise ProviderError(self._too_slow()) from None
                raise
            if cut.is_set():
                # the cut connection ended a body of unknown length
                raise ProviderError(self._too_slow())
            mime_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        return b"".join(chunks), mime_type

    def _send_text(self, to, text):
        raise NotImplementedError

    def _download_media(self, media, deadline):
        raise NotImplementedError


class WhatsAppAdapter(SocialAdapter):
    platform = "whatsapp"

    def _send_text(self, to, text):
        response = self._call(
            "POST",
            f"{self.api_url}/{self.account_id}/messages",
            headers=self._bearer(),
            json={
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to.lstrip("+"),
                "type": "text",
                "text": {"preview_url": False, "body": self._check_text(text)},
            },
        )
        data = self._json(response)
        ids = [m.get("id") for m in _list(data.get("messages")) if isinstance(m, dict)]
        if not ids or not ids[0]:
            raise ProviderError(f"The whatsapp API answered no message id: {data!r}"[:300])
        return str(ids[0])

    def _download_media(self, media, deadline):
        meta = self._json(
            self._call(
                "GET",
                f"{self.api_url}/{quote(media['id'], safe='')}",
                deadline,
                headers=self._bearer(),
            )
        )
        if not meta.get("url") or not isinstance(meta["url"], str):
            raise ProviderError(f"The whatsapp API gave no URL for media {media['id']}.")
        if _int(meta.get("file_size")) > self.max_media:
            raise ProviderError(
                f"The file has {meta['file_size']} bytes, more than the {self.max_media} accepted."
            )
        # the media host wants the token too (lookaside.fbsbx.com)
        content, mime_type = self._download(meta["url"], deadline, headers=self._bearer())
        return content, meta.get("mime_type") or mime_type


class MessengerAdapter(SocialAdapter):
    platform = "messenger"

    def _send_text(self, to, text):
        response = self._call(
            "POST",
            f"{self.api_url}/me/messages",
            headers=self._bearer(),
            json={
                "recipient": {"id": to},
                "messaging_type": "RESPONSE",
                "message": {"text": self._check_text(text)},
            },
        )
        data = self._json(response)
        if not data.get("message_id"):
            raise ProviderError(f"The messenger API answered no message id: {data!r}"[:300])
        return str(data["message_id"])

    def _download_media(self, media, deadline):
        # attachment URLs are signed CDN links, taken from the webhook: no
        # token sent along, and only Meta's CDN hosts (check_media_url)
        return self._download(media["url"], deadline)


class TelegramAdapter(SocialAdapter):
    platform = "telegram"

    def _bot_call(self, method, payload, deadline=None):
        url = f"{self.api_url}/bot{self.access_token}/{method}"
        response = self._call("POST", url, deadline, json=payload)
        data = self._json(response)
        if not data.get("ok"):
            raise ProviderError(
                f"The telegram API refused {method}: {data.get('description') or data!r}"[:300]
            )
        return data.get("result")

    def _send_text(self, to, text):
        payload = {"chat_id": to, "text": self._check_text(text)}
        result = _dict(self._bot_call("sendMessage", payload))
        if not result.get("message_id"):
            raise ProviderError("The telegram API answered no message id.")
        return f"{to}:{result['message_id']}"

    def _download_media(self, media, deadline):
        result = _dict(self._bot_call("getFile", {"file_id": media["id"]}, deadline))
        if not result.get("file_path") or not isinstance(result["file_path"], str):
            raise ProviderError(f"The telegram API gave no file path for {media['id']}.")
        if _int(result.get("file_size")) > self.max_media:
            raise ProviderError(
                f"The file has {result['file_size']} bytes, more than the "
                f"{self.max_media} accepted."
            )
        file_path = quote(result["file_path"].lstrip("/"), safe="/")
        return self._download(f"{self.api_url}/file/bot{self.access_token}/{file_path}", deadline)


ADAPTERS = {
    "whatsapp": WhatsAppAdapter,
    "messenger": MessengerAdapter,
    "telegram": TelegramAdapter,
}


def get_adapter(platform, api_url, access_token, account_id, **kwargs):
    if platform not in ADAPTERS:
        raise ProviderError(f"Unknown platform {platform!r}.")
    return ADAPTERS[platform](api_url, access_token, account_id, **kwargs)
