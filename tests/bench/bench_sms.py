"""Inbound SMS per second through ``/omnichannel/sms/<token>/inbound``
against a stock Odoo JSON route that does almost nothing, on the same
multi-worker server with the same number of client threads.

Each gateway's own format, as the gateway sends it: Kannel's smsbox
``get-url`` (GET, ``secret=`` in the query), Twilio (form POST signed
``X-Twilio-Signature``) and the generic HTTP/JSON gateway (signed
``X-Omnichannel-Signature``). Phases: customers texting for the first time
(unknown numbers: a new contact, a new interaction, routing), follow-ups
(the message joins the customer's open conversation), and a gateway
re-delivering messages Odoo already has (answered 200, nothing stored).
The baseline is ``/web/webclient/version_info`` of the stock ``web`` addon
(type=json, auth=none), as in ``bench_ingest.py``. The queue has no agent:
interactions are routed and wait (offers are measured by bench_ingest /
bench_acd). Figures only: nothing here fails on a number.

    python3 tests/bench/bench_sms.py --workers 4 --clients 8 --seconds 20
    python3 tests/bench/bench_sms.py --quick            # smoke run
"""

import base64
import hashlib
import hmac
import http.client
import itertools
import json
import os
import shlex
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from datetime import datetime
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env
from tests.bench import bench_ingest as ingest

ADDONS = ("omnichannel_cc", "omnichannel_cc_sms")
DB_HOST = ingest.DB_HOST
BARE_ROUTE = ingest.BARE_ROUTE
ADMIN = ingest.ADMIN
QUEUE_NAME = "Bench SMS"
KANNEL_SECRET = "bench-kannel-secret"
TWILIO_SID = "AC" + "b0" * 16
TWILIO_TOKEN = "bench-twilio-auth-token"
HTTP_SECRET = "bench-http-gateway-secret"
# each channel's number (unique per channel type)
OUR_NUMBERS = {"kannel": "+48221000401", "twilio": "+48221000402", "http": "+48221000403"}
# numbers a client thread cycles through in the follow-up phases
NUMBERS_PER_CLIENT = 5


def setup_channels(rpc):
    """A queue without agents and one SMS channel per gateway format; reused."""
    rpc("res.company", "write", [rpc.ref("base.main_company")], {"country_id": rpc.ref("base.pl")})
    queue_ids = rpc("omnichannel.queue", "search", [("name", "=", QUEUE_NAME)])
    queue = queue_ids[0] if queue_ids else rpc("omnichannel.queue", "create", {"name": QUEUE_NAME})
    settings = {
        "kannel": {"sms_account": "odoo", "sms_secret": KANNEL_SECRET},
        "twilio": {"sms_account": TWILIO_SID, "sms_secret": TWILIO_TOKEN},
        "http": {"sms_secret": HTTP_SECRET},
    }
    channels = {}
    for provider, values in settings.items():
        name = f"Bench SMS {provider}"
        found = rpc("omnichannel.channel", "search", [("name", "=", name)])
        values = {
            "name": name,
            "channel_type": "sms",
            "address": OUR_NUMBERS[provider],
            "queue_id": queue,
            "sms_provider": provider,
            "sms_base_url": "http://127.0.0.1:9",  # nothing is sent in this benchmark
            **values,
        }
        if found:
            rpc("omnichannel.channel", "write", found, values)
            channel = found[0]
        else:
            channel = rpc("omnichannel.channel", "create", values)
        [row] = rpc("omnichannel.channel", "read", [channel], fields=["sms_token"])
        channels[provider] = {"id": channel, "token": row["sms_token"]}
    return queue, channels


def twilio_signature(url, fields):
    """Twilio's X-Twilio-Signature (written as an integrator would, not
    taken from the addon)."""
    data = url + "".join(f"{name}{fields[name]}" for name in sorted(fields))
    digest = hmac.new(TWILIO_TOKEN.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Client(ingest.Client):
    """bench_ingest's keep-alive client, with GET."""

    def request(self, rec, kind, method, path, body=None, headers=None):
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body, headers or {})
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.conn.close()
            rec.errors[type(error).__name__] += 1
            rec.add(kind, (time.perf_counter() - t0) * 1000, "transport error")
            return None, None
        if ingest.Client.closes_after_answer is None:
            ingest.Client.closes_after_answer = f"HTTP/{response.version / 10:.1f}, " + (
                "server closes the connection after each answer"
                if response.will_close
                else "keep-alive honoured"
            )
        rec.add(kind, (time.perf_counter() - t0) * 1000, response.status)
        return response.status, data


