"""omnichannel_cc_social/tools/social.py: webhook checks, parsers and adapters, without Odoo.

The adapters are exercised against a real local HTTP server (standard
library) standing in for the platforms' APIs.
"""

import json
import threading
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


def test_whatsapp_send_and_download(platform):
    url, fake = platform
    fake.routes[("POST", "/PN1/messages")] = _json({"messages": [{"id": "wamid.OUT"}]})
    fake.routes[("GET", "/MEDIA1")] = _json(
        {"url": f"{url}/blob/MEDIA1", "mime_type": "image/jpeg", "file_size": 4}
    )
    fake.routes[("GET", "/blob/MEDIA1")] = (200, "image/jpeg", b"\xff\xd8\xff\xe0")
    adapter = social.get_adapter("whatsapp", url, "TOKEN", "PN1")
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
    adapter = social.get_adapter("whatsapp", url, "TOKEN", "PN1", max_media=5)
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
    adapter = social.get_adapter("telegram", url, "BOT:TOKEN", "BOT")
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
