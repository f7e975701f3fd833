"""The SMS channel end to end, through real gateways.

- **Kannel** (Debian's ``kannel`` and ``kannel-extras``, run by
  ``tests/e2e/_kannel.py`` from ``docs/sms/kannel.conf``): customers text
  through fakesmsc, the operator's fake SMSC; bearerbox and smsbox pass each
  message to Odoo (the configuration's get-url), take Odoo's replies on the
  sendsms port and call Odoo's dlr-url with the delivery reports.
- **WireMock** (``tests/e2e/_wiremock.py``) plays the Twilio and SMSAPI.pl
  REST APIs; the test plays their webhooks, signed or authenticated as they
  do, and checks every request Odoo made (authentication, fields, one call
  per message).

The server is the session's real multi-worker Odoo (``odoo_server``), driven
over XML-RPC and HTTP only. It runs without cron threads: queued SMS leave
when the test runs the ``sms`` cron job (``ir.cron.method_direct_trigger``),
which is what the job does in production.
"""

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e import _kannel
from tests.e2e._inbox import run_applier, wait_applied
from tests.e2e._wiremock import free_port, http, running
from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.e2e

SMS_CRON = "sms.ir_cron_sms_scheduler_action"
KANNEL_SECRET = "kannel-e2e-secret"
TWILIO_SID = "AC" + "e2e0" * 8
TWILIO_TOKEN = "twilio-e2e-auth-token"
SMSAPI_TOKEN = "smsapi-e2e-bearer-token"
GATEWAY_SECRET = "generic-gateway-e2e-secret"
# what must happen happens within TIMEOUT s; Odoo is asked every POLL s
TIMEOUT = 60
POLL = 0.3


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def polish_mobile():
    """A fresh Polish mobile number: (E.164, as stored on the customer)."""
    national = f"60{uuid.uuid4().int % 10**7:07d}"
    return f"+48{national}", f"{national[:3]} {national[3:6]} {national[6:]}"


def our_number():
    return f"+4822{uuid.uuid4().int % 10**7:07d}"


def digits(number):
    return re.sub(r"\D", "", number or "")


# ----------------------------------------------------------------------
# Odoo data
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def odoo(odoo_server, poland):
    """The company in Poland; callback URLs built on the server's real URL
    (as a deployment's web.base.url), put back afterwards."""
    rpc = odoo_server
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    previous = rpc.call("ir.config_parameter", "get_param", "web.base.url")
    rpc.call("ir.config_parameter", "set_param", "web.base.url", rpc.url)
    yield rpc
    rpc.call("ir.config_parameter", "set_param", "web.base.url", previous or rpc.url)


def sms_center(rpc, poland, provider, **channel_values):
    """An SMS channel of ``provider``, its queue with one available agent,
    and a customer whose mobile is stored in national notation."""
    login = unique(f"sms-{provider}-agent")
    agent = rpc.call(
        "res.users",
        "create",
        {
            "name": f"SMS agent ({provider})",
            "login": login,
            "password": login,
            # Odoo posts no message, an SMS neither, for an author without one
            "email": f"{login}@e2e-sms.example",
            "groups_id": [(6, 0, [rpc.ref("omnichannel_cc.group_omnichannel_agent")])],
        },
    )
    queue = rpc.call(
        "omnichannel.queue",
        "create",
        {"name": unique(f"SMS {provider}"), "member_ids": [(6, 0, [agent])], "ring_timeout": 600},
    )
    number = our_number()
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {
            "name": f"SMS {provider} e2e",
            "channel_type": "sms",
            "address": number,
            "queue_id": queue,
            "sms_provider": provider,
            **channel_values,
        },
    )
    (row,) = rpc.call("omnichannel.channel", "read", [channel], fields=["sms_token"])
    assert row["sms_token"], "the channel generates its webhook token"
    e164, stored = polish_mobile()
    customer = rpc.call(
        "res.partner",
        "create",
        {"name": unique(f"SMS customer {provider}"), "country_id": poland, "mobile": stored},
    )
    agent_uid = rpc.login(login, login)
    presence = rpc.call(
        "omnichannel.agent", "action_my_state", "available", uid=agent_uid, password=login
    )
    assert presence["state"] == "available"
    return {
        "agent": agent,
        "agent_uid": agent_uid,
        "login": login,
        "queue": queue,
        "channel": channel,
        "number": number,
        "token": row["sms_token"],
        "customer": customer,
        "customer_number": e164,
        "inbound": f"{rpc.url}/omnichannel/sms/{row['sms_token']}/inbound",
        "status": f"{rpc.url}/omnichannel/sms/{row['sms_token']}/status",
    }