class Load:
    def __init__(self, args, port, channels, run):
        self.args = args
        self.port = port
        self.url = f"http://{ingest.HOST}:{port}"
        self.channels = channels
        self.prefix = f"bs{run}"
        self.serial = itertools.count()
        # numbers of this run: consecutive from a point chosen by the run
        digest = hashlib.sha256(self.prefix.encode()).digest()
        self.numbers = itertools.count(int.from_bytes(digest[:4], "big") % 10**7)
        self.lock = threading.Lock()
        self.sent = {provider: 0 for provider in channels}  # answered 200, new
        self.kannel_accepted = []  # request paths answered 200 (for re-delivery)
        self.new_numbers = []

    def path(self, provider, endpoint="inbound"):
        return f"/omnichannel/sms/{self.channels[provider]['token']}/{endpoint}"

    def text(self, n):
        return f"Bench {self.prefix} message {n}: where is my parcel?"

    def new_number(self):
        """A Polish mobile number not used before in this run."""
        with self.lock:
            return f"+4850{next(self.numbers) % 10**7:07d}"

    def count(self, provider):
        with self.lock:
            self.sent[provider] += 1

    def bare(self, index, deadline, rec):
        client = Client(self.port)
        headers = {"Content-Type": "application/json"}
        while time.perf_counter() < deadline:
            body = json.dumps(ingest.rpc_body(next(self.serial)))
            status, data = client.request(rec, "bare", "POST", BARE_ROUTE, body, headers)
            if status == 200 and "result" not in json.loads(data):
                rec.bad["JSON-RPC error"] += 1

    def _kannel(self, client, rec, kind, number):
        n = next(self.serial)
        query = urllib.parse.urlencode(
            {
                "secret": KANNEL_SECRET,
                "from": number,
                "to": OUR_NUMBERS["kannel"],
                "text": self.text(n),
                "id": str(uuid.uuid4()),
                "ts": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            }
        )
        path = f"{self.path('kannel')}?{query}"
        status, _data = client.request(rec, kind, "GET", path)
        if status == 200:
            self.count("kannel")
            with self.lock:
                self.kannel_accepted.append(path)

    def kannel_new(self, index, deadline, rec):
        """Every message from a number Odoo has never seen."""
        client = Client(self.port)
        while time.perf_counter() < deadline:
            number = self.new_number()
            with self.lock:
                self.new_numbers.append(number)
            self._kannel(client, rec, "kannel new", number)

    def kannel_follow_up(self, index, deadline, rec):
        """Customers of the first phase texting again."""
        client = Client(self.port)
        mine = self.new_numbers[index :: self.args.clients][:NUMBERS_PER_CLIENT]
        if not mine:
            rec.bad["no customer from the first phase"] += 1
            return
        n = 0
        while time.perf_counter() < deadline:
            self._kannel(client, rec, "kannel follow-up", mine[n % len(mine)])
            n += 1

    def kannel_again(self, index, deadline, rec):
        """smsbox re-delivering messages Odoo already answered 200."""
        client = Client(self.port)
        done = list(self.kannel_accepted)
        if not done:
            rec.bad["nothing to deliver again"] += 1
            return
        while time.perf_counter() < deadline:
            path = done[next(self.serial) % len(done)]
            client.request(rec, "kannel again", "GET", path)

    def twilio(self, index, deadline, rec):
        client = Client(self.port)
        path = self.path("twilio")
        mine = self.new_numbers[index :: self.args.clients][:NUMBERS_PER_CLIENT]
        n = 0
        while time.perf_counter() < deadline:
            sid = "SM" + uuid.uuid4().hex
            fields = {
                "MessageSid": sid,
                "SmsSid": sid,
                "AccountSid": TWILIO_SID,
                "From": mine[n % len(mine)] if mine else self.new_number(),
                "To": OUR_NUMBERS["twilio"],
                "Body": self.text(next(self.serial)),
                "NumMedia": "0",
                "NumSegments": "1",
                "SmsStatus": "received",
                "ApiVersion": "2010-04-01",
            }
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": twilio_signature(self.url + path, fields),
            }
            status, _data = client.request(
                rec, "twilio", "POST", path, urllib.parse.urlencode(fields), headers
            )
            if status == 200:
                self.count("twilio")
            n += 1

    def http_gateway(self, index, deadline, rec):
        client = Client(self.port)
        path = self.path("http")
        mine = self.new_numbers[index :: self.args.clients][:NUMBERS_PER_CLIENT]
        n = 0
        while time.perf_counter() < deadline:
            body = json.dumps(
                {
                    "id": f"{self.prefix}-http-{next(self.serial)}",
                    "from": mine[n % len(mine)] if mine else self.new_number(),
                    "to": OUR_NUMBERS["http"],
                    "text": self.text(n),
                    "timestamp": int(time.time()),
                }
            ).encode()
            digest = hmac.new(HTTP_SECRET.encode(), body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "X-Omnichannel-Signature": f"sha256={digest}",
            }
            status, _data = client.request(rec, "http", "POST", path, body, headers)
            if status == 200:
                self.count("http")
            n += 1


