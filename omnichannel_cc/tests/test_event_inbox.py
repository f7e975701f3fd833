"""The event inbox: one row per delivery, applied in order per conversation,
retried with back-off, dead letters for managers only, never applied twice."""

import json
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, new_test_user, tagged

from ..models import omnichannel_event_inbox as inbox_module

KIND = "_inbox_test_apply"


@tagged("post_install", "-at_install")
class TestEventInbox(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Inbox = cls.env["omnichannel.event.inbox"]
        group = "omnichannel_cc.group_omnichannel_"
        cls.manager = new_test_user(cls.env, "inbox_manager", groups=group + "manager")
        cls.supervisor = new_test_user(cls.env, "inbox_supervisor", groups=group + "supervisor")
        cls.agent = new_test_user(cls.env, "inbox_agent", groups=group + "agent")
        queue = cls.env["omnichannel.queue"].create({"name": "Inbox queue"})
        cls.channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Inbox line",
                "channel_type": "phone",
                "address": "+48 22 555 77 01",
                "queue_id": queue.id,
            }
        )
        cls.other_company = cls.env["res.company"].create({"name": "Inbox Other Co"})
        cls.other_channel = (
            cls.env["omnichannel.channel"]
            .with_company(cls.other_company)
            .create(
                {
                    "name": "Other line",
                    "channel_type": "phone",
                    "address": "+48 22 555 77 02",
                    "queue_id": cls.env["omnichannel.queue"]
                    .with_company(cls.other_company)
                    .create({"name": "Other queue", "company_id": cls.other_company.id})
                    .id,
                    "company_id": cls.other_company.id,
                }
            )
        )
        cls.env["ir.config_parameter"].set_param("omnichannel_cc.inbox_max_attempts", "3")

    def setUp(self):
        super().setUp()
        # what the applying method saw: (conversation, n, company, superuser)
        self.applied = []
        # conversation -> exception to raise on its next call
        self.failures = {}

    @contextmanager
    def _method(self):
        """The interaction method applying the rows of these tests."""
        test = self

        def apply(interaction, channel, payload):
            failure = test.failures.get(payload["conversation"])
            if failure:
                raise failure
            test.applied.append(
                (
                    payload["conversation"],
                    payload["n"],
                    interaction.env.company,
                    interaction.env.su,
                    channel,
                )
            )
            return {"n": payload["n"]}

        Interaction = type(self.env["omnichannel.interaction"])
        with patch.object(Interaction, KIND, apply, create=True):
            yield

    def _receive(self, conversation, n, channel=None, key=None):
        channel = channel or self.channel
        return self.Inbox._receive(
            channel,
            KIND,
            f"test:{channel.id}",
            key or f"{conversation}|{n}",
            conversation,
            {"conversation": conversation, "n": n},
        )

    def _apply(self, **kwargs):
        with self._method():
            return self.Inbox._cron_apply(**kwargs)

    def _rows(self, conversation=None):
        domain = [("kind", "=", KIND)]
        if conversation:
            domain.append(("conversation", "=", conversation))
        return self.Inbox.search(domain, order="id")

    def _make_due(self, rows):
        # the retry's back-off elapsed (the claim compares with the database's clock)
        rows.write({"next_attempt_at": fields.Datetime.now() - timedelta(seconds=1)})
        rows.flush_recordset()

    # ------------------------------------------------------------------
    def test_duplicate_delivery_is_one_row(self):
        first_id, first_dup = self._receive("call-1", 1)
        again_id, again_dup = self._receive("call-1", 1)
        self.assertFalse(first_dup)
        self.assertTrue(again_dup)
        self.assertEqual(again_id, first_id)
        row = self.Inbox.browse(first_id)
        self.assertEqual(len(self._rows()), 1)
        self.assertEqual(row.state, "pending")
        self.assertEqual(row.payload, {"conversation": "call-1", "n": 1})
        self.assertEqual(row.company_id, self.channel.company_id)
        self.assertTrue(row.received_at)

    def test_receipt_wakes_the_cron_once(self):
        cron = self.env.ref("omnichannel_cc.ir_cron_event_inbox")
        Trigger = self.env["ir.cron.trigger"].sudo()
        Trigger.search([("cron_id", "=", cron.id)]).unlink()
        self.env.flush_all()
        self._receive("call-1", 1)
        self._receive("call-1", 2)
        self._receive("call-2", 1)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), 1)

    def test_applier_runs_before_odoos_due_jobs(self):
        """When many jobs are due at once (a node's start, the daily jobs at
        midnight), a free cron thread takes the applier and the ACD sweep
        first: Odoo's cron workers take due jobs in this order."""
        inbox = self.env.ref("omnichannel_cc.ir_cron_event_inbox")
        sweep = self.env.ref("omnichannel_cc.ir_cron_acd_sweep")
        crons = self.env["ir.cron"].search([])
        past = fields.Datetime.now() - timedelta(minutes=5)
        crons.write({"nextcall": past})
        self.env.flush_all()
        ready = [job["id"] for job in self.env["ir.cron"]._get_all_ready_jobs(self.env.cr)]
        self.assertGreater(len(ready), 5, "Odoo's own jobs are due too")
        self.assertEqual(set(ready[:2]), {inbox.id, sweep.id}, ready)
        self.assertEqual((inbox.priority, sweep.priority), (0, 0))
        # among them, Odoo's jobs keep their order (priority 5 by default)
        self.assertTrue(all(cron.priority > 0 for cron in crons - inbox - sweep))

    def test_receipt_wakes_the_cron_despite_a_later_retry(self):
        """A failed row's retry is a trigger in the future: it runs the
        applier then, not now, so a new delivery still wakes it now."""
        cron = self.env.ref("omnichannel_cc.ir_cron_event_inbox")
        Trigger = self.env["ir.cron.trigger"].sudo()
        Trigger.search([("cron_id", "=", cron.id)]).unlink()
        Trigger.create({"cron_id": cron.id, "call_at": fields.Datetime.now() + timedelta(hours=1)})
        self.env.flush_all()
        self._receive("call-1", 1)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), 2)
        self._receive("call-2", 1)
        self.assertEqual(Trigger.search_count([("cron_id", "=", cron.id)]), 2)

    def test_chunk_with_a_failing_row_applies_the_others_once(self):
        """Rows applied under one savepoint; one fails: the chunk is rolled
        back and each row applied alone, the others' work done once."""
        Partner = self.env["res.partner"]

        def apply(interaction, channel, payload):
            if payload["conversation"] == "c3":
                raise RuntimeError("refused by the PBX")
            Partner.create({"name": f"inbox-chunk-{payload['conversation']}"})
            return {"n": payload["n"]}

        for n in range(1, 6):
            self._receive(f"c{n}", 1)
        Interaction = type(self.env["omnichannel.interaction"])
        with patch.object(Interaction, KIND, apply, create=True):
            self.assertEqual(self.Inbox._cron_apply(), 4)
        names = Partner.search([("name", "like", "inbox-chunk-")]).mapped("name")
        self.assertEqual(sorted(names), [f"inbox-chunk-c{n}" for n in (1, 2, 4, 5)])
        self.assertEqual(self._rows("c3").state, "failed")
        self.assertEqual(
            set(self._rows().filtered(lambda r: r.conversation != "c3").mapped("state")), {"done"}
        )

    @contextmanager
    def _chunks_recorded(self):
        """The conversations of each chunk the applier is given, in order."""
        chunks = []
        Inbox = type(self.Inbox)
        original = Inbox._apply_chunk

        def record(inbox, chunk, *args):
            chunks.append([row[5] for row in chunk])
            return original(inbox, chunk, *args)

        with patch.object(Inbox, "_apply_chunk", record):
            yield chunks

    def test_chunks_hold_one_row_per_conversation(self):
        """A conversation's next row goes to a later chunk: its tracking is
        never merged with the row before (one message per change)."""
        for conversation, n in [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("a", 3), ("b", 2)]:
            self._receive(conversation, n)
        with self._chunks_recorded() as chunks:
            self.assertEqual(self._apply(), 6)
        chunks = [chunk for chunk in chunks if chunk]
        # a conversation's next row in the next chunk; the others fill them
        self.assertEqual(chunks, [["a", "b", "c"], ["a", "b"], ["a"]])
        for chunk in chunks:
            self.assertEqual(len(chunk), len(set(chunk)), chunk)

    def test_chunks_shrink_after_a_failure_and_grow_back(self):
        """A chunk that fails is applied again row by row, and the next one
        is half as big; each success doubles it again, up to CHUNK_SIZE."""
        for n in range(1, 13):
            self._receive(f"c{n}", 1)
        self.failures["c2"] = RuntimeError("refused by the PBX")
        with patch.object(inbox_module, "CHUNK_SIZE", 4), self._chunks_recorded() as chunks:
            self.assertEqual(self._apply(), 11)
        self.assertEqual([len(chunk) for chunk in chunks], [4, 2, 4, 2])
        self.assertEqual(self._rows("c2").state, "failed")
        self.assertEqual(set(self._rows().mapped("state")), {"done", "failed"})
        self.assertEqual(len(self._rows().filtered(lambda row: row.state == "done")), 11)

    def test_order_per_conversation_interleaved(self):
        for conversation, n in [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2), ("a", 3)]:
            self._receive(conversation, n)
        self.assertEqual(self._apply(), 6)
        seen = [(conversation, n) for conversation, n, *_rest in self.applied]
        for conversation in "abc":
            mine = [n for c, n in seen if c == conversation]
            self.assertEqual(mine, sorted(mine), conversation)
        rows = self._rows()
        self.assertEqual(set(rows.mapped("state")), {"done"})
        self.assertTrue(all(rows.mapped("applied_at")))
        self.assertEqual(rows[0].result, {"n": 1})
        # as the webhook applied it: superuser, in the channel's company
        _c, _n, company, su, channel = self.applied[0]
        self.assertTrue(su)
        self.assertEqual(company, self.channel.company_id)
        self.assertEqual(channel, self.channel)

    def test_failing_row_blocks_only_its_conversation(self):
        self._receive("a", 1)
        self._receive("b", 1)
        self._receive("a", 2)
        self._receive("b", 2)
        self.failures["a"] = RuntimeError("PBX record locked")
        self.assertEqual(self._apply(), 2)
        a1, a2 = self._rows("a")
        self.assertEqual(a1.state, "failed")
        self.assertEqual(a1.attempts, 1)
        self.assertIn("PBX record locked", a1.last_error)
        self.assertGreater(a1.next_attempt_at, fields.Datetime.now())
        # the later row of the same call waits behind it, the other call went on
        self.assertEqual(a2.state, "pending")
        self.assertEqual(self._rows("b").mapped("state"), ["done", "done"])
        # not due yet: another run applies nothing of "a"
        self.assertEqual(self._apply(), 0)
        self.assertEqual(a2.state, "pending")
        # the back-off elapsed and the cause is gone: both, in order
        del self.failures["a"]
        self._make_due(a1)
        self.assertEqual(self._apply(), 2)
        self.assertEqual((a1 | a2).mapped("state"), ["done", "done"])
        self.assertEqual([n for c, n, *_r in self.applied if c == "a"], [1, 2])
        self.assertEqual(a1.attempts, 1)
        self.assertFalse(a1.last_error)

    def test_back_off_grows(self):
        self._receive("a", 1)
        self.failures["a"] = RuntimeError("down")
        self._apply()
        row = self._rows("a")
        first = row.next_attempt_at - fields.Datetime.now()
        self._make_due(row)
        self._apply()
        self.assertEqual(row.attempts, 2)
        second = row.next_attempt_at - fields.Datetime.now()
        self.assertGreater(second, first)

    def test_dead_letter_after_the_limit_and_retry(self):
        self._receive("a", 1)
        self._receive("a", 2)
        self.failures["a"] = RuntimeError("still down")
        row = self._rows("a")[0]
        for _attempt in range(3):
            self._make_due(row)
            self._apply()
        self.assertEqual(row.state, "dead")
        self.assertEqual(row.attempts, 3)
        self.assertFalse(row.next_attempt_at)
        # a dead letter holds nothing back: the call's next row was tried at
        # once (and failed, same cause); applied once the cause is gone
        later = self._rows("a")[1]
        self.assertEqual(later.state, "failed")
        del self.failures["a"]
        self._make_due(later)
        self._apply()
        self.assertEqual(later.state, "done")
        # a manager sees it and retries it
        dead = self.Inbox.with_user(self.manager).search([("state", "=", "dead")])
        self.assertEqual(dead, row.with_user(self.manager))
        dead.action_retry()
        self.assertEqual(row.state, "pending")
        self.assertEqual(row.attempts, 0)
        self._apply()
        self.assertEqual(row.state, "done")
        self.assertEqual([n for c, n, *_r in self.applied if c == "a"], [2, 1])

    def test_refused_data_is_dead_at_once_and_discarded(self):
        self._receive("a", 1)
        self.failures["a"] = UserError("No user has the extension 999.")
        self._apply()
        row = self._rows("a")
        self.assertEqual(row.state, "dead")
        self.assertEqual(row.attempts, 1)
        self.assertIn("extension 999", row.last_error)
        row.with_user(self.manager).action_discard()
        self.assertEqual(row.state, "discarded")
        with self.assertRaises(UserError):
            row.with_user(self.manager).action_retry()

    def test_unknown_kind_is_dead(self):
        row_id, _dup = self.Inbox._receive(
            self.channel, "_no_such_method", "test:x", "k1", "a", {"n": 1}
        )
        self._apply()
        row = self.Inbox.browse(row_id)
        self.assertEqual(row.state, "dead")
        self.assertIn("_no_such_method", row.last_error)

    def test_access(self):
        self._receive("a", 1)
        other_id, _dup = self._receive("z", 1, channel=self.other_channel)
        self.failures["a"] = UserError("refused")
        self.failures["z"] = UserError("refused")
        self._apply()
        mine = self._rows("a")
        for user in (self.agent, self.supervisor):
            with self.assertRaises(AccessError):
                self.Inbox.with_user(user).search([])
            with self.assertRaises(AccessError):
                mine.with_user(user).action_retry()
            with self.assertRaises(AccessError):
                mine.with_user(user).action_discard()
        # managers read, never write directly
        as_manager = self.Inbox.with_user(self.manager)
        self.assertIn(mine.id, as_manager.search([]).ids)
        with self.assertRaises(AccessError):
            mine.with_user(self.manager).write({"state": "done"})
        with self.assertRaises(AccessError):
            mine.with_user(self.manager).unlink()
        # multi-company: another company's rows stay out of sight
        self.assertNotIn(other_id, as_manager.search([]).ids)
        self.manager.company_ids += self.other_company
        as_both = as_manager.with_context(
            allowed_company_ids=[self.manager.company_id.id, self.other_company.id]
        )
        self.assertIn(other_id, as_both.search([]).ids)

    def test_a_batch_of_rows_in_one_run(self):
        for n in range(45):
            self._receive(f"call-{n % 7}", n)
        with self._method():
            applied = self.Inbox._cron_apply(batch_size=10)
        self.assertEqual(applied, 45)
        self.assertEqual(len(self.applied), 45)
        self.assertEqual(set(self._rows().mapped("state")), {"done"})

    def test_a_batch_is_marked_done_in_one_statement(self):
        """The per-row cost of the applier is the row's savepoint and the
        applying method; the batch's rows are read and marked done together."""

        def queries(count, batch):
            for n in range(count):
                self._receive(f"q{batch}-{n}", n)
            before = self.env.cr.sql_log_count
            with self._method():
                self.assertEqual(self.Inbox._apply_batch(), (count, count))
            return self.env.cr.sql_log_count - before

        few, many = queries(5, "a"), queries(25, "b")
        # SAVEPOINT and RELEASE per row, nothing else grows with the batch
        self.assertLessEqual(many - few, 20 * 2)
        rows = self._rows()
        self.assertEqual(set(rows.mapped("state")), {"done"})
        self.assertEqual(sorted(row.result["n"] for row in rows), sorted([*range(5), *range(25)]))
        for row in rows:
            self.assertGreaterEqual(row.applied_at, row.received_at)
            self.assertFalse(row.next_attempt_at)

    def test_bulk_done_refuses_a_row_not_due(self):
        row_id, _dup = self._receive("z", 1)
        self.failures["z"] = UserError("refused")
        self._apply()
        row = self.Inbox.browse(row_id)
        self.assertEqual(row.state, "dead")
        with self.assertRaises(UserError), self.env.cr.savepoint():
            self.Inbox._set_done([(row_id, {"n": 1}, datetime.now(UTC).replace(tzinfo=None))])
        row.invalidate_recordset()
        self.assertEqual(row.state, "dead")

    def test_never_applied_twice(self):
        row_id, _dup = self._receive("a", 1)
        self._apply()
        row = self.Inbox.browse(row_id)
        self.assertEqual(row.state, "done")
        # a done row is never claimed again, nor set done again
        self.assertEqual(self._apply(), 0)
        self.assertEqual(len(self.applied), 1)
        with self.assertRaises(UserError):
            row._set_state("done")
        # the same delivery again: nothing new to apply
        _same, duplicate = self._receive("a", 1)
        self.assertTrue(duplicate)
        self.assertEqual(self._apply(), 0)
        self.assertEqual(len(self.applied), 1)

    def test_vacuum_forgets_old_applied_rows(self):
        self._receive("a", 1)
        self._receive("b", 1)
        self.failures["b"] = UserError("refused")
        self._apply()
        old = fields.Datetime.now() - timedelta(days=8)
        self.env.cr.execute(
            "UPDATE omnichannel_event_inbox SET received_at = %s WHERE kind = %s", (old, KIND)
        )
        self.Inbox.invalidate_model()
        self.Inbox._gc_applied()
        # the applied row goes, the dead letter stays for a manager
        self.assertEqual(self._rows().mapped("conversation"), ["b"])

    def test_payload_shown_as_text(self):
        row_id, _dup = self._receive("a", 1)
        row = self.Inbox.browse(row_id)
        self.assertEqual(json.loads(row.payload_text), {"conversation": "a", "n": 1})
        self.assertIn("a", row.display_name)

    def test_a_row_received_this_second_is_due(self):
        """The claim compares to the microsecond: a row stamped a moment ago
        (within the current second) is applied in this run, not the next."""
        row_id, _dup = self._receive("a", 1)
        moment = datetime.now(UTC).replace(tzinfo=None) - timedelta(milliseconds=1)
        self.env.cr.execute(
            "UPDATE omnichannel_event_inbox SET next_attempt_at = %s WHERE id = %s",
            (moment, row_id),
        )
        self.assertEqual(self._apply(), 1)
        self.assertEqual(self.Inbox.browse(row_id).state, "done")
