"""Hostile requests to the signed webhooks, over HTTP, against the real server.

The security review of issue 13 found requests a signed-webhook endpoint
answered with a 500 and a traceback, or refused for a wrong reason. Each is
replayed here against the session's multi-worker Odoo: the PBX webhooks
(``/omnichannel/voip/<token>/event`` and ``/route``) and the social one
(``/omnichannel/social/<token>``), signed as the PBX and Meta sign (HMAC of
the raw body). The data is made, and checked, over XML-RPC.
"""

import hashlib
import hmac
import importlib.util
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e._inbox import outcome, wait_call

pytestmark = pytest.mark.e2e

BRIDGE = REPO_ROOT / "omnichannel_cc_voip" / "scripts" / "ami_bridge.py"
APP_SECRET = "hostile-app-secret"
PRIVATE_HOSTS_PARAM = "omnichannel_cc.social_media_private_hosts"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def http(method, url, body=None, headers=None):
    """``(status, decoded JSON or raw bytes)``; never raises on 4xx/5xx."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            status, raw, kind = answer.status, answer.read(), answer.headers.get_content_type()
    except urllib.error.HTTPError as error:
        status, raw, kind = error.code, error.read(), error.headers.get_content_type()
    return status, json.loads(raw) if kind == "application/json" else raw


@pytest.fixture(scope="module")
def phone(odoo_server, poland):
    """A phone channel and an agent on a fresh extension."""
    rpc = odoo_server
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    extension = f"7{uuid.uuid4().int % 10**5:05d}"
    login = unique("hostile-agent")
    rpc.call(
        "res.users",
        "create",
        {
            "name": "Hostile test agent",
            "login": login,
            "password": login,
            "groups_id": [(6, 0, [rpc.ref("omnichannel_cc.group_omnichannel_agent")])],
            "omnichannel_extension": extension,
        },
    )
    queue = rpc.call("omnichannel.queue", "create", {"name": unique("Hostile line")})
    did = f"+4822{uuid.uuid4().int % 10**7:07d}"
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {"name": "Hostile line", "channel_type": "phone", "address": did, "queue_id": queue},
    )
    (row,) = rpc.call(
        "omnichannel.channel", "read", [channel], fields=["voip_token", "voip_secret"]
    )
    return {
        "channel": channel,
        "did": did,
        "extension": extension,
        "secret": row["voip_secret"],
        "url": f"{rpc.url}/omnichannel/voip/{row['voip_token']}",
    }


@pytest.fixture(scope="module")
def social(odoo_server):
    """A WhatsApp and a Messenger channel; the test-only private-address
    override is off, as in production."""
    rpc = odoo_server
    rpc.call("ir.config_parameter", "set_param", PRIVATE_HOSTS_PARAM, False)
    queue = rpc.call("omnichannel.queue", "create", {"name": unique("Hostile social")})
    channels = {}
    for platform in ("whatsapp", "messenger"):
        address = unique(platform.upper())
        channel = rpc.call(
            "omnichannel.channel",
            "create",
            {
                "name": f"Hostile {platform}",
                "channel_type": "social",
                "social_platform": platform,
                "address": address,
                "queue_id": queue,
                "social_app_secret": APP_SECRET,
                "social_access_token": f"{platform.upper()}-ACCESS-TOKEN",
            },
        )
        (row,) = rpc.call("omnichannel.channel", "read", [channel], fields=["social_webhook_token"])
        channels[platform] = {
            "channel": channel,
            "address": address,
            "url": f"{rpc.url}/omnichannel/social/{row['social_webhook_token']}",
        }
    return channels


def pbx_event(phone, **values):
    return dict(
        {
            "event": "ringing",
            "call_id": unique("hostile-call"),
            "from": "+48601222333",
            "to": phone["did"],
            "timestamp": int(time.time()),
        },
        **values,
    )


def post_signed(
    url, body, secret, content_type="application/json", header="X-Omnichannel-Signature"
):
    return http("POST", url, body, {"Content-Type": content_type, header: sign(secret, body)})


def calls_of(rpc, channel):
    return rpc.call("omnichannel.interaction", "search_count", [("channel_id", "=", channel)])


def whatsapp_message(social, message_id, timestamp=None, text="hello"):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": social["whatsapp"]["address"]},
                            "contacts": [{"profile": {"name": "Ewa"}, "wa_id": "48509444555"}],
                            "messages": [
                                {
                                    "from": "48509444555",
                                    "id": message_id,
                                    "timestamp": str(timestamp or int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


# ----------------------------------------------------------------------
# L1: a NUL in the URL token
# ----------------------------------------------------------------------
def test_l1_nul_in_token_is_404(odoo_server, phone, social):
    body = json.dumps(pbx_event(phone)).encode()
    base = odoo_server.url
    for path in (
        "/omnichannel/voip/%00/event",
        "/omnichannel/voip/%00/route",
        f"{urllib.parse.urlsplit(phone['url']).path}%00/event",
        "/omnichannel/social/%00",
        f"{urllib.parse.urlsplit(social['whatsapp']['url']).path}%00",
    ):
        status, answer = post_signed(base + path, body, phone["secret"])
        assert status == 404, (path, status, answer)
        assert isinstance(answer, dict) and answer["error"].startswith("Unknown"), answer
    status, answer = http("GET", f"{base}/omnichannel/social/%00?hub.mode=subscribe")
    assert status == 404, answer


# ----------------------------------------------------------------------
# L2: correctly signed, hostile bodies
# ----------------------------------------------------------------------
def test_l2_hostile_signed_pbx_bodies_are_400_and_store_nothing(odoo_server, phone):
    rpc = odoo_server
    before = calls_of(rpc, phone["channel"])
    event = pbx_event(phone)
    text = json.dumps(event)
    stamp = str(event["timestamp"])

    def nested(depth):
        return text[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"

    cases = [
        ("event", nested(5000)),
        ("event", nested(30000)),
        ("route", nested(30000)),
        ("event", text.replace(stamp, "Infinity")),
        ("event", text.replace(stamp, "NaN")),
        ("route", text.replace(stamp, "1e400")),
        ("event", json.dumps(pbx_event(phone, call_id="nul\x00call"))),
        ("route", json.dumps(pbx_event(phone, call_id="\x00"))),
        ("event", json.dumps(pbx_event(phone, event="failed", reason="no\x00answer"))),
    ]
    for endpoint, raw in cases:
        status, answer = post_signed(f"{phone['url']}/{endpoint}", raw.encode(), phone["secret"])
        assert status == 400, (endpoint, raw[:100], status, answer)
        assert isinstance(answer, dict) and answer["error"], answer
    assert calls_of(rpc, phone["channel"]) == before
    # the workers are fine: the next call is taken (queued, then applied)
    status, answer = outcome(
        rpc, *post_signed(f"{phone['url']}/event", json.dumps(event).encode(), phone["secret"])
    )
    assert status == 200, answer
    assert calls_of(rpc, phone["channel"]) == before + 1


def test_l2_hostile_signed_social_bodies_are_400_and_store_nothing(odoo_server, social):
    rpc = odoo_server
    whatsapp = social["whatsapp"]

    def identities():
        return rpc.call(
            "omnichannel.social.identity",
            "search_count",
            [("channel_id", "=", whatsapp["channel"])],
        )

    before = identities()
    message_id = unique("wamid.HOSTILE")
    now = int(time.time())
    text = json.dumps(whatsapp_message(social, message_id, now))
    stamp = f'"timestamp": "{now}"'
    cases = [
        text[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}",
        text[:-1] + ', "x": ' + "[" * 30000 + "]" * 30000 + "}",
        text.replace(f'"{message_id}"', "Infinity"),
        text.replace(f'"{message_id}"', "NaN"),
        text.replace(f'"{message_id}"', "1e400"),
        text.replace(stamp, '"timestamp": 1e400'),
        text.replace(stamp, '"timestamp": -Infinity'),
        text.replace(f'"{message_id}"', f'"{message_id}\\u0000"'),
        text.replace('"from": "48509444555"', '"from": "4850\\u00009444555"'),
    ]
    for raw in cases:
        status, answer = post_signed(
            whatsapp["url"], raw.encode(), APP_SECRET, header="X-Hub-Signature-256"
        )
        assert status == 400, (raw[:100], status, answer)
    assert identities() == before
    status, answer = outcome(
        rpc, *post_signed(whatsapp["url"], text.encode(), APP_SECRET, header="X-Hub-Signature-256")
    )
    assert status == 200, answer
    assert answer["received"] == 1


# ----------------------------------------------------------------------
# L3: a signed attachment pointing at Odoo itself
# ----------------------------------------------------------------------
def test_l3_messenger_attachment_to_odoo_itself_is_never_fetched(odoo_server, social):
    rpc = odoo_server
    messenger = social["messenger"]
    sender = unique("PSID")
    mid = unique("m_ssrf")
    payload = {
        "object": "page",
        "entry": [
            {
                "id": messenger["address"],
                "messaging": [
                    {
                        "sender": {"id": sender},
                        "recipient": {"id": messenger["address"]},
                        "timestamp": int(time.time() * 1000),
                        "message": {
                            "mid": mid,
                            "attachments": [
                                {
                                    "type": "file",
                                    "payload": {"url": f"{rpc.url}/web/database/selector"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload).encode()
    status, answer = outcome(
        rpc, *post_signed(messenger["url"], body, APP_SECRET, header="X-Hub-Signature-256")
    )
    assert status == 200, answer
    assert answer["received"] == 1
    (message,) = rpc.call(
        "mail.message",
        "search_read",
        [("omnichannel_social_id", "=", mid)],
        fields=["res_id", "attachment_ids"],
    )
    assert message["attachment_ids"] == [], "Odoo's own page was not stored"
    notes = rpc.call(
        "mail.message",
        "search_read",
        [
            ("model", "=", "omnichannel.interaction"),
            ("res_id", "=", message["res_id"]),
            ("body", "ilike", "could not be downloaded"),
        ],
        fields=["body"],
    )
    assert len(notes) == 1 and "media hosts" in notes[0]["body"], notes


# ----------------------------------------------------------------------
# L7: what a PBX integrator runs into
# ----------------------------------------------------------------------
def test_l7a_form_encoded_body_is_415_not_401(odoo_server, phone):
    rpc = odoo_server
    before = calls_of(rpc, phone["channel"])
    form = urllib.parse.urlencode(pbx_event(phone)).encode()
    form_type = "application/x-www-form-urlencoded"
    status, answer = post_signed(f"{phone['url']}/event", form, phone["secret"], form_type)
    assert status == 415, answer
    assert "Content-Type: application/json" in answer["error"]
    # curl -d '{...}': JSON declared as a form
    as_json = json.dumps(pbx_event(phone)).encode()
    status, answer = post_signed(f"{phone['url']}/route", as_json, phone["secret"], form_type)
    assert status == 415, answer
    # unsigned: still a 401
    status, answer = post_signed(f"{phone['url']}/event", form, "not-the-secret", form_type)
    assert status == 401, answer
    assert calls_of(rpc, phone["channel"]) == before


def test_l7b_ringing_at_unknown_extension_is_400(odoo_server, phone):
    rpc = odoo_server
    before = calls_of(rpc, phone["channel"])
    unknown = "69999" if phone["extension"] != "69999" else "69998"
    body = json.dumps(pbx_event(phone, agent=unknown)).encode()
    status, answer = post_signed(f"{phone['url']}/event", body, phone["secret"])
    # stored at once; refused when applied: a dead letter (400 as outcome() shows it)
    assert status == 200 and answer["queued"], answer
    status, answer = outcome(rpc, status, answer)
    assert status == 400, answer
    assert unknown in answer["error"] and "extension" in answer["error"]
    assert calls_of(rpc, phone["channel"]) == before
    body = json.dumps(pbx_event(phone, agent=phone["extension"])).encode()
    status, answer = outcome(rpc, *post_signed(f"{phone['url']}/event", body, phone["secret"]))
    assert status == 200, answer


def test_l7c_ami_bridge_events_are_accepted(odoo_server, phone):
    """The Asterisk bridge's own poster, as ``--timestamp-header`` left it,
    against the live server: each event accepted, the call recorded."""
    spec = importlib.util.spec_from_file_location("ami_bridge_e2e", BRIDGE)
    bridge = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bridge)
    args = bridge._parser().parse_args(
        [
            "--ami-user", "u",
            "--odoo-url", odoo_server.url,
            # "=": a value starting with "-" (tokens made before 2026-12-06
            # could) would read as an option otherwise
            "--token=" + urllib.parse.urlsplit(phone["url"]).path.split("/")[3],
            "--secret=" + phone["secret"],
            "--timestamp-header",
        ]
    )  # fmt: skip
    poster = bridge.EventPoster(
        bridge.event_url(args.odoo_url, args.token), args.secret, max_attempts=1
    )
    call_id = unique("ami-call")
    now = int(time.time())
    for offset, name in enumerate(("ringing", "answered", "hangup")):
        event = pbx_event(phone, event=name, call_id=call_id, timestamp=now + offset)
        event["agent"] = phone["extension"]
        assert poster.post(event), f"{name} refused"
    rows = wait_call(odoo_server, call_id, 3)
    assert {row["state"] for row in rows.values()} == {"done"}, rows
    (call,) = odoo_server.call(
        "omnichannel.interaction",
        "search_read",
        [("channel_id", "=", phone["channel"]), ("external_id", "=", call_id)],
        fields=["voip_call_state", "state"],
    )
    assert call["voip_call_state"] == "ended", call
