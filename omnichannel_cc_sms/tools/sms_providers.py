"""SMS gateways: Twilio, SMSAPI.pl, Kannel and a generic HTTP/JSON gateway.

Pure Python, no ORM. One adapter class per provider (:func:`get_adapter`)
knows, for its gateway:

- outbound: the HTTP request sending one SMS (:meth:`SmsAdapter.build_send`)
  and what its answer means (:meth:`SmsAdapter.parse_send`: the provider's
  message id, or an ``sms.sms`` failure type and the reason);
- inbound: how a callback is authenticated (:meth:`SmsAdapter.verify`:
  Twilio's ``X-Twilio-Signature``, a ``secret`` query parameter, the
  ``X-Omnichannel-Signature`` HMAC, the IP allow-list), what a received SMS
  (:meth:`SmsAdapter.parse_inbound`) and a delivery report
  (:meth:`SmsAdapter.parse_status`) say, as plain dataclasses, and what the
  gateway expects as an answer (:meth:`SmsAdapter.answer`).

The network is one function, :func:`http_transport` (``urllib.request``
with a timeout): module tests patch it; the repository's end-to-end tests
talk to real peers (Kannel, WireMock standing in for the REST APIs).
Refusals raise ``WebhookError`` with the HTTP status the controller answers
(400 malformed, 401 bad signature, 403 bad secret or address).
"""

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import math
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from odoo.addons.omnichannel_cc.tools.signature import sign as sign_body
from odoo.addons.omnichannel_cc.tools.signature import verify as verify_body
from odoo.addons.omnichannel_cc.tools.webhook import WebhookError

from . import sms_encoding

PROVIDERS = [
    ("iap", "Odoo IAP"),
    ("twilio", "Twilio"),
    ("smsapi", "SMSAPI.pl"),
    ("kannel", "Kannel"),
    ("http", "Generic HTTP/JSON"),
]
DEFAULT_BASE_URLS = {
    "twilio": "https://api.twilio.com",
    "smsapi": "https://api.smsapi.pl",
    "kannel": "http://127.0.0.1:13013",
}
TIMEOUT = 10
MAX_RESPONSE = 1024 * 1024
MAX_MEDIA = 5 * 1024 * 1024
MAX_TEXT = 10000
MAX_ID = 255
SIGNATURE_HEADER = "X-Omnichannel-Signature"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"

# sms.sms states a report moves a message to (Odoo's names: "pending" is
# shown as Sent, i.e. handed to the operator; "sent" as Delivered)
PROCESSING = "process"
SENT = "pending"
DELIVERED = "sent"
ERROR = "error"
# delivery failures Odoo knows (sms.tracker: failure type "sms_<kind>")
DELIVERY_FAILURES = ("expired", "invalid_destination", "not_allowed", "not_delivered", "rejected")
# sms.sms failure types a send may end with
SEND_FAILURES = (
    "sms_number_format",
    "sms_country_not_supported",
    "sms_credit",
    "sms_server",
    "sms_acc",
    "unknown",
)


# ----------------------------------------------------------------------
# Plain data
# ----------------------------------------------------------------------
@dataclass(frozen=True)
class Outgoing:
    """One SMS to send: ``uuid`` is ``sms.sms.uuid``, ``status_url`` the
    channel's delivery report route (without query)."""

    uuid: str
    number: str
    body: str
    status_url: str = ""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict = field(default_factory=dict)
    body: bytes = b""

    def json(self):
        """The body as a JSON object, or None."""
        try:
            data = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def text(self):
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class SendResult:
    """The outcome of one send: the provider's id, or a failure type of
    ``sms.sms`` (:data:`SEND_FAILURES`) and the reason."""

    uuid: str
    provider_id: str | None = None
    failure_type: str | None = None
    reason: str | None = None

    @property
    def ok(self):
        return self.failure_type is None


@dataclass(frozen=True)
class Media:
    url: str
    content_type: str = ""


@dataclass(frozen=True)
class Inbound:
    """A received SMS (MO)."""

    provider_id: str
    sender: str
    recipient: str
    text: str
    timestamp: float | None = None
    media: tuple = ()


