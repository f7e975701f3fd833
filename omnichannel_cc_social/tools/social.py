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
  ``requests`` and timeouts. Every HTTP call goes through
  :meth:`SocialAdapter._transport`: the one place tests may patch.

A parsed message::

    {"platform", "message_id", "account_id", "sender_id", "phone", "name",
     "text", "media": None | {"id", "type", "url", "mime_type", "filename",
     "caption"}, "timestamp"}

``sender_id`` is where replies go (WhatsApp: the customer's wa_id, i.e. the
number without "+"; Messenger: the page-scoped id; Telegram: the chat id).
A status: ``{"message_id", "status", "recipient_id", "timestamp", "error"}``.
"""

import hmac
import mimetypes

import requests

# Meta signs with the same HMAC-SHA256 scheme as the PBX webhooks
from odoo.addons.omnichannel_cc.tools.signature import sign  # noqa: F401  (re-exported for callers and tests)
from odoo.addons.omnichannel_cc.tools.signature import verify as verify_signature
from odoo.addons.omnichannel_cc.tools.webhook import WebhookError

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
MAX_TEXT = {"whatsapp": 4096, "messenger": 2000, "telegram": 4096}
# delivery states, in the order a message goes through them
STATUS_ORDER = ("sent", "delivered", "read")
TIMEOUT = (5, 30)


class SocialError(WebhookError):
    """A webhook request refused with an HTTP status."""


class ProviderError(Exception):
    """The platform's API failed or refused a call."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status
        self.message = message


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
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        return str(int(value))
    return value.strip() if isinstance(value, str) else ""


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _list(value):
    return value if isinstance(value, list) else []


def _dict(value):
    return value if isinstance(value, dict) else {}


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
        "type": media_type,
        "id": _str(media_id),
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
            account_id = _str(_dict(value.get("metadata")).get("phone_number_id"))
            names = {
                _str(contact.get("wa_id")): _str(_dict(contact.get("profile")).get("name"))
                for contact in map(_dict, _list(value.get("contacts")))
            }
            for raw in map(_dict, _list(value.get("messages"))):
                message_id, sender = _str(raw.get("id")), _str(raw.get("from"))
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
                    text = "📍 {} {} {}".format(
                        body.get("latitude", ""), body.get("longitude", ""), _str(body.get("name"))
                    ).strip()
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
                        timestamp=_int(raw.get("timestamp")),
                    )
                )
            for raw in map(_dict, _list(value.get("statuses"))):
                errors = [_str(_dict(e).get("title")) for e in _list(raw.get("errors"))]
                if _str(raw.get("id")):
                    statuses.append(
                        {
                            "message_id": _str(raw.get("id")),
                            "status": _str(raw.get("status")),
                            "recipient_id": _str(raw.get("recipient_id")),
                            "timestamp": _int(raw.get("timestamp")),
                            "error": "; ".join(e for e in errors if e),
                        }
                    )
    return messages, statuses


def _parse_messenger(payload):
    messages, statuses = [], []
    for entry in map(_dict, _list(payload.get("entry"))):
        account_id = _str(entry.get("id"))
        for event in map(_dict, _list(entry.get("messaging"))):
            sender = _str(_dict(event.get("sender")).get("id"))
            timestamp = _int(event.get("timestamp")) // 1000
            raw = _dict(event.get("message"))
            if raw and not raw.get("is_echo"):
                message_id = _str(raw.get("mid"))
                if not message_id or not sender:
                    continue
                attachments = [_dict(a) for a in _list(raw.get("attachments"))]
                media_attachments = [a for a in attachments if _dict(a.get("payload")).get("url")]
                media = None
                if media_attachments:
                    first = media_attachments[0]
                    media = _media(first.get("type") or "file", url=first["payload"]["url"])
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
                                "message_id": _str(mid),
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
    chat_id = _str(_dict(raw.get("chat")).get("id"))
    number = _str(raw.get("message_id"))
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
            timestamp=_int(raw.get("date")),
        )
    ], []


PARSERS = {
    "whatsapp": _parse_whatsapp,
    "messenger": _parse_messenger,
    "telegram": _parse_telegram,
}


