"""omnichannel_cc_sms/tools/sms_providers.py: the SMS gateways' adapters, without Odoo.

Requests, answers and callbacks are the providers' documented ones
(Twilio's REST API and webhooks, SMSAPI.pl's sms.do and callbacks, Kannel's
sendsms and smsbox escape codes). The transport is exercised against a real
local HTTP server (standard library) standing in for the gateways.
"""

import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit

import pytest

from tests.unit._tools import load_tools

(prov,) = load_tools("sms_providers", addon="omnichannel_cc_sms")
(webhook,) = load_tools("webhook")
(signature,) = load_tools("signature")

SMS = prov.Outgoing(
    uuid="0123456789abcdef0123456789abcdef",
    number="+48502111222",
    body="Dzień dobry",
    status_url="https://odoo.example.com/omnichannel/sms/TOKEN/status",
)

# Twilio's request validation example (twilio-python / twilio-php tests)
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
TWILIO_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

# An incoming SMS as Twilio posts it to the number's webhook
TWILIO_INBOUND = {
    "ToCountry": "PL",
    "ToState": "",
    "SmsMessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
    "NumMedia": "0",
    "ToCity": "",
    "FromZip": "",
    "SmsSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
    "FromState": "",
    "SmsStatus": "received",
    "FromCity": "",
    "Body": "Dzień dobry, czy polisa obejmuje narty?",
    "FromCountry": "PL",
    "To": "+48221002050",
    "ToZip": "",
    "NumSegments": "1",
    "MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
    "AccountSid": "AC0123456789abcdef0123456789abcdef",
    "From": "+48502111222",
    "ApiVersion": "2010-04-01",
}


def _status(call, *args, **kwargs):
    with pytest.raises(webhook.WebhookError) as caught:
        call(*args, **kwargs)
    return caught.value.status


def _request(method="POST", url="https://odoo.example.com/x", headers=None, **kwargs):
    return prov.WebRequest(method=method, url=url, headers=headers or {}, **kwargs)


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


# ----------------------------------------------------------------------
# Twilio
# ----------------------------------------------------------------------
def test_twilio_documented_signature():
    assert prov.twilio_signature(TWILIO_TOKEN, TWILIO_URL, TWILIO_PARAMS) == TWILIO_SIGNATURE
    # the order the fields come in does not matter
    pairs = sorted(TWILIO_PARAMS.items(), reverse=True)
    assert prov.twilio_signature(TWILIO_TOKEN, TWILIO_URL, pairs) == TWILIO_SIGNATURE