@dataclass(frozen=True)
class Status:
    """A delivery report. ``uuid`` (ours, when the gateway echoes it) or
    ``provider_id`` designates the SMS; ``state`` is the ``sms.sms`` state
    it reaches (None: nothing to record); ``failure`` one of
    :data:`DELIVERY_FAILURES` (else an unknown failure), ``reason`` the
    gateway's words."""

    provider_id: str | None
    uuid: str | None
    state: str | None
    failure: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class WebRequest:
    """What the controller received, as plain data: ``query`` and ``form``
    are lists of (name, value) pairs, ``headers`` a case-insensitive
    mapping (Werkzeug's) or a dict; ``urls`` the full URLs the request may
    have been sent to (as received, as the public base URL gives it)."""

    method: str
    url: str
    headers: object
    body: bytes = b""
    query: tuple = ()
    form: tuple = ()
    remote_addr: str = ""
    urls: tuple = ()


class TransportError(Exception):
    """The gateway could not be reached or did not answer in time."""


class ProviderError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


# ----------------------------------------------------------------------
# Transport
# ----------------------------------------------------------------------
def http_transport(request, timeout=TIMEOUT, max_bytes=MAX_RESPONSE):
    """Perform ``request`` (:class:`HttpRequest`) with ``timeout`` seconds;
    an HTTP error status is an answer (:class:`HttpResponse`), not an
    exception; a body over ``max_bytes`` raises :class:`TransportError`, as
    does a network failure. The ``Authorization`` header is not repeated to
    another host on a redirect."""
    req = urllib.request.Request(request.url, data=request.body, method=request.method)
    for name, value in request.headers.items():
        if name.lower() == "authorization":
            req.add_unredirected_header(name, value)
        else:
            req.add_header(name, value)
    try:
        try:
            response = urllib.request.urlopen(req, timeout=timeout)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            body = response.read(max_bytes + 1)
            status = response.status if hasattr(response, "status") else response.code
            headers = {name.lower(): value for name, value in response.headers.items()}
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise TransportError(f"{type(error).__name__}: {reason}") from None
    if len(body) > max_bytes:
        raise TransportError(f"The answer is larger than {max_bytes} bytes.")
    return HttpResponse(status=status, headers=headers, body=body)


# ----------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------
_SECRET_QUERY = re.compile(r"\b(password|secret|token|pass)=[^&\s\"'<>]+", re.IGNORECASE)


def redact(text, secrets=()):
    """``text`` without credentials: each of ``secrets`` (as is and
    URL-encoded) and ``password=`` / ``secret=`` query values."""
    text = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, "***")
    return _SECRET_QUERY.sub(r"\1=***", text)


