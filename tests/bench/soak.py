"""Soak: a realistic mix for minutes on a multi-worker server, then count.

Calls with their full PBX event lifecycle (signed ``/event``: ringing,
answered by an agent's extension, hangup; stored in the event inbox and
applied by its cron, the server's one cron thread), e-mails and chats pushed through
``api_inbound`` (XML-RPC) and taken by agents who accept their offers and
close them, inbound SMS through the Kannel endpoint. Every minute it prints
the requests per kind with their latency percentiles and the resident memory
of Odoo's processes; at the end it checks that every contact sent is stored
once (count in = count stored), that no ERROR line reached the server log
and how the memory moved.

    python3 tests/bench/soak.py --minutes 10 --workers 4      # the soak of issue 19
    python3 tests/bench/soak.py --seconds 45 --workers 2      # the short form CI runs
    python3 tests/bench/soak.py --seconds 45 --workers 2 --blended   # agents take calls too

Exit code 0 only when nothing was lost, doubled or refused and the log has no
ERROR; the figures are for reading, never asserted.
"""

import itertools
import json
import os
import sys
import tempfile
import threading
import time
import xmlrpc.client
from collections import Counter
from datetime import datetime
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env, bench_sms
from tests.bench import bench_ingest as ingest

ADDONS = ("omnichannel_cc", "omnichannel_cc_voip", "omnichannel_cc_sms")
AGENT_PASSWORD = "soak-agent-password"
EMAIL_ADDRESS = "soak@example.com"
CHAT_ADDRESS = "soak-chat"
# --blended: seconds a call nobody could take waits in the queue before the caller hangs up
PATIENCE = 5.0


def parse_args():
    p = _env.parser(__doc__, "bench_soak")
    p.add_argument("--minutes", type=float, default=10.0, help="length of the soak")
    p.add_argument("--seconds", type=float, help="length in seconds (overrides --minutes)")
    p.add_argument("--workers", type=int, default=4, help="Odoo HTTP workers")
    p.add_argument("--agents", type=int, default=12, help="agents taking e-mails and chats")
    p.add_argument("--port", type=int, default=18350, help="first HTTP port to try")
    p.add_argument("--interval", type=float, default=60.0, help="seconds between reports")
    p.add_argument(
        "--blended",
        action="store_true",
        help="every agent also takes calls, one at a time, as in a blended center: the PBX "
        "asks /route (answered first) and rings the agent it names, who talks --talk seconds "
        "while the desk agents go on taking e-mails and chats",
    )
    p.add_argument(
        "--talk",
        type=float,
        default=20.0,
        help="with --blended: seconds a call lasts once answered",
    )
    p.add_argument(
        "--blended-stress",
        action="store_true",
        help="the desk agents also take calls, but the PBX answers on the other agents' "
        "extensions: they are offered calls they never answer, every few hundred ms (the "
        "race with the applier at a rate no contact center has)",
    )
    args = p.parse_args()
    args.total = args.seconds if args.seconds else args.minutes * 60
    args.clients = 2  # ingest.Load spreads extensions over this many call threads
    args.log_level = "info"
    if args.blended and args.blended_stress:
        p.error("--blended and --blended-stress are two ways of blending: choose one")
    return args


def rss_kib(master_pid):
    """Resident memory of the Odoo master and its workers (KiB, from /proc)."""
    total, count = 0, 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid, ppid = int(entry.name), int(fields.get("PPid", "0").strip() or 0)
        if pid == master_pid or ppid == master_pid:
            total += int(fields.get("VmRSS", "0 kB").split()[0])
            count += 1
    return total, count


