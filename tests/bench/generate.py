"""Benchmark dataset: partners, invoices, sale orders, cases and a year of
contact center history, written with PostgreSQL COPY.

    python3 tests/bench/generate.py --db bench_gen --partners 1000000 \\
        --invoices 2000000 --orders 1000000 --interactions 5000000

The database is created (addons installed, no demo) when missing. A database
is generated once: a second run refuses unless --reset (drop and redo).

Small records (agents, queues, channels, a product) go through the ORM; bulk
rows are streamed to COPY. Afterwards what Odoo computes is recomputed:
phone_e164 / mobile_e164 with the addon's own normalisation (in batches,
set-based UPDATE), commercial_partner_id, id sequences and ir.sequence
counters, then ANALYZE.
"""

import io
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench import _env, bench_identify

MARKER = "omnichannel_cc.bench_generated"
DAY = 86400
YEAR = 365 * DAY

# Polish numbers as people type them
NOTATIONS = (*bench_identify.NOTATIONS, lambda d: f"{d[:3]} {d[3:6]} {d[6:]}")
# channel type -> share of the history
CHANNEL_MIX = {
    "phone": 45,
    "email": 20,
    "chat": 14,
    "sms": 8,
    "webform": 5,
    "social": 4,
    "video": 2,
    "fax": 2,
}
FINAL_MIX = (("done", 80), ("abandoned", 10), ("missed", 5), ("transferred", 5))


def installed_channel_types(env):
    """The types of CHANNEL_MIX the database knows: the optional channels
    (SMS, social, web form, ...) are their addons' selection values; the
    history is spread over those present, in the same proportions."""
    known = dict(env["omnichannel.channel"]._fields["channel_type"]._description_selection(env))
    return [ctype for ctype in CHANNEL_MIX if ctype in known]


def phone_digits(i):
    """National digits of partner i's phone: landlines (22...) for a fifth, mobiles else."""
    if i % 5 == 3:
        return f"22{i % 10_000_000:07d}"
    return f"{500_000_000 + i:09d}"


def mobile_digits(i):
    return f"{600_000_000 + i:09d}"


def is_contact(i):
    """Partners i with i % 10 in (1, 2) are contacts of the company i - i % 10."""
    return i % 10 in (1, 2)


def commercial_index(i):
    return i - i % 10 if is_contact(i) else i


# ----------------------------------------------------------------------
# COPY plumbing
# ----------------------------------------------------------------------
class Progress:
    """Percentage, rows/s and ETA on stderr."""

    def __init__(self, label, total):
        self.label, self.total, self.done = label, total, 0
        self.started = self.last = time.perf_counter()

    def add(self, n):
        self.done += n
        now = time.perf_counter()
        if now - self.last >= 0.5 or self.done >= self.total:
            self.last = now
            self.show()

    def show(self, final=False):
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = self.done / elapsed
        pct = 100.0 * self.done / max(self.total, 1)
        eta = (self.total - self.done) / rate if rate else 0
        width = 30
        filled = int(width * min(self.done, self.total) / max(self.total, 1))
        sys.stderr.write(
            f"\r  {self.label:<22} [{'#' * filled}{'.' * (width - filled)}] {pct:5.1f}% "
            f"{self.done:>11,}/{self.total:,} {rate:>9,.0f} rows/s ETA {eta:5.0f}s "
        )
        if final:
            sys.stderr.write(f"done in {elapsed:.1f}s\n")
        sys.stderr.flush()

    def finish(self):
        self.show(final=True)
        return time.perf_counter() - self.started


class RowStream(io.TextIOBase):
    """A file-like COPY source pulling text-format lines from a generator."""

    def __init__(self, rows, progress):
        self.rows, self.progress, self.buf = rows, progress, ""

    def readable(self):
        return True

    def read(self, size=-1):
        size = 1 << 16 if size is None or size < 0 else size
        chunks, length, count = [self.buf], len(self.buf), 0
        for line in self.rows:
            chunks.append(line)
            length += len(line)
            count += 1
            if length >= size:
                break
        data = "".join(chunks)
        self.buf = data[size:]
        if count:
            self.progress.add(count)
        return data[:size]


