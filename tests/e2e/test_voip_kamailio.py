"""Phone calls end to end: SIPp customers call through a real Kamailio that
asks Odoo where each call goes and posts signed CTI events to it.

Kamailio, its configuration and the SIPp scenarios come from
``omnichannel_cc_voip/tests/peers.py`` (loaded by path: it imports no odoo).
The server is the session's real multi-worker Odoo; the data is made over
XML-RPC, as admin and as the agent.
"""

import importlib.util
import json
import time
import urllib.error
import urllib.request
import uuid
import xmlrpc.client

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e._inbox import wait_call
from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.e2e

PEERS_PATH = REPO_ROOT / "omnichannel_cc_voip" / "tests" / "peers.py"
_spec = importlib.util.spec_from_file_location("omnichannel_cc_voip_peers", PEERS_PATH)
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)

EXTENSION = "1001"
TALK_SECONDS = 3
# Odoo records a call's outcome within WAIT s; it is asked every POLL s
WAIT = 15
POLL = 0.3


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def polish_mobile():
    """A fresh Polish mobile number: (display notation, another notation)."""
    digits = f"{uuid.uuid4().int % 10**6:06d}"
    national = f"601{digits}"
    return f"+48 {national[:3]} {national[3:6]} {national[6:]}", f"0048{national}"


@pytest.fixture(scope="module")
def center(odoo_server, poland):
    """A phone line, a Collections queue with a routing rule for debtors, and
    an agent on extension 1001, logged in and available."""
    rpc = odoo_server
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    login = unique("voip-agent")
    agent = rpc.call(
        "res.users",
        "create",
        {
            "name": "Agent 1001",
            "login": login,
            "password": login,
            "groups_id": [(6, 0, [rpc.ref("omnichannel_cc.group_omnichannel_agent")])],
            "omnichannel_extension": EXTENSION,
        },
    )
    line_queue = rpc.call("omnichannel.queue", "create", {"name": unique("Phone line")})
    collections = rpc.call(
        "omnichannel.queue",
        "create",
        {"name": unique("Collections"), "member_ids": [(6, 0, [agent])]},
    )
    did = f"+4822{uuid.uuid4().int % 10**7:07d}"
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {
            "name": "Customer line",
            "channel_type": "phone",
            "address": did,
            "queue_id": line_queue,
            "voip_sip_domain": "127.0.0.1",
        },
    )
    rpc.call(
        "omnichannel.routing.rule",
        "create",
        {
            "name": "Overdue balance to Collections",
            "sequence": 0,
            "channel_ids": [(6, 0, [channel])],
            "min_overdue_amount": 0.01,
            "queue_id": collections,
        },
    )
    [credentials] = rpc.call(
        "omnichannel.channel", "read", [channel], fields=["voip_token", "voip_secret"]
    )
    assert credentials["voip_token"] and credentials["voip_secret"]
    # the agent starts the shift: available, logged in to Collections
    agent_uid = rpc.login(login, login)
    presence = rpc.call(
        "omnichannel.agent", "action_my_state", "available", uid=agent_uid, password=login
    )
    assert presence["state"] == "available"
    rpc.call(
        "omnichannel.agent",
        "action_queue_login",
        [collections],
        uid=agent_uid,
        password=login,
    )
    return {
        "agent": agent,
        "login": login,
        "collections": collections,
        "line_queue": line_queue,
        "channel": channel,
        "did": did,
        "token": credentials["voip_token"],
        "secret": credentials["voip_secret"],
    }


@pytest.fixture(scope="module")
def pbx(odoo_server, center, tmp_path_factory):
    try:
        peers.ensure_installed()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    kamailio = peers.Kamailio(
        tmp_path_factory.mktemp("kamailio"),
        odoo_server.url,
        center["token"],
        center["secret"],
    )
    with kamailio:
        yield kamailio


def customer(rpc, poland, name, phone):
    return rpc.call("res.partner", "create", {"name": name, "country_id": poland, "phone": phone})


def overdue_invoice(rpc, partner):
    invoice = rpc.call(
        "account.move",
        "create",
        {
            "move_type": "out_invoice",
            "partner_id": partner,
            "invoice_date": "2026-01-05",
            "invoice_date_due": "2026-01-20",
            "invoice_line_ids": [(0, 0, {"name": "Składka", "quantity": 1, "price_unit": 420.0})],
        },
    )
    rpc.call("account.move", "action_post", [invoice])
    return invoice


