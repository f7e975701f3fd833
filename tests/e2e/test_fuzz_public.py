"""Property-based fuzzing of the public HTTP endpoints against a live server.

Every route of ``docs/openapi.yaml`` (the PBX, social and SMS webhooks, the
web form, the invitation links, the survey pages, the web chat overrides)
gets bounded random and hostile requests from ``hypothesis``: bad, missing
and foreign signatures, wrong or binary tokens, oversized bodies, wrong
content types, malformed JSON, fields of the wrong type, huge numbers,
unicode and NULs, stale and future timestamps, replays. For each answer:

- never a 5xx, and the status is one ``docs/openapi.yaml`` lists for the
  operation (the JSON error shape too, where documented);
- the status is the one the contract gives for that kind of request;
- a refused request stores nothing (interactions, idempotency keys,
  messages, contacts, attachments, SMS, form submissions, social identities
  counted over XML-RPC before and after);
- a valid signed request replayed is answered as a duplicate and applied
  once; a signed timestamp out of the window is refused.

Then the tokens: invitation, form and survey tokens are long random
URL-safe strings, and an address opening unknown invitation links is
refused (429) after the configured number of attempts.

Bounded: ``max_examples`` per property, no deadline per example, the whole
file in about three minutes on the session's 2-worker server.
"""

import hashlib
import hmac
import json
import re
import time
import urllib.parse
import uuid

import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO_ROOT
from tests.e2e._inbox import outcome, run_applier

pytestmark = pytest.mark.e2e

OPENAPI = yaml.safe_load((REPO_ROOT / "docs" / "openapi.yaml").read_text())
SECRET = "fuzz-secret-0123456789"
APP_SECRET = "fuzz-app-secret"
SMS_SECRET = "fuzz-sms-secret"
KANNEL_SECRET = "fuzz-kannel-secret"
FORM_TOKEN_RE = re.compile(r'name="token" value="([^"]+)"')
TIMEOUT = 60
PBX_WINDOW = 300
SOCIAL_MAX_AGE = 8 * 86400
# a few seconds of margin for the client's and the server's clocks
MARGIN = 30
INVITATION_LIMIT_PARAM = "omnichannel_cc.invitation_max_failed_attempts"

FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(FUZZ, max_examples=8)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------
# The contract: documented statuses
# ----------------------------------------------------------------------
def documented(template, method):
    operation = OPENAPI["paths"][template][method.lower()]
    return {int(status) for status in operation["responses"]}


def send(template, method, url, **kwargs):
    """The answer of one request, checked against the document: no 5xx, a
    documented status, and ``{"error": "..."}`` for a JSON refusal of a
    webhook."""
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("allow_redirects", False)
    response = requests.request(method, url, **kwargs)
    status = response.status_code
    assert status < 500, (method, url[:120], status, response.text[:300])
    assert status in documented(template, method), (
        f"{method} {template}: {status} is not documented",
        response.text[:300],
    )
    if (
        400 <= status < 500
        and template.startswith(("/omnichannel/voip", "/omnichannel/social", "/omnichannel/sms"))
        and response.headers.get("Content-Type", "").startswith("application/json")
    ):
        error = response.json()
        assert isinstance(error, dict) and isinstance(error.get("error"), str) and error["error"]
    return response


# ----------------------------------------------------------------------
# What a request may leave behind
# ----------------------------------------------------------------------
STORED = [
    ("omnichannel.interaction", []),
    ("omnichannel.event.key", []),
    # fire-and-forget webhooks store here first (admin is a contact center manager)
    ("omnichannel.event.inbox", []),
    ("mail.message", []),
    ("res.partner", [("active", "in", [True, False])]),
    ("ir.attachment", []),
    ("sms.sms", []),
    ("omnichannel.webform.submission", []),
    ("omnichannel.social.identity", []),
    ("discuss.channel", []),
]


def snapshot(rpc):
    return {model: rpc.call(model, "search_count", domain) for model, domain in STORED}