def as_agent(center):
    return {"uid": center["agent_uid"], "password": center["login"]}


def interactions_of(rpc, center, number):
    return rpc.call(
        "omnichannel.interaction",
        "search_read",
        [("channel_id", "=", center["channel"]), ("contact_address", "=", number)],
        fields=["partner_id", "state", "queue_id", "agent_id", "channel_type", "contact_address"],
    )


def messages_with(rpc, interaction_id, text):
    return rpc.call(
        "mail.message",
        "search_read",
        [
            ("model", "=", "omnichannel.interaction"),
            ("res_id", "=", interaction_id),
            ("body", "ilike", text),
        ],
        fields=["body", "author_id", "message_type"],
    )


def offered_and_accepted(rpc, center, interaction_id):
    """The agent's pending offer of the interaction (what the console's
    popup shows), accepted as the agent."""
    agent = as_agent(center)
    offers = wait_for(
        lambda: [
            offer
            for offer in rpc.call("omnichannel.offer", "action_my_offers", **agent)
            if offer["interaction_id"] == interaction_id
        ],
        TIMEOUT,
        f"an offer of interaction {interaction_id} to {center['login']}",
        every=POLL,
    )
    (offer,) = offers
    rpc.call("omnichannel.offer", "action_accept", [offer["offer_id"]], **agent)
    return offer


def reply(rpc, center, interaction_id, body, **kwargs):
    return rpc.call(
        "omnichannel.interaction",
        "action_sms_reply",
        [interaction_id],
        body,
        **kwargs,
        **as_agent(center),
    )


def run_sms_queue(rpc):
    """What the sms cron job does every minute: send the queued SMS."""
    assert rpc.call("ir.cron", "method_direct_trigger", [rpc.ref(SMS_CRON)])


def queued_sms(rpc, sms_id):
    (sms,) = rpc.call(
        "sms.sms",
        "read",
        [sms_id],
        fields=["state", "number", "body", "uuid", "mail_message_id", "omnichannel_channel_id"],
    )
    return sms


def delivery(rpc, sms):
    """(sms.sms state or None once garbage-collected, the SMS notification's
    status) of a queued message."""
    rows = rpc.call("sms.sms", "search_read", [("id", "=", sms["id"])], fields=["state"])
    notifications = rpc.call(
        "mail.notification",
        "search_read",
        [("mail_message_id", "=", sms["mail_message_id"][0]), ("notification_type", "=", "sms")],
        fields=["notification_status", "failure_type", "failure_reason"],
    )
    return (rows[0]["state"] if rows else None), notifications


def delivered(rpc, sms):
    """Whether ``sms`` is delivered; the reports wait in the event inbox
    until its applier runs (the server has no cron thread): run it first."""
    run_applier(rpc)
    state, notifications = delivery(rpc, sms)
    return (
        state in (None, "sent")
        and notifications
        and all(n["notification_status"] == "sent" for n in notifications)
    )


def status_rows(rpc, conversation):
    """The stored delivery reports of one message (its gateway id, else ours)."""
    return rpc.call(
        "omnichannel.event.inbox",
        "search",
        [("kind", "=", "_sms_status_inbox"), ("conversation", "=", conversation)],
        order="id",
    )


def reports_applied_once(rpc, conversation, count):
    """The ``count`` stored reports of a message, each applied once."""
    ids = wait_for(
        lambda: len(status_rows(rpc, conversation)) >= count and status_rows(rpc, conversation),
        TIMEOUT,
        f"{count} delivery reports of {conversation} stored",
        every=POLL,
    )
    rows = wait_applied(rpc, ids)
    assert len(rows) == count, rows
    assert all(row["state"] == "done" and row["attempts"] == 0 for row in rows.values()), rows
    return rows


def post_form(url, fields, headers=None):
    body = urllib.parse.urlencode(fields).encode()
    return http(
        "POST",
        url,
        raw=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
    )