class Mix:
    """The load threads; each records into the shared recorder of the minute."""

    def __init__(self, args, port, center, sms_load, run):
        self.args = args
        self.port = port
        self.center = center
        self.calls = ingest.Load(args, port, center, run)
        self.sms = sms_load
        self.prefix = f"soak{run}-"
        self.serial = itertools.count()
        self.lock = threading.Lock()
        self.contacts = {"email": [], "chat": []}
        self.recorder = ingest.Recorder()
        self.accepted = self.closed = 0
        self.agent_errors = Counter()
        self.call_threads = []  # --blended: the calls in progress, joined at the end

    def current(self):
        with self.lock:
            return self.recorder

    def rotate(self):
        with self.lock:
            done, self.recorder = self.recorder, ingest.Recorder()
        return done

    def run(self, kind, step, deadline, pause):
        """Call ``step(recorder)`` until the deadline, ``pause`` s apart."""
        while time.monotonic() < deadline:
            step(self.current())
            time.sleep(pause)

    def call_step(self, index):
        def step(rec):
            # one call's lifecycle: ingest's thread body, bounded to one call
            self.calls.lifecycle(index, time.perf_counter() + 0.001, rec)

        return step

    def routed_call_step(self, in_flight):
        """The blended center's PBX (``--blended``): a new call whenever fewer
        than ``in_flight`` are in progress, each in a thread of its own
        (:meth:`_routed_call`)."""
        slots = threading.BoundedSemaphore(in_flight)

        def step(_rec):
            if slots.acquire(timeout=1):
                thread = threading.Thread(target=self._routed_call, args=(slots,), daemon=True)
                with self.lock:
                    self.call_threads.append(thread)
                thread.start()

        return step

    def _routed_call(self, slots):
        """One call as a PBX in front of Odoo's ACD places it: ``/route``
        (signed), then the agent of the answer answers on their extension
        and talks ``--talk`` seconds before the hang-up; a call the answer
        leaves waiting (no agent free) hangs up after ``PATIENCE`` seconds
        (abandoned). The events go to ``/event`` (the inbox), in order."""
        calls = self.calls
        client = ingest.Client(self.port)
        try:
            n = next(calls.serial)
            call_id = f"{calls.prefix}ev{calls.stage}-{n}"
            number = ingest.caller_number(7, n)
            t0 = time.perf_counter()
            status, data = calls.post_route(client, self.current(), call_id, number)
            if status != 200:
                return
            with calls.lock:
                calls.calls.append(call_id)
            agent = json.loads(data).get("agent")
            if agent:
                self._call_event(client, call_id, number, "answered", agent)
                time.sleep(self.args.talk)
            else:
                time.sleep(PATIENCE)
            self._call_event(client, call_id, number, "hangup", None)
            self.current().sample("call", (time.perf_counter() - t0) * 1000)
        finally:
            slots.release()

    def _call_event(self, client, call_id, number, event, agent):
        payload = {"event": event, "call_id": call_id, "from": number, "to": ingest.DID}
        payload["timestamp"] = int(time.time())
        if agent:
            payload["agent"] = agent
        self.calls.post_event(client, self.current(), payload)

    def inbound_step(self, channel_type):
        proxy = xmlrpc.client.ServerProxy(f"http://{ingest.HOST}:{self.port}/xmlrpc/2/object")

        def step(rec):
            n = next(self.serial)
            external_id = f"{self.prefix}{channel_type}-{n}"
            payload = {
                "channel_type": channel_type,
                "channel_id": self.center[channel_type],
                "from": f"customer{n}@example.com"
                if channel_type == "email"
                else f"Visitor {self.prefix}{n}",
                "external_id": external_id,
                "subject": f"Soak {channel_type} {n}",
                "body": "Where is my parcel?",
            }
            t0 = time.perf_counter()
            try:
                proxy.execute_kw(
                    self.args.db,
                    self.center["api_uid"],
                    ingest.API_PASSWORD,
                    "omnichannel.interaction",
                    "api_inbound",
                    [payload],
                )
                status = 200
                with self.lock:
                    self.contacts[channel_type].append(external_id)
            except xmlrpc.client.Fault as fault:
                status = "fault"
                rec.bad[f"api_inbound fault: {fault.faultString.splitlines()[-1][:80]}"] += 1
            except (OSError, xmlrpc.client.ProtocolError) as error:
                status = "transport error"
                rec.errors[type(error).__name__] += 1
            rec.add(f"api_inbound {channel_type}", (time.perf_counter() - t0) * 1000, status)

        return step

    def sms_step(self):
        client = bench_sms.Client(self.port)

        def step(rec):
            self.sms._kannel(client, rec, "sms (Kannel)", self.sms.new_number())

        return step

    def agent_step(self, agents, skip_calls=False):
        proxy = xmlrpc.client.ServerProxy(
            f"http://{ingest.HOST}:{self.port}/xmlrpc/2/object", allow_none=True
        )
        cycle = itertools.cycle(agents)

        def call(uid, model, method, *args):
            return proxy.execute_kw(self.args.db, uid, AGENT_PASSWORD, model, method, list(args))

        def step(rec):
            uid = next(cycle)
            t0 = time.perf_counter()
            try:
                offers = call(uid, "omnichannel.offer", "action_my_offers")
                rec.add("agent: my offers", (time.perf_counter() - t0) * 1000, 200)
                if skip_calls:
                    offers = [offer for offer in offers if offer["channel_type"] != "phone"]
                for offer in offers[:1]:
                    t0 = time.perf_counter()
                    call(uid, "omnichannel.offer", "action_accept", [offer["offer_id"]])
                    rec.add("agent: accept", (time.perf_counter() - t0) * 1000, 200)
                    t0 = time.perf_counter()
                    call(uid, "omnichannel.interaction", "action_close", [offer["interaction_id"]])
                    rec.add("agent: close", (time.perf_counter() - t0) * 1000, 200)
                    with self.lock:
                        self.accepted += 1
                        self.closed += 1
            except xmlrpc.client.Fault as fault:
                # an offer taken back by the sweep or another worker meanwhile
                with self.lock:
                    self.agent_errors[fault.faultString.strip().splitlines()[-1][:80]] += 1
            except (OSError, xmlrpc.client.ProtocolError) as error:
                rec.errors[type(error).__name__] += 1

        return step