@pytest.fixture(scope="module")
def surfaces(odoo_server, poland):
    """A phone, a WhatsApp, a Telegram, two SMS channels (the generic signed
    gateway and Kannel), a web form, an invitation link and its customer."""
    rpc = odoo_server
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    queue = rpc.call("omnichannel.queue", "create", {"name": unique("Fuzz")})
    base = rpc.url
    result = {"rpc": rpc, "queue": queue}

    did = f"+4822{uuid.uuid4().int % 10**7:07d}"
    phone = rpc.call(
        "omnichannel.channel",
        "create",
        {"name": "Fuzz line", "channel_type": "phone", "address": did, "queue_id": queue},
    )
    (row,) = rpc.call("omnichannel.channel", "read", [phone], ["voip_token", "voip_secret"])
    result["voip"] = {
        "did": did,
        "token": row["voip_token"],
        "secret": row["voip_secret"],
        "url": f"{base}/omnichannel/voip/{row['voip_token']}",
    }

    for platform, secret in (("whatsapp", APP_SECRET), ("telegram", APP_SECRET)):
        address = unique(platform.upper())
        channel = rpc.call(
            "omnichannel.channel",
            "create",
            {
                "name": f"Fuzz {platform}",
                "channel_type": "social",
                "social_platform": platform,
                "address": address,
                "queue_id": queue,
                "social_app_secret": secret,
                "social_verify_token": "fuzz-verify",
                "social_access_token": f"{platform.upper()}-ACCESS",
            },
        )
        (row,) = rpc.call("omnichannel.channel", "read", [channel], ["social_webhook_token"])
        result[platform] = {
            "address": address,
            "url": f"{base}/omnichannel/social/{row['social_webhook_token']}",
        }

    for provider, values in (
        ("http", {"sms_secret": SMS_SECRET, "sms_base_url": "http://127.0.0.1:9/send"}),
        ("kannel", {"sms_secret": KANNEL_SECRET, "sms_base_url": "http://127.0.0.1:9"}),
    ):
        number = f"+4850{uuid.uuid4().int % 10**7:07d}"
        channel = rpc.call(
            "omnichannel.channel",
            "create",
            {
                "name": f"Fuzz SMS {provider}",
                "channel_type": "sms",
                "address": number,
                "queue_id": queue,
                "sms_provider": provider,
                "sms_account": "fuzz",
                "sms_sender": number,
                **values,
            },
        )
        (row,) = rpc.call("omnichannel.channel", "read", [channel], ["sms_token"])
        result[f"sms_{provider}"] = {
            "number": number,
            "url": f"{base}/omnichannel/sms/{row['sms_token']}",
        }

    key = unique("fuzz-form")
    form = rpc.call(
        "omnichannel.channel",
        "create",
        {
            "name": "Fuzz form",
            "channel_type": "webform",
            "address": key,
            "queue_id": queue,
            "webform_rate_ip": 100000,
            "webform_rate_channel": 100000,
        },
    )
    result["form"] = {"id": form, "url": f"{base}/omnichannel/form/{key}"}

    partner = rpc.call("res.partner", "create", {"name": "Fuzz Klient", "email": "f@example.com"})
    chat = rpc.call(
        "omnichannel.channel",
        "create",
        {"name": "Fuzz chat", "channel_type": "chat", "address": unique("fz"), "queue_id": queue},
    )
    invitations = []
    for _index in range(3):
        invitation = rpc.call(
            "omnichannel.invitation",
            "create",
            {"kind": "chat", "partner_id": partner, "channel_id": chat, "queue_id": queue},
        )
        (row,) = rpc.call("omnichannel.invitation", "read", [invitation], ["url", "token"])
        # the link on this server (its base URL is web.base.url's)
        url = base + urllib.parse.urlsplit(row["url"]).path
        invitations.append({"id": invitation, "url": url, "token": row["token"]})
    result["invitations"] = invitations
    # unknown links are counted from here on by each test that wants it
    rpc.call("ir.config_parameter", "set_param", INVITATION_LIMIT_PARAM, "0")
    yield result
    rpc.call("ir.config_parameter", "set_param", INVITATION_LIMIT_PARAM, False)
    clear_attempts(rpc)


def clear_attempts(rpc):
    attempts = rpc.call("omnichannel.invitation.attempt", "search", [])
    if attempts:
        rpc.call("omnichannel.invitation.attempt", "unlink", attempts)


