"""Issue 19, peers down or slow: Kamailio restarted mid-call, Odoo unavailable
while the PBX reports a call.

The PBX is the example configuration shipped for integrators
(``docs/pbx/kamailio.cfg``) run by ``omnichannel_cc_voip/tests/peers.py``
(loaded by path), with SIPp as the customer and the agent's desk phone, in
front of the session's real multi-worker Odoo:

- Kamailio killed (SIGKILL) while a call is up and started again on the same
  ports: its dialogs were in memory only, yet the customer's BYE, which
  reaches the new process, ends the call in Odoo (the configuration reports
  a BYE of a dialog it no longer knows as a hangup);
- Kamailio killed while a call is up and the call's end lost with it: Odoo's
  call watchdog (``_cron_watchdog``, ``omnichannel_cc.call_watchdog_minutes``)
  closes it with the end reason ``watchdog``;
- Odoo behind HAProxy, the server put in maintenance (HAProxy answers 503)
  when the call ends: the hangup is queued by Kamailio, posted again with
  back-off by its timer process, delivered once Odoo is back, and applied
  with its own PBX time; SIP is served meanwhile.

``/event`` may only store an event (an inbox applied by a cron shortly
after): every check polls Odoo for the state it expects, with a deadline.
"""

import importlib.util
import os
import signal
import socket
import subprocess
import time
import uuid
import xmlrpc.client

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e

PEERS_PATH = REPO_ROOT / "omnichannel_cc_voip" / "tests" / "peers.py"
_spec = importlib.util.spec_from_file_location("omnichannel_cc_voip_peers_restart", PEERS_PATH)
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)

WATCHDOG_PARAM = "omnichannel_cc.call_watchdog_minutes"
WATCHDOG_CRON = "omnichannel_cc.ir_cron_interaction_watchdog"
# the event inbox's applier, when the server has one (run at once: the
# session's server may have no cron thread)
INBOX_CRON = "omnichannel_cc.ir_cron_event_inbox"
ENDED = ("wrapup", "done")
# an extension per test: unique within the company on the shared server
_extensions = iter(range(1701, 1800))


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def customer_number():
    return f"0048601{uuid.uuid4().int % 10**6:06d}"


def cron_id(rpc, xmlid):
    module, name = xmlid.split(".")
    rows = rpc.call(
        "ir.model.data",
        "search_read",
        [("module", "=", module), ("name", "=", name), ("model", "=", "ir.cron")],
        fields=["res_id"],
    )
    return rows[0]["res_id"] if rows else None


def run_cron(rpc, cron):
    """Run a cron now; one already running elsewhere is left to finish."""
    if not cron:
        return
    try:
        rpc.call("ir.cron", "method_direct_trigger", [cron])
    except xmlrpc.client.Fault as fault:
        if "cannot be modified right now" not in fault.faultString.lower():
            raise


def poll(predicate, timeout, what, kick=None, interval=0.5):
    """``predicate()`` once truthy, else fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if kick:
            kick()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s (last: {value!r})")
        time.sleep(interval)


def interaction_of(rpc, call_id):
    rows = rpc.call(
        "omnichannel.interaction",
        "search_read",
        [("external_id", "=", call_id)],
        fields=["state", "end_reason", "talk_duration", "agent_id", "date_ended"],
    )
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def call_in_state(rpc, call_id, states):
    """The call's interaction once in one of ``states``, else None (a predicate)."""
    row = interaction_of(rpc, call_id)
    return row if row and row["state"] in states else None