def parse_events(platform, payload):
    """``(messages, statuses)`` of one decoded webhook body.

    Raises :class:`SocialError` (400) when the body is not a JSON object or
    the platform is unknown; unknown event shapes are ignored (platforms add
    event kinds over time and retry whatever is refused).
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
# Provider adapters
# ----------------------------------------------------------------------
class SocialAdapter:
    """Send text and download media through one platform's HTTP API."""

    platform = None

    def __init__(self, api_url, access_token, account_id, timeout=TIMEOUT, max_media=MAX_MEDIA):
        self.api_url = (api_url or DEFAULT_API_URLS[self.platform]).rstrip("/")
        self.access_token = access_token or ""
        self.account_id = account_id or ""
        self.timeout = timeout
        self.max_media = max_media

    # the only HTTP call: tests patch it when no real peer is running
    def _transport(self, method, url, **kwargs):
        return requests.request(method, url, timeout=self.timeout, **kwargs)

    def _call(self, method, url, **kwargs):
        if not self.access_token:
            raise ProviderError("No access token is configured for this channel.")
        try:
            response = self._transport(method, url, **kwargs)
        except requests.Timeout as error:
            raise ProviderError(f"The {self.platform} API did not answer in time.") from error
        except requests.RequestException as error:
            raise ProviderError(f"Cannot reach the {self.platform} API: {error}") from error
        if response.status_code >= 400:
            raise ProviderError(
                f"The {self.platform} API answered HTTP {response.status_code}: "
                f"{self._error_text(response)}",
                status=response.status_code,
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

    def _download(self, url, headers=None):
        """Bytes at ``url``, refusing more than ``max_media``."""
        response = self._call("GET", url, headers=headers or {}, stream=True)
        with response:
            length = _int(response.headers.get("Content-Length"))
            if length > self.max_media:
                raise ProviderError(
                    f"The file has {length} bytes, more than the {self.max_media} accepted."
                )
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self.max_media:
                    raise ProviderError(f"The file is larger than the {self.max_media} accepted.")
                chunks.append(chunk)
            mime_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        return b"".join(chunks), mime_type

    def send_text(self, to, text):
        """Send ``text`` to ``to``; return the platform's message id."""
        raise NotImplementedError

    def download_media(self, media):
        """``(bytes, mime_type)`` of a parsed message's media."""
        raise NotImplementedError


class WhatsAppAdapter(SocialAdapter):
    platform = "whatsapp"

    def send_text(self, to, text):
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

    def download_media(self, media):
        meta = self._json(
            self._call("GET", f"{self.api_url}/{media['id']}", headers=self._bearer())
        )
        if not meta.get("url"):
            raise ProviderError(f"The whatsapp API gave no URL for media {media['id']}.")
        if _int(meta.get("file_size")) > self.max_media:
            raise ProviderError(
                f"The file has {meta['file_size']} bytes, more than the {self.max_media} accepted."
            )
        content, mime_type = self._download(meta["url"], headers=self._bearer())
        return content, meta.get("mime_type") or mime_type


class MessengerAdapter(SocialAdapter):
    platform = "messenger"

    def send_text(self, to, text):
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

    def download_media(self, media):
        # attachment URLs are signed CDN links: no token to send along
        if not self.access_token:
            raise ProviderError("No access token is configured for this channel.")
        return self._download(media["url"])


class TelegramAdapter(SocialAdapter):
    platform = "telegram"

    def _bot_call(self, method, payload):
        url = f"{self.api_url}/bot{self.access_token}/{method}"
        response = self._call("POST", url, json=payload)
        data = self._json(response)
        if not data.get("ok"):
            raise ProviderError(
                f"The telegram API refused {method}: {data.get('description') or data!r}"[:300]
            )
        return data.get("result")

    def send_text(self, to, text):
        payload = {"chat_id": to, "text": self._check_text(text)}
        result = _dict(self._bot_call("sendMessage", payload))
        if not result.get("message_id"):
            raise ProviderError("The telegram API answered no message id.")
        return f"{to}:{result['message_id']}"

    def download_media(self, media):
        result = _dict(self._bot_call("getFile", {"file_id": media["id"]}))
        if not result.get("file_path"):
            raise ProviderError(f"The telegram API gave no file path for {media['id']}.")
        if _int(result.get("file_size")) > self.max_media:
            raise ProviderError(
                f"The file has {result['file_size']} bytes, more than the "
                f"{self.max_media} accepted."
            )
        return self._download(f"{self.api_url}/file/bot{self.access_token}/{result['file_path']}")


ADAPTERS = {
    "whatsapp": WhatsAppAdapter,
    "messenger": MessengerAdapter,
    "telegram": TelegramAdapter,
}


def get_adapter(platform, api_url, access_token, account_id, **kwargs):
    if platform not in ADAPTERS:
        raise ProviderError(f"Unknown platform {platform!r}.")
    return ADAPTERS[platform](api_url, access_token, account_id, **kwargs)