# ----------------------------------------------------------------------
# Strategies
# ----------------------------------------------------------------------
hostile_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300
) | st.sampled_from(["\x00", "a\x00b", "\u202e", "😀" * 50, "' OR 1=1 --", "../../etc", "%00"])
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | hostile_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Tokens travel as one path segment. "." and ".." are path steps, and a "/"
# cannot stay inside a segment: the server decodes %2F before routing, so
# Werkzeug answers such a path itself (a 301 merging "//", a 404 for another
# route) before any of our controllers runs. Real tokens are URL-safe.
SENDABLE_HEADER = re.compile(r"\S[^\r\n]*|")
bad_tokens = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=200),
    st.sampled_from(["\x00", "%00", "a" * 129, "x" * 5000, "null", "0", "' OR 1=1 --"]),
).filter(lambda token: token not in (".", "..") and "/" not in token)
bad_signatures = st.one_of(
    st.none(),
    # a header value an HTTP client can send (ASCII, no CR or LF, no leading
    # blank): one it refuses to send tests the client, not the server
    hostile_text.filter(lambda text: text.isascii() and SENDABLE_HEADER.fullmatch(text)),
    st.binary(min_size=32, max_size=32).map(lambda raw: "sha256=" + raw.hex()),
    st.just("sha256="),
    st.just("sha1=0123"),
)
wrong_content_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "text/plain",
        "text/html; charset=utf-8",
        "application/xml",
        "multipart/form-data; boundary=fuzz",
        "image/png",
    ]
)
# a body that is not a JSON object, or not JSON at all
not_json_objects = st.one_of(
    st.binary(min_size=1, max_size=2000).filter(lambda raw: raw.strip()[:1] != b"{"),
    json_values.filter(lambda value: not isinstance(value, dict)).map(
        lambda value: json.dumps(value).encode()
    ),
    st.sampled_from(
        [b"{", b'{"a":', b"{'a': 1}", b'{"a": NaN}', b'{"a": 1e400}', b'{"a": Infinity}']
    ),
    st.integers(min_value=65, max_value=2000).map(lambda depth: b"[" * depth + b"]" * depth),
)
stale_offsets = st.one_of(
    st.integers(min_value=PBX_WINDOW + MARGIN, max_value=10**8),
    st.integers(min_value=-(10**8), max_value=-(PBX_WINDOW + MARGIN)),
)


def quoted(token):
    return urllib.parse.quote(token, safe="")


# ----------------------------------------------------------------------
# PBX webhooks
# ----------------------------------------------------------------------
VOIP_EVENT = "/omnichannel/voip/{token}/event"
VOIP_ROUTE = "/omnichannel/voip/{token}/route"


def pbx_event(surfaces, **values):
    return dict(
        {
            "event": "ringing",
            "call_id": unique("fuzz-call"),
            "from": "+48601222333",
            "to": surfaces["voip"]["did"],
            "timestamp": int(time.time()),
        },
        **values,
    )


def voip_post(surfaces, endpoint, body, signature=..., content_type="application/json", url=None):
    voip = surfaces["voip"]
    headers = {"Content-Type": content_type} if content_type else {}
    if signature is ...:
        signature = sign(voip["secret"], body)
    if signature is not None:
        headers["X-Omnichannel-Signature"] = signature
    template = VOIP_EVENT if endpoint == "event" else VOIP_ROUTE
    return send(template, "POST", url or f"{voip['url']}/{endpoint}", data=body, headers=headers)


# one hostile request and the status the contract gives it
@st.composite
def voip_hostile(draw, surfaces):
    endpoint = draw(st.sampled_from(["event", "route"]))
    event = pbx_event(surfaces)
    if endpoint == "route":
        event.pop("event")
    body = json.dumps(event).encode()
    kind = draw(
        st.sampled_from(
            ["signature", "token", "oversized", "content_type", "malformed", "field", "clock"]
        )
    )
    secret = surfaces["voip"]["secret"]
    if kind == "signature":
        signature = draw(
            bad_signatures
            | st.just(sign("not-" + secret, body))
            | st.just(sign(secret, body + b" "))
        )
        return endpoint, body, {"signature": signature}, 401
    if kind == "token":
        token = draw(bad_tokens)
        url = f"{surfaces['rpc'].url}/omnichannel/voip/{quoted(token)}/{endpoint}"
        return endpoint, body, {"url": url}, 404
    if kind == "oversized":
        size = draw(st.integers(min_value=64 * 1024 + 1, max_value=300 * 1024))
        big = body[:-1] + b', "pad": "' + b"x" * size + b'"}'
        signed = draw(st.booleans())
        return endpoint, big, {} if signed else {"signature": None}, 413
    if kind == "content_type":
        return endpoint, body, {"content_type": draw(wrong_content_types)}, 415
    if kind == "malformed":
        return endpoint, draw(not_json_objects), {}, 400
    if kind == "field":
        field = draw(st.sampled_from(["call_id", "from", "to", "timestamp"] + ["event"] * 2))
        if endpoint == "route" and field == "event":
            field = "from"
        bad = {
            "call_id": st.none()
            | st.just("")
            | st.booleans()
            | st.floats()
            | st.lists(st.integers(), max_size=2)
            | st.text(min_size=1).map(lambda t: "a\x00" + t)
            | st.just("x" * 256),
            "from": st.none()
            | st.just("")
            | st.booleans()
            | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
            | st.text(min_size=1).map(lambda t: "+48<" + t),
            "to": st.none()
            | st.lists(st.text(), max_size=2)
            | st.text(min_size=1).map(lambda t: "0\n0" + t),
            "timestamp": st.none()
            | st.booleans()
            | st.text(max_size=20)
            | st.lists(st.integers(), max_size=2)
            | st.integers(min_value=2**32, max_value=10**40)
            | st.integers(max_value=0),
            "event": st.none()
            | st.text(max_size=30).filter(lambda e: e.strip() not in EVENTS)
            | st.integers(),
        }[field]
        event[field] = draw(bad)
        return endpoint, json.dumps(event).encode(), {}, 400
    # clock: well-formed and signed, stale or in the future
    event["timestamp"] = int(time.time()) - draw(stale_offsets)
    return endpoint, json.dumps(event).encode(), {}, 401


