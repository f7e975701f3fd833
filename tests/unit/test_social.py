"""omnichannel_cc_social/tools/social.py: webhook checks, parsers and adapters, without Odoo.

The adapters are exercised against a real local HTTP server (standard
library) standing in for the platforms' APIs.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.unit._tools import load_tools

(social,) = load_tools("social", addon="omnichannel_cc_social")

WHATSAPP_TEXT = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "WABA1",
            "changes": [
                {
                    "field": "messages",
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": "48225550199",
                            "phone_number_id": "PN1",
                        },
                        "contacts": [{"profile": {"name": "Zofia"}, "wa_id": "48509333444"}],
                        "messages": [
                            {
                                "from": "48509333444",
                                "id": "wamid.TEXT1",
                                "timestamp": "1700000000",
                                "type": "text",
                                "text": {"body": "Dzień dobry"},
                            },
                            {
                                "from": "48509333444",
                                "id": "wamid.IMG1",
                                "timestamp": "1700000001",
                                "type": "image",
                                "image": {
                                    "id": "MEDIA1",
                                    "mime_type": "image/jpeg",
                                    "caption": "the damage",
                                },
                            },
                        ],
                    },
                }
            ],
        }
    ],
}


# ----------------------------------------------------------------------
# webhook checks per platform (the HMAC itself, omnichannel_cc/tools/
# signature.py, is tested in test_signature.py)
# ----------------------------------------------------------------------
def test_verify_request_by_platform():
    body = b"{}"
    meta = {social.SIGNATURE_HEADER: social.sign("k", body)}
    assert social.verify_request("whatsapp", "k", body, meta)
    assert social.verify_request("messenger", "k", body, meta)
    assert not social.verify_request("telegram", "k", body, meta)
    telegram = {social.TELEGRAM_SECRET_HEADER: "k"}
    assert social.verify_request("telegram", "k", body, telegram)
    assert not social.verify_request("telegram", "k2", body, telegram)
    assert not social.verify_request("telegram", "", body, {social.TELEGRAM_SECRET_HEADER: ""})


def test_handshake():
    args = {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"}
    assert social.verify_handshake("vt", args) == "1158201444"
    assert social.verify_handshake("other", args) is None
    assert social.verify_handshake("", args) is None
    assert social.verify_handshake("vt", dict(args, **{"hub.mode": "unsubscribe"})) is None
    assert (
        social.verify_handshake("vt", {"hub.mode": "subscribe", "hub.verify_token": "vt"}) is None
    )


# ----------------------------------------------------------------------
# parsers
# ----------------------------------------------------------------------
def test_parse_whatsapp_text_and_media():
    messages, statuses = social.parse_events("whatsapp", WHATSAPP_TEXT)
    assert statuses == []
    assert [m["message_id"] for m in messages] == ["wamid.TEXT1", "wamid.IMG1"]
    text, image = messages
    assert text["sender_id"] == "48509333444"
    assert text["phone"] == "+48509333444"
    assert text["name"] == "Zofia"
    assert text["text"] == "Dzień dobry"
    assert text["account_id"] == "PN1"
    assert text["timestamp"] == 1700000000
    assert text["media"] is None
    assert image["media"]["id"] == "MEDIA1"
    assert image["media"]["type"] == "image"
    assert image["media"]["caption"] == "the damage"
    assert image["text"] == "the damage"


def test_parse_whatsapp_statuses_and_oddities():
    payload = {
        "entry": [
            {
                "changes": [
                    {
                        "value": {
                            "metadata": {"phone_number_id": "PN1"},
                            "statuses": [
                                {"id": "wamid.OUT1", "status": "delivered", "timestamp": "5"},
                                {
                                    "id": "wamid.OUT2",
                                    "status": "failed",
                                    "errors": [{"code": 131047, "title": "Re-engagement message"}],
                                },
                            ],
                            "messages": [
                                {"from": "48111", "id": "wamid.R", "type": "reaction"},
                                {
                                    "from": "48111",
                                    "id": "wamid.L",
                                    "type": "location",
                                    "location": {"latitude": 52.2, "longitude": 21.0},
                                },
                                {"id": "wamid.NOFROM", "type": "text", "text": {"body": "x"}},
                                "garbage",
                            ],
                        }
                    }
                ]
            },
            "garbage",
        ]
    }
    messages, statuses = social.parse_events("whatsapp", payload)
    assert [m["message_id"] for m in messages] == ["wamid.L"]
    assert "52.2" in messages[0]["text"]
    assert [(s["message_id"], s["status"]) for s in statuses] == [
        ("wamid.OUT1", "delivered"),
        ("wamid.OUT2", "failed"),
    ]
    assert statuses[1]["error"] == "Re-engagement message"


def test_parse_messenger():
    payload = {
        "object": "page",
        "entry": [
            {
                "id": "PAGE1",
                "time": 1700000000000,
                "messaging": [
                    {
                        "sender": {"id": "PSID1"},
                        "recipient": {"id": "PAGE1"},
                        "timestamp": 1700000000123,
                        "message": {"mid": "m_1", "text": "hello"},
                    },
                    {
                        "sender": {"id": "PSID1"},
                        "recipient": {"id": "PAGE1"},
                        "timestamp": 1700000001000,
                        "message": {
                            "mid": "m_2",
                            "attachments": [
                                {"type": "image", "payload": {"url": "https://cdn.example/p.jpg"}}
                            ],
                        },
                    },
                    {
                        "sender": {"id": "PAGE1"},
                        "recipient": {"id": "PSID1"},
                        "message": {"mid": "m_echo", "text": "our reply", "is_echo": True},
                    },
                    {"sender": {"id": "PSID1"}, "delivery": {"mids": ["m_out"], "watermark": 1}},
                ],
            }
        ],
    }
    messages, statuses = social.parse_events("messenger", payload)
    assert [m["message_id"] for m in messages] == ["m_1", "m_2"]
    assert messages[0]["sender_id"] == "PSID1"
    assert messages[0]["account_id"] == "PAGE1"
    assert messages[0]["timestamp"] == 1700000000
    assert messages[0]["phone"] == ""
    assert messages[1]["media"]["url"] == "https://cdn.example/p.jpg"
    assert messages[1]["media"]["type"] == "image"
    assert statuses == [
        {
            "message_id": "m_out",
            "status": "delivered",
            "recipient_id": "PSID1",
            "timestamp": 0,
            "error": "",
        }
    ]


def test_parse_telegram():
    update = {
        "update_id": 10,
        "message": {
            "message_id": 7,
            "from": {"id": 555, "first_name": "Jan", "last_name": "Kowalski"},
            "chat": {"id": 555, "type": "private"},
            "date": 1700000000,
            "photo": [
                {"file_id": "small", "file_size": 100, "width": 90},
                {"file_id": "big", "file_size": 9000, "width": 800},
            ],
            "caption": "broken pipe",
        },
    }
    (message,), statuses = social.parse_events("telegram", update)
    assert statuses == []
    assert message["message_id"] == "555:7"
    assert message["sender_id"] == "555"
    assert message["name"] == "Jan Kowalski"
    assert message["text"] == "broken pipe"
    assert message["media"]["id"] == "big"
    document = {
        "message": {
            "message_id": 8,
            "chat": {"id": 555},
            "document": {
                "file_id": "DOC",
                "file_name": "invoice.pdf",
                "mime_type": "application/pdf",
            },
        }
    }
    (message,), _statuses = social.parse_events("telegram", document)
    assert message["media"]["filename"] == "invoice.pdf"
    assert social.media_filename(message["media"]) == "invoice.pdf"
    assert social.parse_events("telegram", {"edited_message": {"message_id": 1}}) == ([], [])


@pytest.mark.parametrize("payload", [[], "text", 3, None])
def test_parse_refuses_non_objects(payload):
    with pytest.raises(social.SocialError) as caught:
        social.parse_events("whatsapp", payload)
    assert caught.value.status == 400


def test_media_filename_guesses_extension():
    assert social.media_filename({"type": "image", "id": "M1", "mime_type": "image/png"}) == (
        "image-M1.png"
    )


# ----------------------------------------------------------------------
# adapters against a local HTTP server
# ----------------------------------------------------------------------
class FakePlatform(BaseHTTPRequestHandler):
    """Answers as the Graph and Bot APIs do; records every request."""

    requests = []
    routes = {}

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        FakePlatform.requests.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        status, content_type, payload = FakePlatform.routes.get(
            (self.command, self.path.split("?")[0]),
            (404, "application/json", b'{"error": {"message": "nope"}}'),
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve

    def log_message(self, *args):
        pass


@pytest.fixture()
def platform():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakePlatform)
    FakePlatform.requests = []
    FakePlatform.routes = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", FakePlatform
    server.shutdown()
    server.server_close()


def _json(data):
    return (200, "application/json", json.dumps(data).encode())


# the test-only override: the fake platform serves media from the loopback
LOCAL = ("127.0.0.1",)


def test_whatsapp_send_and_download(platform):
    url, fake = platform
    fake.routes[("POST", "/PN1/messages")] = _json({"messages": [{"id": "wamid.OUT"}]})
    fake.routes[("GET", "/MEDIA1")] = _json(
        {"url": f"{url}/blob/MEDIA1", "mime_type": "image/jpeg", "file_size": 4}
    )
    fake.routes[("GET", "/blob/MEDIA1")] = (200, "image/jpeg", b"\xff\xd8\xff\xe0")
    adapter = social.get_adapter("whatsapp", url, "TOKEN", "PN1", private_hosts=LOCAL)
    assert adapter.send_text("+48509333444", " hi ") == "wamid.OUT"
    sent = fake.requests[0]
    assert sent["headers"]["Authorization"] == "Bearer TOKEN"
    assert json.loads(sent["body"]) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "48509333444",
        "type": "text",
        "text": {"preview_url": False, "body": "hi"},
    }
    content, mime_type = adapter.download_media({"id": "MEDIA1"})
    assert content == b"\xff\xd8\xff\xe0"
    assert mime_type == "image/jpeg"
    assert fake.requests[-1]["headers"]["Authorization"] == "Bearer TOKEN"


def test_whatsapp_errors_are_clear(platform):
    url, fake = platform
    fake.routes[("POST", "/PN1/messages")] = (
        400,
        "application/json",
        b'{"error": {"message": "Recipient phone number not in allowed list", "code": 131030}}',
    )
    adapter = social.get_adapter("whatsapp", url, "TOKEN", "PN1")
    with pytest.raises(social.ProviderError) as caught:
        adapter.send_text("48111", "hi")
    assert caught.value.status == 400
    assert "HTTP 400" in caught.value.message
    assert "not in allowed list" in caught.value.message
    with pytest.raises(social.ProviderError, match="no text"):
        adapter.send_text("48111", "  ")
    with pytest.raises(social.ProviderError, match="accepts 4096"):
        adapter.send_text("48111", "x" * 5000)
    with pytest.raises(social.ProviderError, match="No access token"):
        social.get_adapter("whatsapp", url, "", "PN1").send_text("48111", "hi")


def test_media_size_cap(platform):
    url, fake = platform
    fake.routes[("GET", "/BIG")] = _json({"url": f"{url}/blob/BIG", "file_size": 10})
    fake.routes[("GET", "/blob/BIG")] = (200, "application/octet-stream", b"x" * 10)
    adapter = social.get_adapter("whatsapp", url, "TOKEN", "PN1", max_media=5, private_hosts=LOCAL)
    with pytest.raises(social.ProviderError, match="more than the 5"):
        adapter.download_media({"id": "BIG"})
    # no size announced in the metadata: the download itself stops at the cap
    fake.routes[("GET", "/BIG")] = _json({"url": f"{url}/blob/BIG"})
    with pytest.raises(social.ProviderError, match="5"):
        adapter.download_media({"id": "BIG"})


def test_unreachable_api_is_a_provider_error():
    adapter = social.get_adapter("whatsapp", "http://127.0.0.1:9", "TOKEN", "PN1")
    with pytest.raises(social.ProviderError, match="Cannot reach"):
        adapter.send_text("48111", "hi")


def test_messenger_send(platform):
    url, fake = platform
    fake.routes[("POST", "/me/messages")] = _json({"recipient_id": "PSID1", "message_id": "m_out"})
    adapter = social.get_adapter("messenger", url, "PAGETOKEN", "PAGE1")
    assert adapter.send_text("PSID1", "hello") == "m_out"
    sent = fake.requests[0]
    assert sent["headers"]["Authorization"] == "Bearer PAGETOKEN"
    assert json.loads(sent["body"]) == {
        "recipient": {"id": "PSID1"},
        "messaging_type": "RESPONSE",
        "message": {"text": "hello"},
    }


def test_telegram_send_and_download(platform):
    url, fake = platform
    fake.routes[("POST", "/botBOT:TOKEN/sendMessage")] = _json(
        {"ok": True, "result": {"message_id": 99}}
    )
    fake.routes[("POST", "/botBOT:TOKEN/getFile")] = _json(
        {"ok": True, "result": {"file_id": "F", "file_path": "photos/f.jpg", "file_size": 3}}
    )
    fake.routes[("GET", "/file/botBOT:TOKEN/photos/f.jpg")] = (200, "image/jpeg", b"abc")
    adapter = social.get_adapter("telegram", url, "BOT:TOKEN", "BOT", private_hosts=LOCAL)
    assert adapter.send_text("555", "hi") == "555:99"
    assert json.loads(fake.requests[0]["body"]) == {"chat_id": "555", "text": "hi"}
    assert adapter.download_media({"id": "F"}) == (b"abc", "image/jpeg")
    fake.routes[("POST", "/botBOT:TOKEN/sendMessage")] = (
        403,
        "application/json",
        json.dumps({"ok": False, "description": "Forbidden: bot was blocked by the user"}).encode(),
    )
    with pytest.raises(social.ProviderError, match="blocked by the user"):
        adapter.send_text("555", "hi")


# ----------------------------------------------------------------------
# H2: no credential in an adapter's error
# ----------------------------------------------------------------------
BOT_TOKEN = "123456789:AAH-secret_bot-token"


def test_h2_telegram_token_never_shown_stored_or_logged(platform):
    """Whatever fails (connection refused, an HTTP error echoing the URL, a
    download), the error holds no token: it is shown to agents, stored on
    the reply and logged as it is."""
    unreachable = social.get_adapter("telegram", "http://127.0.0.1:9", BOT_TOKEN, "123456789")
    with pytest.raises(social.ProviderError) as caught:
        unreachable.send_text("555", "hi")
    error = caught.value
    assert "Cannot reach the telegram API" in error.message
    assert "/bot***/sendMessage" in error.message, "the URL stays readable without its token"
    for text in (error.message, str(error), repr(error)):
        assert "secret_bot-token" not in text and "123456789:" not in text
    assert error.__cause__ is None and error.__suppress_context__

    url, fake = platform
    echo = json.dumps({"ok": False, "description": f"Not Found: {url}/bot{BOT_TOKEN}/getFile"})
    fake.routes[("POST", f"/bot{BOT_TOKEN}/getFile")] = (404, "application/json", echo.encode())
    adapter = social.get_adapter("telegram", url, BOT_TOKEN, "123456789", private_hosts=LOCAL)
    with pytest.raises(social.ProviderError) as caught:
        adapter.download_media({"id": "F"})
    assert "HTTP 404" in caught.value.message
    assert "secret_bot-token" not in caught.value.message


def test_h2_redact_every_kind_of_secret():
    token = "EAAB+graph/token=="
    text = (
        f"GET https://graph.facebook.com/v19.0/me?access_token={token}&x=1 failed; "
        f"Authorization: Bearer {token}; url: /file/bot42:ABC-def_g/photos/f.jpg; "
        f"encoded {social.quote(token, safe='')}; appsecret_proof=abc123"
    )
    clean = social.redact(text, [token])
    assert "EAAB" not in clean and "ABC-def_g" not in clean and "abc123" not in clean
    assert "access_token=***&x=1" in clean
    assert "/file/bot***/photos/f.jpg" in clean
    assert "Bearer ***" in clean
    assert social.redact("The platform answered HTTP 400: Re-engagement message") == (
        "The platform answered HTTP 400: Re-engagement message"
    )


# ----------------------------------------------------------------------
# L2: ids with control characters, times out of range: 400; texts cleaned
# ----------------------------------------------------------------------
def _telegram(**message):
    return {"message": dict({"message_id": 7, "chat": {"id": 555}, "date": 1700000000}, **message)}


@pytest.mark.parametrize(
    "platform_name, payload",
    [
        ("telegram", _telegram(chat={"id": "55\x005"})),
        ("telegram", _telegram(message_id="7\x00")),
        ("telegram", _telegram(date=10**400)),
        ("telegram", _telegram(date=2**40)),
        ("telegram", _telegram(date=-5)),
        (
            "whatsapp",
            {"entry": [{"changes": [{"value": {"messages": [{"id": "w\x00", "from": "48"}]}}]}]},
        ),
        (
            "whatsapp",
            {"entry": [{"changes": [{"value": {"metadata": {"phone_number_id": "PN\n1"}}}]}]},
        ),
        (
            "whatsapp",
            {"entry": [{"changes": [{"value": {"statuses": [{"id": "s", "timestamp": 1e300}]}}]}]},
        ),
        ("messenger", {"entry": [{"id": "P", "messaging": [{"sender": {"id": "\x00"}}]}]}),
        ("messenger", {"entry": [{"id": "P", "messaging": [{"timestamp": 10**30}]}]}),
    ],
)
def test_l2_control_chars_in_ids_and_wild_times_are_400(platform_name, payload):
    with pytest.raises(social.SocialError) as caught:
        social.parse_events(platform_name, payload)
    assert caught.value.status == 400


def test_l2_control_chars_in_texts_are_dropped():
    payload = _telegram(
        text="Dzień\x00 dobry\x1b\nline two",
        **{"from": {"first_name": "Ja\x00n"}},
        document={"file_id": "DOC", "file_name": "in\x00voice.pdf", "mime_type": "app\x00"},
    )
    (message,), _statuses = social.parse_events("telegram", payload)
    assert message["text"] == "Dzień dobry\nline two"
    assert message["name"] == "Jan"
    assert message["media"]["filename"] == "invoice.pdf"
    assert "\x00" not in repr(message)


# ----------------------------------------------------------------------
# L3: media only from the platform's media hosts, public addresses, in time
# ----------------------------------------------------------------------
def _resolver(mapping):
    def resolve(host, port):
        if host not in mapping:
            raise OSError("unknown host")
        return mapping[host]

    return resolve


PUBLIC = "157.240.0.35"


@pytest.mark.parametrize(
    "url, addresses, reason",
    [
        ("http://127.0.0.1:8091/web/database/selector", [], "media hosts"),
        ("https://127.0.0.1/x", [], "media hosts"),
        ("https://odoo.internal/x", [], "media hosts"),
        ("https://fbcdn.net.evil.example/x", [], "media hosts"),
        ("http://scontent.xx.fbcdn.net/x", [], "media hosts"),
        ("https://user:pw@scontent.xx.fbcdn.net/x", [], "plain http"),
        ("file:///etc/passwd", [], "plain http"),
        ("ftp://scontent.xx.fbcdn.net/x", [], "plain http"),
        ("https://scontent.xx.fbcdn.net/x", ["127.0.0.1"], "loopback"),
        ("https://scontent.xx.fbcdn.net/x", ["10.1.2.3"], "private"),
        ("https://scontent.xx.fbcdn.net/x", [PUBLIC, "192.168.1.1"], "private"),
        ("https://scontent.xx.fbcdn.net/x", ["169.254.169.254"], "link-local"),
        ("https://scontent.xx.fbcdn.net/x", ["::1"], "loopback"),
        ("https://scontent.xx.fbcdn.net/x", ["::ffff:127.0.0.1"], "loopback"),
        ("https://scontent.xx.fbcdn.net/x", ["fe80::1%eth0"], "link-local"),
        ("https://scontent.xx.fbcdn.net/x", ["100.64.0.1"], "private"),
        ("https://scontent.xx.fbcdn.net/x", ["0.0.0.0"], "private"),
        ("https://unresolvable.fbcdn.net/x", None, "resolve"),
    ],
)
def test_l3_media_url_outside_platform_hosts_or_public_addresses_is_refused(url, addresses, reason):
    mapping = {} if addresses is None else {"scontent.xx.fbcdn.net": addresses}
    with pytest.raises(social.ProviderError, match=reason):
        social.check_media_url(
            url,
            social.DEFAULT_MEDIA_HOSTS["messenger"],
            api_url="https://graph.facebook.com/v19.0",
            resolve=_resolver(mapping),
        )


def test_l3_media_url_of_platform_hosts_or_api_server_is_allowed():
    resolve = _resolver(
        {
            "scontent.xx.fbcdn.net": [PUBLIC],
            "lookaside.fbsbx.com": [PUBLIC, "2a03:2880:f10d:83:face:b00c:0:25de"],
            "api.telegram.org": ["149.154.167.220"],
            "127.0.0.1": ["127.0.0.1"],
        }
    )
    check = social.check_media_url
    check("https://scontent.xx.fbcdn.net/v/p.jpg?oh=1", ("*.fbcdn.net",), resolve=resolve)
    check(
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1",
        ("lookaside.fbsbx.com",),
        resolve=resolve,
    )
    # the channel's API server (Telegram serves files there), on its own scheme and port
    check(
        "https://api.telegram.org/file/botX/doc.pdf",
        (),
        "https://api.telegram.org",
        resolve=resolve,
    )
    with pytest.raises(social.ProviderError, match="media hosts"):
        check(
            "https://api.telegram.org:8443/file/botX/doc.pdf",
            (),
            "https://api.telegram.org",
            resolve=resolve,
        )
    # the loopback only for a host the test override names
    api = "http://127.0.0.1:8080/v19.0"
    with pytest.raises(social.ProviderError, match="loopback"):
        check("http://127.0.0.1:8080/cdn/m", (), api, resolve=resolve)
    check("http://127.0.0.1:8080/cdn/m", (), api, private_hosts=("127.0.0.1",), resolve=resolve)
    assert social.host_allowed("a.b.fbcdn.net", ["*.fbcdn.net"])
    assert not social.host_allowed("fbcdn.net", ["*.fbcdn.net"])
    assert not social.host_allowed("evilfbcdn.net", ["*.fbcdn.net"])


def test_l3_messenger_attachment_to_a_local_server_is_never_fetched(platform):
    """The finding: a signed Messenger attachment pointing at Odoo itself."""
    url, fake = platform
    fake.routes[("GET", "/web/database/selector")] = (200, "text/html", b"<html>databases</html>")
    adapter = social.get_adapter("messenger", "https://graph.facebook.com/v19.0", "PAGETOKEN", "P")
    with pytest.raises(social.ProviderError, match="media hosts"):
        adapter.download_media({"url": f"{url}/web/database/selector", "id": ""})
    # even with its host allow-listed, a loopback address is refused
    adapter = social.get_adapter(
        "messenger", "https://graph.facebook.com/v19.0", "PAGETOKEN", "P", media_hosts=["localhost"]
    )
    port = url.rsplit(":", 1)[1]
    with pytest.raises(social.ProviderError, match="loopback"):
        adapter.download_media({"url": f"https://localhost:{port}/web/database/selector"})
    assert fake.requests == []


def test_l3_redirect_out_of_the_media_hosts_is_refused(monkeypatch):
    """An allowed host redirecting to the loopback: the second URL is
    checked before it is fetched, and the token is not carried along."""
    calls = []

    def transport(adapter, method, url, **kwargs):
        calls.append((url, dict(kwargs.get("headers") or {}), kwargs.get("allow_redirects")))
        response = social.requests.Response()
        response.status_code = 302
        response.headers["Location"] = "http://127.0.0.1:8091/web/database/selector"
        response._content, response._content_consumed = b"", True
        return response

    monkeypatch.setattr(social.SocialAdapter, "_transport", transport)
    monkeypatch.setattr(social.SocialAdapter, "_resolve", lambda self, host, port: [PUBLIC])
    adapter = social.get_adapter("messenger", None, "PAGETOKEN", "P")
    with pytest.raises(social.ProviderError, match="from 127.0.0.1: not one of"):
        adapter.download_media({"url": "https://scontent.xx.fbcdn.net/v/p.jpg"})
    assert calls == [("https://scontent.xx.fbcdn.net/v/p.jpg", {}, False)]


class SlowDrip(BaseHTTPRequestHandler):
    """Announces a megabyte, then sends a byte every 50 ms: each read is
    quick, the whole would take 14 hours."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(1024 * 1024))
        self.end_headers()
        try:
            for _byte in range(1024 * 1024):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_l3_download_has_an_overall_deadline():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowDrip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        adapter = social.get_adapter(
            "messenger", url, "PAGETOKEN", "P", private_hosts=LOCAL, media_deadline=1
        )
        started = time.monotonic()
        with pytest.raises(social.ProviderError, match="took more than 1 seconds"):
            adapter.download_media({"url": f"{url}/slow.jpg"})
        assert time.monotonic() - started < 5, "cut at the deadline, not by a read timeout"
    finally:
        server.shutdown()
        server.server_close()