def copy_rows(cr, table, columns, rows, total, label):
    progress = Progress(label, total)
    cr.copy_expert(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN",
        RowStream(rows, progress),
        size=1 << 16,
    )
    return progress.finish()


def line(values):
    r"""One COPY text-format line; None is \N. Values must not hold tabs or newlines."""
    return "\t".join("\\N" if v is None else str(v) for v in values) + "\n"


def reserve_ids(cr, table, n):
    """First id of a block of n ids taken from the table's id sequence."""
    cr.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,))
    seq = cr.fetchone()[0]
    cr.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
    start = max(cr.fetchone()[0] + 1, 1)
    cr.execute("SELECT setval(%s, %s)", (seq, start + n))
    return start


def ts(epoch):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


def day(epoch):
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


# ----------------------------------------------------------------------
# Small records through the ORM
# ----------------------------------------------------------------------
def setup(env, args):
    company = env.company
    company.country_id = env.ref("base.pl")
    Users = env["res.users"].with_context(no_reset_password=True)
    group = env.ref("omnichannel_cc.group_omnichannel_agent")
    queues = env["omnichannel.queue"]
    for k in range(args.queues):
        queues |= queues.create({"name": f"Bench queue {k + 1}", "company_id": company.id})
    users = Users
    for k in range(args.agents):
        users |= Users.create(
            {
                "name": f"Bench agent {k + 1}",
                "login": f"bench_agent_{k + 1}",
                "groups_id": [(4, group.id)],
            }
        )
    Agent = env["omnichannel.agent"]
    for user in users:
        if not Agent.search([("user_id", "=", user.id)], limit=1):
            Agent.create({"user_id": user.id, "company_id": company.id})
    members = []
    for k, user in enumerate(users):
        for q in {k % len(queues), (k + 1) % len(queues)}:
            members.append({"queue_id": queues[q].id, "user_id": user.id})
    env["omnichannel.queue.member"].create(members)
    channels = {}
    for k, ctype in enumerate(installed_channel_types(env)):
        address = {
            "phone": "+48221000001",
            "sms": "+48221000002",
            "fax": "+48221000003",
            "email": "bench-support@example.com",
        }.get(ctype, f"bench-{ctype}")
        values = {
            "name": f"Bench {ctype}",
            "channel_type": ctype,
            "address": address,
            "queue_id": queues[k % len(queues)].id,
            "company_id": company.id,
        }
        if ctype == "social":
            values["social_platform"] = "whatsapp"
        channels[ctype] = env["omnichannel.channel"].create(values)
    product = env["product.product"].create(
        {"name": "Bench service", "type": "service", "list_price": 100.0}
    )
    journal = env["account.journal"].search(
        [("type", "=", "sale"), ("company_id", "=", company.id)], limit=1
    )
    receivable = env["account.account"].search(
        [("account_type", "=", "asset_receivable"), ("company_ids", "in", company.id)], limit=1
    )
    if not journal or not receivable or not journal.default_account_id:
        sys.exit("no chart of accounts in this database: a sale journal and accounts are needed")
    env.flush_all()
    return {
        "company": company.id,
        "currency": company.currency_id.id,
        "country": company.country_id.id,
        "uid": env.uid,
        "queues": queues.ids,
        "agents": users.ids,
        "channels": {t: (c.id, c.queue_id.id) for t, c in channels.items()},
        "product": product.id,
        "uom": product.uom_id.id,
        "journal": journal.id,
        "receivable": receivable.id,
        "income": journal.default_account_id.id,
    }


