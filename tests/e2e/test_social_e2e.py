"""The WhatsApp channel end to end: a running Odoo and WireMock as the platform.

WireMock (a Java program, run by ``tests/e2e/_wiremock.py``) plays the
WhatsApp Cloud API: media metadata, media download and the send-message
endpoint.
The test signs webhooks as Meta does and posts them to Odoo over HTTP, reads
the result over XML-RPC, has an agent reply over XML-RPC and checks through
WireMock's admin API what Odoo sent to the "platform".
"""

import base64
import hashlib
import hmac
import json
import os
import threading
import time
import uuid

import psycopg2
import pytest

from tests.e2e._inbox import outcome
from tests.e2e._wiremock import http as _http
from tests.e2e._wiremock import running

pytestmark = pytest.mark.e2e

APP_SECRET = "e2e-app-secret"
ACCESS_TOKEN = "E2E-ACCESS-TOKEN"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00e2e-photo-bytes"
CUSTOMER_WA_ID = "48509111222"
PRIVATE_HOSTS_PARAM = "omnichannel_cc.social_media_private_hosts"


@pytest.fixture(scope="module")
def wiremock(tmp_path_factory):
    with running(tmp_path_factory.mktemp("wiremock"), "The social e2e test") as mock:
        yield mock


# ----------------------------------------------------------------------
# Odoo data
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def social(odoo_server, poland, wiremock):
    rpc = odoo_server
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    login = f"wa-agent-{uuid.uuid4().hex[:8]}"
    agent = rpc.call(
        "res.users",
        "create",
        {
            "name": "WhatsApp Agent",
            "login": login,
            "password": login,
            "groups_id": [(6, 0, [rpc.ref("omnichannel_cc.group_omnichannel_agent")])],
        },
    )
    queue = rpc.call(
        "omnichannel.queue",
        "create",
        {"name": f"WhatsApp {uuid.uuid4().hex[:6]}", "member_ids": [(6, 0, [agent])]},
    )
    customer = rpc.call(
        "res.partner",
        "create",
        {"name": "Zofia WhatsApp", "country_id": poland, "mobile": "+48 509 111 222"},
    )
    phone_number_id = f"PN{uuid.uuid4().int % 10**12}"
    api = f"{wiremock.url}/v19.0"
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {
            "name": "WhatsApp e2e",
            "channel_type": "social",
            "social_platform": "whatsapp",
            "address": phone_number_id,
            "queue_id": queue,
            "social_api_url": api,
            "social_app_secret": APP_SECRET,
            "social_access_token": ACCESS_TOKEN,
            "social_verify_token": "e2e-verify",
        },
    )
    (row,) = rpc.call(
        "omnichannel.channel", "read", [channel], fields=["social_webhook_token", "social_api_url"]
    )
    assert row["social_api_url"] == api
    # WireMock serves the media from the loopback, which Odoo refuses unless
    # told (a test-only override, removed below)
    rpc.call("ir.config_parameter", "set_param", PRIVATE_HOSTS_PARAM, "127.0.0.1")
    bearer = {"Authorization": {"equalTo": f"Bearer {ACCESS_TOKEN}"}}
    wiremock.stub(
        {
            "request": {"method": "GET", "url": "/v19.0/MEDIA-E2E", "headers": bearer},
            "response": {
                "status": 200,
                "jsonBody": {
                    "messaging_product": "whatsapp",
                    "url": f"{wiremock.url}/cdn/media-e2e",
                    "mime_type": "image/jpeg",
                    "file_size": len(JPEG),
                    "id": "MEDIA-E2E",
                },
            },
        }
    )
    wiremock.stub(
        {
            "request": {"method": "GET", "url": "/cdn/media-e2e", "headers": bearer},
            "response": {
                "status": 200,
                "base64Body": base64.b64encode(JPEG).decode(),
                "headers": {"Content-Type": "image/jpeg"},
            },
        }
    )
    wiremock.stub(
        {
            "priority": 5,
            "request": {
                "method": "POST",
                "url": f"/v19.0/{phone_number_id}/messages",
                "headers": bearer,
            },
            "response": {
                "status": 200,
                "jsonBody": {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": CUSTOMER_WA_ID, "wa_id": CUSTOMER_WA_ID}],
                    "messages": [{"id": "wamid.E2E-OUT"}],
                },
            },
        }
    )
    # the platform refusing a reply (e.g. outside the 24-hour window)
    wiremock.stub(
        {
            "priority": 1,
            "request": {
                "method": "POST",
                "url": f"/v19.0/{phone_number_id}/messages",
                "bodyPatterns": [{"contains": "please fail"}],
            },
            "response": {
                "status": 400,
                "jsonBody": {
                    "error": {
                        "message": "Re-engagement message",
                        "type": "OAuthException",
                        "code": 131047,
                    }
                },
            },
        }
    )
    yield {
        "agent": agent,
        "agent_password": login,
        "customer": customer,
        "channel": channel,
        "phone_number_id": phone_number_id,
        "webhook": f"{rpc.url}/omnichannel/social/{row['social_webhook_token']}",
    }
    rpc.call("ir.config_parameter", "set_param", PRIVATE_HOSTS_PARAM, False)