def verify(db, load, channels):
    """Messages stored for this run per channel against requests answered 200."""
    lines, ok = [], True
    with psycopg2.connect(host=DB_HOST, dbname=db) as conn, conn.cursor() as cr:
        for provider, channel in channels.items():
            cr.execute(
                """SELECT count(*), count(DISTINCT i.id)
                     FROM mail_message m
                     JOIN omnichannel_interaction i
                       ON m.model = 'omnichannel.interaction' AND m.res_id = i.id
                    WHERE i.channel_id = %s AND m.body::text LIKE %s""",
                [channel["id"], f"%Bench {load.prefix} message%"],
            )
            messages, interactions = cr.fetchone()
            expected = load.sent[provider]
            ok = ok and messages == expected
            lines.append(
                f"{provider}: new messages answered 200: {expected:,}, stored: {messages:,} "
                f"on {interactions:,} interactions"
            )
    conn.close()
    return ok, lines


HEADERS = [
    "measure",
    "count",
    "rate",
    "p50 ms",
    "p95 ms",
    "CPU ms odoo+pg",
    "others",
    "retries",
    "vs bare",
    "non-200 / bad",
]


def row(label, unit, phase, baseline):
    rec, elapsed, used = phase["rec"], phase["elapsed"], phase["used"]
    samples = rec.all_samples()
    stats = _env.percentiles(samples) if samples else {"p50": 0, "p95": 0}
    rate = len(samples) / elapsed if elapsed else 0
    tick = ingest.TICK
    cpu = (
        f"{used['odoo'] * 1000 / tick / len(samples):.1f} + "
        f"{used['pg'] * 1000 / tick / len(samples):.1f}"
        if samples
        else ""
    )
    return [
        label,
        f"{len(samples):,}",
        f"{rate:,.1f} {unit}/s",
        f"{stats['p50']:.1f}",
        f"{stats['p95']:.1f}",
        cpu,
        f"{used['other'] / tick / elapsed:.2f}",
        str(phase["retries"]),
        f"{rate / baseline:.0%}" if baseline else "",
        f"{rec.non_200()} / {sum(rec.bad.values())}",
    ], rate