EVENTS = (
    "ringing",
    "answered",
    "held",
    "resumed",
    "transferred",
    "hangup",
    "failed",
    "voicemail",
    "recording",
    "survey_answer",
)


def test_pbx_webhooks_refuse_hostile_requests_and_store_nothing(surfaces):
    rpc = surfaces["rpc"]
    before = snapshot(rpc)
    seen = set()

    @FUZZ
    @given(case=voip_hostile(surfaces))
    def check(case):
        endpoint, body, options, expected = case
        response = voip_post(surfaces, endpoint, body, **options)
        assert response.status_code == expected, (endpoint, options, body[:200], response.text)
        seen.add(expected)

    check()
    # each refusal once more, whatever hypothesis drew (25 draws of 7 kinds
    # miss one now and then)
    body = json.dumps(pbx_event(surfaces)).encode()
    secret = surfaces["voip"]["secret"]
    fixed = [
        ("event", body, {"signature": sign("not-" + secret, body)}, 401),
        ("event", body, {"url": f"{rpc.url}/omnichannel/voip/{unique('unknown')}/event"}, 404),
        ("route", b"[]", {}, 400),
    ]
    for endpoint, data, options, expected in fixed:
        response = voip_post(surfaces, endpoint, data, **options)
        assert response.status_code == expected, (endpoint, options, response.text)
        seen.add(expected)
    assert snapshot(rpc) == before, "a refused PBX request stored something"
    assert {401, 404, 400} <= seen


@FEW
@given(
    replays=st.integers(min_value=1, max_value=4),
    event=st.sampled_from(["ringing", "hangup"]),
    caller=st.from_regex(r"\+48[5-8][0-9]{8}", fullmatch=True),
)
def test_pbx_replay_is_a_duplicate_applied_once(surfaces, replays, event, caller):
    rpc = surfaces["rpc"]
    before = snapshot(rpc)
    body = json.dumps(pbx_event(surfaces, event=event, **{"from": caller})).encode()
    first = voip_post(surfaces, "event", body)
    assert first.status_code == 200, first.text
    receipt = first.json()
    assert receipt["queued"] is True and receipt["duplicate"] is False, receipt
    # applied by the inbox's cron (run and polled with a deadline)
    status, applied = outcome(rpc, first.status_code, receipt)
    assert status == 200 and applied["duplicate"] is False, applied
    after_first = snapshot(rpc)
    assert after_first["omnichannel.interaction"] == before["omnichannel.interaction"] + 1
    assert after_first["omnichannel.event.inbox"] == before["omnichannel.event.inbox"] + 1
    for _replay in range(replays):
        again = voip_post(surfaces, "event", body)
        assert again.status_code == 200, again.text
        assert again.json() == dict(receipt, duplicate=True), again.text
    run_applier(rpc)
    assert snapshot(rpc) == after_first, "a replayed event changed something"


@FEW
@given(offset=st.integers(min_value=-(PBX_WINDOW - MARGIN), max_value=PBX_WINDOW - MARGIN))
def test_pbx_timestamps_inside_the_window_are_taken(surfaces, offset):
    """The positive control of the clock property: a signed timestamp within
    the window is applied (a refusal above is the window, not the body)."""
    body = json.dumps(pbx_event(surfaces, timestamp=int(time.time()) + offset)).encode()
    response = voip_post(surfaces, "event", body)
    assert response.status_code == 200, response.text
    status, applied = outcome(surfaces["rpc"], response.status_code, response.json())
    assert status == 200, applied


# ----------------------------------------------------------------------
# Social webhook
# ----------------------------------------------------------------------
SOCIAL = "/omnichannel/social/{token}"