def sends_of(wiremock, phone_number_id, text):
    """The /messages calls WireMock received carrying ``text``."""
    calls = wiremock.find("POST", f"/v19.0/{phone_number_id}/messages")
    return [c for c in calls if json.loads(c["body"]).get("text", {}).get("body") == text]


def whatsapp_payload(phone_number_id, messages):
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-E2E",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "48225550100",
                                "phone_number_id": phone_number_id,
                            },
                            "contacts": [{"profile": {"name": "Zofia"}, "wa_id": CUSTOMER_WA_ID}],
                            "messages": messages,
                        },
                    }
                ],
            }
        ],
    }


def post_signed(url, payload, secret=APP_SECRET):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return _http(
        "POST",
        url,
        raw=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )


# ----------------------------------------------------------------------
# the scenario
# ----------------------------------------------------------------------
def test_whatsapp_conversation_through_wiremock(odoo_server, social, wiremock):
    rpc = odoo_server
    now = str(int(time.time()))
    text_id, image_id = f"wamid.IN-{uuid.uuid4().hex}", f"wamid.IN-{uuid.uuid4().hex}"

    # Meta's subscription handshake
    status, _headers, body = _http(
        "GET",
        social["webhook"] + "?hub.mode=subscribe&hub.verify_token=e2e-verify&hub.challenge=8472",
    )
    assert (status, body) == (200, b"8472")
    assert _http("GET", social["webhook"] + "?hub.mode=subscribe&hub.verify_token=x")[0] == 403

    payload = whatsapp_payload(
        social["phone_number_id"],
        [
            {
                "from": CUSTOMER_WA_ID,
                "id": text_id,
                "timestamp": now,
                "type": "text",
                "text": {"body": "Hello, the parcel arrived broken"},
            },
            {
                "from": CUSTOMER_WA_ID,
                "id": image_id,
                "timestamp": now,
                "type": "image",
                "image": {"id": "MEDIA-E2E", "mime_type": "image/jpeg", "caption": "photo"},
            },
        ],
    )
    # a forged signature stores nothing
    status, _headers, body = post_signed(social["webhook"], payload, secret="forged")
    assert status == 401, body
    assert not rpc.call(
        "omnichannel.social.identity", "search", [("channel_id", "=", social["channel"])]
    )

    status, _headers, body = post_signed(social["webhook"], payload)
    assert status == 200, body
    receipt = json.loads(body)
    assert receipt["queued"] is True and receipt["duplicate"] is False, receipt
    # applied by the event inbox's applier (run and polled with a deadline)
    status, answer = outcome(rpc, status, receipt)
    assert status == 200 and answer["received"] == 2, answer
    # the platform retries: nothing is stored twice
    status, _headers, body = post_signed(social["webhook"], payload)
    assert status == 200, body
    assert json.loads(body) == dict(receipt, duplicate=True)

    (identity,) = rpc.call(
        "omnichannel.social.identity",
        "search_read",
        [("channel_id", "=", social["channel"])],
        fields=["external_id", "partner_id", "interaction_id", "name"],
    )
    assert identity["external_id"] == CUSTOMER_WA_ID
    assert identity["partner_id"][0] == social["customer"]
    interaction_id = identity["interaction_id"][0]
    (interaction,) = rpc.call(
        "omnichannel.interaction",
        "read",
        [interaction_id],
        fields=["partner_id", "state", "channel_id", "contact_address"],
    )
    assert interaction["partner_id"][0] == social["customer"]
    assert interaction["channel_id"][0] == social["channel"]
    assert interaction["contact_address"] == "+48509111222"
    assert interaction["state"] in ("queued", "offered", "active")
    messages = rpc.call(
        "mail.message",
        "search_read",
        [("model", "=", "omnichannel.interaction"), ("res_id", "=", interaction_id)],
        fields=["body", "author_id", "omnichannel_social_id", "attachment_ids"],
        order="id asc",
    )
    inbound = [m for m in messages if m["omnichannel_social_id"] in (text_id, image_id)]
    assert len(inbound) == 2
    assert "parcel arrived broken" in inbound[0]["body"]
    assert all(m["author_id"][0] == social["customer"] for m in inbound)
    (attachment,) = rpc.call(
        "ir.attachment", "read", inbound[1]["attachment_ids"], fields=["datas", "res_id", "name"]
    )
    assert base64.b64decode(attachment["datas"]) == JPEG
    assert attachment["res_id"] == interaction_id
    media_calls = wiremock.find("GET", "/v19.0/MEDIA-E2E") + wiremock.find("GET", "/cdn/media-e2e")
    assert len(media_calls) == 2, "the media was downloaded once, with the token"
    assert all(c["headers"]["Authorization"] == f"Bearer {ACCESS_TOKEN}" for c in media_calls)

    # the agent replies from Odoo: WhatsApp's /messages gets it
    agent = {"uid": social["agent"], "password": social["agent_password"]}
    sent_url = f"/v19.0/{social['phone_number_id']}/messages"
    sent_text = "We are sorry, a new parcel leaves today."
    assert wiremock.find("POST", sent_url) == [], "customer messages are never echoed back"
    message_id = rpc.call(
        "omnichannel.interaction",
        "message_post",
        [interaction_id],
        body=sent_text,
        message_type="comment",
        subtype_xmlid="mail.mt_comment",
        **agent,
    )
    # sent after the commit, before the request answered
    (reply,) = rpc.call(
        "mail.message",
        "read",
        [message_id],
        fields=["omnichannel_social_id", "omnichannel_social_state", "omnichannel_social_attempts"],
    )
    # the outcome is recorded (a send needs a claim of an outgoing reply,
    # which counts an attempt): one attempt, and no other can come
    assert reply["omnichannel_social_state"] == "sent"
    assert reply["omnichannel_social_attempts"] == 1
    assert reply["omnichannel_social_id"] == "wamid.E2E-OUT"
    (sent,) = wiremock.find("POST", sent_url)
    assert len(sends_of(wiremock, social["phone_number_id"], sent_text)) == 1
    assert sent["headers"]["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert json.loads(sent["body"]) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER_WA_ID,
        "type": "text",
        "text": {"preview_url": False, "body": "We are sorry, a new parcel leaves today."},
    }

    # an internal note stays inside Odoo
    rpc.call(
        "omnichannel.interaction",
        "message_post",
        [interaction_id],
        body="note for colleagues",
        message_type="comment",
        subtype_xmlid="mail.mt_note",
        **agent,
    )
    assert len(wiremock.find("POST", sent_url)) == 1

    # the platform refuses a reply: the message is marked failed, the chatter says why
    failed_id = rpc.call(
        "omnichannel.interaction",
        "message_post",
        [interaction_id],
        body="please fail",
        message_type="comment",
        subtype_xmlid="mail.mt_comment",
        **agent,
    )
    assert len(wiremock.find("POST", sent_url)) == 2
    assert len(sends_of(wiremock, social["phone_number_id"], "please fail")) == 1
    (failed,) = rpc.call(
        "mail.message",
        "read",
        [failed_id],
        fields=[
            "omnichannel_social_state",
            "omnichannel_social_error",
            "omnichannel_social_attempts",
        ],
    )
    assert failed["omnichannel_social_state"] == "failed"
    assert failed["omnichannel_social_attempts"] == 1
    assert "HTTP 400" in failed["omnichannel_social_error"]
    assert "Re-engagement message" in failed["omnichannel_social_error"]
    notes = rpc.call(
        "mail.message",
        "search_read",
        [
            ("model", "=", "omnichannel.interaction"),
            ("res_id", "=", interaction_id),
            ("body", "ilike", "Not delivered to the customer"),
        ],
        fields=["body"],
    )
    assert len(notes) == 1 and "Re-engagement message" in notes[0]["body"]
    # one platform call per reply: both outcomes are final (sent, failed),
    # a reply is claimed again only while outgoing
    assert len(wiremock.find("POST", sent_url)) == 2


