"""The inbox's cron commits its batches only in a cron worker's run.

"Run manually" (``ir.cron.method_direct_trigger``) holds the job's row lock
in the request's own transaction: a commit there would release it, and a cron
worker of another node could run the job at the same time (shown across two
nodes by tests/e2e/test_multinode.py)."""

import threading
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import TransactionCase, tagged

KIND = "_inbox_manual_run_test_apply"


@tagged("post_install", "-at_install")
class TestEventInboxManualRun(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Inbox = cls.env["omnichannel.event.inbox"]
        cls.cron = cls.env.ref("omnichannel_cc.ir_cron_event_inbox")
        queue = cls.env["omnichannel.queue"].create({"name": "Manual run queue"})
        cls.channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Manual run line",
                "channel_type": "phone",
                "address": "+48 22 555 77 09",
                "queue_id": queue.id,
            }
        )

    def _run(self, **context):
        """Three due rows applied in batches of two: (rows applied, commits)."""
        ids = [
            self.Inbox._receive(
                self.channel, KIND, f"manual:{self.channel.id}", f"m|{n}", "m", {"n": n}
            )[0]
            for n in range(3)
        ]
        # due before the claim's clock (fields.Datetime.now(), whole seconds)
        rows = self.Inbox.browse(ids)
        rows.write({"next_attempt_at": fields.Datetime.now() - timedelta(seconds=1)})
        rows.flush_recordset()
        Interaction = type(self.env["omnichannel.interaction"])
        with (
            patch.object(Interaction, KIND, lambda _rec, _channel, payload: payload, create=True),
            # the commit is counted, never made; the test thread's guard lifted
            patch.object(self.env.cr, "commit") as commit,
            patch.object(threading.current_thread(), "testing", False),
        ):
            done = self.Inbox.with_context(**context)._cron_apply(batch_size=2)
        return done, commit.call_count

    def test_cron_worker_commits_each_batch(self):
        # ir.cron._run_job puts the job's id in the context
        self.assertEqual(self._run(cron_id=self.cron.id), (3, 2))

    def test_manual_run_never_commits(self):
        # method_direct_trigger does not: its lock lives in this transaction
        done, commits = self._run()
        self.assertEqual(done, 3)
        self.assertEqual(commits, 0)