# ----------------------------------------------------------------------
# Bulk rows
# ----------------------------------------------------------------------
def gen_partners(cr, ctx, n):
    start = reserve_ids(cr, "res_partner", n)
    ctx["partner_start"] = start
    created = ts(time.time())
    cols = [
        "id",
        "name",
        "complete_name",
        "ref",
        "email",
        "email_normalized",
        "phone",
        "mobile",
        "is_company",
        "parent_id",
        "commercial_partner_id",
        "country_id",
        "company_id",
        "active",
        "type",
        "customer_rank",
        "autopost_bills",
        "lang",
        "create_date",
        "write_date",
        "create_uid",
        "write_uid",
    ]

    def rows():
        rng = random.Random(1)
        for i in range(n):
            pid = start + i
            company = i % 10 == 0
            name = f"Firma {i} sp. z o.o." if company else f"Klient {i}"
            parent = start + commercial_index(i) if is_contact(i) else None
            complete = f"Firma {commercial_index(i)} sp. z o.o., {name}" if parent else name
            phone = NOTATIONS[i % len(NOTATIONS)](phone_digits(i))
            mobile = NOTATIONS[(i + 2) % len(NOTATIONS)](mobile_digits(i))
            email = f"klient{i}@example.com"
            yield line(
                (
                    pid,
                    name,
                    complete,
                    f"gen-{i}",
                    email,
                    email,
                    phone,
                    mobile if rng.random() < 0.5 else None,
                    "t" if company else "f",
                    parent,
                    parent or pid,
                    ctx["country"],
                    None,
                    "t",
                    "contact",
                    0 if parent else 1,
                    "ask",
                    "en_US",
                    created,
                    created,
                    ctx["uid"],
                    ctx["uid"],
                )
            )

    # GIN (trigram) indexes are rebuilt once after the load rather than fed row by row
    cr.execute(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE tablename = 'res_partner' AND indexdef ILIKE '%% USING gin %%'"
    )
    gin = cr.fetchall()
    for name, _definition in gin:
        cr.execute(f'DROP INDEX "{name}"')
    elapsed = copy_rows(cr, "res_partner", cols, rows(), n, "partners")
    started = time.perf_counter()
    for _name, definition in gin:
        cr.execute(definition)
    if gin:
        sys.stderr.write(
            f"  rebuilt {len(gin)} GIN indexes of res_partner in "
            f"{time.perf_counter() - started:.1f}s\n"
        )
    return elapsed + time.perf_counter() - started


def backfill_e164(env, batch=50_000):
    """phone_e164 / mobile_e164 with the addon's normalisation, set-based per batch."""
    from odoo.addons.omnichannel_cc.tools import address as address_tools

    cr = env.cr
    region = env.company.country_id.code
    cr.execute("CREATE TEMP TABLE gen_e164 (id int, phone varchar, mobile varchar)")
    cr.execute(
        "SELECT min(id), max(id) FROM res_partner WHERE phone_e164 IS NULL AND "
        "(phone IS NOT NULL OR mobile IS NOT NULL)"
    )
    low, high = cr.fetchone()
    cr.execute(
        "SELECT count(*) FROM res_partner WHERE phone_e164 IS NULL AND "
        "(phone IS NOT NULL OR mobile IS NOT NULL)"
    )
    progress = Progress("phone_e164 backfill", cr.fetchone()[0])
    if low is None:
        return progress.finish()
    for first in range(low, high + 1, batch):
        cr.execute(
            "SELECT id, phone, mobile FROM res_partner WHERE id >= %s AND id < %s "
            "AND (phone IS NOT NULL OR mobile IS NOT NULL)",
            (first, first + batch),
        )
        rows = cr.fetchall()
        buf = io.StringIO()
        for pid, phone, mobile in rows:
            buf.write(
                line(
                    (
                        pid,
                        address_tools.normalize_phone_or_none(phone, region),
                        address_tools.normalize_phone_or_none(mobile, region),
                    )
                )
            )
        buf.seek(0)
        cr.execute("TRUNCATE gen_e164")
        cr.copy_expert("COPY gen_e164 (id, phone, mobile) FROM STDIN", buf)
        cr.execute(
            "UPDATE res_partner p SET phone_e164 = t.phone, mobile_e164 = t.mobile "
            "FROM gen_e164 t WHERE p.id = t.id"
        )
        progress.add(len(rows))
    cr.execute("DROP TABLE gen_e164")
    return progress.finish()


