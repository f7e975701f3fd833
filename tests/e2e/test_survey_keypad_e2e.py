"""The keypad survey end to end: the PBX asks ``/route`` whether to play the
survey, then posts the signed ``survey_answer`` event, against the session's
2-worker Odoo (issue 17). The data is made, and checked, over XML-RPC."""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.e2e._inbox import outcome

pytestmark = pytest.mark.e2e


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(url, secret, payload):
    """``(status, decoded JSON)`` of a signed POST; never raises on 4xx/5xx."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Omnichannel-Signature": sign(secret, body)}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_keypad_answer_over_the_signed_event(odoo_server, poland):
    rpc = odoo_server
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    tag = uuid.uuid4().hex[:8]
    extension = f"8{uuid.uuid4().int % 10**5:05d}"
    rpc.call(
        "res.users",
        "create",
        {
            "name": "Keypad agent",
            "login": f"keypad-{tag}",
            "groups_id": [(6, 0, [rpc.ref("omnichannel_cc.group_omnichannel_agent")])],
            "omnichannel_extension": extension,
        },
    )
    queue = rpc.call(
        "omnichannel.queue", "create", {"name": f"Keypad {tag}", "satisfaction_kind": "nps"}
    )
    did = f"+4822{uuid.uuid4().int % 10**7:07d}"
    caller = f"+48601{uuid.uuid4().int % 10**6:06d}"
    rpc.call("res.partner", "create", {"name": f"Keypad caller {tag}", "mobile": caller})
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {"name": f"Keypad {tag}", "channel_type": "phone", "address": did, "queue_id": queue},
    )
    (row,) = rpc.call(
        "omnichannel.channel", "read", [channel], fields=["voip_token", "voip_secret"]
    )
    base = f"{rpc.url}/omnichannel/voip/{row['voip_token']}"
    secret = row["voip_secret"]
    call = {"call_id": f"keypad-{tag}", "from": caller, "to": did}
    now = int(time.time())

    status, answer = post(f"{base}/route", secret, dict(call, timestamp=now))
    assert status == 200, answer
    assert answer["survey"] == {"kind": "nps", "min": 0, "max": 10}
    interaction = answer["interaction_id"]
    for event, extra in (("answered", {"agent": extension}), ("hangup", {})):
        status, answer = post(
            f"{base}/event", secret, dict(call, event=event, timestamp=now, **extra)
        )
        assert status == 200, answer
        assert answer["queued"] is True, answer
        # applied by the inbox's cron (polled, with a deadline)
        status, answer = outcome(rpc, status, answer)
        assert status == 200, answer

    keypad = {"event": "survey_answer", "call_id": call["call_id"], "timestamp": now + 5}
    # out of range: queued, then refused as a dead letter (400 here), nothing stored
    status, answer = outcome(rpc, *post(f"{base}/event", secret, dict(keypad, digits="11")))
    assert status == 400, answer
    status, answer = outcome(rpc, *post(f"{base}/event", secret, dict(keypad, digits="9")))
    assert (status, answer["survey"]) == (200, "answered"), answer
    # the PBX retries with a new timestamp: a duplicate, the first answer stays
    status, answer = outcome(
        rpc, *post(f"{base}/event", secret, dict(keypad, digits="2", timestamp=now + 6))
    )
    assert (status, answer["survey"]) == (200, "duplicate"), answer

    (stored,) = rpc.call(
        "omnichannel.interaction",
        "read",
        [interaction],
        fields=["satisfaction_kind", "satisfaction_value"],
    )
    assert (stored["satisfaction_kind"], stored["satisfaction_value"]) == ("nps", 9)
    invitations = rpc.call(
        "omnichannel.survey.invitation",
        "search_read",
        [("interaction_id", "=", interaction)],
        fields=["state", "value", "answer_channel"],
    )
    assert [(i["state"], i["value"], i["answer_channel"]) for i in invitations] == [
        ("answered", 9, "phone")
    ]