def parse_allowed_ips(text):
    """The networks of a comma- or space-separated allow-list (addresses or
    CIDR ranges); ValueError naming the first entry that is neither."""
    networks = []
    for entry in re.split(r"[,\s]+", text or ""):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def ip_allowed(remote_addr, networks):
    """Whether ``remote_addr`` is in one of ``networks``."""
    try:
        address = ipaddress.ip_address((remote_addr or "").split("%", 1)[0])
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def secrets_equal(given, expected):
    """Constant-time comparison of two secrets (str); False when either is empty."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def pairs_to_dict(*pair_lists):
    """One dict of (name, value) pair lists, the later lists winning and,
    within a list, the first value of a name."""
    values = {}
    for pairs in pair_lists:
        seen = set()
        for name, value in pairs:
            if name not in seen:
                values[name] = value
                seen.add(name)
    return values


def twilio_signature(auth_token, url, params):
    """Twilio's ``X-Twilio-Signature``: base64 HMAC-SHA1 keyed with the auth
    token over the full URL followed by each POST parameter's name and value,
    sorted by name (and, for a repeated name, by value, each value once).
    ``params``: (name, value) pairs or a dict."""
    items = params.items() if isinstance(params, dict) else params
    by_name = {}
    for name, value in items:
        by_name.setdefault(name, set()).add(value)
    data = url + "".join(
        name + value for name in sorted(by_name) for value in sorted(by_name[name])
    )
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url):
    """The URL as given, and with its default port added or removed
    (Twilio signs the URL as configured; a proxy may show it either way)."""
    variants = [url]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return variants
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if port is None and default:
        variants.append(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
    elif port == default:
        variants.append(urlunsplit(parts._replace(netloc=host)))
    return variants


def _text(values, name, required=True, max_length=MAX_ID):
    """A text field of a callback: str, at most ``max_length`` characters;
    400 when required and missing."""
    value = values.get(name)
    if value is None or value == "":
        if required:
            raise WebhookError(400, f"The field {name} is missing.")
        return ""
    if not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        else:
            raise WebhookError(400, f"The field {name} must be text.")
    if len(value) > max_length:
        raise WebhookError(400, f"The field {name} is longer than {max_length} characters.")
    if "\x00" in value:
        raise WebhookError(400, f"The field {name} holds a NUL character.")
    return value


def _number(values, name, required=True):
    number = _text(values, name, required=required, max_length=64).strip()
    if number and not re.fullmatch(r"\+?[0-9A-Za-z ()./-]{1,40}", number):
        raise WebhookError(400, f"The field {name} is not a phone number or sender name.")
    return number


def _timestamp(value):
    """UNIX seconds of a callback's time: a number, or ``YYYY-MM-DD HH:MM[:SS]``
    (UTC); None when absent or unreadable (the time is informative only)."""
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        pass
    else:
        return number if math.isfinite(number) and number > 0 else None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            moment = datetime.strptime(str(value).strip()[:19], fmt)
        except ValueError:
            continue
        return moment.replace(tzinfo=timezone.utc).timestamp()
    return None


def with_query(url, params):
    """``url`` with ``params`` (dict) appended to its query string."""
    if not params:
        return url
    separator = "&" if urlsplit(url).query else "?"
    return url + separator + urlencode(params)


# ----------------------------------------------------------------------
# Adapters
# ----------------------------------------------------------------------
class SmsAdapter:
    """One SMS gateway. ``account``, ``secret``, ``sender``: the channel's
    ``sms_account``, ``sms_secret``, ``sms_sender``; ``base_url`` its
    ``sms_base_url``; ``allowed_ips`` its ``sms_allowed_ips``."""

    provider = None
    label = ""
    # how callbacks are encoded: "form" (form fields and/or query) or "json"
    payload = "form"

    def __init__(self, account="", secret="", sender="", base_url="", allowed_ips="", **kwargs):
        self.account = account or ""
        self.secret = secret or ""
        self.sender = sender or ""
        self.base_url = (base_url or DEFAULT_BASE_URLS.get(self.provider, "")).rstrip("/")
        self.allowed_ips = allowed_ips or ""
        self.timeout = kwargs.get("timeout", TIMEOUT)

    # -- outbound ------------------------------------------------------
    def build_send(self, sms):
        """The HTTP request sending ``sms`` (:class:`Outgoing`)."""
        raise NotImplementedError

    def parse_send(self, sms, response):
        """:class:`SendResult` of the gateway's ``response`` to the send."""
        raise NotImplementedError

    def send(self, sms):
        """Send ``sms`` through :func:`http_transport`; never raises for the
        gateway's refusals nor for the network (a failure type says it)."""
        if not self.base_url:
            return SendResult(sms.uuid, failure_type="sms_acc", reason="No gateway URL is set.")
        try:
            request = self.build_send(sms)
        except ProviderError as error:
            return SendResult(sms.uuid, failure_type="sms_acc", reason=error.message)
        try:
            response = http_transport(request, self.timeout)
        except TransportError as error:
            reason = f"{self.label} could not be reached: {error}"
            return SendResult(
                sms.uuid, failure_type="sms_server", reason=redact(reason, self._secrets())
            )
        result = self.parse_send(sms, response)
        if result.reason:
            result = SendResult(
                result.uuid,
                result.provider_id,
                result.failure_type,
                redact(result.reason, self._secrets())[:500],
            )
        return result

    def _secrets(self):
        return (self.secret,)

    def _failure_by_status(self, sms, response, detail=""):
        """A failure from the HTTP status alone."""
        if response.status in (401, 403):
            failure = "sms_acc"
        elif response.status == 402:
            failure = "sms_credit"
        elif response.status >= 500 or response.status == 429:
            failure = "sms_server"
        else:
            failure = "unknown"
        reason = f"{self.label} answered HTTP {response.status}"
        if detail:
            reason = f"{reason}: {detail}"
        return SendResult(sms.uuid, failure_type=failure, reason=reason)

    # -- inbound -------------------------------------------------------
    def verify(self, request):
        """Refuse (``WebhookError`` 401 or 403) a callback not from the
        gateway: the IP allow-list first, then the provider's own check."""
        if self.allowed_ips:
            try:
                networks = parse_allowed_ips(self.allowed_ips)
            except ValueError:
                networks = ()
            if not ip_allowed(request.remote_addr, networks):
                raise WebhookError(
                    403,
                    f"{request.remote_addr or 'This address'} may not call this gateway's URLs.",
                )
        self._verify(request)

    def _verify(self, request):
        raise NotImplementedError

    def _verify_secret_param(self, request):
        """The ``secret`` query parameter must be the channel's secret; with
        no secret configured, the IP allow-list must be (403 otherwise)."""
        if not self.secret:
            if self.allowed_ips:
                return
            raise WebhookError(
                403, "Set the channel's secret or IP allow-list before the gateway calls Odoo."
            )
        given = pairs_to_dict(request.query).get("secret", "")
        if not secrets_equal(given, self.secret):
            raise WebhookError(403, "Missing or wrong secret.")

    def parse_inbound(self, values):
        """:class:`Inbound` of a received SMS's callback ``values``."""
        raise NotImplementedError

    def parse_status(self, values):
        """The :class:`Status` reports of a delivery report callback."""
        raise NotImplementedError

    def answer(self, kind, result=None):
        """``(content_type, body)`` of a successful answer to a callback
        (``kind``: "inbound" or "status"), or None for the JSON ``result``."""
        return

    # -- media ---------------------------------------------------------
    def download_media(self, media, max_bytes=MAX_MEDIA):
        """``(bytes, content_type)`` of an MMS attachment: only from the
        gateway's own API origin, at most ``max_bytes``."""
        try:
            parts, base = urlsplit(media.url), urlsplit(self.base_url)
            same_origin = (parts.scheme, parts.hostname, parts.port) == (
                base.scheme,
                base.hostname,
                base.port,
            )
        except ValueError:
            same_origin = False
        if not same_origin or parts.username or parts.password:
            raise ProviderError("Refused to download a file from outside the gateway's API.")
        request = HttpRequest("GET", media.url, headers=self._media_headers())
        try:
            response = http_transport(request, self.timeout, max_bytes=max_bytes)
        except TransportError as error:
            raise ProviderError(redact(f"The download failed: {error}", self._secrets())) from None
        if response.status >= 400:
            raise ProviderError(f"The download failed: HTTP {response.status}.")
        content_type = response.headers.get("content-type", "") or media.content_type
        return response.body, content_type.split(";", 1)[0].strip()

    def _media_headers(self):
        return {}