def customer_index(rng, partners):
    """A random commercial partner (a company or a person, not a contact)."""
    while True:
        i = rng.randrange(partners)
        if not is_contact(i):
            return i


def gen_invoices(cr, ctx, n, partners, now):
    start = reserve_ids(cr, "account_move", n)
    line_start = reserve_ids(cr, "account_move_line", 2 * n)
    ctx["invoice_start"] = start
    rng = random.Random(2)
    today = now - now % DAY
    specs = []
    counters = {}
    for k in range(n):
        invoice_day = today - rng.randrange(365) * DAY
        year = time.gmtime(invoice_day).tm_year
        counters[year] = counters.get(year, 0) + 1
        due = invoice_day + 30 * DAY
        total = round(rng.uniform(50, 5000), 2)
        # mostly paid when due, 15 % overdue; no partial payments: Odoo derives
        # "partial" from reconciliations, which the generator does not write
        state = "paid" if rng.random() < (0.85 if due < today else 0.4) else "not_paid"
        residual = 0.0 if state == "paid" else total
        partner = ctx["partner_start"] + customer_index(rng, partners)
        specs.append((start + k, year, counters[year], invoice_day, due, total, residual, state))
        specs[-1] += (partner,)
    created = ts(now)
    uid, company, currency, journal = ctx["uid"], ctx["company"], ctx["currency"], ctx["journal"]
    move_cols = [
        "id",
        "name",
        "journal_id",
        "company_id",
        "currency_id",
        "state",
        "move_type",
        "auto_post",
        "date",
        "invoice_date",
        "invoice_date_due",
        "partner_id",
        "commercial_partner_id",
        "invoice_partner_display_name",
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "amount_residual",
        "amount_untaxed_signed",
        "amount_untaxed_in_currency_signed",
        "amount_tax_signed",
        "amount_total_signed",
        "amount_total_in_currency_signed",
        "amount_residual_signed",
        "payment_state",
        "sequence_prefix",
        "sequence_number",
        "invoice_currency_rate",
        "is_storno",
        "always_tax_exigible",
        "checked",
        "posted_before",
        "made_sequence_gap",
        "is_move_sent",
        "create_date",
        "write_date",
        "create_uid",
        "write_uid",
    ]

    def moves():
        for mid, year, seq, inv_day, due, total, residual, state, partner in specs:
            yield line(
                (
                    mid,
                    f"INV/{year}/{seq:05d}",
                    journal,
                    company,
                    currency,
                    "posted",
                    "out_invoice",
                    "no",
                    day(inv_day),
                    day(inv_day),
                    day(due),
                    partner,
                    partner,
                    f"Client {partner}",
                    total,
                    0,
                    total,
                    residual,
                    total,
                    total,
                    0,
                    total,
                    total,
                    residual,
                    state,
                    f"INV/{year}/",
                    seq,
                    1,
                    "f",
                    "t",
                    "t",
                    "t",
                    "f",
                    "t",
                    created,
                    created,
                    uid,
                    uid,
                )
            )

    elapsed = copy_rows(cr, "account_move", move_cols, moves(), n, "invoices")
    line_cols = [
        "id",
        "move_id",
        "journal_id",
        "company_id",
        "company_currency_id",
        "currency_id",
        "sequence",
        "account_id",
        "partner_id",
        "product_id",
        "move_name",
        "parent_state",
        "name",
        "display_type",
        "date",
        "invoice_date",
        "date_maturity",
        "debit",
        "credit",
        "balance",
        "amount_currency",
        "amount_residual",
        "amount_residual_currency",
        "quantity",
        "price_unit",
        "price_subtotal",
        "price_total",
        "discount",
        "reconciled",
        "create_date",
        "write_date",
        "create_uid",
        "write_uid",
    ]

    def lines():
        lid = line_start
        for mid, year, seq, inv_day, due, total, residual, _state, partner in specs:
            name = f"INV/{year}/{seq:05d}"
            d = day(inv_day)
            yield line(
                (
                    lid,
                    mid,
                    journal,
                    company,
                    currency,
                    currency,
                    10,
                    ctx["income"],
                    partner,
                    ctx["product"],
                    name,
                    "posted",
                    "Bench service",
                    "product",
                    d,
                    d,
                    None,
                    0,
                    total,
                    -total,
                    -total,
                    0,
                    0,
                    1,
                    total,
                    total,
                    total,
                    0,
                    "f",
                    created,
                    created,
                    uid,
                    uid,
                )
            )
            yield line(
                (
                    lid + 1,
                    mid,
                    journal,
                    company,
                    currency,
                    currency,
                    20,
                    ctx["receivable"],
                    partner,
                    None,
                    name,
                    "posted",
                    name,
                    "payment_term",
                    d,
                    d,
                    day(due),
                    total,
                    0,
                    total,
                    total,
                    residual,
                    residual,
                    0,
                    0,
                    0,
                    0,
                    0,
                    "t" if residual == 0 else "f",
                    created,
                    created,
                    uid,
                    uid,
                )
            )
            lid += 2

    elapsed += copy_rows(cr, "account_move_line", line_cols, lines(), 2 * n, "invoice lines")
    return elapsed