# ----------------------------------------------------------------------
# Kannel
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def kannel_center(odoo, poland):
    return sms_center(
        odoo,
        poland,
        "kannel",
        sms_account="odoo",
        sms_secret=KANNEL_SECRET,
        # the channel's own number, as Kannel's from= (the SMSC's notation)
        sms_sender="+48225550100",
        sms_transliterate=False,
    )


@pytest.fixture(scope="module")
def kannel(odoo, kannel_center, tmp_path_factory):
    try:
        _kannel.ensure_installed()
    except _kannel.KannelMissing as error:
        pytest.fail(str(error), pytrace=False)
    gateway = _kannel.Kannel(
        tmp_path_factory.mktemp("kannel"),
        odoo.url,
        kannel_center["token"],
        KANNEL_SECRET,
        account="odoo",
    )
    odoo.call(
        "omnichannel.channel",
        "write",
        [kannel_center["channel"]],
        {"sms_base_url": gateway.sendsms_url},
    )
    try:
        gateway.start()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield gateway
    finally:
        gateway.stop()


def test_customer_texts_through_kannel_and_the_agent_answers(odoo, kannel_center, kannel):
    rpc, center = odoo, kannel_center
    number = center["customer_number"]
    text = "Dzień dobry, gdzie jest moja paczka?"
    url, status = kannel.send_mo(number, center["number"], text)
    assert status == 200, kannel.logs()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["from"] == [number], "Kannel passes the sender in international notation"

    # the interaction is on the customer stored as "6xx xxx xxx", routed and offered
    (interaction,) = wait_for(
        lambda: interactions_of(rpc, center, number),
        TIMEOUT,
        "an interaction from the customer",
        every=POLL,
    )
    assert interaction["partner_id"][0] == center["customer"]
    assert interaction["channel_type"] == "sms"
    assert interaction["queue_id"][0] == center["queue"]
    assert interaction["state"] in ("queued", "offered")
    (message,) = messages_with(rpc, interaction["id"], "gdzie jest moja paczka")
    assert message["author_id"][0] == center["customer"]
    offer = offered_and_accepted(rpc, center, interaction["id"])
    assert offer["partner_id"] == center["customer"], "the screen-pop shows the customer"
    assert offer["channel_type"] == "sms"

    # Kannel delivers the same message again (its retry after a lost
    # answer: same URL, same message id): one message, one interaction
    status, _headers, body = http("GET", url)
    assert status == 200, body
    assert len(messages_with(rpc, interaction["id"], "gdzie jest moja paczka")) == 1
    assert len(interactions_of(rpc, center, number)) == 1

    # the agent answers: the reply waits in Odoo's SMS queue, leaves through
    # Kannel once the queue runs, and the delivery report marks it delivered
    answer = "Paczka wyjechała dziś rano, jutro będzie u Pani."
    result = reply(rpc, center, interaction["id"], answer)
    assert result.get("sms_id"), result
    assert result["encoding"] == "UCS-2"
    assert result["segments"] == 1
    sms = queued_sms(rpc, result["sms_id"])
    assert sms["omnichannel_channel_id"][0] == center["channel"]
    assert digits(sms["number"]) == digits(number)
    assert not [mt for mt in kannel.mt_messages() if digits(mt.receiver) == digits(number)], (
        "nothing leaves before the queue runs"
    )
    run_sms_queue(rpc)
    (mt,) = kannel.wait_for_mt(number, "Paczka wyjechała")
    assert mt.text == answer
    assert mt.coding == "ucs-2"
    assert digits(mt.sender) == digits("+48225550100")
    wait_for(
        lambda: delivered(rpc, sms),
        TIMEOUT,
        f"delivery report of {sms['uuid']} applied",
        every=POLL,
    )
    reports = [url for url in kannel.odoo_requests("/status") if sms["uuid"] in url]
    assert any("type=1&" in url for url in reports), reports
    # each distinct report stored once in the event inbox, applied once
    rows = reports_applied_once(rpc, sms["uuid"], len(status_rows(rpc, sms["uuid"])))
    assert any(row["result"]["statuses"] == 1 for row in rows.values()), rows
    # the queue runs again: nothing leaves twice
    run_sms_queue(rpc)
    kannel.wait_idle()
    assert len(kannel.wait_for_mt(number)) == 1