def test_twilio_signature_of_repeated_fields_and_mixed_case_url():
    repeated = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    assert (
        prov.twilio_signature(TWILIO_TOKEN, TWILIO_URL, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    )
    mixed = "https://MyCompany.com/myapp.php?foo=1&bar=2"
    assert (
        prov.twilio_signature(TWILIO_TOKEN, mixed, TWILIO_PARAMS) == "g9IN/x4Cft2g517EjYvEvM/W7LU="
    )


def _twilio(**kwargs):
    settings = {"account": "AC0123456789abcdef0123456789abcdef", "secret": TWILIO_TOKEN}
    settings.update(kwargs)
    return prov.TwilioAdapter(**settings)


def test_twilio_verify_documented_request():
    request = _request(
        url=TWILIO_URL,
        headers={"X-Twilio-Signature": TWILIO_SIGNATURE},
        form=tuple(TWILIO_PARAMS.items()),
    )
    _twilio().verify(request)


@pytest.mark.parametrize(
    "change",
    [
        {"headers": {"X-Twilio-Signature": "RSOYDt4T1cUTdK1PDd93/VVr8B8X"}},
        {"headers": {}},
        {"form": tuple(dict(TWILIO_PARAMS, Digits="9999").items())},
        {"url": TWILIO_URL + "&extra=1"},
    ],
)
def test_twilio_forged_request_is_401(change):
    values = {
        "url": TWILIO_URL,
        "headers": {"X-Twilio-Signature": TWILIO_SIGNATURE},
        "form": tuple(TWILIO_PARAMS.items()),
    }
    values.update(change)
    assert _status(_twilio().verify, _request(**values)) == 401


def test_twilio_without_auth_token_refuses_everything():
    request = _request(
        url=TWILIO_URL,
        headers={"X-Twilio-Signature": TWILIO_SIGNATURE},
        form=tuple(TWILIO_PARAMS.items()),
    )
    assert _status(_twilio(secret="").verify, request) == 401


def test_twilio_signature_with_default_port_or_another_url():
    signed_url = "https://odoo.example.com:443/omnichannel/sms/T/inbound"
    header = prov.twilio_signature(TWILIO_TOKEN, signed_url, TWILIO_INBOUND)
    request = _request(
        url="https://odoo.example.com/omnichannel/sms/T/inbound",
        headers={"X-Twilio-Signature": header},
        form=tuple(TWILIO_INBOUND.items()),
    )
    _twilio().verify(request)
    # behind a proxy that did not forward the scheme: the public URL signs
    public = "https://odoo.example.com/omnichannel/sms/T/inbound"
    header = prov.twilio_signature(TWILIO_TOKEN, public, TWILIO_INBOUND)
    request = _request(
        url="http://127.0.0.1:8069/omnichannel/sms/T/inbound",
        urls=("http://127.0.0.1:8069/omnichannel/sms/T/inbound", public),
        headers={"X-Twilio-Signature": header},
        form=tuple(TWILIO_INBOUND.items()),
    )
    _twilio().verify(request)


def test_twilio_get_signs_the_url_only():
    url = "https://odoo.example.com/omnichannel/sms/T/status?MessageSid=SM1&MessageStatus=sent"
    header = prov.twilio_signature(TWILIO_TOKEN, url, {})
    _twilio().verify(_request(method="GET", url=url, headers={"X-Twilio-Signature": header}))


def test_twilio_ip_allow_list_is_403_before_the_signature():
    request = _request(
        url=TWILIO_URL,
        headers={"X-Twilio-Signature": TWILIO_SIGNATURE},
        form=tuple(TWILIO_PARAMS.items()),
        remote_addr="203.0.113.7",
    )
    assert _status(_twilio(allowed_ips="198.51.100.0/24").verify, request) == 403
    _twilio(allowed_ips="198.51.100.0/24, 203.0.113.7").verify(request)


def test_twilio_build_send():
    request = _twilio(sender="+48221002050").build_send(SMS)
    assert request.method == "POST"
    assert request.url == (
        "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef"
        "/Messages.json"
    )
    user, _sep, password = (
        base64.b64decode(request.headers["Authorization"].removeprefix("Basic "))
        .decode()
        .partition(":")
    )
    assert (user, password) == ("AC0123456789abcdef0123456789abcdef", TWILIO_TOKEN)
    fields = dict(parse_qsl(request.body.decode()))
    assert fields["To"] == "+48502111222"
    assert fields["From"] == "+48221002050"
    assert fields["Body"] == "Dzień dobry"
    callback = urlsplit(fields["StatusCallback"])
    assert callback.path == "/omnichannel/sms/TOKEN/status"
    assert parse_qs(callback.query) == {"id": [SMS.uuid]}


def test_twilio_messaging_service_sender():
    sid = "MG" + "0" * 32
    fields = dict(parse_qsl(_twilio(sender=sid).build_send(SMS).body.decode()))
    assert fields["MessagingServiceSid"] == sid
    assert "From" not in fields


def test_twilio_needs_credentials():
    result = _twilio(secret="").send(SMS)
    assert result.failure_type == "sms_acc"


def test_twilio_parse_send():
    created = prov.HttpResponse(
        201,
        body=json.dumps(
            {
                "account_sid": "AC0123456789abcdef0123456789abcdef",
                "api_version": "2010-04-01",
                "body": "Dzień dobry",
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": "+48221002050",
                "num_segments": "1",
                "sid": "SM3c2b8d4f0e6a4b5f9c1d2e3f4a5b6c7d",
                "status": "queued",
                "to": "+48502111222",
            }
        ).encode(),
    )
    result = _twilio().parse_send(SMS, created)
    assert result.ok and result.provider_id == "SM3c2b8d4f0e6a4b5f9c1d2e3f4a5b6c7d"
    invalid = prov.HttpResponse(
        400,
        body=b'{"code": 21211, "message": "The \'To\' number 12 is not a valid phone number.", '
        b'"more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}',
    )
    result = _twilio().parse_send(SMS, invalid)
    assert result.failure_type == "sms_number_format"
    assert "21211" in result.reason
    assert _twilio().parse_send(SMS, prov.HttpResponse(401, body=b"{}")).failure_type == "sms_acc"
    assert _twilio().parse_send(SMS, prov.HttpResponse(503, body=b"")).failure_type == "sms_server"
    other = _twilio().parse_send(SMS, prov.HttpResponse(400, body=b'{"code": 21617}'))
    assert other.failure_type == "unknown" and "21617" in other.reason


def test_twilio_parse_inbound_sms():
    message = _twilio().parse_inbound(TWILIO_INBOUND)
    assert message.provider_id == "SM1f0e8ae6ade43cb3c0ce4525424e404f"
    assert message.sender == "+48502111222"
    assert message.recipient == "+48221002050"
    assert message.text == "Dzień dobry, czy polisa obejmuje narty?"
    assert message.media == ()


def test_an_empty_sms_is_a_message():
    assert _twilio().parse_inbound(dict(TWILIO_INBOUND, Body="")).text == ""
    assert _kannel().parse_inbound({"id": "k1", "from": "48502111222", "text": ""}).text == ""
    assert _smsapi().parse_inbound({"MsgId": "m1", "sms_from": "48502111222"}).text == ""


def test_twilio_parse_inbound_mms():
    values = dict(
        TWILIO_INBOUND,
        MessageSid="MM9f0e8ae6ade43cb3c0ce4525424e404f",
        Body="",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM9/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM9/Media/ME2",
        MediaContentType1="application/pdf",
    )
    message = _twilio().parse_inbound(values)
    assert message.text == ""
    assert [m.content_type for m in message.media] == ["image/jpeg", "application/pdf"]
    assert message.media[1].url.endswith("/Media/ME2")


@pytest.mark.parametrize(
    "change",
    [
        {"From": ""},
        {"MessageSid": "", "SmsSid": ""},
        {"NumMedia": "x"},
        {"NumMedia": "11"},
        {"NumMedia": "1"},  # MediaUrl0 missing
        {"From": "not a number!"},
        {"MessageSid": "x" * 300},
    ],
)
def test_twilio_malformed_inbound_is_400(change):
    assert _status(_twilio().parse_inbound, dict(TWILIO_INBOUND, **change)) == 400


@pytest.mark.parametrize(
    "status,state,failure",
    [
        ("queued", "process", None),
        ("sending", "process", None),
        ("sent", "pending", None),
        ("delivered", "sent", None),
        ("undelivered", "error", "not_delivered"),
        ("failed", "error", "not_delivered"),
    ],
)
def test_twilio_status(status, state, failure):
    values = {
        "MessageSid": "SM3c2b8d4f0e6a4b5f9c1d2e3f4a5b6c7d",
        "MessageStatus": status,
        "AccountSid": "AC1",
        "id": SMS.uuid,
    }
    if state == "error":
        values["ErrorCode"] = "30003"
    (report,) = _twilio().parse_status(values)
    assert report.provider_id == "SM3c2b8d4f0e6a4b5f9c1d2e3f4a5b6c7d"
    assert report.uuid == SMS.uuid
    assert report.state == state
    assert report.failure == failure
    if state == "error":
        assert "30003" in report.reason


def test_twilio_unknown_status_is_ignored_and_missing_sid_is_400():
    (report,) = _twilio().parse_status({"MessageSid": "SM1", "MessageStatus": "receiving"})
    assert report.state is None
    assert _status(_twilio().parse_status, {"MessageStatus": "sent"}) == 400


def test_twilio_answers_empty_twiml():
    content_type, body = _twilio().answer("inbound")
    assert content_type == "text/xml"
    assert body.endswith("<Response/>")


# ----------------------------------------------------------------------
# SMSAPI.pl
# ----------------------------------------------------------------------
def _smsapi(**kwargs):
    settings = {"secret": "oauth-token-123", "sender": "Wisla"}
    settings.update(kwargs)
    return prov.SmsapiAdapter(**settings)


def test_smsapi_build_send():
    request = _smsapi().build_send(SMS)
    assert request.method == "POST"
    assert request.url == "https://api.smsapi.pl/sms.do"
    assert request.headers["Authorization"] == "Bearer oauth-token-123"
    fields = dict(parse_qsl(request.body.decode()))
    assert fields["to"] == "48502111222"
    assert fields["message"] == "Dzień dobry"
    assert fields["from"] == "Wisla"
    assert fields["format"] == "json"
    assert fields["encoding"] == "utf-8"
    assert fields["idx"] == SMS.uuid
    notify = urlsplit(fields["notify_url"])
    assert notify.path == "/omnichannel/sms/TOKEN/status"
    assert parse_qs(notify.query) == {"secret": ["oauth-token-123"]}


def test_smsapi_parse_send():
    ok = prov.HttpResponse(
        200,
        body=b'{"count":1,"list":[{"id":"1460969715572091219","points":0.16,'
        b'"number":"48502111222","date_sent":1460969712,"submitted_number":"502111222",'
        b'"status":"QUEUE","error":null,"idx":"0123456789abcdef0123456789abcdef"}]}',
    )
    result = _smsapi().parse_send(SMS, ok)
    assert result.ok and result.provider_id == "1460969715572091219"
    for code, failure in ((13, "sms_number_format"), (101, "sms_acc"), (103, "sms_credit")):
        body = json.dumps({"error": code, "message": "refused"}).encode()
        assert _smsapi().parse_send(SMS, prov.HttpResponse(200, body=body)).failure_type == failure
    odd = _smsapi().parse_send(SMS, prov.HttpResponse(200, body=b'{"error": 14, "message": "x"}'))
    assert odd.failure_type == "unknown" and "14" in odd.reason


def test_smsapi_secret_parameter():
    good = _request(method="GET", query=(("secret", "oauth-token-123"),))
    _smsapi().verify(good)
    for query in ((("secret", "wrong"),), ()):
        assert _status(_smsapi().verify, _request(method="GET", query=query)) == 403


def test_smsapi_without_secret_needs_the_allow_list():
    bare = _smsapi(secret="")
    assert _status(bare.verify, _request(method="GET", remote_addr="89.174.81.98")) == 403
    listed = _smsapi(secret="", allowed_ips="89.174.81.0/24")
    listed.verify(_request(method="GET", remote_addr="89.174.81.98"))
    assert _status(listed.verify, _request(method="GET", remote_addr="10.0.0.1")) == 403


def test_smsapi_mo_callback():
    values = {
        "sms_to": "48221002050",
        "sms_from": "48502111222",
        "sms_text": "STOP",
        "sms_date": "1700000000",
        "username": "user@example.com",
        "MsgId": "5F2A1B3C4D5E6F7A8B9C0D1E",
    }
    message = _smsapi().parse_inbound(values)
    assert message.provider_id == "5F2A1B3C4D5E6F7A8B9C0D1E"
    assert message.sender == "48502111222"
    assert message.text == "STOP"
    assert message.timestamp == 1700000000
    assert _status(_smsapi().parse_inbound, dict(values, MsgId="")) == 400


def test_smsapi_dlr_callback_with_several_reports():
    values = {
        "MsgId": "1460969715572091219,1460969715572091220,1460969715572091221",
        "status": "404,405,403",
        "idx": f"{SMS.uuid},,",
        "donedate": "1460969716,1460969717,1460969718",
        "username": "user@example.com",
    }
    delivered, undelivered, sent = _smsapi().parse_status(values)
    assert (delivered.provider_id, delivered.uuid, delivered.state) == (
        "1460969715572091219",
        SMS.uuid,
        "sent",
    )
    assert (undelivered.state, undelivered.failure) == ("error", "not_delivered")
    assert "UNDELIVERED" in undelivered.reason
    assert (sent.state, sent.uuid) == ("pending", None)
    assert _status(_smsapi().parse_status, {"MsgId": "1,2", "status": "404"}) == 400


def test_smsapi_answers_ok():
    assert _smsapi().answer("inbound") == ("text/plain", "OK")
    assert _smsapi().answer("status") == ("text/plain", "OK")


# ----------------------------------------------------------------------
# Kannel
# ----------------------------------------------------------------------
def _kannel(**kwargs):
    settings = {"account": "omnichannel", "secret": "omnichannel-demo", "sender": "+48221002050"}
    settings.update(kwargs)
    return prov.KannelAdapter(**settings)


def test_kannel_build_send():
    request = _kannel().build_send(SMS)
    assert request.method == "GET"
    parts = urlsplit(request.url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://127.0.0.1:13013/cgi-bin/sendsms"
    )
    params = dict(parse_qsl(parts.query))
    assert params["username"] == "omnichannel"
    assert params["password"] == "omnichannel-demo"
    assert params["to"] == "+48502111222"
    assert params["from"] == "+48221002050"
    assert params["text"] == "Dzień dobry"
    assert params["charset"] == "UTF-8"
    assert params["coding"] == "2"  # ń: UCS-2
    assert params["dlr-mask"] == "31"
    # what Kannel calls back, once it replaced %d and %A
    dlr = urlsplit(params["dlr-url"])
    assert dlr.path == "/omnichannel/sms/TOKEN/status"
    assert dlr.query.endswith("&type=%d&reply=%A")
    assert parse_qs(dlr.query)["secret"] == ["omnichannel-demo"]
    assert parse_qs(dlr.query)["id"] == [SMS.uuid]
    gsm = _kannel().build_send(prov.Outgoing(SMS.uuid, SMS.number, "Dzien dobry", ""))
    assert dict(parse_qsl(urlsplit(gsm.url).query))["coding"] == "0"
    assert "dlr-url" not in dict(parse_qsl(urlsplit(gsm.url).query))


def test_kannel_parse_send():
    accepted = _kannel().parse_send(SMS, prov.HttpResponse(202, body=b"0: Accepted for delivery"))
    assert accepted.ok and accepted.provider_id == SMS.uuid
    queued = _kannel().parse_send(SMS, prov.HttpResponse(202, body=b"3: Queued for later delivery"))
    assert queued.ok
    refused = _kannel().parse_send(
        SMS, prov.HttpResponse(403, body=b"Authorization failed for sendsms")
    )
    assert refused.failure_type == "sms_acc"
    broken = _kannel().parse_send(SMS, prov.HttpResponse(503, body=b"Sending failed."))
    assert broken.failure_type == "sms_server"


def test_kannel_mo_by_get_url():
    # get-url ".../inbound?secret=...&from=%p&to=%P&text=%a&id=%I&ts=%t"
    query = (
        "secret=omnichannel-demo&from=%2B48502111222&to=48221002050&text=Dzie%C5%84+dobry"
        "&id=4f1c1a2e-8a2b-4c39-9d0e-2b8f7c5a1d00&ts=2024-01-02+10:20"
    )
    values = webhook.load_form(b"", query.encode())
    request = _request(method="GET", query=tuple(webhook.form_pairs(query)))
    _kannel().verify(request)
    message = _kannel().parse_inbound(values)
    assert message.provider_id == "4f1c1a2e-8a2b-4c39-9d0e-2b8f7c5a1d00"
    assert message.sender == "+48502111222"
    assert message.text == "Dzień dobry"
    assert message.timestamp == 1704190800
    forged = _request(method="GET", query=(("secret", "guess"),))
    assert _status(_kannel().verify, forged) == 403


@pytest.mark.parametrize(
    "kind,state,failure",
    [
        (1, "sent", None),
        (2, "error", "not_delivered"),
        (4, "pending", None),
        (8, "pending", None),
        (16, "error", "rejected"),
        (32, None, None),
    ],
)
def test_kannel_dlr(kind, state, failure):
    values = {
        "secret": "omnichannel-demo",
        "id": SMS.uuid,
        "type": str(kind),
        "reply": "id:0123 sub:001 dlvrd:000 submit date:2401021020 done date:2401021021 "
        "stat:UNDELIV err:001 text:Dzien",
    }
    (report,) = _kannel().parse_status(values)
    assert (report.uuid, report.state, report.failure) == (SMS.uuid, state, failure)
    if state == "error":
        assert "stat:UNDELIV err:001" in report.reason
    assert _status(_kannel().parse_status, dict(values, type="x")) == 400


def test_kannel_says_nothing_back_to_the_customer():
    assert _kannel().answer("inbound") == ("text/plain", "")
    assert _kannel().answer("status") is None


# ----------------------------------------------------------------------
# Generic HTTP/JSON gateway
# ----------------------------------------------------------------------
def _http(**kwargs):
    settings = {"secret": "shared-secret", "base_url": "https://gw.example.com/send"}
    settings.update(kwargs)
    return prov.HttpAdapter(**settings)


def test_http_build_send_is_signed_json():
    request = _http(sender="FIRMA").build_send(SMS)
    assert request.url == "https://gw.example.com/send"
    payload = json.loads(request.body)
    assert payload == {
        "id": SMS.uuid,
        "from": "FIRMA",
        "to": "+48502111222",
        "text": "Dzień dobry",
        "status_url": SMS.status_url,
    }
    assert signature.verify(
        "shared-secret", request.body, request.headers["X-Omnichannel-Signature"]
    )


def test_http_parse_send():
    ok = _http().parse_send(SMS, prov.HttpResponse(200, body=b'{"id": "gw-77"}'))
    assert ok.provider_id == "gw-77"
    ours = _http().parse_send(SMS, prov.HttpResponse(202, body=b""))
    assert ours.provider_id == SMS.uuid
    credit = _http().parse_send(
        SMS, prov.HttpResponse(402, body=b'{"error": "no credit", "failure": "credit"}')
    )
    assert (credit.failure_type, credit.reason) == ("sms_credit", "no credit")


def test_http_verify_hmac():
    body = json.dumps({"id": "m1", "from": "+48502111222", "text": "hi"}).encode()
    signed = _request(
        body=body, headers={"X-Omnichannel-Signature": signature.sign("shared-secret", body)}
    )
    _http().verify(signed)
    forged = _request(body=body, headers={"X-Omnichannel-Signature": signature.sign("other", body)})
    assert _status(_http().verify, forged) == 401
    assert _status(_http().verify, _request(body=body)) == 401


def test_http_inbound_and_status():
    message = _http().parse_inbound(
        {"id": "m1", "from": "+48502111222", "to": "+48221002050", "text": "hi", "timestamp": 1.7e9}
    )
    assert (message.provider_id, message.sender, message.text) == ("m1", "+48502111222", "hi")
    (report,) = _http().parse_status({"id": "gw-77", "status": "failed", "reason": "absent"})
    assert (report.provider_id, report.state, report.reason) == ("gw-77", "error", "absent")
    (report,) = _http().parse_status({"id": "gw-77", "status": "delivered"})
    assert report.state == "sent" and report.reason is None
    assert _status(_http().parse_status, {"id": "gw-77", "status": "lost"}) == 400
    assert _status(_http().parse_inbound, {"id": "m1", "from": "+48502111222", "text": 5.5j}) == 400
    assert _status(_http().parse_inbound, {"id": ["m1"], "from": "x", "text": "t"}) == 400


# ----------------------------------------------------------------------
# Forms (the shared webhook tools), allow-lists, adapters
# ----------------------------------------------------------------------
def test_load_form_body_wins_and_bad_forms_are_400():
    assert webhook.load_form(b"a=1&b=2&a=3", b"a=0&c=4") == {"a": "1", "b": "2", "c": "4"}
    assert webhook.load_form(b"", b"text=&x=%C5%84") == {"text": "", "x": "ń"}
    assert _status(webhook.load_form, b"text=%FF", b"") == 400
    assert _status(webhook.load_form, b"\xff=1", b"") == 400
    many = "&".join(f"f{i}=1" for i in range(webhook.MAX_FORM_FIELDS + 1)).encode()
    assert _status(webhook.load_form, many, b"") == 400
    assert _status(webhook.check_form_content_type, "application/json") == 415
    webhook.check_form_content_type("application/x-www-form-urlencoded")
    webhook.check_form_content_type("")


def test_allowed_ips():
    networks = prov.parse_allowed_ips("10.0.0.5, 192.0.2.0/24 2001:db8::/32")
    assert prov.ip_allowed("10.0.0.5", networks)
    assert prov.ip_allowed("192.0.2.200", networks)
    assert prov.ip_allowed("::ffff:10.0.0.5", networks)
    assert prov.ip_allowed("2001:db8::1", networks)
    assert not prov.ip_allowed("10.0.0.6", networks)
    assert not prov.ip_allowed("", networks)
    with pytest.raises(ValueError, match="nope"):
        prov.parse_allowed_ips("10.0.0.1, nope")


def test_get_adapter():
    assert isinstance(prov.get_adapter("kannel", account="a"), prov.KannelAdapter)
    assert prov.get_adapter("twilio").base_url == "https://api.twilio.com"
    with pytest.raises(prov.ProviderError):
        prov.get_adapter("iap")


def test_redact():
    text = prov.redact(
        "GET /cgi-bin/sendsms?username=u&password=p4ssw0rd&to=1 failed", ("p4ssw0rd",)
    )
    assert "p4ssw0rd" not in text


# ----------------------------------------------------------------------
# Transport: a real HTTP server standing in for the gateways
# ----------------------------------------------------------------------
class _Gateway(BaseHTTPRequestHandler):
    requests = []
    answers = {}

    def log_message(self, *args):
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.requests.append((self.command, self.path, dict(self.headers), body))
        path = urlsplit(self.path).path
        status, headers, payload = self.answers.get(path, (404, {}, b"no route"))
        if path == "/slow":
            time.sleep(2)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _handle


@pytest.fixture
def gateway():
    _Gateway.requests = []
    _Gateway.answers = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Gateway
    server.shutdown()
    server.server_close()


def test_transport_answers_and_errors(gateway):
    base, handler = gateway
    handler.answers["/ok"] = (200, {"Content-Type": "application/json"}, b'{"a": 1}')
    response = prov.http_transport(prov.HttpRequest("GET", base + "/ok"), timeout=5)
    assert response.status == 200 and response.json() == {"a": 1}
    assert response.headers["content-type"] == "application/json"
    # an HTTP error is an answer, not an exception
    assert prov.http_transport(prov.HttpRequest("GET", base + "/missing"), timeout=5).status == 404
    handler.answers["/big"] = (200, {}, b"x" * 2000)
    with pytest.raises(prov.TransportError, match="larger than"):
        prov.http_transport(prov.HttpRequest("GET", base + "/big"), timeout=5, max_bytes=1000)
    handler.answers["/slow"] = (200, {}, b"late")
    started = time.monotonic()
    with pytest.raises(prov.TransportError):
        prov.http_transport(prov.HttpRequest("GET", base + "/slow"), timeout=0.5)
    assert time.monotonic() - started < 1.9
    with pytest.raises(prov.TransportError):
        prov.http_transport(prov.HttpRequest("GET", "http://127.0.0.1:9/"), timeout=2)


def test_transport_keeps_credentials_off_redirects(gateway):
    base, handler = gateway
    other = base.replace("127.0.0.1", "localhost")
    handler.answers["/media"] = (302, {"Location": other + "/cdn"}, b"")
    handler.answers["/cdn"] = (200, {"Content-Type": "image/jpeg"}, b"JPEG")
    request = prov.HttpRequest("GET", base + "/media", headers={"Authorization": "Basic c2VjcmV0"})
    assert prov.http_transport(request, timeout=5).body == b"JPEG"
    first, second = handler.requests
    assert first[2].get("Authorization") == "Basic c2VjcmV0"
    assert "Authorization" not in second[2]


def test_each_adapter_sends_one_request_per_message(gateway):
    base, handler = gateway
    handler.answers["/2010-04-01/Accounts/AC1/Messages.json"] = (
        201,
        {"Content-Type": "application/json"},
        b'{"sid": "SM1", "status": "queued"}',
    )
    handler.answers["/sms.do"] = (200, {}, b'{"count":1,"list":[{"id":"99","status":"QUEUE"}]}')
    handler.answers["/cgi-bin/sendsms"] = (202, {}, b"0: Accepted for delivery")
    handler.answers["/send"] = (200, {}, b'{"id": "gw-1"}')
    adapters = [
        prov.TwilioAdapter(account="AC1", secret="t", base_url=base),
        prov.SmsapiAdapter(secret="t", base_url=base),
        prov.KannelAdapter(account="u", secret="p", base_url=base),
        prov.HttpAdapter(secret="t", base_url=base + "/send"),
    ]
    ids = [adapter.send(SMS).provider_id for adapter in adapters]
    assert ids == ["SM1", "99", SMS.uuid, "gw-1"]
    assert [request[0] for request in handler.requests] == ["POST", "POST", "GET", "POST"]
    kannel_query = dict(parse_qsl(urlsplit(handler.requests[2][1]).query))
    assert unquote(kannel_query["dlr-url"]).endswith("type=%d&reply=%A")


def test_unreachable_gateway_is_a_server_failure_without_secrets():
    adapter = prov.KannelAdapter(account="u", secret="s3cr3t-pass", base_url="http://127.0.0.1:9")
    result = adapter.send(SMS)
    assert result.failure_type == "sms_server"
    assert "s3cr3t-pass" not in result.reason


def test_media_only_from_the_gateway(gateway):
    base, handler = gateway
    handler.answers["/Media/ME1"] = (200, {"Content-Type": "image/png"}, b"PNG")
    adapter = prov.TwilioAdapter(account="AC1", secret="t", base_url=base)
    content, content_type = adapter.download_media(prov.Media(base + "/Media/ME1", "image/png"))
    assert (content, content_type) == (b"PNG", "image/png")
    assert handler.requests[0][2]["Authorization"].startswith("Basic ")
    for url in ("http://169.254.169.254/latest", base.replace("127.0.0.1", "localhost") + "/x"):
        with pytest.raises(prov.ProviderError):
            adapter.download_media(prov.Media(url))
    handler.answers["/Media/BIG"] = (200, {}, b"x" * 100)
    with pytest.raises(prov.ProviderError):
        adapter.download_media(prov.Media(base + "/Media/BIG"), max_bytes=10)


def test_form_helper_reads_what_urlencode_wrote():
    fields = {"Body": "Zażółć & = ?", "From": "+48502111222"}
    assert webhook.load_form(urlencode(fields).encode()) == fields