def interactions_of_call(rpc, call_id):
    return rpc.call(
        "omnichannel.interaction",
        "search_read",
        [("external_id", "=", call_id)],
        fields=[
            "partner_id",
            "channel_id",
            "queue_id",
            "agent_id",
            "state",
            "talk_duration",
            "offer_ids",
            "end_reason",
        ],
    )


def post(url, body, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def succeeded(run, pbx, timeout=60):
    """Wait for a SIPp run; fail with its traces and the PBX's log unless it succeeded."""
    code = run.wait(timeout)
    assert code == 0, f"{run.report()}\n--- kamailio\n{pbx.log_tail()}"


def test_debtor_call_is_answered_by_collections(odoo_server, poland, center, pbx, tmp_path):
    route_answer = debtor_call(odoo_server, poland, center, pbx, tmp_path)
    assert route_answer["interaction_id"], route_answer


def test_debtor_call_answered_first(odoo_server, poland, center, pbx, tmp_path):
    """The line answers routing first (``voip_fast_route``): Kamailio gets
    the agent before the call is written; the event inbox writes the call,
    offered to that agent, before applying its ringing, answer and hang-up."""
    rpc = odoo_server
    # the agent closes the wrap-up of an earlier call of this module: free again
    agent_uid = rpc.login(center["login"], center["login"])
    wrapups = rpc.call(
        "omnichannel.interaction",
        "search",
        [("agent_id", "=", center["agent"]), ("state", "=", "wrapup")],
    )
    if wrapups:
        rpc.call(
            "omnichannel.interaction",
            "action_close",
            wrapups,
            uid=agent_uid,
            password=center["login"],
        )
    rpc.call("omnichannel.channel", "write", [center["channel"]], {"voip_fast_route": True})
    try:
        route_answer = debtor_call(rpc, poland, center, pbx, tmp_path)
    finally:
        rpc.call("omnichannel.channel", "write", [center["channel"]], {"voip_fast_route": False})
    assert route_answer["interaction_id"] is None, route_answer
    [row] = rpc.call(
        "omnichannel.event.inbox",
        "read",
        [route_answer["inbox_id"]],
        fields=["kind", "state", "reserved_user_id", "result"],
    )
    assert (row["kind"], row["state"]) == ("_voip_route_apply", "done"), row
    assert row["reserved_user_id"][0] == center["agent"], row


def debtor_call(rpc, poland, center, pbx, tmp_path):
    """A debtor calls the line: Kamailio asks ``/route``, rings the agent of
    Collections, who answers and talks; the call is checked in Odoo as
    recorded. Returns the ``/route`` answer."""
    phone, other_notation = polish_mobile()
    debtor = customer(rpc, poland, "Dłużnik Telefoniczny", phone)
    overdue_invoice(rpc, debtor)

    phone_port = peers.free_port()
    registration = peers.register(EXTENSION, phone_port, pbx.proxy, tmp_path)
    succeeded(registration, pbx)
    with peers.uas(phone_port, tmp_path, scenario="answer", answer_after_ms=800) as desk_phone:
        with peers.uac(
            other_notation, center["did"], pbx.proxy, tmp_path, call_seconds=TALK_SECONDS
        ) as call:
            succeeded(call, pbx)
        succeeded(desk_phone, pbx, timeout=30)

    answered = pbx.wait_for_event(call.call_id, "answered")
    hangup = pbx.wait_for_event(call.call_id, "hangup")
    # read once the last event was posted: every request of the call is in
    requests = pbx.cti_requests(call.call_id)
    routes = [r for r in requests if r["endpoint"] == "route"]
    assert len(routes) == 1, pbx.log_tail()
    assert routes[0]["status"] == 200, routes[0]
    route_answer = json.loads(routes[0]["answer"])
    assert route_answer["agent"] == EXTENSION
    assert route_answer["queue_id"] == center["collections"]
    events = [r["body"]["event"] for r in requests if r["endpoint"] == "event"]
    assert events == ["ringing", "answered", "hangup"], pbx.log_tail()
    assert all(r["status"] == 200 for r in requests), requests
    # answered "queued": applied by the event inbox's applier (run and polled)
    applied = wait_call(rpc, call.call_id, len(events))
    assert {row["state"] for row in applied.values()} == {"done"}, applied

    def ended():
        rows = interactions_of_call(rpc, call.call_id)
        return rows if rows and rows[0]["state"] in ("wrapup", "done") else None

    # on time out, the assertions below show the interaction as it is
    rows = wait_for(ended, WAIT, "the call ended", every=POLL, fail=False)
    rows = rows or interactions_of_call(rpc, call.call_id)
    assert len(rows) == 1, rows
    interaction = rows[0]
    assert interaction["state"] in ("wrapup", "done"), interaction
    assert interaction["partner_id"][0] == debtor
    assert interaction["channel_id"][0] == center["channel"]
    assert interaction["queue_id"][0] == center["collections"]
    assert interaction["agent_id"][0] == center["agent"]
    offers = rpc.call(
        "omnichannel.offer",
        "search_read",
        [("interaction_id", "=", interaction["id"])],
        fields=["user_id", "state"],
    )
    assert [offer["user_id"][0] for offer in offers] == [center["agent"]], offers

    pbx_talk = hangup["body"]["timestamp"] - answered["body"]["timestamp"]
    sipp_talk = call.talk_seconds()
    print(
        f"\ntalk time: Odoo {interaction['talk_duration']} s, PBX timestamps {pbx_talk} s, "
        f"SIPp {sipp_talk:.3f} s (scenario pause {TALK_SECONDS} s)"
    )
    assert abs(interaction["talk_duration"] - pbx_talk) <= 2
    assert abs(interaction["talk_duration"] - sipp_talk) <= 2
    # a customer cannot call twice with one Call-ID
    assert len(interactions_of_call(rpc, call.call_id)) == 1
    return route_answer


def test_call_without_agent_becomes_call_back(odoo_server, poland, center, pbx, tmp_path):
    rpc = odoo_server
    phone, other_notation = polish_mobile()
    # no overdue invoice: the line's own queue, where nobody works
    caller = customer(rpc, poland, "Klient bez agenta", phone)

    with peers.uac(other_notation, center["did"], pbx.proxy, tmp_path, expect="reject") as call:
        succeeded(call, pbx)
    assert call.statuses()[-1] == 480, call.report()

    routes = [r for r in pbx.cti_requests(call.call_id) if r["endpoint"] == "route"]
    assert len(routes) == 1 and routes[0]["status"] == 200, pbx.log_tail()
    assert json.loads(routes[0]["answer"])["agent"] is None
    failed = pbx.wait_for_event(call.call_id, "failed")
    assert failed["status"] == 200, failed
    posted = [r for r in pbx.cti_requests(call.call_id) if r["endpoint"] == "event"]
    applied = wait_call(rpc, call.call_id, len(posted))
    assert {row["state"] for row in applied.values()} == {"done"}, applied

    def closed():
        rows = interactions_of_call(rpc, call.call_id)
        return rows if rows and rows[0]["state"] in ("missed", "abandoned") else None

    # on time out, the assertions below show the interaction as it is
    rows = wait_for(closed, WAIT, "the call closed", every=POLL, fail=False)
    rows = rows or interactions_of_call(rpc, call.call_id)
    assert len(rows) == 1, rows
    interaction = rows[0]
    assert interaction["partner_id"][0] == caller
    assert interaction["queue_id"][0] == center["line_queue"]
    assert interaction["state"] in ("missed", "abandoned"), interaction
    assert not interaction["agent_id"]
    callbacks = rpc.call(
        "omnichannel.callback",
        "search_read",
        [("origin_interaction_id", "=", interaction["id"])],
        fields=["partner_id", "phone", "queue_id", "state", "source"],
    )
    assert len(callbacks) == 1, callbacks
    callback = callbacks[0]
    assert callback["partner_id"][0] == caller
    assert callback["queue_id"][0] == center["line_queue"]
    assert (callback["state"], callback["source"]) == ("pending", "pbx"), callback
    assert callback["phone"].startswith("+48"), callback


def test_forged_signature_is_refused(odoo_server, center):
    rpc = odoo_server
    call_id = unique("forged") + "@127.0.0.1"
    _phone, other_notation = polish_mobile()
    call = {"call_id": call_id, "from": other_notation, "to": center["did"]}
    route_body = json.dumps(dict(call, timestamp=int(time.time()))).encode()
    event_body = json.dumps(dict(call, event="ringing", timestamp=int(time.time()))).encode()
    base = f"{rpc.url}/omnichannel/voip/{center['token']}"
    for endpoint, body in (("route", route_body), ("event", event_body)):
        forged = peers.signed_headers("not-the-secret", body)
        status, answer = post(f"{base}/{endpoint}", body, forged)
        assert status == 401, (endpoint, status, answer)
        status, answer = post(f"{base}/{endpoint}", body, {"Content-Type": "application/json"})
        assert status == 401, (endpoint, "unsigned", status, answer)
    assert interactions_of_call(rpc, call_id) == []

    # the same request, signed with the channel's secret, is accepted
    signed = peers.signed_headers(center["secret"], route_body)
    status, answer = post(f"{base}/route", route_body, signed)
    assert status == 200, (status, answer)
    assert len(interactions_of_call(rpc, call_id)) == 1


def test_click_to_dial_reaches_asterisk_once_after_commit(odoo_server, poland, center):
    """Click-to-dial from a desk phone on Asterisk, through the real
    multi-worker server: the AMI Originate leaves Odoo only after the request
    committed, exactly once; a request rolled back after it wrote its PBX
    command sends nothing.

    Asterisk cannot be installed here (not packaged in Debian bookworm nor
    on PyPI/npm): its side is ``peers.ReplayServer``, a recorded-protocol
    double replaying an AMI exchange recorded from Asterisk 20 and checking
    every action Odoo sends against it."""
    rpc = odoo_server
    ami = peers.ReplayServer("dial_from_odoo.txt", placeholders={"INTERACTION_ID": r"\d+"})
    partner = rpc.call(
        "res.partner",
        "create",
        {"name": "Zofia Bez Długów", "country_id": poland, "phone": "+48 509 333 444"},
    )
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {
            "name": "Asterisk line",
            "channel_type": "phone",
            "address": f"+4822{uuid.uuid4().int % 10**7:07d}",
            "queue_id": center["line_queue"],
            # click-to-dial uses the company's first phone channel
            "sequence": -1000,
            "voip_pbx_type": "asterisk",
            "voip_ami_host": peers.HOST,
            "voip_ami_port": ami.port,
            "voip_ami_username": "omnichannel",
            "voip_ami_secret": "s3cr3t-ami",
            # a line break: the AMI adapter refuses it once the command is written
            "voip_ami_context": "from-internal\r\nAction: Hangup",
        },
    )
    agent = {"uid": rpc.login(center["login"], center["login"]), "password": center["login"]}

    def calls():
        return rpc.call(
            "omnichannel.interaction",
            "search",
            [("partner_id", "=", partner), ("direction", "=", "outbound")],
        )

    def commands():
        return rpc.call(
            "omnichannel.voip.command",
            "search_read",
            [("channel_id", "=", channel)],
            fields=["interaction_id", "state", "error"],
        )

    try:
        # the request fails after writing its command: all of it is rolled back
        with pytest.raises(xmlrpc.client.Fault) as refused:
            rpc.call("res.partner", "action_voip_dial", [partner], **agent)
        assert "cannot place this call" in refused.value.faultString, refused.value
        assert calls() == [] and commands() == []

        rpc.call("omnichannel.channel", "write", [channel], {"voip_ami_context": "from-internal"})
        action = rpc.call("res.partner", "action_voip_dial", [partner], **agent)
        assert action["params"]["message"] == "Calling Zofia Bez Długów (+48509333444)…", action
        (interaction,) = calls()
        # the answer comes after the commit and the send: the outcome is recorded
        rows = wait_for(
            lambda: [r for r in commands() if r["state"] in ("sent", "failed")],
            WAIT,
            "the Originate command sent or failed",
            every=POLL,
        )
        assert [(r["interaction_id"][0], r["state"]) for r in rows] == [(interaction, "sent")], rows
        ami.wait_done()
        assert ami.errors == []
        assert ami.connections == 1, "the rolled-back request never reached the PBX"
        (originate,) = ami.actions("Originate")
        assert originate["Channel"] == f"PJSIP/{EXTENSION}"
        assert originate["Variable"] == f"OMNICHANNEL_INTERACTION={interaction}"
    finally:
        rpc.call("omnichannel.channel", "write", [channel], {"active": False})
        ami.close()