def whatsapp_body(surfaces, timestamp=None, message_id=None, text="hello"):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": surfaces["whatsapp"]["address"]},
                            "contacts": [{"profile": {"name": "Ewa"}, "wa_id": "48509444555"}],
                            "messages": [
                                {
                                    "from": "48509444555",
                                    "id": message_id or unique("wamid.FUZZ"),
                                    "timestamp": str(
                                        int(time.time()) if timestamp is None else timestamp
                                    ),
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


def social_post(url, body, signature=..., content_type="application/json", secret=APP_SECRET):
    headers = {"Content-Type": content_type} if content_type else {}
    if signature is ...:
        signature = sign(secret, body)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return send(SOCIAL, "POST", url, data=body, headers=headers)


@st.composite
def social_hostile(draw, surfaces):
    url = surfaces["whatsapp"]["url"]
    body = json.dumps(whatsapp_body(surfaces)).encode()
    kind = draw(
        st.sampled_from(["signature", "token", "oversized", "content_type", "malformed", "clock"])
    )
    if kind == "signature":
        signature = draw(bad_signatures | st.just(sign("other", body)))
        return url, body, {"signature": signature}, 401
    if kind == "token":
        token = draw(bad_tokens)
        return f"{surfaces['rpc'].url}/omnichannel/social/{quoted(token)}", body, {}, 404
    if kind == "oversized":
        size = draw(st.integers(min_value=1024 * 1024 + 1, max_value=1200 * 1024))
        return url, body[:-1] + b', "pad": "' + b"x" * size + b'"}', {}, 413
    if kind == "content_type":
        return url, body, {"content_type": draw(wrong_content_types)}, 415
    if kind == "malformed":
        return url, draw(not_json_objects), {}, 400
    offset = draw(
        st.integers(min_value=SOCIAL_MAX_AGE + MARGIN, max_value=10**8)
        | st.integers(min_value=-(10**6), max_value=-(PBX_WINDOW + MARGIN))
    )
    stale = json.dumps(whatsapp_body(surfaces, timestamp=int(time.time()) - offset)).encode()
    return url, stale, {}, 401


def test_social_webhook_refuses_hostile_requests_and_stores_nothing(surfaces):
    rpc = surfaces["rpc"]
    before = snapshot(rpc)

    @settings(FUZZ, max_examples=20)
    @given(case=social_hostile(surfaces))
    def check(case):
        url, body, options, expected = case
        response = social_post(url, body, **options)
        assert response.status_code == expected, (options, body[:200], response.text)

    check()
    # Telegram's secret token header: wrong or missing, refused
    update = json.dumps({"update_id": 1, "message": {"message_id": 1}}).encode()
    for header in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
        response = send(
            SOCIAL,
            "POST",
            surfaces["telegram"]["url"],
            data=update,
            headers={"Content-Type": "application/json", **header},
        )
        assert response.status_code == 401, response.text
    # the handshake: only the verify token echoes the challenge
    url = surfaces["whatsapp"]["url"]
    for token, expected in (("wrong", 403), ("", 403), ("fuzz-verify", 200)):
        params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"}
        response = send(SOCIAL, "GET", url, params=params)
        assert response.status_code == expected
    assert snapshot(rpc) == before, "a refused social request stored something"


def test_social_replay_is_applied_once(surfaces):
    rpc = surfaces["rpc"]
    before = snapshot(rpc)
    body = json.dumps(whatsapp_body(surfaces, message_id=unique("wamid.REPLAY"))).encode()
    first = social_post(surfaces["whatsapp"]["url"], body)
    assert first.status_code == 200, first.text
    receipt = first.json()
    assert receipt["queued"] is True and receipt["duplicate"] is False, receipt
    status, applied = outcome(rpc, first.status_code, receipt)
    assert status == 200 and applied["received"] == 1, applied
    after_first = snapshot(rpc)
    assert after_first["omnichannel.interaction"] == before["omnichannel.interaction"] + 1
    for _replay in range(3):
        again = social_post(surfaces["whatsapp"]["url"], body)
        assert again.status_code == 200, again.text
        assert again.json() == dict(receipt, duplicate=True), again.text
    run_applier(rpc)
    assert snapshot(rpc) == after_first


# ----------------------------------------------------------------------
# SMS gateways
# ----------------------------------------------------------------------
SMS_INBOUND = "/omnichannel/sms/{token}/inbound"
SMS_STATUS = "/omnichannel/sms/{token}/status"


@st.composite
def sms_hostile(draw, surfaces):
    kind_url = draw(st.sampled_from(["inbound", "status"]))
    template = SMS_INBOUND if kind_url == "inbound" else SMS_STATUS
    gateway = surfaces["sms_http"]
    url = f"{gateway['url']}/{kind_url}"
    values = (
        {"id": unique("sms"), "from": "+48601222444", "to": gateway["number"], "text": "hi"}
        if kind_url == "inbound"
        else {"id": unique("sms"), "status": "delivered"}
    )
    body = json.dumps(values).encode()
    kind = draw(
        st.sampled_from(
            ["signature", "token", "oversized", "content_type", "malformed", "kannel", "field"]
        )
    )
    headers = {
        "Content-Type": "application/json",
        "X-Omnichannel-Signature": sign(SMS_SECRET, body),
    }
    if kind == "signature":
        signature = draw(bad_signatures)
        headers.pop("X-Omnichannel-Signature")
        if signature is not None:
            headers["X-Omnichannel-Signature"] = signature
        return template, "POST", url, {"data": body, "headers": headers}, 401
    if kind == "token":
        url = f"{surfaces['rpc'].url}/omnichannel/sms/{quoted(draw(bad_tokens))}/{kind_url}"
        return (
            template,
            draw(st.sampled_from(["GET", "POST"])),
            url,
            {"data": body, "headers": headers},
            404,
        )
    if kind == "oversized":
        big = body[:-1] + b', "pad": "' + b"x" * draw(st.integers(65537, 200000)) + b'"}'
        headers["X-Omnichannel-Signature"] = sign(SMS_SECRET, big)
        return template, "POST", url, {"data": big, "headers": headers}, 413
    if kind == "content_type":
        headers["Content-Type"] = draw(wrong_content_types)
        return template, "POST", url, {"data": body, "headers": headers}, 415
    if kind == "malformed":
        raw = draw(not_json_objects)
        headers["X-Omnichannel-Signature"] = sign(SMS_SECRET, raw)
        return template, "POST", url, {"data": raw, "headers": headers}, 400
    if kind == "field":
        # a required field missing, or any field of the wrong type or with a NUL
        field = draw(st.sampled_from(["id", "from"] if kind_url == "inbound" else ["id", "status"]))
        values[field] = draw(
            st.none() | st.booleans() | st.lists(st.integers(), max_size=2) | st.just("a\x00b")
        )
        raw = json.dumps(values).encode()
        headers["X-Omnichannel-Signature"] = sign(SMS_SECRET, raw)
        return template, "POST", url, {"data": raw, "headers": headers}, 400
    # Kannel: the secret of the query string, wrong or missing
    kannel = surfaces["sms_kannel"]
    params = {"from": "+48601222444", "to": kannel["number"], "text": "hi", "id": unique("k")}
    secret = draw(st.none() | hostile_text.filter(lambda s: s != KANNEL_SECRET))
    if secret is not None:
        params["secret"] = secret
    url = f"{kannel['url']}/{kind_url}"
    return template, "GET", url, {"params": params}, 403


def test_sms_callbacks_refuse_hostile_requests_and_store_nothing(surfaces):
    rpc = surfaces["rpc"]
    before = snapshot(rpc)

    @settings(FUZZ, max_examples=20)
    @given(case=sms_hostile(surfaces))
    def check(case):
        template, method, url, kwargs, expected = case
        response = send(template, method, url, **kwargs)
        assert response.status_code == expected, (url[-40:], kwargs, response.text)

    check()
    assert snapshot(rpc) == before, "a refused SMS callback stored something"


def test_sms_replay_is_applied_once(surfaces):
    rpc = surfaces["rpc"]
    gateway = surfaces["sms_http"]
    before = snapshot(rpc)
    values = {"id": unique("sms-replay"), "from": "+48601222555", "to": gateway["number"]}
    body = json.dumps(dict(values, text="replayed?", timestamp=int(time.time()))).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Omnichannel-Signature": sign(SMS_SECRET, body),
    }
    first = send(SMS_INBOUND, "POST", f"{gateway['url']}/inbound", data=body, headers=headers)
    assert first.status_code == 200, first.text
    after_first = snapshot(rpc)
    assert after_first["omnichannel.interaction"] == before["omnichannel.interaction"] + 1
    for _replay in range(3):
        again = send(SMS_INBOUND, "POST", f"{gateway['url']}/inbound", data=body, headers=headers)
        assert again.status_code == 200, again.text
    assert snapshot(rpc) == after_first, "a replayed SMS changed something"


# ----------------------------------------------------------------------
# Web form
# ----------------------------------------------------------------------
FORM = "/omnichannel/form/{key}"
JSON_ACCEPT = {"Accept": "application/json"}


def form_token(surfaces):
    page = send(FORM, "GET", surfaces["form"]["url"])
    assert page.status_code == 200
    return FORM_TOKEN_RE.search(page.text).group(1)


@st.composite
def forged_form_tokens(draw):
    issued = draw(st.integers(min_value=0, max_value=2 * 10**9) | st.just(int(time.time())))
    nonce = draw(st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True))
    signature = draw(st.binary(min_size=32, max_size=32)).hex()
    return draw(
        st.sampled_from(
            [f"{issued}.{nonce}.{signature}", f"{issued}.{nonce}", f"x.{nonce}.{signature}", ""]
        )
        | hostile_text
    )