def test_cron_sends_a_reply_left_outgoing_once(odoo_server, social, wiremock):
    """A worker died between its commit and the send: the reply is outgoing
    in the database, nobody sent it. The retry cron skips it while another
    worker holds it (FOR UPDATE SKIP LOCKED, never waiting), then sends it
    exactly once."""
    rpc = odoo_server
    sender = f"48{uuid.uuid4().int % 10**9:09d}"
    payload = whatsapp_payload(
        social["phone_number_id"],
        [
            {
                "from": sender,
                "id": f"wamid.CRON-{uuid.uuid4().hex}",
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": "anyone there?"},
            }
        ],
    )
    status, _headers, body = post_signed(social["webhook"], payload)
    # stored in the event inbox: applied by its applier (run and polled)
    status, answer = outcome(rpc, status, json.loads(body))
    assert status == 200 and answer["received"] == 1, answer
    (interaction_id,) = rpc.call(
        "omnichannel.interaction",
        "search",
        [("channel_id", "=", social["channel"]), ("contact_address", "=", "+" + sender)],
    )
    (agent,) = rpc.call("res.users", "read", [social["agent"]], fields=["partner_id"])
    text = f"sorry for the wait {uuid.uuid4().hex[:6]}"
    queued_at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 3600))
    # what such a crash leaves behind (created as is: no message_post, no send)
    message_id = rpc.call(
        "mail.message",
        "create",
        {
            "model": "omnichannel.interaction",
            "res_id": interaction_id,
            "body": f"<p>{text}</p>",
            "message_type": "comment",
            "subtype_id": rpc.ref("mail.mt_comment"),
            "author_id": agent["partner_id"][0],
            "omnichannel_social_state": "outgoing",
            "omnichannel_social_queued_at": queued_at,
        },
    )
    cron = rpc.ref("omnichannel_cc_social.ir_cron_social_retry")
    fields = ["omnichannel_social_state", "omnichannel_social_id", "omnichannel_social_attempts"]

    other_worker = psycopg2.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=int(os.environ.get("PGPORT", "5432")),
        dbname=rpc.db,
    )
    try:
        with other_worker.cursor() as cr:
            cr.execute("SELECT id FROM mail_message WHERE id = %s FOR UPDATE", [message_id])
        answers = []
        trigger = threading.Thread(
            target=lambda: answers.append(rpc.call("ir.cron", "method_direct_trigger", [cron])),
            daemon=True,
        )
        trigger.start()
        trigger.join(timeout=60)
        assert not trigger.is_alive(), "the cron waits for a reply another worker holds"
        assert answers == [True]
        assert sends_of(wiremock, social["phone_number_id"], text) == []
        (row,) = rpc.call("mail.message", "read", [message_id], fields=fields)
        assert row["omnichannel_social_state"] == "outgoing"
        assert row["omnichannel_social_attempts"] == 0
    finally:
        other_worker.rollback()
        other_worker.close()

    assert rpc.call("ir.cron", "method_direct_trigger", [cron])
    (call,) = sends_of(wiremock, social["phone_number_id"], text)
    assert json.loads(call["body"])["to"] == sender
    (row,) = rpc.call("mail.message", "read", [message_id], fields=fields)
    assert row["omnichannel_social_state"] == "sent"
    assert row["omnichannel_social_id"] == "wamid.E2E-OUT"
    assert row["omnichannel_social_attempts"] == 1
    # sent: never again
    assert rpc.call("ir.cron", "method_direct_trigger", [cron])
    assert len(sends_of(wiremock, social["phone_number_id"], text)) == 1


