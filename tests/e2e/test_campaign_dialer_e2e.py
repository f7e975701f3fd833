"""A progressive campaign dialed through a generic PBX, on the 2-worker server.

The PBX is stood in for by a small HTTP server in this test: it receives the
dialer's signed HTTP dial commands (and checks their signature, as a PBX
would); the call progress goes back to Odoo as signed ``/event`` webhooks.
The agents work over XML-RPC. The dialer runs through ``action_dialer_run``
(the server has no cron thread): nobody is dialed twice at once (two runs
racing on the two workers), nobody outside the calling hours, no blacklisted
number, and a payer removed mid-campaign is not called.
"""

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from tests.e2e._inbox import outcome

pytestmark = pytest.mark.e2e

# zones from UTC-10 to UTC+14: at any hour one of them is inside 08:00-21:00, one outside
ZONES = (
    "Pacific/Honolulu",
    "America/New_York",
    "Europe/Warsaw",
    "Asia/Dubai",
    "Asia/Tokyo",
    "Pacific/Kiritimati",
)
WAIT = 60


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def zone_where(inside):
    """A zone whose local hour is inside (or outside) 08:00-21:00 now, with an
    hour of margin so the test does not straddle the edge."""
    now = datetime.now(UTC)
    for zone in ZONES:
        hour = now.astimezone(ZoneInfo(zone)).hour
        if inside and 9 <= hour < 20:
            return zone
        if not inside and (hour >= 22 or hour < 7):
            return zone
    pytest.fail(f"no zone {'inside' if inside else 'outside'} the calling hours at {now}")


class FakePbx:
    """The PBX's dial endpoint: records the signed dial commands it gets."""

    def __init__(self, secret):
        self.secret = secret
        self.commands = []
        self.bad_signatures = 0
        self.lock = threading.Lock()
        pbx = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                good = hmac.compare_digest(
                    self.headers.get("X-Omnichannel-Signature", ""), sign(pbx.secret, body)
                )
                with pbx.lock:
                    if good:
                        pbx.commands.append(json.loads(body))
                    else:
                        pbx.bad_signatures += 1
                self.send_response(202 if good else 401)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dial"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def dials(self):
        with self.lock:
            return [c for c in self.commands if c["command"] == "dial"]

    def wait_dials(self, count):
        deadline = time.monotonic() + WAIT
        while len(self.dials()) < count:
            assert time.monotonic() < deadline, f"{len(self.dials())} dial(s), {count} expected"
            time.sleep(0.1)
        return self.dials()


def post_event(center, **values):
    body = json.dumps(dict({"from": center["did"], "timestamp": int(time.time())}, **values))
    body = body.encode()
    request = urllib.request.Request(
        f"{center['url']}/event",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Omnichannel-Signature": sign(center["secret"], body),
        },
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status == 200
        receipt = json.loads(answer.read())
    # queued in the event inbox: its result once applied
    status, result = outcome(center["server"], 200, receipt)
    assert status == 200, result
    return result


@pytest.fixture(scope="module")
def center(odoo_server, poland):
    """A Collections queue with two agents, available over XML-RPC, and a
    generic PBX line whose dial URL is this test's HTTP server."""
    rpc = odoo_server
    rpc.call("res.company", "write", [rpc.ref("base.main_company")], {"country_id": poland})
    agents = []
    for _n in range(2):
        login = unique("dialer-agent")
        uid = rpc.call(
            "res.users",
            "create",
            {
                "name": login,
                "login": login,
                "password": login,
                "groups_id": [(6, 0, [rpc.ref("omnichannel_cc.group_omnichannel_agent")])],
            },
        )
        agents.append((uid, login))
    queue = rpc.call(
        "omnichannel.queue",
        "create",
        {"name": unique("Collections"), "member_ids": [(6, 0, [uid for uid, _login in agents])]},
    )
    did = f"+4822{uuid.uuid4().int % 10**7:07d}"
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {"name": "Dialer line", "channel_type": "phone", "address": did, "queue_id": queue},
    )
    [row] = rpc.call("omnichannel.channel", "read", [channel], fields=["voip_token", "voip_secret"])
    for uid, login in agents:
        state = rpc.call(
            "omnichannel.agent", "action_my_state", "available", uid=uid, password=login
        )
        assert state["state"] == "available"
    return {
        "agents": agents,
        "queue": queue,
        "channel": channel,
        "did": did,
        "secret": row["voip_secret"],
        "url": f"{rpc.url}/omnichannel/voip/{row['voip_token']}",
        "server": rpc,
    }