def gen_orders(cr, ctx, n, partners, now):
    start = reserve_ids(cr, "sale_order", n)
    rng = random.Random(3)
    created = ts(now)
    uid, company, currency = ctx["uid"], ctx["company"], ctx["currency"]
    specs = []
    for k in range(n):
        i = rng.randrange(partners)
        when = now - rng.randrange(YEAR)
        r = rng.random()
        # draft (quotation), sale (confirmed) and done (= confirmed and locked in 18)
        state, locked = ("draft", "f") if r < 0.25 else ("sale", "t" if r > 0.7 else "f")
        qty = [rng.randint(1, 5) for _ in range(rng.randint(1, 3))]
        specs.append((start + k, ctx["partner_start"] + i, when, state, locked, qty))
    order_cols = [
        "id",
        "name",
        "company_id",
        "partner_id",
        "partner_invoice_id",
        "partner_shipping_id",
        "currency_id",
        "user_id",
        "state",
        "invoice_status",
        "locked",
        "require_signature",
        "require_payment",
        "prepayment_percent",
        "currency_rate",
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "date_order",
        "create_date",
        "write_date",
        "create_uid",
        "write_uid",
    ]

    def orders():
        for oid, partner, when, state, locked, qty in specs:
            total = 100.0 * sum(qty)
            status = "no" if state == "draft" else ("invoiced" if locked == "t" else "to invoice")
            yield line(
                (
                    oid,
                    f"S{oid - start + 1:05d}",
                    company,
                    partner,
                    partner,
                    partner,
                    currency,
                    uid,
                    state,
                    status,
                    locked,
                    "t",
                    "f",
                    1.0,
                    1.0,
                    total,
                    0,
                    total,
                    ts(when),
                    created,
                    created,
                    uid,
                    uid,
                )
            )

    elapsed = copy_rows(cr, "sale_order", order_cols, orders(), n, "sale orders")
    total_lines = sum(len(s[5]) for s in specs)
    line_start = reserve_ids(cr, "sale_order_line", total_lines)
    line_cols = [
        "id",
        "order_id",
        "sequence",
        "company_id",
        "currency_id",
        "order_partner_id",
        "salesman_id",
        "product_id",
        "product_uom",
        "state",
        "invoice_status",
        "qty_delivered_method",
        "name",
        "product_uom_qty",
        "price_unit",
        "discount",
        "price_subtotal",
        "price_total",
        "price_tax",
        "price_reduce_taxexcl",
        "price_reduce_taxinc",
        "qty_delivered",
        "qty_invoiced",
        "qty_to_invoice",
        "untaxed_amount_invoiced",
        "untaxed_amount_to_invoice",
        "is_downpayment",
        "is_expense",
        "technical_price_unit",
        "customer_lead",
        "create_date",
        "write_date",
        "create_uid",
        "write_uid",
    ]

    def lines():
        lid = line_start
        for oid, partner, _when, state, locked, qty in specs:
            for seq, q in enumerate(qty):
                amount = 100.0 * q
                invoiced = q if locked == "t" else 0
                to_invoice = 0 if state == "draft" else q - invoiced
                status = "no" if state == "draft" else ("invoiced" if invoiced else "to invoice")
                yield line(
                    (
                        lid,
                        oid,
                        10 + seq,
                        company,
                        currency,
                        partner,
                        uid,
                        ctx["product"],
                        ctx["uom"],
                        state,
                        status,
                        "manual",
                        "Bench service",
                        q,
                        100.0,
                        0,
                        amount,
                        amount,
                        0,
                        100.0,
                        100.0,
                        q if state == "sale" else 0,
                        invoiced,
                        to_invoice,
                        100.0 * invoiced,
                        100.0 * to_invoice,
                        "f",
                        "f",
                        100.0,
                        0,
                        created,
                        created,
                        uid,
                        uid,
                    )
                )
                lid += 1

    elapsed += copy_rows(cr, "sale_order_line", line_cols, lines(), total_lines, "order lines")
    return elapsed, total_lines