def parse_args():
    p = _env.parser(__doc__, "bench_sms")
    p.add_argument("--workers", type=int, default=4, help="Odoo HTTP workers")
    p.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    p.add_argument("--seconds", type=float, default=20.0, help="length of each measured phase")
    p.add_argument("--warmup", type=float, default=5.0, help="unmeasured load before measuring")
    p.add_argument("--port", type=int, default=8320, help="first HTTP port to try")
    p.add_argument(
        "--log-level", default="info", help="server log level (info: retries are counted)"
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 3 s phases, 1 s warm-up")
    args = p.parse_args()
    if args.quick:
        args.seconds, args.warmup = 3.0, 1.0
    return args


def main():
    args = parse_args()
    command = ingest.odoo_command()
    scratch = Path(tempfile.mkdtemp(prefix="bench_sms_"))
    (scratch / "odoo.conf").write_text("[options]\n")
    env = dict(os.environ, ODOO_RC=str(scratch / "odoo.conf"), TZ="UTC")
    started_at = datetime.now().astimezone()
    ingest.ensure_db(args, command, env, addons=ADDONS)
    log_path = scratch / "server.log"
    print(f"starting odoo --workers={args.workers} (log {log_path})...", flush=True)
    process, port = ingest.start_server(args, command, env, log_path)
    phases = {}
    try:
        admin = ingest.Rpc(port, args.db, *ADMIN)
        _queue, channels = setup_channels(admin)
        load = Load(args, port, channels, started_at.strftime("%Y%m%d%H%M%S"))

        def phase(name, task, seconds=args.seconds, measured=True):
            print(f"  {name} ({seconds:g} s, {args.clients} clients)...", flush=True)
            before = ingest.snapshot(process.pid, args.db, log_path)
            rec, elapsed = ingest.run_phase(args.clients, seconds, task)
            after = ingest.snapshot(process.pid, args.db, log_path)
            retries, _refused = ingest.server_log_counts(log_path, before["log"], after["log"])
            if measured:
                phases[name] = {
                    "rec": rec,
                    "elapsed": elapsed,
                    "used": ingest.cpu_used(before, after),
                    "retries": retries,
                }

        print(f"server on port {port}; measuring:", flush=True)
        phase("warm-up: bare route", load.bare, args.warmup, measured=False)
        phase("bare JSON route (start)", load.bare)
        phase("warm-up: Kannel", load.kannel_new, min(args.warmup, 2.0), measured=False)
        phase("Kannel GET, first message of a new number", load.kannel_new)
        phase("Kannel GET, follow-up in the open conversation", load.kannel_follow_up)
        phase("Kannel GET, the same message delivered again", load.kannel_again)
        phase("Twilio POST signed, mostly follow-ups", load.twilio)
        phase("generic JSON POST signed, mostly follow-ups", load.http_gateway)
        phase("bare JSON route (end)", load.bare)
        ok, lines = verify(args.db, load, channels)
    finally:
        ingest.stop_server(process)
    names = list(phases)
    baseline = (
        sum(
            len(phases[n]["rec"].all_samples()) / phases[n]["elapsed"] for n in names if "bare" in n
        )
        / 2
    )
    rows, units = [], {"bare": "req"}
    for name in names:
        cells, _rate = row(name, units.get(name.split()[0], "sms"), phases[name], baseline)
        rows.append(cells)
    _env.table(
        f"Inbound SMS over HTTP: odoo --workers={args.workers}, {args.clients} client threads, "
        f"{args.seconds:g} s per phase, database {args.db}",
        rows,
        HEADERS,
    )
    print(
        f"\nbaseline ({baseline:,.1f} req/s) = mean of the two bare runs: stock web "
        f"{BARE_ROUTE} (type=json, auth=none), no test route added to the product.\n"
        "CPU ms odoo+pg: CPU per request of Odoo's processes and of the PostgreSQL backends "
        f"of {args.db}; others: cores used by unrelated processes during the phase (a shared "
        "machine; well above 0 makes the phase unreliable); retries: SERIALIZATION_FAILURE "
        "retries in the server log (needs --log-level info).\n"
        f"The queue has no agent: interactions are routed and wait. Follow-ups: each client "
        f"thread's {NUMBERS_PER_CLIENT} customers of the first phase text again."
    )
    print(f"connections: {ingest.Client.closes_after_answer}")
    print(f"command: python3 {shlex.join(sys.argv)}")
    print(f"date: {started_at:%Y-%m-%d %H:%M:%S %Z}")
    print(f"machine: {ingest.machine()}")
    print(f"\nverification ({'all correct' if ok else 'PROBLEMS'}):")
    for line in lines:
        print(f"  {line}")
    for name in names:
        rec = phases[name]["rec"]
        problems = {
            **{f"HTTP {s}": n for s, n in rec.statuses.items() if s != 200},
            **rec.errors,
            **rec.bad,
        }
        if problems:
            print(f"  {name}: " + ", ".join(f"{k}: {v}" for k, v in problems.items()))
    print(f"server log: {log_path}")


if __name__ == "__main__":
    main()