def test_webform_refuses_forged_tokens_and_stores_nothing(surfaces):
    rpc = surfaces["rpc"]
    before = snapshot(rpc)
    url = surfaces["form"]["url"]

    @FUZZ
    @given(
        token=forged_form_tokens(),
        fields=st.dictionaries(
            st.sampled_from(["name", "email", "phone", "subject", "message", "callback"]),
            hostile_text,
            max_size=5,
        ),
        as_json=st.booleans(),
    )
    def check(token, fields, as_json):
        data = dict(fields, token=token)
        response = send(FORM, "POST", url, data=data, headers=JSON_ACCEPT if as_json else {})
        assert response.status_code == 400, response.text[:300]
        if as_json:
            assert response.json()["ok"] is False and response.json()["error"]

    check()
    # an unknown or hostile key
    for key in ("nope-" + uuid.uuid4().hex, "%00", "x" * 300):
        assert send(FORM, "POST", f"{rpc.url}/omnichannel/form/{key}", data={}).status_code == 404
        assert send(FORM, "GET", f"{rpc.url}/omnichannel/form/{key}").status_code == 404
        embed = send(FORM + "/embed.js", "GET", f"{rpc.url}/omnichannel/form/{key}/embed.js")
        assert embed.status_code == 404
    # over 12 MB, announced: refused before the body is read
    big = send(
        FORM,
        "POST",
        url,
        data={"token": form_token(surfaces), "message": "x" * (12 * 1024 * 1024 + 10)},
        headers=JSON_ACCEPT,
    )
    assert big.status_code == 413, big.text[:300]
    assert snapshot(rpc) == before, "a refused form stored something"