def gen_cases(cr, ctx, n, partners, now):
    start = reserve_ids(cr, "omnichannel_case", n)
    ctx["case_start"], ctx["cases"] = start, n
    rng = random.Random(4)
    uid = ctx["uid"]
    cols = [
        "id",
        "name",
        "subject",
        "partner_id",
        "commercial_partner_id",
        "user_id",
        "queue_id",
        "state",
        "is_open",
        "priority",
        "company_id",
        "date_closed",
        "create_date",
        "write_date",
        "create_uid",
        "write_uid",
    ]
    states = ("new", "open", "pending", "solved", "solved", "solved", "cancel")

    def rows():
        for k in range(n):
            i = rng.randrange(partners)
            opened = now - rng.randrange(YEAR)
            state = states[rng.randrange(len(states))]
            closed = opened + rng.randrange(1, 20 * DAY) if state in ("solved", "cancel") else None
            closed = min(closed, now) if closed else None
            yield line(
                (
                    start + k,
                    f"CASE/{time.gmtime(opened).tm_year}/{k + 1:05d}",
                    f"Bench case {k + 1}",
                    ctx["partner_start"] + i,
                    ctx["partner_start"] + commercial_index(i),
                    ctx["agents"][rng.randrange(len(ctx["agents"]))],
                    ctx["queues"][rng.randrange(len(ctx["queues"]))],
                    state,
                    "t" if state in ("new", "open", "pending") else "f",
                    rng.choice("0001"),
                    ctx["company"],
                    ts(closed) if closed else None,
                    ts(opened),
                    ts(closed or opened),
                    uid,
                    uid,
                )
            )

    return copy_rows(cr, "omnichannel_case", cols, rows(), n, "cases")


def interaction_times(rng, queued, now, state):
    """(offered, answered, ended, closed, end reason) of one interaction."""
    wait = min(int(rng.expovariate(1 / 25)), 900)
    if state in ("new", "queued"):
        return None, None, None, None, None
    if state == "offered":
        return queued + max(wait - 3, 0), None, None, None, None
    if state in ("abandoned", "missed"):
        ended = queued + wait
        offered = queued + max(wait - 10, 0) if state == "missed" else None
        reason = "customer" if state == "abandoned" else None
        return offered, None, ended, ended, reason
    offered = queued + max(wait - 3, 0)
    answered = queued + wait
    talk = 30 + int(rng.expovariate(1 / 210))
    if state == "active":
        return offered, answered, None, None, None
    ended = answered + talk
    if state == "transferred":
        return offered, answered, ended, ended, None
    if state == "wrapup":
        return offered, answered, ended, None, None
    return offered, answered, ended, ended + rng.randrange(0, 90), None