def test_stop_blacklists_and_confirms_once(odoo, poland, kannel_center, kannel):
    rpc, center = odoo, kannel_center
    number, _stored = polish_mobile()
    # a sender nobody knows: a new contact, as for e-mail
    _url, status = kannel.send_mo(number, center["number"], "Czy mogę zmienić adres dostawy?")
    assert status == 200, kannel.logs()
    (interaction,) = wait_for(
        lambda: interactions_of(rpc, center, number),
        TIMEOUT,
        "an interaction from the unknown sender",
        every=POLL,
    )
    assert interaction["partner_id"], "an unknown sender becomes a contact"
    (partner,) = rpc.call(
        "res.partner", "read", [interaction["partner_id"][0]], fields=["phone", "mobile"]
    )
    assert digits(number) in {digits(partner["mobile"]), digits(partner["phone"])}

    stop_url, status = kannel.send_mo(number, center["number"], "STOP")
    assert status == 200, kannel.logs()

    def blacklisted():
        return rpc.call(
            "phone.blacklist",
            "search_read",
            [("number", "=", number)],
            fields=["active"],
            context={"active_test": False},
        )

    assert wait_for(blacklisted, TIMEOUT, f"{number} on the blacklist", every=POLL)[0]["active"]
    run_sms_queue(rpc)
    (confirmation,) = kannel.wait_for_mt(number)
    assert confirmation.text.strip()
    # Kannel retries the STOP, the queue runs again: still one confirmation
    status, _headers, body = http("GET", stop_url)
    assert status == 200, body
    run_sms_queue(rpc)
    kannel.wait_idle()
    assert len(kannel.wait_for_mt(number)) == 1, "exactly one confirmation"

    # an agent's reply to a number that opted out warns first and sends nothing
    offered_and_accepted(rpc, center, interaction["id"])
    outgoing = [("number", "=", number), ("state", "=", "outgoing")]
    before = rpc.call("sms.sms", "search_count", outgoing)
    warned = reply(rpc, center, interaction["id"], "Adres zmieniony.")
    assert warned.get("blacklisted") is True and warned.get("warning"), warned
    assert not warned.get("sms_id")
    assert rpc.call("sms.sms", "search_count", outgoing) == before
    # confirmed by the agent, it goes out (a transactional answer)
    confirmed = reply(rpc, center, interaction["id"], "Adres zmieniony.", confirm_blacklisted=True)
    assert confirmed.get("sms_id"), confirmed
    run_sms_queue(rpc)
    kannel.wait_for_mt(number, "Adres zmieniony.")

    # START lifts it
    _url, status = kannel.send_mo(number, center["number"], "START")
    assert status == 200, kannel.logs()
    wait_for(
        lambda: not blacklisted()[0]["active"], TIMEOUT, f"{number} off the blacklist", every=POLL
    )
    # whatever it answers leaves now, not during another test
    run_sms_queue(rpc)
    kannel.wait_idle()


# ----------------------------------------------------------------------
# Twilio and SMSAPI.pl through WireMock
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def wiremock(tmp_path_factory):
    with running(tmp_path_factory.mktemp("wiremock"), "The SMS e2e test") as mock:
        yield mock


@pytest.fixture(scope="module")
def twilio_center(odoo, poland, wiremock):
    return sms_center(
        odoo,
        poland,
        "twilio",
        sms_account=TWILIO_SID,
        sms_secret=TWILIO_TOKEN,
        sms_sender="+48225550111",
        sms_base_url=wiremock.url,
    )


@pytest.fixture(scope="module")
def smsapi_center(odoo, poland, wiremock):
    return sms_center(
        odoo,
        poland,
        "smsapi",
        sms_account="e2e-user",
        sms_secret=SMSAPI_TOKEN,
        sms_sender="ACME",
        sms_base_url=wiremock.url,
    )


def twilio_signature(token, url, fields):
    """X-Twilio-Signature as Twilio computes it: HMAC-SHA1 of the full URL
    followed by each POST field's name and value, sorted by name."""
    data = url + "".join(f"{name}{fields[name]}" for name in sorted(fields))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_inbound(center, number, text):
    sid = "SM" + uuid.uuid4().hex
    return {
        "ToCountry": "PL",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": text,
        "To": center["number"],
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": TWILIO_SID,
        "From": number,
        "FromCountry": "PL",
        "ApiVersion": "2010-04-01",
    }