def test_progressive_campaign_through_a_generic_pbx(odoo_server, poland, center):
    rpc = odoo_server
    tag = unique("DEBTOR")
    inside, outside = zone_where(True), zone_where(False)

    def customer(name, number, zone):
        return rpc.call(
            "res.partner",
            "create",
            {"name": name, "country_id": poland, "mobile": number, "tz": zone, "ref": tag},
        )

    base = 601000000 + uuid.uuid4().int % 900000
    numbers = [f"+48{base + n}" for n in range(6)]
    # first on the list: examined (and passed over) before any debtor is dialed
    payer = customer("Payer", numbers[3], inside)
    asleep = customer("Asleep", numbers[5], outside)
    blacklisted = customer("Blacklisted", numbers[4], inside)
    callable_ = [customer(f"Debtor {n}", numbers[n], inside) for n in range(3)]
    rpc.call("phone.blacklist", "create", {"number": numbers[4]})

    with FakePbx(center["secret"]) as pbx:
        rpc.call("omnichannel.channel", "write", [center["channel"]], {"voip_dial_url": pbx.url})
        campaign = rpc.call(
            "omnichannel.campaign",
            "create",
            {
                "name": unique("Collections"),
                "dial_mode": "progressive",
                "queue_id": center["queue"],
                "channel_id": center["channel"],
                "target_model": "res.partner",
                "target_domain": repr([("ref", "=", tag)]),
            },
        )
        rpc.call("omnichannel.campaign", "action_start", [campaign])
        # the payer paid this morning: no longer on the list
        rpc.call("res.partner", "write", [payer], {"ref": "PAID"})

        # two dialer runs race on the two workers: two agents, two calls in all
        with ThreadPoolExecutor(2) as pool:
            placed = list(
                pool.map(
                    lambda _i: rpc.call("omnichannel.campaign", "action_dialer_run", [campaign]),
                    range(2),
                )
            )
        assert sum(placed) == 2, placed
        dials = pbx.wait_dials(2)
        called = [dial["to"] for dial in dials]
        assert len(set(called)) == 2, called
        assert set(called) <= set(numbers[:3]), called
        assert pbx.bad_signatures == 0
        for dial in dials:
            assert dial["caller_id"] == center["did"]
            assert dial["amd"] is True and dial["machine_action"] == "hangup"

        # a third run: both lines are ringing, nobody else is dialed
        assert rpc.call("omnichannel.campaign", "action_dialer_run", [campaign]) == 0

        # the first customer answers (a person): into the ACD, offered to an agent
        first, second = dials
        answer = post_event(
            center, event="answered", call_id=first["call_id"], to=first["to"], amd="human"
        )
        assert answer["dialer"] == {"action": "route"}
        [interaction] = rpc.call(
            "omnichannel.interaction",
            "read",
            [first["interaction_id"]],
            fields=["state", "agent_id", "campaign_id"],
        )
        assert interaction["state"] == "offered"
        assert interaction["agent_id"][0] in [uid for uid, _login in center["agents"]]
        assert interaction["campaign_id"][0] == campaign
        # the second is busy: back on the list for later
        post_event(
            center, event="failed", call_id=second["call_id"], to=second["to"], reason="busy"
        )

        # one agent is free again: one call, to the last debtor only
        assert rpc.call("omnichannel.campaign", "action_dialer_run", [campaign]) == 1
        third = pbx.wait_dials(3)[2]
        assert third["to"] not in called
        assert third["to"] in numbers[:3]

    contacts = rpc.call(
        "omnichannel.campaign.contact",
        "search_read",
        [("campaign_id", "=", campaign)],
        fields=["partner_id", "state", "excluded_reason", "last_outcome", "attempt_count"],
    )
    by_partner = {c["partner_id"][0]: c for c in contacts}
    assert by_partner[payer]["excluded_reason"] == "no_longer_matches"
    assert by_partner[payer]["attempt_count"] == 0
    assert by_partner[blacklisted]["excluded_reason"] == "blacklisted"
    assert by_partner[asleep]["state"] == "pending"
    assert by_partner[asleep]["attempt_count"] == 0
    busy = [c for c in contacts if c["last_outcome"] == "busy"]
    assert len(busy) == 1 and busy[0]["state"] == "pending"
    assert sum(c["attempt_count"] for c in contacts) == 3
    assert {by_partner[p]["attempt_count"] for p in callable_} == {1}
    decisions = rpc.call(
        "omnichannel.campaign.pacing.log",
        "search_read",
        [("campaign_id", "=", campaign)],
        fields=["calls", "placed", "reason"],
        order="id",
    )
    assert sum(d["placed"] for d in decisions) == 3
    assert {d["reason"] for d in decisions} == {"progressive"}