def test_webform_hostile_fields_with_a_valid_token(surfaces):
    """Random fields, but a genuine token: accepted (each once) or refused
    with 400/413, never an error; only accepted posts store."""
    rpc = surfaces["rpc"]
    url = surfaces["form"]["url"]
    before = snapshot(rpc)
    references = set()

    @settings(FUZZ, max_examples=15)
    @given(
        fields=st.fixed_dictionaries(
            {"message": hostile_text},
            optional={
                "name": hostile_text,
                "email": hostile_text | st.emails(),
                "phone": hostile_text | st.from_regex(r"\+48[5-8][0-9]{8}", fullmatch=True),
                "subject": hostile_text,
                "callback": st.sampled_from(["1", "on", "0"]),
                "callback_at": hostile_text,
                "tz_offset": hostile_text | st.integers().map(str),
            },
        ),
        files=st.lists(st.tuples(hostile_text.filter(bool), st.binary(max_size=2000)), max_size=3),
        replays=st.integers(min_value=1, max_value=2),
    )
    def check(fields, files, replays):
        data = dict(fields, token=form_token(surfaces))
        uploads = [("attachments", (name, content)) for name, content in files]
        answers = [
            send(FORM, "POST", url, data=data, files=uploads or None, headers=JSON_ACCEPT)
            for _post in range(replays)
        ]
        statuses = {answer.status_code for answer in answers}
        assert len(statuses) == 1, "a replayed form is answered as the first one"
        if answers[0].status_code == 200:
            refs = {answer.json()["reference"] for answer in answers}
            assert len(refs) == 1, "a form sent twice is one interaction"
            references.update(refs)
        else:
            assert answers[0].status_code in (400, 413), answers[0].text[:300]

    check()
    after = snapshot(rpc)
    created = after["omnichannel.interaction"] - before["omnichannel.interaction"]
    assert created == len(references), "only accepted forms store, each once"
    submissions = rpc.call(
        "omnichannel.webform.submission",
        "search_count",
        [("channel_id", "=", surfaces["form"]["id"])],
    )
    assert submissions >= len(references)


# ----------------------------------------------------------------------
# Invitation links, survey pages, web chat
# ----------------------------------------------------------------------
INVITE = "/omnichannel/invite/{token}"
SURVEY = "/omnichannel/survey/{token}"