def post_twilio(url, fields, token=TWILIO_TOKEN):
    return post_form(url, fields, {"X-Twilio-Signature": twilio_signature(token, url, fields)})


def test_forged_twilio_signature_stores_nothing(odoo, twilio_center):
    rpc, center = odoo, twilio_center
    number, _stored = polish_mobile()
    text = f"forged {uuid.uuid4().hex[:6]}"
    fields = twilio_inbound(center, number, text)

    def stored():
        found = interactions_of(rpc, center, number)
        found += rpc.call(
            "mail.message",
            "search",
            [("model", "=", "omnichannel.interaction"), ("body", "ilike", text)],
        )
        return found

    status, _headers, body = post_twilio(center["inbound"], fields, token="not-the-auth-token")
    assert status in (401, 403), (status, body)
    # signed for another URL (a replay against another channel)
    forged = twilio_signature(TWILIO_TOKEN, center["inbound"] + "x", fields)
    status, _headers, body = post_form(center["inbound"], fields, {"X-Twilio-Signature": forged})
    assert status in (401, 403), (status, body)
    status, _headers, body = post_form(center["inbound"], fields)
    assert status in (401, 403), (status, body)
    # an unknown token, a body over 64 KiB
    unknown = center["inbound"].replace(center["token"], "no-such-token")
    assert post_twilio(unknown, fields)[0] == 404
    huge = dict(fields, Body="x" * (65 * 1024))
    assert post_twilio(center["inbound"], huge)[0] == 413
    assert not stored()

    # the same message signed with the account's auth token is taken
    status, _headers, body = post_twilio(center["inbound"], fields)
    assert status == 200, body
    assert wait_for(
        lambda: interactions_of(rpc, center, number),
        TIMEOUT,
        "the signed message stored",
        every=POLL,
    )