def setup(admin, args):
    # the agents stay "live" for the whole soak without a browser session
    # (the console's presence; no cron runs the absence sweep here anyway)
    admin("ir.config_parameter", "set_param", "omnichannel_cc.presence_timeout_minutes", "600")
    center = ingest.setup_center(admin, args.agents)
    center["api_uid"] = admin("res.users", "search", [("login", "=", ingest.API_LOGIN)])[0]
    admin("res.users", "write", center["user_ids"], {"password": AGENT_PASSWORD})
    # the agents take e-mails and chats (their phones ring from the PBX events)
    agent_ids = admin("omnichannel.agent", "search", [("user_id", "in", center["user_ids"])])
    admin("omnichannel.agent", "write", agent_ids, {"capacity_email": 3, "capacity_chat": 2})
    for channel_type, address in (("email", EMAIL_ADDRESS), ("chat", CHAT_ADDRESS)):
        found = admin(
            "omnichannel.channel",
            "search",
            [("channel_type", "=", channel_type), ("address", "=", address)],
        )
        center[channel_type] = (
            found[0]
            if found
            else admin(
                "omnichannel.channel",
                "create",
                {
                    "name": f"Soak {channel_type}",
                    "channel_type": channel_type,
                    "address": address,
                    "queue_id": center["queue"],
                },
            )
        )
    _queue, sms_channels = bench_sms.setup_channels(admin)
    return center, sms_channels


# what PostgreSQL answers a statement that met a concurrent update: Odoo logs
# the statement as "bad query" (ERROR) and retries the whole request
# (odoo.service.model.retrying); a request out of retries answers 500
RETRIED = (
    "ERROR: could not serialize access",
    "ERROR: deadlock detected",
    "ERROR: could not obtain lock",
)


def log_errors(text):
    """(ERROR / CRITICAL lines, statements retried after a concurrent update)."""
    lines = text.splitlines()
    errors, retried = [], 0
    for n, line in enumerate(lines):
        if " ERROR " not in line and " CRITICAL " not in line:
            continue
        following = next((nxt for nxt in lines[n + 1 : n + 30] if nxt.startswith("ERROR: ")), "")
        if " odoo.sql_db: bad query: " in line and following.startswith(RETRIED):
            retried += 1
        else:
            errors.append(line)
    return errors, retried