def gen_interactions(cr, ctx, n, partners, now):
    start = reserve_ids(cr, "omnichannel_interaction", n)
    rng = random.Random(5)
    uid, company = ctx["uid"], ctx["company"]
    types = list(ctx["channels"])
    weights = [CHANNEL_MIX[t] for t in types]
    final_states = [s for s, _w in FINAL_MIX]
    final_weights = [w for _s, w in FINAL_MIX]
    queues, agents = ctx["queues"], ctx["agents"]
    first = now - YEAR
    cols = [
        "id",
        "name",
        "subject",
        "channel_id",
        "channel_type",
        "direction",
        "partner_id",
        "commercial_partner_id",
        "contact_address",
        "queue_id",
        "agent_id",
        "state",
        "priority",
        "company_id",
        "date_queued",
        "date_offered",
        "date_answered",
        "date_ended",
        "date_closed",
        "wait_duration",
        "talk_duration",
        "wrap_duration",
        "case_id",
        "end_reason",
        "overflow_count",
        "create_date",
        "write_date",
        "create_uid",
        "write_uid",
    ]

    def seconds(a, b):
        return max(b - a, 0) if a is not None and b is not None else 0

    def rows():
        for k in range(n):
            # in id order over the year, the newest ones still in progress
            queued = first + (YEAR * k) // n + rng.randrange(0, max(YEAR // n, 1))
            queued = min(queued, now - 1)
            age = now - queued
            if age < 120:
                state = rng.choice(("new", "queued", "queued", "offered"))
            elif age < 900:
                state = rng.choice(("active", "active", "wrapup", "done", "abandoned"))
            else:
                state = rng.choices(final_states, final_weights)[0]
            offered, answered, ended, closed, reason = interaction_times(rng, queued, now, state)
            if closed is not None and closed > now:  # not over yet
                state, ended, closed = "active", None, None
            ctype = rng.choices(types, weights)[0]
            channel, channel_queue = ctx["channels"][ctype]
            i = rng.randrange(partners) if rng.random() < 0.85 else None
            if ctype in ("phone", "sms", "fax", "video"):
                address = f"+48{phone_digits(i if i is not None else rng.randrange(10**6))}"
            elif ctype in ("email", "webform"):
                address = f"klient{i if i is not None else rng.randrange(10**6)}@example.com"
            else:
                address = f"visitor-{k}"
            agent = agents[rng.randrange(len(agents))] if offered is not None else None
            case = None
            if ctx["cases"] and rng.random() < 0.05:
                case = ctx["case_start"] + rng.randrange(ctx["cases"])
            last = max(t for t in (queued, offered, answered, ended, closed) if t is not None)
            yield line(
                (
                    start + k,
                    f"INT/{time.gmtime(queued).tm_year}/{k + 1:06d}",
                    f"Contact {k + 1}",
                    channel,
                    ctype,
                    "inbound" if rng.random() < 0.85 else "outbound",
                    ctx["partner_start"] + i if i is not None else None,
                    ctx["partner_start"] + commercial_index(i) if i is not None else None,
                    address,
                    channel_queue if rng.random() < 0.7 else queues[rng.randrange(len(queues))],
                    agent,
                    state,
                    rng.choice((0, 0, 0, 1, 2)),
                    company,
                    ts(queued),
                    ts(offered) if offered is not None else None,
                    ts(answered) if answered is not None else None,
                    ts(ended) if ended is not None else None,
                    ts(closed) if closed is not None else None,
                    seconds(queued, answered if answered is not None else ended),
                    seconds(answered, ended),
                    seconds(ended, closed),
                    case,
                    reason,
                    0,
                    ts(queued),
                    ts(last),
                    uid,
                    uid,
                )
            )

    return copy_rows(cr, "omnichannel_interaction", cols, rows(), n, "interactions")