def test_simultaneous_first_messages_open_one_conversation(odoo_server, social):
    """Two workers receive a new sender's first two messages at once: the
    identity row lock makes the second join the conversation the first opened."""
    rpc = odoo_server
    sender = f"48{uuid.uuid4().int % 10**9:09d}"
    now = str(int(time.time()))
    payloads = [
        whatsapp_payload(
            social["phone_number_id"],
            [
                {
                    "from": sender,
                    "id": f"wamid.RACE-{uuid.uuid4().hex}",
                    "timestamp": now,
                    "type": "text",
                    "text": {"body": f"message {number}"},
                }
            ],
        )
        for number in range(2)
    ]
    barrier = threading.Barrier(len(payloads))
    answers = [None] * len(payloads)

    def deliver(index):
        barrier.wait()
        answers[index] = post_signed(social["webhook"], payloads[index])

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [a[0] for a in answers] == [200, 200], answers
    applied = [outcome(rpc, a[0], json.loads(a[2])) for a in answers]
    assert sum(answer["received"] for _status, answer in applied) == 2, applied
    interactions = rpc.call(
        "omnichannel.interaction",
        "search",
        [("channel_id", "=", social["channel"]), ("contact_address", "=", "+" + sender)],
    )
    assert len(interactions) == 1, "one open conversation per sender"
    bodies = rpc.call(
        "mail.message",
        "search_read",
        [
            ("model", "=", "omnichannel.interaction"),
            ("res_id", "=", interactions[0]),
            ("omnichannel_social_state", "=", "received"),
        ],
        fields=["body"],
    )
    assert sorted(b["body"] for b in bodies) == ["<p>message 0</p>", "<p>message 1</p>"]