class TwilioAdapter(SmsAdapter):
    """Twilio Programmable Messaging: REST with Basic auth (account SID,
    auth token), form-encoded; callbacks signed ``X-Twilio-Signature``."""

    provider = "twilio"
    label = "Twilio"
    # https://www.twilio.com/docs/api/errors
    SEND_ERRORS = {
        20003: "sms_acc",
        20404: "sms_acc",
        20429: "sms_server",
        21211: "sms_number_format",
        21212: "sms_acc",
        21408: "sms_country_not_supported",
        21606: "sms_acc",
        21612: "sms_country_not_supported",
        21614: "sms_number_format",
        30003: "sms_server",
    }
    DELIVERY_ERRORS = {
        "30001": "not_delivered",
        "30002": "not_allowed",
        "30003": "not_delivered",
        "30004": "rejected",
        "30005": "invalid_destination",
        "30006": "invalid_destination",
        "30007": "rejected",
        "30008": "not_delivered",
        "21610": "not_allowed",
        "21614": "invalid_destination",
    }
    STATES = {
        "accepted": PROCESSING,
        "scheduled": PROCESSING,
        "queued": PROCESSING,
        "sending": PROCESSING,
        "sent": SENT,
        "delivered": DELIVERED,
        "read": DELIVERED,
        "undelivered": ERROR,
        "failed": ERROR,
        "canceled": ERROR,
    }

    def _auth(self):
        token = base64.b64encode(f"{self.account}:{self.secret}".encode()).decode("ascii")
        return f"Basic {token}"

    def build_send(self, sms):
        if not self.account or not self.secret:
            raise ProviderError("Set the Twilio account SID and auth token of the channel.")
        fields = {"To": sms.number, "Body": sms.body}
        if re.fullmatch(r"MG[0-9a-fA-F]{32}", self.sender):
            fields["MessagingServiceSid"] = self.sender
        elif self.sender:
            fields["From"] = self.sender
        if sms.status_url:
            # our id in the callback URL: a report arriving before the send's
            # outcome is recorded still finds its SMS (Twilio signs the URL)
            fields["StatusCallback"] = with_query(sms.status_url, {"id": sms.uuid})
        return HttpRequest(
            "POST",
            f"{self.base_url}/2010-04-01/Accounts/{quote(self.account, safe='')}/Messages.json",
            headers={
                "Authorization": self._auth(),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            body=urlencode(fields).encode("utf-8"),
        )

    def parse_send(self, sms, response):
        data = response.json() or {}
        if 200 <= response.status < 300:
            sid = data.get("sid")
            if not isinstance(sid, str) or not sid:
                return SendResult(
                    sms.uuid, failure_type="sms_server", reason="Twilio answered without a sid."
                )
            if data.get("status") in ("failed", "undelivered"):
                return SendResult(
                    sms.uuid,
                    provider_id=sid,
                    failure_type="unknown",
                    reason=f"Twilio error {data.get('error_code')}: {data.get('error_message')}",
                )
            return SendResult(sms.uuid, provider_id=sid[:MAX_ID])
        code = data.get("code")
        message = data.get("message") or response.text()[:200]
        failure = self.SEND_ERRORS.get(code) if isinstance(code, int) else None
        if failure:
            return SendResult(
                sms.uuid, failure_type=failure, reason=f"Twilio error {code}: {message}"
            )
        return self._failure_by_status(
            sms, response, f"error {code}: {message}" if code else message
        )

    def _verify(self, request):
        header = request.headers.get(TWILIO_SIGNATURE_HEADER) or ""
        if not self.secret or not header:
            raise WebhookError(401, f"Missing or bad {TWILIO_SIGNATURE_HEADER}.")
        params = request.form if request.method == "POST" else ()
        given = header.strip().encode("utf-8", "replace")
        for candidate in request.urls or (request.url,):
            for url in _url_variants(candidate):
                expected = twilio_signature(self.secret, url, params)
                if hmac.compare_digest(expected.encode("ascii"), given):
                    return
        raise WebhookError(401, f"Missing or bad {TWILIO_SIGNATURE_HEADER}.")

    def parse_inbound(self, values):
        sid = _twilio_sid(values)
        try:
            count = int(values.get("NumMedia") or 0)
        except (TypeError, ValueError):
            raise WebhookError(400, "NumMedia must be a number.") from None
        if not 0 <= count <= 10:
            raise WebhookError(400, "NumMedia must be between 0 and 10.")
        media = tuple(
            Media(
                _text(values, f"MediaUrl{index}", max_length=2000),
                _text(values, f"MediaContentType{index}", required=False, max_length=255),
            )
            for index in range(count)
        )
        return Inbound(
            provider_id=sid,
            sender=_number(values, "From"),
            recipient=_number(values, "To", required=False),
            text=_text(values, "Body", required=False, max_length=MAX_TEXT),
            media=media,
        )

    def parse_status(self, values):
        sid = _twilio_sid(values)
        status = (
            _text(values, "MessageStatus", required=False) or _text(values, "SmsStatus")
        ).lower()
        if status not in self.STATES:
            return [Status(sid, _text(values, "id", required=False) or None, None)]
        code = _text(values, "ErrorCode", required=False, max_length=20)
        failure = reason = None
        if self.STATES[status] == ERROR:
            failure = self.DELIVERY_ERRORS.get(code)
            reason = f"Twilio {status}" + (f", error {code}" if code else "")
        return [
            Status(
                sid,
                _text(values, "id", required=False) or None,
                self.STATES[status],
                failure,
                reason,
            )
        ]

    def answer(self, kind, result=None):
        return "text/xml", '<?xml version="1.0" encoding="UTF-8"?><Response/>'

    def _media_headers(self):
        return {"Authorization": self._auth()} if self.account and self.secret else {}


def _twilio_sid(values):
    sid = _text(values, "MessageSid", required=False) or _text(values, "SmsSid", required=False)
    if not sid:
        raise WebhookError(400, "The field MessageSid is missing.")
    return sid


class SmsapiAdapter(SmsAdapter):
    """SMSAPI.pl: REST ``/sms.do`` with a Bearer token (OAuth token of the
    customer panel); MO and delivery report callbacks authenticated by the
    ``secret`` parameter of their URL and / or the IP allow-list."""

    provider = "smsapi"
    label = "SMSAPI"
    # https://www.smsapi.pl/docs error codes
    SEND_ERRORS = {
        13: "sms_number_format",
        101: "sms_acc",
        102: "sms_acc",
        103: "sms_credit",
        105: "sms_acc",
        200: "sms_server",
        201: "sms_server",
        202: "sms_server",
        203: "sms_server",
        999: "sms_server",
    }
    # delivery report codes
    STATES = {
        "401": (ERROR, None, "NOT_FOUND"),
        "402": (ERROR, "expired", "EXPIRED"),
        "403": (SENT, None, "SENT"),
        "404": (DELIVERED, None, "DELIVERED"),
        "405": (ERROR, "not_delivered", "UNDELIVERED"),
        "406": (ERROR, "not_delivered", "FAILED"),
        "407": (ERROR, "rejected", "REJECTED"),
        "408": (None, None, "UNKNOWN"),
        "409": (PROCESSING, None, "QUEUE"),
        "410": (PROCESSING, None, "ACCEPTED"),
        "411": (PROCESSING, None, "RENEWAL"),
        "412": (ERROR, "not_allowed", "STOP"),
    }

    def build_send(self, sms):
        if not self.secret:
            raise ProviderError("Set the SMSAPI token of the channel.")
        fields = {
            "to": sms.number.lstrip("+"),
            "message": sms.body,
            "format": "json",
            "encoding": "utf-8",
            "idx": sms.uuid,
        }
        if self.sender:
            fields["from"] = self.sender
        if sms.status_url:
            fields["notify_url"] = with_query(sms.status_url, {"secret": self.secret})
        return HttpRequest(
            "POST",
            f"{self.base_url}/sms.do",
            headers={
                "Authorization": f"Bearer {self.secret}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            body=urlencode(fields).encode("utf-8"),
        )

    def parse_send(self, sms, response):
        data = response.json() or {}
        code = data.get("error")
        if code or not 200 <= response.status < 300:
            message = data.get("message") or response.text()[:200]
            failure = self.SEND_ERRORS.get(code) if isinstance(code, int) else None
            if failure:
                return SendResult(
                    sms.uuid, failure_type=failure, reason=f"SMSAPI error {code}: {message}"
                )
            if code:
                return SendResult(
                    sms.uuid, failure_type="unknown", reason=f"SMSAPI error {code}: {message}"
                )
            return self._failure_by_status(sms, response, message)
        entries = data.get("list")
        entry = entries[0] if isinstance(entries, list) and entries else {}
        message_id = entry.get("id") if isinstance(entry, dict) else None
        if not message_id:
            return SendResult(
                sms.uuid, failure_type="sms_server", reason="SMSAPI answered without a message id."
            )
        return SendResult(sms.uuid, provider_id=str(message_id)[:MAX_ID])

    def _verify(self, request):
        self._verify_secret_param(request)

    def parse_inbound(self, values):
        return Inbound(
            provider_id=_text(values, "MsgId"),
            sender=_number(values, "sms_from"),
            recipient=_number(values, "sms_to", required=False),
            text=_text(values, "sms_text", required=False, max_length=MAX_TEXT),
            timestamp=_timestamp(values.get("sms_date")),
        )

    def parse_status(self, values):
        # one callback may carry several reports: comma-separated lists
        ids = _text(values, "MsgId", max_length=MAX_TEXT).split(",")
        codes = _text(values, "status", max_length=MAX_TEXT).split(",")
        indexes = _text(values, "idx", required=False, max_length=MAX_TEXT).split(",")
        if len(codes) != len(ids):
            raise WebhookError(400, "MsgId and status list different numbers of reports.")
        reports = []
        for position, (message_id, code) in enumerate(zip(ids, codes, strict=True)):
            message_id, code = message_id.strip(), code.strip()
            if not message_id or len(message_id) > MAX_ID:
                raise WebhookError(400, "A MsgId is empty or too long.")
            uuid = indexes[position].strip() if position < len(indexes) else ""
            state, failure, name = self.STATES.get(code, (None, None, code))
            reason = f"SMSAPI {name} ({code})" if state == ERROR else None
            reports.append(Status(message_id, uuid[:MAX_ID] or None, state, failure, reason))
        return reports

    def answer(self, kind, result=None):
        # SMSAPI repeats a callback until it reads OK
        return "text/plain", "OK"


class KannelAdapter(SmsAdapter):
    """Kannel's smsbox: ``/cgi-bin/sendsms`` (sendsms-user ``account`` /
    ``secret``) with a ``dlr-url`` per message; MO through the smsbox
    ``get-url``; both callbacks carry ``secret`` in their URL."""

    provider = "kannel"
    label = "Kannel"
    # dlr-mask 31: delivered, failed, buffered, accepted and rejected by the SMSC
    DLR_MASK = 31
    STATES = {
        1: (DELIVERED, None),
        2: (ERROR, "not_delivered"),
        4: (SENT, None),
        8: (SENT, None),
        16: (ERROR, "rejected"),
    }

    def build_send(self, sms):
        if not self.account:
            raise ProviderError("Set the Kannel sendsms user of the channel.")
        encoding = sms_encoding.encoding_of(sms.body)
        params = {
            "username": self.account,
            "password": self.secret,
            "to": sms.number,
            "text": sms.body,
            "charset": "UTF-8",
            "coding": "0" if encoding == sms_encoding.GSM7 else "2",
        }
        if self.sender:
            params["from"] = self.sender
        if sms.status_url:
            # %d and %A are Kannel's: the report's type and the SMSC's text
            params["dlr-mask"] = str(self.DLR_MASK)
            params["dlr-url"] = (
                with_query(sms.status_url, {"secret": self.secret, "id": sms.uuid})
                + "&type=%d&reply=%A"
            )
        return HttpRequest("GET", f"{self.base_url}/cgi-bin/sendsms?{urlencode(params)}")

    def parse_send(self, sms, response):
        text = response.text().strip()
        if 200 <= response.status < 300 and re.match(r"^[03]:", text):
            # Kannel has no id of its own to give: the report comes back with ours
            return SendResult(sms.uuid, provider_id=sms.uuid)
        if response.status in (401, 403) or "authorization failed" in text.lower():
            return SendResult(sms.uuid, failure_type="sms_acc", reason=f"Kannel: {text[:200]}")
        return self._failure_by_status(sms, response, text[:200])

    def _verify(self, request):
        self._verify_secret_param(request)

    def parse_inbound(self, values):
        return Inbound(
            provider_id=_text(values, "id"),
            sender=_number(values, "from"),
            recipient=_number(values, "to", required=False),
            text=_text(values, "text", required=False, max_length=MAX_TEXT),
            timestamp=_timestamp(values.get("ts")),
        )

    def parse_status(self, values):
        uuid = _text(values, "id")
        try:
            kind = int(_text(values, "type", max_length=8))
        except ValueError:
            raise WebhookError(400, "The report type must be a number.") from None
        reply = _text(values, "reply", required=False, max_length=1000)
        state, failure = self.STATES.get(kind, (None, None))
        reason = None
        if state == ERROR:
            detail = re.search(r"\b(stat:\S+(?:\s+err:\S+)?)", reply)
            reason = "Kannel: " + (detail.group(1) if detail else (reply or f"report {kind}"))
        return [Status(None, uuid, state, failure, reason)]

    def answer(self, kind, result=None):
        if kind == "inbound":
            # smsbox texts the answer's body back to the customer: say nothing
            return "text/plain", ""
        return None


class HttpAdapter(SmsAdapter):
    """A generic HTTP/JSON gateway. Odoo posts ``{"id", "from", "to",
    "text", "status_url"}`` to the base URL, signed like every request in
    both directions: ``X-Omnichannel-Signature: sha256=<hex HMAC-SHA256 of
    the raw body keyed with the secret>``; the gateway answers 2xx
    ``{"id": "<its message id>"}`` (or an error status with ``{"error"}``).
    It posts received SMS ``{"id", "from", "to", "text", "timestamp"}`` and
    reports ``{"id", "status": "sent|delivered|failed", "reason"}``."""

    provider = "http"
    label = "The SMS gateway"
    payload = "json"
    FAILURES = {
        "number_format": "sms_number_format",
        "country": "sms_country_not_supported",
        "credit": "sms_credit",
        "account": "sms_acc",
        "server": "sms_server",
    }
    STATES = {
        "queued": PROCESSING,
        "sent": SENT,
        "delivered": DELIVERED,
        "failed": ERROR,
        "undelivered": ERROR,
    }

    def build_send(self, sms):
        if not self.secret:
            raise ProviderError("Set the shared secret of the channel.")
        body = json.dumps(
            {
                "id": sms.uuid,
                "from": self.sender,
                "to": sms.number,
                "text": sms.body,
                "status_url": sms.status_url,
            },
            ensure_ascii=False,
        ).encode("utf-8")
        return HttpRequest(
            "POST",
            self.base_url,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                SIGNATURE_HEADER: sign_body(self.secret, body),
            },
            body=body,
        )

    def parse_send(self, sms, response):
        data = response.json() or {}
        if 200 <= response.status < 300:
            provider_id = data.get("id")
            if provider_id is not None and not isinstance(provider_id, str | int):
                provider_id = None
            return SendResult(sms.uuid, provider_id=str(provider_id or sms.uuid)[:MAX_ID])
        message = data.get("error") if isinstance(data.get("error"), str) else response.text()
        failure = self.FAILURES.get(data.get("failure"))
        if failure:
            return SendResult(sms.uuid, failure_type=failure, reason=message[:200])
        return self._failure_by_status(sms, response, message[:200])

    def _verify(self, request):
        header = request.headers.get(SIGNATURE_HEADER)
        if not verify_body(self.secret, request.body, header):
            raise WebhookError(401, f"Missing or bad {SIGNATURE_HEADER}.")

    def parse_inbound(self, values):
        return Inbound(
            provider_id=_text(values, "id"),
            sender=_number(values, "from"),
            recipient=_number(values, "to", required=False),
            text=_text(values, "text", required=False, max_length=MAX_TEXT),
            timestamp=_timestamp(values.get("timestamp")),
        )

    def parse_status(self, values):
        provider_id = _text(values, "id")
        status = _text(values, "status", max_length=32).lower()
        if status not in self.STATES:
            raise WebhookError(
                400, f"Unknown status {status[:32]!r}: use sent, delivered or failed."
            )
        reason = _text(values, "reason", required=False, max_length=500) or None
        state = self.STATES[status]
        failure = None
        if state == ERROR:
            failure = values.get("failure") if values.get("failure") in DELIVERY_FAILURES else None
            reason = reason or status
        else:
            reason = None
        # the gateway may report with its own id or with ours
        return [Status(provider_id, provider_id, state, failure, reason)]


ADAPTERS = {
    adapter.provider: adapter
    for adapter in (TwilioAdapter, SmsapiAdapter, KannelAdapter, HttpAdapter)
}


def get_adapter(provider, **settings):
    """The adapter of ``provider`` (not ``iap``, which Odoo's own ``sms``
    module sends through) configured with ``settings`` (see
    :class:`SmsAdapter`)."""
    try:
        adapter = ADAPTERS[provider]
    except KeyError:
        raise ProviderError(f"No SMS gateway adapter for {provider!r}.") from None
    return adapter(**settings)