def test_twilio_reply_through_wiremock(odoo, twilio_center, wiremock):
    rpc, center = odoo, twilio_center
    number = center["customer_number"]
    messages_path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    outbound_sid = "SM" + uuid.uuid4().hex
    wiremock.stub(
        {
            "request": {"method": "POST", "urlPath": messages_path},
            "response": {
                "status": 201,
                "jsonBody": {
                    "sid": outbound_sid,
                    "account_sid": TWILIO_SID,
                    "status": "queued",
                    "num_segments": "1",
                    "error_code": None,
                    "error_message": None,
                },
            },
        }
    )
    status, _headers, body = post_twilio(
        center["inbound"], twilio_inbound(center, number, "Is my order on its way?")
    )
    assert status == 200, body
    (interaction,) = wait_for(
        lambda: interactions_of(rpc, center, number), TIMEOUT, "the interaction", every=POLL
    )
    assert interaction["partner_id"][0] == center["customer"]
    offered_and_accepted(rpc, center, interaction["id"])

    text = "Yes, it leaves today."
    result = reply(rpc, center, interaction["id"], text)
    assert result.get("sms_id") and result["encoding"] == "GSM-7", result
    sms = queued_sms(rpc, result["sms_id"])
    assert not wiremock.find("POST", url_path=messages_path)
    run_sms_queue(rpc)
    (call,) = wiremock.wait_for("POST", messages_path)
    expected_auth = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert call["headers"]["Authorization"] == f"Basic {expected_auth}"
    assert call["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    form = dict(urllib.parse.parse_qsl(call["body"]))
    assert form["To"] == number
    assert form["From"] == "+48225550111"
    assert form["Body"] == text
    callback = form["StatusCallback"]
    assert callback.startswith(center["status"]), callback

    # Twilio reports the delivery to the StatusCallback, signed
    for state in ("sent", "delivered"):
        status, _headers, body = post_twilio(
            callback,
            {
                "MessageSid": outbound_sid,
                "MessageStatus": state,
                "AccountSid": TWILIO_SID,
                "From": "+48225550111",
                "To": number,
                "ApiVersion": "2010-04-01",
            },
        )
        assert status == 200, body
        assert b"<Response/>" in body, body
    wait_for(lambda: delivered(rpc, sms), TIMEOUT, "Twilio's delivery report applied", every=POLL)
    # both reports of the message stored and applied in order of receipt
    rows = reports_applied_once(rpc, outbound_sid, 2)
    assert [rows[i]["result"]["statuses"] for i in sorted(rows)] == [1, 1], rows
    run_sms_queue(rpc)
    assert len(wiremock.find("POST", url_path=messages_path)) == 1, "one call per message"


def test_smsapi_reply_through_wiremock(odoo, smsapi_center, wiremock):
    rpc, center = odoo, smsapi_center
    number = center["customer_number"]
    msg_id = str(uuid.uuid4().int % 10**19)
    wiremock.stub(
        {
            "request": {"method": "POST", "urlPath": "/sms.do"},
            "response": {
                "status": 200,
                "jsonBody": {
                    "count": 1,
                    "list": [
                        {
                            "id": msg_id,
                            "points": 0.16,
                            "number": digits(number),
                            "date_sent": int(time.time()),
                            "submitted_number": digits(number),
                            "status": "QUEUE",
                            "error": None,
                            "idx": None,
                            "parts": 1,
                        }
                    ],
                },
            },
        }
    )
    # SMSAPI posts the customer's message to the callback URL with the secret
    mo = {
        "sms_from": digits(number),
        "sms_to": digits(center["number"]),
        "sms_text": "Czy przesyłka jest ubezpieczona?",
        "sms_date": str(int(time.time())),
        "username": "e2e-user",
        "MsgId": str(uuid.uuid4().int % 10**19),
    }
    query = "?" + urllib.parse.urlencode({"secret": SMSAPI_TOKEN})
    assert post_form(center["inbound"] + "?secret=wrong", mo)[0] in (401, 403)
    assert not interactions_of(rpc, center, number)
    status, _headers, body = post_form(center["inbound"] + query, mo)
    assert status == 200, body
    status, _headers, body = post_form(center["inbound"] + query, mo)
    assert status == 200, body
    (interaction,) = wait_for(
        lambda: interactions_of(rpc, center, number), TIMEOUT, "the interaction", every=POLL
    )
    assert interaction["partner_id"][0] == center["customer"]
    assert len(messages_with(rpc, interaction["id"], "przesyłka jest ubezpieczona")) == 1
    offered_and_accepted(rpc, center, interaction["id"])

    text = "Tak, do 5000 zł."
    result = reply(rpc, center, interaction["id"], text)
    assert result.get("sms_id"), result
    sms = queued_sms(rpc, result["sms_id"])
    run_sms_queue(rpc)
    (call,) = wiremock.wait_for("POST", "/sms.do")
    assert call["headers"]["Authorization"] == f"Bearer {SMSAPI_TOKEN}"
    form = dict(urllib.parse.parse_qsl(call["body"]))
    assert digits(form["to"]) == digits(number)
    assert form["message"] == text
    assert form["from"] == "ACME"
    assert form["format"] == "json"
    notify_url = form["notify_url"]
    assert notify_url.startswith(center["status"]), notify_url

    # SMSAPI calls notify_url (GET) with the report: 404 = delivered
    separator = "&" if "?" in notify_url else "?"
    report = urllib.parse.urlencode(
        {
            "MsgId": msg_id,
            "status": "404",
            "status_name": "DELIVERED",
            "idx": "",
            "donedate": str(int(time.time())),
            "username": "e2e-user",
            "points": "0.16",
            "from": "ACME",
            "to": digits(number),
        }
    )
    status, _headers, body = http("GET", f"{notify_url}{separator}{report}")
    assert status == 200, body
    assert body.strip() == b"OK", body
    wait_for(lambda: delivered(rpc, sms), TIMEOUT, "SMSAPI's delivery report applied", every=POLL)
    # SMSAPI repeats a report until it reads OK: the repeat is stored no more
    status, _headers, body = http("GET", f"{notify_url}{separator}{report}")
    assert (status, body.strip()) == (200, b"OK"), body
    reports_applied_once(rpc, msg_id, 1)
    run_sms_queue(rpc)
    assert len(wiremock.find("POST", url_path="/sms.do")) == 1, "one call per message"


# ----------------------------------------------------------------------
# A generic HTTP/JSON gateway whose delivery report overtakes its answer
# ----------------------------------------------------------------------
def signed(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class OvertakingGateway:
    """A gateway speaking the generic HTTP/JSON protocol (docs/sms/README.md)
    that reports each message delivered *before* it answers Odoo's send,
    as happens when the operator's report comes back on another connection
    faster than the answer: the report is posted from another thread, the
    send answered once Odoo answered the report, or after ``hold`` seconds
    (Odoo may make the report wait for its send)."""

    def __init__(self, secret, hold=3.0):
        self.secret = secret
        self.hold = hold
        self.sends = []  # (signature valid, payload)
        self.reports = []  # (status, body) of Odoo's answers to the reports
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                valid = hmac.compare_digest(
                    self.headers.get("X-Omnichannel-Signature", ""), signed(gateway.secret, body)
                )
                payload = json.loads(body or b"{}")
                with gateway.lock:
                    gateway.sends.append((valid, payload))
                    our_id = f"GW-{len(gateway.sends)}"
                reporter = threading.Thread(target=gateway.report, args=(payload,), daemon=True)
                reporter.start()
                reporter.join(gateway.hold)
                answer = json.dumps({"id": our_id}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def report(self, payload):
        # with Odoo's id: the gateway's own is not known to Odoo yet
        body = json.dumps({"id": payload.get("id"), "status": "delivered"}).encode()
        status, _headers, answer = http(
            "POST",
            payload.get("status_url") or "",
            raw=body,
            headers={
                "Content-Type": "application/json",
                "X-Omnichannel-Signature": signed(self.secret, body),
            },
            timeout=60,
        )
        with self.lock:
            self.reports.append((status, answer))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def overtaking_gateway():
    with OvertakingGateway(GATEWAY_SECRET) as gateway:
        yield gateway


def test_report_overtaking_the_send_answer_is_applied_and_sent_once(
    odoo, poland, overtaking_gateway
):
    rpc, gateway = odoo, overtaking_gateway
    center = sms_center(
        rpc,
        poland,
        "http",
        sms_secret=GATEWAY_SECRET,
        sms_sender="+48225550122",
        sms_base_url=gateway.url,
    )
    number = center["customer_number"]
    body = json.dumps(
        {
            "id": unique("gw-in"),
            "from": number,
            "to": center["number"],
            "text": "Hello, any news?",
            "timestamp": int(time.time()),
        }
    ).encode()
    status, _headers, answer = http(
        "POST",
        center["inbound"],
        raw=body,
        headers={
            "Content-Type": "application/json",
            "X-Omnichannel-Signature": signed(GATEWAY_SECRET, body),
        },
    )
    assert status == 200, answer
    (interaction,) = wait_for(
        lambda: interactions_of(rpc, center, number), TIMEOUT, "the interaction", every=POLL
    )
    offered_and_accepted(rpc, center, interaction["id"])
    result = reply(rpc, center, interaction["id"], "Your parcel is on its way.")
    sms = queued_sms(rpc, result["sms_id"])

    run_sms_queue(rpc)
    (send,) = gateway.sends
    assert send[0], "Odoo signs its sends"
    assert send[1]["id"] == sms["uuid"] and send[1]["text"] == "Your parcel is on its way."
    wait_for(lambda: gateway.reports, TIMEOUT, "the gateway's report answered", every=POLL)
    assert [status for status, _answer in gateway.reports] == [200], gateway.reports
    # answered at once: stored in the event inbox, applied by its cron
    assert json.loads(gateway.reports[0][1])["queued"] is True, gateway.reports
    wait_for(lambda: delivered(rpc, sms), TIMEOUT, "the overtaking report applied", every=POLL)
    # the send was recorded: the queue has nothing left to send again
    run_sms_queue(rpc)
    assert len(gateway.sends) == 1, "one send per message"


def test_documented_kannel_configuration_is_accepted(tmp_path):
    """bearerbox takes docs/sms/kannel.conf with the operator's SMPP
    connection, as an integrator writes it (the other tests replace that
    connection by the fake SMSC)."""
    try:
        status, output = _kannel.documented_bearerbox(tmp_path)
    except _kannel.KannelMissing as error:
        pytest.fail(str(error), pytrace=False)
    assert "operator[operator]" in status and "SMPP:" in status, output[-3000:]
    assert "PANIC" not in output and "may not contain field" not in output, output[-3000:]