def kill(pbx):
    """SIGKILL the PBX and its children: no shutdown, nothing flushed."""
    try:
        os.killpg(pbx.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    pbx.process.wait(timeout=30)


def succeeded(run, pbxes, timeout=60):
    code = run.wait(timeout)
    logs = "\n".join(f"--- {pbx.log_path}\n{pbx.log_tail(40)}" for pbx in pbxes)
    assert code == 0, f"{run.report()}\n{logs}"


@pytest.fixture
def line(odoo_server, tmp_path):
    """A phone line of its own: a queue, an agent on a new extension (logged
    in, available), a phone channel whose calls go to that queue."""
    rpc = odoo_server
    extension = str(next(_extensions))
    login = unique(f"restart-agent-{extension}")
    agent = rpc.call(
        "res.users",
        "create",
        {
            "name": f"Agent {extension}",
            "login": login,
            "password": login,
            "groups_id": [(6, 0, [rpc.ref("omnichannel_cc.group_omnichannel_agent")])],
            "omnichannel_extension": extension,
        },
    )
    queue = rpc.call(
        "omnichannel.queue",
        "create",
        {"name": unique("Restart line"), "member_ids": [(6, 0, [agent])]},
    )
    did = f"+4822{uuid.uuid4().int % 10**7:07d}"
    channel = rpc.call(
        "omnichannel.channel",
        "create",
        {
            "name": unique("Restart line"),
            "channel_type": "phone",
            "address": did,
            "queue_id": queue,
            "voip_sip_domain": "127.0.0.1",
        },
    )
    [credentials] = rpc.call(
        "omnichannel.channel", "read", [channel], fields=["voip_token", "voip_secret"]
    )
    agent_uid = rpc.login(login, login)
    presence = rpc.call(
        "omnichannel.agent", "action_my_state", "available", uid=agent_uid, password=login
    )
    assert presence["state"] == "available", presence
    rpc.call("omnichannel.agent", "action_queue_login", [queue], uid=agent_uid, password=login)
    try:
        peers.ensure_installed()
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    inbox_cron = cron_id(rpc, INBOX_CRON)
    yield {
        "rpc": rpc,
        "extension": extension,
        "agent": agent,
        "did": did,
        "channel": channel,
        "token": credentials["voip_token"],
        "secret": credentials["voip_secret"],
        "rundir": tmp_path,
        "apply": (lambda: run_cron(rpc, inbox_cron)),
    }
    rpc.call("omnichannel.channel", "write", [channel], {"active": False})


def start_pbx(line, name, odoo_url=None, sip_port=None, ws_port=None):
    pbx = peers.Kamailio(
        line["rundir"] / name,
        odoo_url or line["rpc"].url,
        line["token"],
        line["secret"],
        sip_port=sip_port,
        ws_port=ws_port,
    )
    return pbx.start()


def answered_call(line, pbx, call_seconds, expect="answer"):
    """Register the agent's phone, call the line, wait until Odoo has the
    call answered by the agent; returns ``(desk phone, call)`` (running)."""
    rundir = line["rundir"]
    phone_port = peers.free_port()
    registration = peers.register(line["extension"], phone_port, pbx.proxy, rundir)
    succeeded(registration, [pbx], timeout=30)
    desk_phone = peers.uas(phone_port, rundir, scenario="answer", answer_after_ms=300, timeout=600)
    call = peers.uac(
        customer_number(),
        line["did"],
        pbx.proxy,
        rundir,
        call_seconds=call_seconds,
        expect=expect,
        timeout=600,
    )
    pbx.wait_for_event(call.call_id, "answered", timeout=30)
    rpc = line["rpc"]
    row = poll(
        lambda: call_in_state(rpc, call.call_id, ("active",)),
        60,
        f"call {call.call_id} active in Odoo",
        kick=line["apply"],
    )
    assert row["agent_id"][0] == line["agent"], row
    return desk_phone, call


def test_bye_after_a_restart_ends_the_call(line):
    rpc = line["rpc"]
    first = start_pbx(line, "kamailio-1")
    second = None
    try:
        desk_phone, call = answered_call(line, first, call_seconds=8)
        with desk_phone, call:
            killed_at = time.monotonic()
            kill(first)
            # the same address: the phones' route set points to it
            second = start_pbx(line, "kamailio-2", sip_port=first.sip_port, ws_port=first.ws_port)
            restarted_in = time.monotonic() - killed_at
            # the customer hangs up after the restart: the BYE crosses the new process
            succeeded(call, [first, second])
            succeeded(desk_phone, [first, second], timeout=30)
        print(f"\nKamailio killed and listening again in {restarted_in:.1f}s")
        assert not any(r["body"].get("event") == "hangup" for r in first.cti_requests(call.call_id))
        hangup = second.wait_for_event(call.call_id, "hangup", timeout=30)
        assert hangup["status"] == 200, second.log_tail()
        assert "restarted" in hangup["body"]["reason"], hangup

        row = poll(
            lambda: call_in_state(rpc, call.call_id, ENDED),
            60,
            "the call ended in Odoo by the BYE after the restart",
            kick=line["apply"],
        )
        assert row["end_reason"] != "watchdog", row
        answered = first.wait_for_event(call.call_id, "answered")
        pbx_talk = hangup["body"]["timestamp"] - answered["body"]["timestamp"]
        assert abs(row["talk_duration"] - pbx_talk) <= 2, (row, pbx_talk)
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_call_whose_end_is_lost_is_closed_by_the_watchdog(line):
    rpc = line["rpc"]
    [param] = rpc.call(
        "ir.config_parameter", "search_read", [("key", "=", WATCHDOG_PARAM)], fields=["value"]
    ) or [None]
    watchdog = cron_id(rpc, WATCHDOG_CRON)
    assert watchdog, f"no cron {WATCHDOG_CRON}"
    first = start_pbx(line, "kamailio-1")
    second = None
    try:
        # the customer would talk for 10 minutes: nobody hangs up in the test
        desk_phone, call = answered_call(line, first, call_seconds=600)
        answered_at = time.monotonic()
        kill(first)
        # the phones die with the PBX: the call's end reaches nobody
        desk_phone.stop()
        call.stop()
        second = start_pbx(line, "kamailio-2", sip_port=first.sip_port, ws_port=first.ws_port)
        rpc.call("ir.config_parameter", "set_param", WATCHDOG_PARAM, "1")
        row = interaction_of(rpc, call.call_id)
        assert row["state"] == "active", row
        run_cron(rpc, watchdog)
        assert interaction_of(rpc, call.call_id)["state"] == "active", "not before its minute"

        row = poll(
            lambda: call_in_state(rpc, call.call_id, ENDED),
            150,
            "the watchdog closed the call",
            kick=lambda: run_cron(rpc, watchdog),
            interval=5,
        )
        print(f"\ncall closed by the watchdog {time.monotonic() - answered_at:.0f}s after answer")
        assert (row["state"], row["end_reason"]) == ("done", "watchdog"), row
        assert row["date_ended"], row
        notes = rpc.call(
            "mail.message",
            "search_read",
            [("model", "=", "omnichannel.interaction"), ("res_id", "=", row["id"])],
            fields=["body"],
        )
        assert any("closed by the watchdog" in note["body"] for note in notes), notes
        assert not second.cti_requests(call.call_id), "the new PBX knew nothing of the call"
    finally:
        if param:
            rpc.call("ir.config_parameter", "set_param", WATCHDOG_PARAM, param["value"])
        else:
            rpc.call(
                "ir.config_parameter",
                "unlink",
                rpc.call("ir.config_parameter", "search", [("key", "=", WATCHDOG_PARAM)]),
            )
        first.stop()
        if second is not None:
            second.stop()


class HAProxy:
    """HAProxy in front of Odoo; its server can be put in maintenance (then
    HAProxy itself answers 503, as a load balancer with Odoo down does)."""

    def __init__(self, rundir, odoo_url):
        self.rundir = rundir
        self.rundir.mkdir(parents=True, exist_ok=True)
        self.port = peers.free_port()
        self.socket_path = rundir / "haproxy.sock"
        backend = odoo_url.split("://", 1)[1].rstrip("/")
        self.config = rundir / "haproxy.cfg"
        self.config.write_text(
            "global\n"
            f"    stats socket {self.socket_path} mode 600 level admin\n"
            "defaults\n"
            "    mode http\n"
            "    timeout connect 5s\n"
            "    timeout client 60s\n"
            "    timeout server 60s\n"
            "frontend odoo_in\n"
            f"    bind 127.0.0.1:{self.port}\n"
            "    default_backend odoo\n"
            "backend odoo\n"
            f"    server odoo1 {backend}\n"
        )
        binary = peers._which("haproxy")
        if not binary:
            pytest.fail("HAProxy is missing: apt-get install -y haproxy", pytrace=False)
        self.log = (rundir / "haproxy.log").open("wb")
        self.process = subprocess.Popen(
            [binary, "-db", "-f", str(self.config)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while not (peers._accepts(self.port) and self.socket_path.exists()):
            assert self.process.poll() is None, (rundir / "haproxy.log").read_text()
            assert time.monotonic() < deadline, "HAProxy did not start"
            time.sleep(0.1)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def command(self, text):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(self.socket_path))
            sock.sendall(text.encode() + b"\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        return answer.decode()

    def odoo_down(self):
        self.command("set server odoo/odoo1 state maint")

    def odoo_up(self):
        self.command("set server odoo/odoo1 state ready")

    def stop(self):
        peers._stop_group(self.process)
        self.log.close()


def test_event_refused_with_503_is_delivered_once_odoo_is_back(line):
    rpc = line["rpc"]
    balancer = HAProxy(line["rundir"] / "haproxy", rpc.url)
    pbx = None
    try:
        pbx = start_pbx(line, "kamailio", odoo_url=balancer.url)
        desk_phone, call = answered_call(line, pbx, call_seconds=4)
        with desk_phone, call:
            balancer.odoo_down()
            # the customer hangs up while Odoo is unavailable
            succeeded(call, [pbx])
            succeeded(desk_phone, [pbx], timeout=30)

            def hangups():
                return [
                    r for r in pbx.cti_requests(call.call_id) if r["body"].get("event") == "hangup"
                ]

            failed = poll(
                lambda: len(hangups()) >= 2 and hangups(),
                30,
                "the hangup posted and posted again while Odoo was unavailable",
                interval=0.2,
            )
            assert all(r["status"] == 503 for r in failed), failed
            assert "CTI QUEUED" in pbx.log, pbx.log_tail()
            # the SIP workers do not wait for Odoo: a phone registers at once
            started = time.monotonic()
            registration = peers.register(
                line["extension"], peers.free_port(), pbx.proxy, line["rundir"]
            )
            succeeded(registration, [pbx], timeout=30)
            register_seconds = time.monotonic() - started
            assert register_seconds < 5, register_seconds
            row = interaction_of(rpc, call.call_id)
            assert row["state"] == "active", ("not ended while Odoo was away", row)
            balancer.odoo_up()
            delivered = poll(
                lambda: [r for r in hangups() if r["status"] == 200],
                90,
                "the queued hangup delivered once Odoo was back",
                interval=0.3,
            )
        attempts = hangups()
        print(
            f"\nhangup posted {len(attempts)} times: "
            f"{[r['status'] for r in attempts]}; SIP REGISTER meanwhile {register_seconds:.2f}s"
        )
        assert len(delivered) == 1, attempts
        assert attempts[-1]["status"] == 200, attempts
        # the same event each time: Odoo applies it with the PBX's time
        assert len({r["raw"] for r in attempts}) == 1, attempts
        events = [
            r["body"]["event"]
            for r in pbx.cti_requests(call.call_id)
            if r["endpoint"] == "event" and r["status"] == 200
        ]
        assert events == ["ringing", "answered", "hangup"], pbx.log_tail()

        row = poll(
            lambda: call_in_state(rpc, call.call_id, ENDED),
            60,
            "the call ended in Odoo by the retried hangup",
            kick=line["apply"],
        )
        assert row["end_reason"] != "watchdog", row
        answered = pbx.wait_for_event(call.call_id, "answered")
        pbx_talk = attempts[0]["body"]["timestamp"] - answered["body"]["timestamp"]
        assert abs(row["talk_duration"] - pbx_talk) <= 2, (row, pbx_talk)
    finally:
        if pbx is not None:
            pbx.stop()
        balancer.stop()
