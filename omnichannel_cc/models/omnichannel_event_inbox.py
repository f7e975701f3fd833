"""The inbox of fire-and-forget webhook deliveries.

A signed webhook whose sender only needs to hear "received" (PBX events,
delivery reports, messenger events) is answered as soon as its delivery is
checked and stored: one ``INSERT ... ON CONFLICT DO NOTHING`` keyed by the
event's idempotency key (:meth:`_receive`), committed before the 200 goes
out. The applier cron (:meth:`_cron_apply`) then applies the rows in batches,
in order of receipt within each conversation (a call, a message), as
superuser in the row's company: the environment the webhook used to apply it
at once. Up to :data:`CHUNK_SIZE` rows of different conversations share a
savepoint (one flush, one run of the tracking and bus hooks, one pass of the
ACD); when one of them fails, the chunk is rolled back and each row applied
in a savepoint of its own, and the next chunks are smaller for a while. A
failing row is retried with back-off and holds back the later rows of its
conversation only; after ``omnichannel_cc.inbox_max_attempts`` attempts (at once for a
``UserError`` / ``ValidationError``: the data are refused, not the moment)
it is a dead letter, which managers retry or discard.

No row is applied twice: a row is claimed ``FOR UPDATE SKIP LOCKED`` and
marked done in the transaction that applied it, and the methods applying
rows keep their own idempotency keys (``omnichannel.event.key``).
"""

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg2
from psycopg2 import errorcodes

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

CRON_XMLID = "omnichannel_cc.ir_cron_event_inbox"
BATCH_SIZE = 200
# rows applied under one savepoint (one flush, one run of the precommit
# hooks: the tracking messages and bus notifications of the chunk created
# together, one pass of the ACD for its new calls); at most one row per
# conversation, so no call's tracking merges. Measured (bench_ingest, 8 PBX
# clients): 20 rows 70.8 events/s, 50 rows 113.6, 100 rows 134.1. After a
# chunk fails (rolled back, its rows applied alone) the next ones are half
# as big, down to one row, and grow back twice as big after each success:
# a PBX that sends many refused events, or agents' actions conflicting with
# the applier, cost a few small chunks, not every big one.
CHUNK_SIZE = 100
# a chunk is filled from this many next rows (twice its size): rows of other
# conversations may be applied before a waiting one's next row, never further
# apart (all of them commit together, with the batch)
CHUNK_WINDOW_FACTOR = 2
# one cron run stops claiming batches after this (the cron worker's other jobs wait)
TIME_BUDGET = 50.0
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_KEEP_DAYS = 7
# back-off of a failed row: 10 s, 20 s, 40 s ... at most an hour
RETRY_BASE = 10
RETRY_MAX = 3600
# a conflict with a concurrent transaction: the row waits for the next batch
TRANSIENT_PGCODES = (
    errorcodes.SERIALIZATION_FAILURE,
    errorcodes.DEADLOCK_DETECTED,
    errorcodes.LOCK_NOT_AVAILABLE,
)

# the one state machine: every transition goes through _set_state
TRANSITIONS = {
    "pending": {"done", "failed", "dead"},
    "failed": {"done", "failed", "dead"},
    "dead": {"pending", "discarded"},
    "done": set(),
    "discarded": set(),
}


def _utcnow():
    """Now, naive UTC to the microsecond (``fields.Datetime.now()`` drops
    them: a row received this very second would not be due yet)."""
    return datetime.now(UTC).replace(tzinfo=None)