def count_stored(db, mix, center):
    with psycopg2.connect(host=ingest.DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        stored = {}
        for channel_type in ("email", "chat"):
            cr.execute(
                """SELECT count(*), count(DISTINCT external_id) FROM omnichannel_interaction
                    WHERE channel_id = %s AND starts_with(external_id, %s)""",
                [center[channel_type], f"{mix.prefix}{channel_type}-"],
            )
            stored[channel_type] = cr.fetchone()
    conn.close()
    return stored


def main():
    args = parse_args()
    command = ingest.odoo_command()
    scratch = Path(tempfile.mkdtemp(prefix="soak_"))
    (scratch / "odoo.conf").write_text("[options]\n")
    env = dict(os.environ, ODOO_RC=str(scratch / "odoo.conf"), TZ="UTC")
    started_at = datetime.now().astimezone()
    run = started_at.strftime("%Y%m%d%H%M%S")
    print(f"command: python3 {' '.join(sys.argv)}\nmachine: {ingest.machine()}", flush=True)
    ingest.ensure_db(args, command, env, addons=ADDONS)
    ingest.only_inbox_cron(args.db)
    log_path = scratch / "server.log"
    print(f"starting odoo --workers={args.workers} (log {log_path})...", flush=True)
    process, port = ingest.start_server(args, command, env, log_path)
    ok = False
    try:
        admin = ingest.Rpc(port, args.db, *ingest.ADMIN)
        center, sms_channels = setup(admin, args)
        # the e-mails and chats an earlier run left offered count in the
        # agents' loads (no sweep runs here to take them back)
        ingest.clean_queue(args.db, admin, center, channels=(center["email"], center["chat"]))
        sms_load = bench_sms.Load(args, port, sms_channels, run)
        mix = Mix(args, port, center, sms_load, run)
        # half the agents take e-mails and chats; the PBX puts the calls
        # through to the others' extensions. The desk agents take no calls
        # (no voice capacity): offered calls they never answer (the PBX
        # answers them elsewhere at once), they would be offered the next one
        # every few hundred milliseconds, by the applier's ACD, and their
        # accepts would race its commits on their agent rows at a rate no
        # contact center has (--blended-stress measures it; the tenth and
        # eleventh stops' notes of issue 20). With --blended every agent takes
        # the calls the ACD gives them, on their own extension, as a PBX in
        # front of Odoo's ACD puts them through.
        half = len(center["user_ids"]) // 2
        desk = center["user_ids"][:half]
        desk_agents = admin("omnichannel.agent", "search", [("user_id", "in", desk)])
        blended = args.blended or args.blended_stress
        admin("omnichannel.agent", "write", desk_agents, {"capacity_voice": int(blended)})
        # the others take one call at a time (the default), also in a
        # database an earlier run with another split left behind
        phone_agents = admin(
            "omnichannel.agent", "search", [("user_id", "in", center["user_ids"][half:])]
        )
        admin("omnichannel.agent", "write", phone_agents, {"capacity_voice": 1})
        # the PBX of --blended asks /route, answered first (set both ways: a
        # database another run left behind)
        admin(
            "omnichannel.channel", "write", [center["channel"]], {"voip_fast_route": args.blended}
        )
        deadline = time.monotonic() + args.total
        if args.blended:
            # a call in progress for at most half the agents: the others free
            # for the ACD when the PBX asks (a call finding nobody waits
            # PATIENCE s and hangs up)
            call_steps = [(mix.routed_call_step(max(len(center["user_ids"]) // 2, 1)), 0.05)]
        else:
            mix.calls.center = dict(center, extensions=center["extensions"][half:])
            call_steps = [(mix.call_step(0), 0.05), (mix.call_step(1), 0.05)]
        threads = [
            *call_steps,
            (mix.inbound_step("email"), 0.2),
            (mix.inbound_step("chat"), 0.3),
            (mix.sms_step(), 0.2),
            # with --blended their phones ring for the calls: the PBX answers them
            (mix.agent_step(desk, skip_calls=args.blended), 0.02),
        ]
        workers = [
            threading.Thread(target=mix.run, args=(None, step, deadline, pause), daemon=True)
            for step, pause in threads
        ]
        rss_start = rss_kib(process.pid)
        log_start = log_path.stat().st_size
        print(
            f"soak of {args.total:g} s on port {port}; Odoo RSS at start "
            f"{rss_start[0] / 1024:,.0f} MiB in {rss_start[1]} processes",
            flush=True,
        )
        for worker in workers:
            worker.start()
        rows, totals = [], ingest.Recorder()
        minute = 0
        while any(worker.is_alive() for worker in workers):
            time.sleep(min(args.interval, max(deadline - time.monotonic(), 0) + 0.5))
            rec = mix.rotate()
            totals.merge(rec)
            minute += 1
            rss = rss_kib(process.pid)
            for kind, samples in sorted(rec.latencies.items()):
                p = _env.percentiles(samples)
                rows.append(
                    [
                        f"{minute}",
                        kind,
                        f"{len(samples):,}",
                        f"{p['p50']:.1f}",
                        f"{p['p95']:.1f}",
                        f"{p['p99']:.1f}",
                        f"{rss[0] / 1024:,.0f}",
                    ]
                )
            print(
                f"  period {minute}: {sum(len(s) for s in rec.latencies.values()):,} requests, "
                f"RSS {rss[0] / 1024:,.0f} MiB",
                flush=True,
            )
        for worker in workers:
            worker.join()
        # --blended: the calls still in progress end (talk, or the caller's patience)
        for thread in mix.call_threads:
            thread.join(timeout=args.talk + PATIENCE + 60)
        rss_end = rss_kib(process.pid)
        # the last events are applied by the inbox's cron (polled, with a deadline)
        waiting = ingest.wait_applied(args.db, f"{mix.calls.prefix}ev", timeout=300)
        # and the calls /route answered first (--blended): written by the inbox too
        waiting += ingest.wait_applied(
            args.db, f"{mix.calls.prefix}ev", timeout=300, kind="_voip_route_apply"
        )
        print(f"  event inbox drained ({waiting} rows still waiting)", flush=True)
        # let the last offers settle before counting
        time.sleep(2)
        voip_ok, voip_lines = ingest.verify(
            args.db, center, mix.calls, {"soak calls": {"rec": totals}}
        )
        sms_ok, sms_lines = bench_sms.verify(args.db, sms_load, sms_channels)
        stored = count_stored(args.db, mix, center)
        with log_path.open("rb") as log:
            log.seek(log_start)
            errors, retried = log_errors(log.read().decode(errors="replace"))
    finally:
        ingest.stop_server(process)
    _env.table(
        f"Soak: odoo --workers={args.workers}, {args.total:g} s, database {args.db}",
        rows,
        ["period", "kind", "requests", "p50 ms", "p95 ms", "p99 ms", "Odoo RSS MiB"],
    )
    lines = [*voip_lines[:5], *sms_lines]
    for channel_type, (count, distinct) in stored.items():
        sent = len(mix.contacts[channel_type])
        lines.append(f"{channel_type}: sent {sent:,}, stored {count:,} ({distinct:,} distinct)")
    lines.append(
        f"agents: {mix.accepted:,} offers accepted and closed; refusals "
        f"{sum(mix.agent_errors.values())} {dict(mix.agent_errors) or ''}"
    )
    lines.append(
        f"Odoo RSS: start {rss_start[0] / 1024:,.0f} MiB ({rss_start[1]} processes), end "
        f"{rss_end[0] / 1024:,.0f} MiB ({rss_end[1]} processes)"
    )
    lines.append(
        f"ERROR / CRITICAL lines in the server log: {len(errors)} (besides {retried} statements "
        "refused by PostgreSQL for a concurrent update, which Odoo logs as ERROR and retries: "
        "every request was answered 200)"
    )
    lines.extend(f"  {line[:160]}" for line in errors[:10])
    problems = {**totals.errors, **totals.bad}
    non_200 = {s: n for s, n in totals.statuses.items() if s != 200}
    lines.append(f"non-200 answers: {non_200 or 'none'}; client errors: {problems or 'none'}")
    ok = (
        voip_ok
        and sms_ok
        and not errors
        and not problems
        and not non_200
        and all(
            count == distinct == len(mix.contacts[t]) for t, (count, distinct) in stored.items()
        )
    )
    print("\n".join(lines))
    print(f"\nRESULT: {'nothing lost, doubled or refused' if ok else 'PROBLEMS (see above)'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