def finish(env, counts):
    """Counters, sequences and statistics after the bulk load."""
    cr = env.cr
    seqs = env["ir.sequence"].sudo()
    for code, count in (
        ("sale.order", counts["orders"]),
        ("omnichannel.interaction", counts["interactions"]),
        ("omnichannel.case", counts["cases"]),
    ):
        seq = seqs.search([("code", "=", code)], limit=1)
        if seq:
            seq.number_next_actual = count + 1
    started = time.perf_counter()
    sys.stderr.write("  ANALYZE...")
    sys.stderr.flush()
    for table in (
        "res_partner",
        "account_move",
        "account_move_line",
        "sale_order",
        "sale_order_line",
        "omnichannel_case",
        "omnichannel_interaction",
    ):
        cr.execute(f"ANALYZE {table}")
    sys.stderr.write(f" {time.perf_counter() - started:.1f}s\n")


def main():
    p = _env.parser(__doc__, "bench_gen")
    p.add_argument("--partners", type=int, default=1_000_000)
    p.add_argument("--invoices", type=int, default=2_000_000)
    p.add_argument("--orders", type=int, default=1_000_000)
    p.add_argument("--interactions", type=int, default=5_000_000)
    p.add_argument("--cases", type=int, help="default: one per 20 partners")
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--queues", type=int, default=8)
    args = p.parse_args()
    if args.partners < 10:
        sys.exit("--partners must be at least 10")
    cases = args.partners // 20 if args.cases is None else args.cases
    started = time.perf_counter()
    _env.ensure_db(args.db, args.reset)
    with _env.environment(args.db) as env:
        done = env["ir.config_parameter"].sudo().get_param(MARKER)
        if done:
            sys.exit(f"{args.db} was already generated ({done}); use --reset to drop and redo it")
        now = int(datetime.now(UTC).timestamp())
        ctx = setup(env, args)
        cr = env.cr
        timings = {}
        timings["partners"] = gen_partners(cr, ctx, args.partners)
        timings["phone_e164"] = backfill_e164(env)
        timings["invoices"] = gen_invoices(cr, ctx, args.invoices, args.partners, now)
        timings["orders"], order_lines = gen_orders(cr, ctx, args.orders, args.partners, now)
        timings["cases"] = gen_cases(cr, ctx, cases, args.partners, now)
        timings["interactions"] = gen_interactions(cr, ctx, args.interactions, args.partners, now)
        counts = {
            "partners": args.partners,
            "invoices": args.invoices,
            "orders": args.orders,
            "cases": cases,
            "interactions": args.interactions,
        }
        finish(env, counts)
        env["ir.config_parameter"].sudo().set_param(
            MARKER,
            json.dumps(dict(counts, at=datetime.now(UTC).isoformat(timespec="seconds"))),
        )
        env.invalidate_all()
        cr.commit()
        rows = [
            ["partners", f"{args.partners:,}", timings["partners"]],
            ["  phone_e164 backfill", f"{args.partners:,}", timings["phone_e164"]],
            ["invoices (+2 lines each)", f"{args.invoices:,}", timings["invoices"]],
            [f"sale orders (+{order_lines:,} lines)", f"{args.orders:,}", timings["orders"]],
            ["cases", f"{cases:,}", timings["cases"]],
            ["interactions", f"{args.interactions:,}", timings["interactions"]],
        ]
        _env.table(
            f"Generated {args.db} ({_env.machine()})",
            [[r[0], r[1], f"{r[2]:.1f}"] for r in rows],
            ["table", "rows", "seconds"],
        )
        cr.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"\ndatabase size {cr.fetchone()[0]}")
    print(f"total elapsed {timedelta(seconds=int(time.perf_counter() - started))}")


if __name__ == "__main__":
    main()