def test_invitation_and_survey_pages_refuse_unknown_tokens(surfaces):
    rpc = surfaces["rpc"]
    invitations = surfaces["invitations"]
    before = snapshot(rpc)
    uses = rpc.call("omnichannel.invitation", "read", [i["id"] for i in invitations], ["use_count"])

    @FUZZ
    @given(token=bad_tokens, method=st.sampled_from(["GET", "POST"]), body=st.binary(max_size=500))
    def check(token, method, body):
        for template in (INVITE, SURVEY):
            url = surfaces["rpc"].url + template.format(token=quoted(token))
            response = send(template, method, url, data=body if method == "POST" else None)
            # a POST without the page's CSRF token is refused before anything runs
            assert response.status_code == (404 if method == "GET" else 400), response.text[:200]

    check()
    # the genuine link without its page's CSRF token: refused, no use counted
    response = send(INVITE, "POST", invitations[0]["url"], data={"x": "1"})
    assert response.status_code == 400
    assert snapshot(rpc) == before
    assert (
        rpc.call("omnichannel.invitation", "read", [i["id"] for i in invitations], ["use_count"])
        == uses
    )


def test_livechat_overrides_answer_hostile_requests_without_errors(surfaces):
    rpc = surfaces["rpc"]

    @settings(FUZZ, max_examples=10)
    @given(
        channel_id=st.integers(min_value=-(2**31), max_value=2**31 - 1),
        lang=hostile_text,
        params=json_values,
    )
    def check(channel_id, lang, params):
        if channel_id >= 0:
            loader = f"{rpc.url}/im_livechat/loader/{channel_id}"
            send("/im_livechat/loader/{channel_id}", "GET", loader, params={"lang": lang})
        body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
        send(
            "/im_livechat/get_session",
            "POST",
            f"{rpc.url}/im_livechat/get_session",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )

    check()


# ----------------------------------------------------------------------
# Tokens: entropy and brute force
# ----------------------------------------------------------------------
URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def test_tokens_are_long_random_and_urlsafe(surfaces):
    """Invitation tokens: 32 random bytes (43 characters, 256 bits); form
    nonces 18 bytes (24 characters) under an HMAC-SHA256; survey tokens 24
    bytes (32 characters); webhook tokens as the channels issue them."""
    rpc = surfaces["rpc"]
    tokens = [invitation["token"] for invitation in surfaces["invitations"]]
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert len(token) >= 43 and URLSAFE.match(token), token
        assert urllib.parse.urlsplit(
            next(i["url"] for i in surfaces["invitations"] if i["token"] == token)
        ).path.endswith(token)
    nonces = set()
    for _form in range(3):
        issued, nonce, signature = form_token(surfaces).split(".")
        assert abs(int(issued) - time.time()) < 120
        assert len(nonce) >= 24 and URLSAFE.match(nonce)
        assert re.fullmatch(r"[0-9a-f]{64}", signature), "an HMAC-SHA256"
        nonces.add(nonce)
    assert len(nonces) == 3
    for key in ("voip", "whatsapp", "sms_http"):
        token = urllib.parse.urlsplit(surfaces[key]["url"]).path.rstrip("/").split("/")[3]
        assert len(token) >= 20, (key, token)
    assert len(surfaces["voip"]["secret"]) >= 32
    fields = rpc.call("omnichannel.survey.invitation", "fields_get", ["access_token"])
    assert "access_token" in fields


def test_unknown_invitation_links_are_rate_limited(surfaces):
    rpc = surfaces["rpc"]
    invitation = surfaces["invitations"][1]
    clear_attempts(rpc)
    limit = 5
    rpc.call("ir.config_parameter", "set_param", INVITATION_LIMIT_PARAM, str(limit))
    try:
        # the genuine link opens, and does not count
        assert send(INVITE, "GET", invitation["url"]).status_code == 200
        for attempt in range(limit):
            guess = f"{rpc.url}/omnichannel/invite/{uuid.uuid4().hex}{attempt}"
            assert send(INVITE, "GET", guess).status_code == 404
        refused = send(INVITE, "GET", f"{rpc.url}/omnichannel/invite/{uuid.uuid4().hex}")
        assert refused.status_code == 429
        assert refused.headers.get("Retry-After") == "600"
        # the address is refused whatever it asks for: guessing stops here
        assert send(INVITE, "GET", invitation["url"]).status_code == 429
        assert rpc.call("omnichannel.invitation.attempt", "search_count", []) == limit
        # other workers count the same (the memory is PostgreSQL's)
        for _worker in range(4):
            assert send(INVITE, "GET", f"{rpc.url}/omnichannel/invite/x").status_code == 429
    finally:
        rpc.call("ir.config_parameter", "set_param", INVITATION_LIMIT_PARAM, "0")
        clear_attempts(rpc)
    assert send(INVITE, "GET", invitation["url"]).status_code == 200