def retry_delay(attempts):
    """Seconds before the next attempt of a row that failed ``attempts`` times."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_MAX)


class OmnichannelEventInbox(models.Model):
    _name = "omnichannel.event.inbox"
    _description = "Contact center event inbox"
    _order = "id desc"
    # rows are inserted by one raw statement at receipt: received_at instead
    _log_access = False

    channel_id = fields.Many2one(
        "omnichannel.channel", required=True, readonly=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True)
    kind = fields.Char(
        required=True, readonly=True, help="The method of omnichannel.interaction applying it."
    )
    conversation = fields.Char(
        "Conversation key",
        readonly=True,
        help="Call id, message id ...: the rows of one conversation are applied in "
        "order of receipt.",
    )
    scope = fields.Char(required=True, readonly=True)
    key = fields.Char("Idempotency key", required=True, readonly=True)
    payload = fields.Json("Payload data", readonly=True)
    payload_text = fields.Text("Payload", compute="_compute_payload_text")
    received_at = fields.Datetime(required=True, readonly=True, index=True)
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("done", "Applied"),
            ("failed", "Failed, retrying"),
            ("dead", "Dead letter"),
            ("discarded", "Discarded"),
        ],
        required=True,
        default="pending",
        readonly=True,
    )
    attempts = fields.Integer(readonly=True)
    next_attempt_at = fields.Datetime(readonly=True)
    last_error = fields.Text(readonly=True)
    applied_at = fields.Datetime(readonly=True)
    result = fields.Json("Result data", readonly=True)
    result_text = fields.Text("Result", compute="_compute_payload_text")
    # an agent reserved at receipt (a PBX's /route answered before its call is
    # written): counted in the agent's load until the row's call exists
    # (omnichannel.agent._loads_of_users)
    reserved_user_id = fields.Many2one("res.users", "Reserved agent", readonly=True)
    reserved_channel_type = fields.Char(readonly=True)

    _sql_constraints = [
        ("scope_key_uniq", "unique(scope, key)", "This event is already in the inbox."),
    ]

    def init(self):
        # the applier's claim: due rows in order of receipt
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS omnichannel_event_inbox_due_idx
                   ON omnichannel_event_inbox (id)
                WHERE state IN ('pending', 'failed')"""
        )
        # "an earlier row of this conversation still waits"
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS omnichannel_event_inbox_conversation_idx
                   ON omnichannel_event_inbox (scope, conversation, id)
                WHERE state IN ('pending', 'failed')"""
        )
        # the agents' reservations still waiting for their call (the loads)
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS omnichannel_event_inbox_reserved_idx
                   ON omnichannel_event_inbox (reserved_user_id)
                WHERE reserved_user_id IS NOT NULL AND state IN ('pending', 'failed')"""
        )
        # the dead letters' menu and the vacuum
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS omnichannel_event_inbox_state_idx
                   ON omnichannel_event_inbox (state, received_at)"""
        )

    @api.depends("payload", "result")
    def _compute_payload_text(self):
        for row in self:
            row.payload_text = json.dumps(row.payload, indent=2, ensure_ascii=False)
            row.result_text = (
                json.dumps(row.result, indent=2, ensure_ascii=False) if row.result else False
            )

    @api.depends("kind", "conversation")
    def _compute_display_name(self):
        for row in self:
            row.display_name = f"{row.kind} {row.conversation or row.key}"

    # ------------------------------------------------------------------
    # Actions (managers, on dead letters)
    # ------------------------------------------------------------------
    def action_retry(self):
        """Apply the dead letters again (the next run of the applier)."""
        self.check_access("read")
        dead = self.filtered(lambda row: row.state == "dead")
        if not dead:
            raise UserError(_("Only dead letters can be retried."))
        # sudo: managers read the inbox; its rows change only by these transitions
        dead.sudo()._set_state("pending", attempts=0, next_attempt_at=fields.Datetime.now())
        # sudo: managers may not write crons; this one only wakes up
        self.env.ref(CRON_XMLID).sudo()._trigger()
        return True

    def action_discard(self):
        """Give the dead letters up: never applied; vacuumed with the applied rows."""
        self.check_access("read")
        dead = self.filtered(lambda row: row.state == "dead")
        if not dead:
            raise UserError(_("Only dead letters can be discarded."))
        # sudo: managers read the inbox; its rows change only by these transitions
        dead.sudo()._set_state("discarded", next_attempt_at=False)
        return True

    # ------------------------------------------------------------------
    # State machine
    # ------------------------------------------------------------------
    def _set_state(self, state, **values):
        """The one transition of the rows ``self`` to ``state``, with the
        other ``values`` written alongside."""
        for row in self:
            if state not in TRANSITIONS[row.state]:
                raise UserError(
                    _(
                        "An inbox row cannot go from %(old)s to %(new)s.",
                        old=row.state,
                        new=state,
                    )
                )
        if state == "done":
            # to the microsecond, as received_at: the delay is measured on them
            values.setdefault("applied_at", _utcnow())
            values.setdefault("next_attempt_at", False)
        self.write(dict(values, state=state))

    @api.model
    def _set_done(self, done):
        """``_set_state("done", result=..., last_error=False)`` of many rows
        at once, ``done`` being ``(id, result, applied_at)`` tuples: one
        statement for a batch of the applier. Only rows that may go to done
        (pending, retrying) move; the others raise, as ``_set_state`` does."""
        if not done:
            return
        sources = [old for old, targets in TRANSITIONS.items() if "done" in targets]
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """UPDATE omnichannel_event_inbox row
                      SET state = 'done', result = applied.result::jsonb,
                          applied_at = applied.applied_at::timestamp,
                          last_error = NULL, next_attempt_at = NULL
                     FROM (VALUES %s) AS applied (id, result, applied_at)
                    WHERE row.id = applied.id AND row.state = ANY(%s)
                RETURNING row.id""",
                SQL(", ").join(
                    SQL("(%s, %s, %s)", row_id, json.dumps(result) if result else None, applied_at)
                    for row_id, result, applied_at in done
                ),
                sources,
            )
        )
        moved = {row[0] for row in self.env.cr.fetchall()}
        ids = [row_id for row_id, _result, _at in done]
        self.browse(ids).invalidate_recordset(
            ["state", "result", "applied_at", "last_error", "next_attempt_at"]
        )
        if len(moved) != len(ids):
            stuck = self.browse([row_id for row_id in ids if row_id not in moved])
            raise UserError(
                _(
                    "Inbox rows %(ids)s cannot be marked applied from their state.",
                    ids=", ".join(str(row_id) for row_id in stuck.ids),
                )
            )

    # ------------------------------------------------------------------
    # Receipt (the webhook's request)
    # ------------------------------------------------------------------
    @api.model
    def _receive(self, channel, kind, scope, key, conversation, values, reservation=None):
        """Store one checked delivery: ``(inbox_id, duplicate)``.

        ``reservation``: ``(user_id, channel_type)`` of an agent the row
        holds until its call exists (see ``reserved_user_id``).

        One statement inserts the row (nothing when its key is there
        already: a redelivery) and wakes the applier cron, unless a
        trigger newer than the cron's last start is due already (that run
        comes after this one's commit; a retry's trigger set later on does
        not count). Under REPEATABLE READ a
        concurrent delivery of the same key raises a serialization failure,
        which Odoo retries; the retry finds the row (in the same statement:
        one round trip, duplicate or not)."""
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(CRON_XMLID)
        self.env.cr.execute(
            SQL(
                """WITH new AS (
                       INSERT INTO omnichannel_event_inbox
                              (channel_id, company_id, kind, conversation, scope, key,
                               payload, state, attempts, received_at, next_attempt_at,
                               reserved_user_id, reserved_channel_type)
                       VALUES (%(channel)s, %(company)s, %(kind)s, %(conversation)s,
                               %(scope)s, %(key)s, %(payload)s::jsonb, 'pending', 0,
                               clock_timestamp() AT TIME ZONE 'UTC',
                               now() AT TIME ZONE 'UTC', %(reserved)s, %(reserved_type)s)
                       ON CONFLICT (scope, key) DO NOTHING
                       RETURNING id
                   ), wake AS (
                       INSERT INTO ir_cron_trigger
                              (cron_id, call_at, create_uid, create_date, write_uid, write_date)
                       SELECT %(cron)s, clock_timestamp() AT TIME ZONE 'UTC', %(uid)s,
                              now() AT TIME ZONE 'UTC', %(uid)s, now() AT TIME ZONE 'UTC'
                        WHERE EXISTS (SELECT 1 FROM new)
                          AND NOT EXISTS (
                              -- due now (a retry's trigger later on wakes
                              -- the applier then, not for this delivery)
                              SELECT 1 FROM ir_cron_trigger
                               WHERE cron_id = %(cron)s
                                 AND call_at <= clock_timestamp() AT TIME ZONE 'UTC'
                                 AND call_at >= COALESCE(
                                     (SELECT max(create_date) FROM ir_cron_progress
                                       WHERE cron_id = %(cron)s),
                                     '-infinity'))
                       RETURNING id
                   )
                   SELECT (SELECT id FROM new), (SELECT count(*) FROM wake),
                          -- as of the statement snapshot: the first row of a redelivery
                          (SELECT id FROM omnichannel_event_inbox
                            WHERE scope = %(scope)s AND key = %(key)s)""",
                channel=channel.id,
                company=channel.company_id.id,
                kind=kind,
                conversation=conversation,
                scope=scope,
                key=key,
                payload=json.dumps(values),
                reserved=reservation[0] if reservation else None,
                reserved_type=reservation[1] if reservation else None,
                cron=cron_id,
                uid=self.env.uid,
            ),
            log_exceptions=False,
        )
        inbox_id, woken, first_id = self.env.cr.fetchone()
        if woken:
            # the cron workers hear it after the commit, as ir.cron._trigger does
            cron = self.env["ir.cron"].browse(cron_id)
            self.env.cr.postcommit.add(cron._notifydb)
        if inbox_id:
            return inbox_id, False
        return first_id, True

    # ------------------------------------------------------------------
    # Applier (the cron)
    # ------------------------------------------------------------------
    @api.model
    def _cron_apply(self, batch_size=BATCH_SIZE, time_budget=TIME_BUDGET):
        """Apply the due rows in batches, one commit per batch, until none
        is due or the time budget is spent; the count of rows applied."""
        started = time.monotonic()
        done = 0
        while True:
            applied, claimed = self._apply_batch(batch_size)
            done += applied
            if not claimed:
                break
            remaining = self._count_due()
            self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
            if self.env.context.get("cron_id") and not getattr(
                threading.current_thread(), "testing", False
            ):
                # a cron worker's run may commit: each batch is kept once
                # applied (the job's row lock is held by its own connection).
                # "Run manually" holds that lock in this very transaction: a
                # commit would free it, and another node could run the job too
                self.env.cr.commit()
            if not remaining or time.monotonic() - started > time_budget:
                break
        return done

    @api.model
    def _count_due(self):
        self.env.cr.execute(
            SQL(
                """SELECT count(*) FROM omnichannel_event_inbox
                    WHERE state IN ('pending', 'failed') AND next_attempt_at <= %s""",
                _utcnow(),
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _claim_batch(self, limit):
        """The due rows, oldest first, locked for this transaction: none
        behind an earlier row of its conversation that waits for a retry.
        Read in the same statement (no ORM read per row): ``(id, channel_id,
        company_id, kind, scope, conversation, payload)`` tuples."""
        self.flush_model()
        # the clock the retries were scheduled with (not the transaction's
        # start), to the microsecond as the receipt's stamp
        self.env.cr.execute(
            SQL(
                """SELECT row.id, row.channel_id, row.company_id, row.kind, row.scope,
                          row.conversation, row.payload
                     FROM omnichannel_event_inbox row
                    WHERE row.state IN ('pending', 'failed')
                      AND row.next_attempt_at <= %(now)s
                      AND NOT EXISTS (
                          SELECT 1 FROM omnichannel_event_inbox earlier
                           WHERE earlier.scope = row.scope
                             AND earlier.conversation = row.conversation
                             AND earlier.id < row.id
                             AND earlier.state IN ('pending', 'failed')
                             AND earlier.next_attempt_at > %(now)s)
                    ORDER BY row.id
                    LIMIT %(limit)s
                      FOR UPDATE OF row SKIP LOCKED""",
                now=_utcnow(),
                limit=limit,
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _apply_batch(self, limit=BATCH_SIZE):
        """Claim and apply one batch: ``(applied, claimed)`` counts. A
        failing row holds back the later rows of its conversation (they stay
        pending for a later batch, behind it). The applied rows are marked
        done together, in the transaction that applied them."""
        claimed = self._claim_batch(limit)
        if not claimed:
            return 0, 0
        # sudo: a technical setting the applier reads, whoever runs it
        params = self.env["ir.config_parameter"].sudo()
        max_attempts = int(
            params.get_param("omnichannel_cc.inbox_max_attempts", DEFAULT_MAX_ATTEMPTS)
        )
        targets = {}  # (channel, company): the interaction model applying its rows
        blocked = set()
        done = []  # (id, result, applied_at)
        remaining = claimed
        size = CHUNK_SIZE
        while remaining:
            chunk, remaining = self._next_chunk(remaining, blocked, size)
            if self._apply_chunk(chunk, targets, blocked, done, max_attempts):
                size = min(size * 2, CHUNK_SIZE)
            else:
                size = max(size // 2, 1)
        self._set_done(done)
        return len(done), len(claimed)

    @classmethod
    def _next_chunk(cls, rows, blocked, size):
        """``(chunk, rest)``: up to ``size`` of the claimed ``rows`` (in
        order of receipt) to apply together, taken from the next
        :data:`CHUNK_WINDOW_FACTOR` times ``size`` ones, at most one per
        conversation (a conversation's later rows wait in ``rest``, in
        order); the rows of ``blocked`` conversations dropped."""
        chunk, rest, seen = [], [], set()
        for index, row in enumerate(rows):
            if index >= CHUNK_WINDOW_FACTOR * size:
                rest.extend(rows[index:])
                break
            unit = cls._unit(row)
            if unit in blocked:
                continue
            if len(chunk) >= size or (unit is not None and unit in seen):
                rest.append(row)
            else:
                chunk.append(row)
            if unit is not None:
                seen.add(unit)
        return chunk, rest

    @staticmethod
    def _unit(row):
        """The conversation of a claimed row (``(scope, conversation)``),
        whose rows are applied in order; None for a row without one."""
        _row_id, _channel_id, _company_id, _kind, scope, conversation, _payload = row
        return (scope, conversation) if conversation else None

    @api.model
    def _apply_chunk(self, chunk, targets, blocked, done, max_attempts):
        """Apply claimed rows (at most one per conversation) under one
        savepoint: one flush and one run of the precommit hooks for all.
        When any of them fails, the savepoint is rolled back and each row is
        applied again in its own (:meth:`_apply_row`), so that a failing row
        rolls back its own work only. Returns whether every row was applied
        at the first try (the next chunk's size depends on it)."""
        chunk = [row for row in chunk if self._unit(row) not in blocked]
        if not chunk:
            return True
        if len(chunk) > 1:
            results = []
            try:
                # the chunk's new contacts offered in one pass of the ACD, after its rows
                acd = self.env["omnichannel.queue"]._dispatch_deferred()
                with self.env.cr.savepoint(), acd:
                    for row_id, channel_id, company_id, kind, _s, _c, payload in chunk:
                        target = self._target(targets, channel_id, company_id)
                        results.append((row_id, self._apply_kind(target, kind, payload)))
                        # the row's writes in the database before the next row
                        # (the ACD reads agents and calls in SQL), as after a
                        # savepoint of its own; the hooks run once, at the end
                        self.env.flush_all()
            except Exception:  # noqa: BLE001 -- each row again, alone: its failure is its own
                self.env.invalidate_all()
            else:
                applied_at = _utcnow()
                done.extend((row_id, result, applied_at) for row_id, result in results)
                return True
        applied = len(done)
        for row in chunk:
            if self._unit(row) not in blocked:
                self._apply_row(row, targets, blocked, done, max_attempts)
        return len(chunk) == 1 and len(done) > applied

    @api.model
    def _apply_row(self, row, targets, blocked, done, max_attempts):
        """Apply one claimed row in its own savepoint: a failure is recorded
        on the row (retried or dead) and holds its conversation back."""
        row_id, channel_id, company_id, kind, _scope, _conversation, payload = row
        unit = self._unit(row)
        try:
            # it flushes, and runs the precommit hooks (tracking) of the row
            with self.env.cr.savepoint():
                result = self._apply_kind(
                    self._target(targets, channel_id, company_id), kind, payload
                )
        except psycopg2.OperationalError as error:
            if error.pgcode not in TRANSIENT_PGCODES:
                raise
            # a concurrent transaction won: a fresh snapshot in the next batch
            self.env.invalidate_all()
            blocked.add(unit)
            _logger.info("Inbox row %s conflicted, applied in the next batch", row_id)
        except Exception as error:  # noqa: BLE001 -- any failure is the row's
            self.env.invalidate_all()
            # sudo: the applier records the attempt, whoever runs it
            self.sudo().browse(row_id)._failed(error, max_attempts)
            if unit:
                blocked.add(unit)
        else:
            # once its savepoint is released (flushed, tracked); to the
            # microsecond, as received_at: the delay is measured on them
            done.append((row_id, result, _utcnow()))

    @api.model
    def _target(self, targets, channel_id, company_id):
        """The target of a row's channel and company, made once per batch."""
        target = targets.get((channel_id, company_id))
        if target is None:
            target = targets[channel_id, company_id] = self._apply_target(channel_id, company_id)
        return target

    @api.model
    def _apply_target(self, channel_id, company_id):
        """``(channel, interactions)`` applying the rows of a channel: as the
        webhook would have, superuser in the row's company."""
        env = self.env(user=SUPERUSER_ID, su=True)
        channel = env["omnichannel.channel"].browse(channel_id).with_company(company_id)
        return channel, channel.env["omnichannel.interaction"]

    @api.model
    def _apply_kind(self, target, kind, payload):
        channel, interaction = target
        if not kind.startswith("_") or not hasattr(interaction, kind):
            raise UserError(_("No method %(kind)s applies inbox rows.", kind=kind))
        return getattr(interaction, kind)(channel, payload)

    def _apply(self):
        """Apply one row as the webhook would have: superuser, in the row's company."""
        self.ensure_one()
        target = self._apply_target(self.channel_id.id, self.company_id.id)
        return self._apply_kind(target, self.kind, self.payload)

    def _failed(self, error, max_attempts):
        """Record a failed attempt: retried later, or a dead letter (at the
        limit, or at once when the data are refused)."""
        self.ensure_one()
        refused = isinstance(error, UserError | ValidationError)
        message = str(error.args[0] if error.args else error) or type(error).__name__
        attempts = self.attempts + 1
        if refused or attempts >= max_attempts:
            _logger.warning("Inbox row %s is a dead letter: %s", self.id, message)
            self._set_state("dead", attempts=attempts, last_error=message, next_attempt_at=False)
            return
        when = fields.Datetime.now() + timedelta(seconds=retry_delay(attempts))
        _logger.info("Inbox row %s failed (attempt %s): %s", self.id, attempts, message)
        self._set_state("failed", attempts=attempts, last_error=message, next_attempt_at=when)
        self.env.ref(CRON_XMLID)._trigger(when)

    @api.autovacuum
    def _gc_applied(self):
        """Forget the applied and discarded rows after
        ``omnichannel_cc.inbox_keep_days`` days (dead letters stay)."""
        # sudo: a technical setting the vacuum reads
        params = self.env["ir.config_parameter"].sudo()
        days = int(params.get_param("omnichannel_cc.inbox_keep_days", DEFAULT_KEEP_DAYS))
        self.env.cr.execute(
            SQL(
                """DELETE FROM omnichannel_event_inbox
                    WHERE state IN ('done', 'discarded')
                      AND received_at < now() AT TIME ZONE 'UTC' - %s * interval '1 day'""",
                days,
            )
        )
        _logger.info("Inbox vacuum: %s applied rows forgotten", self.env.cr.rowcount)
