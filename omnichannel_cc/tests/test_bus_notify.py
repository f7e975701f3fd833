import json
import logging
import secrets
import select
import time
from unittest.mock import Mock

import psycopg2
from psycopg2 import sql

import odoo
from odoo.tests import TransactionCase, tagged

from odoo.addons.omnichannel_cc.models import bus_bus
from odoo.addons.omnichannel_cc.tools.bus_notify import KeptNotifier


def listening(cls, channel):
    """A real second connection to the dispatcher's database (``postgres``)
    listening on ``channel``, closed after the test class ``cls``."""
    _db, info = odoo.sql_db.connection_info_for("postgres")
    listener = psycopg2.connect(**info)
    listener.autocommit = True
    cls.addClassCleanup(listener.close)
    with listener.cursor() as cr:
        cr.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
    return listener


@tagged("post_install", "-at_install")
class TestBusNotify(TransactionCase):
    """The dispatcher's ``LISTEN imbus`` on the ``postgres`` database, as a
    real second connection: what it hears, and from which backend."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.listener = listening(cls, "imbus")
        # channel -> backend pids that notified it, heard while waiting for another
        cls.heard = {}

    def _channel(self):
        return f"omnichannel-bus-notify-test-{secrets.token_hex(6)}"

    def _heard(self, channel, timeout=10.0):
        """The backend pids that notified ``channel`` (polled until one came
        or ``timeout`` seconds passed)."""
        deadline = time.monotonic() + timeout
        while channel not in self.heard and time.monotonic() < deadline:
            select.select([self.listener], [], [], 0.2)
            self.listener.poll()
            while self.listener.notifies:
                notify = self.listener.notifies.pop(0)
                for entry in json.loads(notify.payload):
                    self.heard.setdefault(entry[-1], []).append(notify.pid)
        return self.heard.pop(channel, [])

    def _send_and_commit(self, channel):
        """What a request does: a notification, its row before commit, the
        NOTIFY after (this test's transaction is rolled back afterwards)."""
        self.env["bus.bus"]._sendone(channel, "omnichannel_test", {"n": 1})
        self.env.cr.precommit.run()
        self.env.cr.postcommit.run()

    def test_requests_notify_on_one_kept_connection(self):
        first, second = self._channel(), self._channel()
        self._send_and_commit(first)
        heard_first = self._heard(first)
        self._send_and_commit(second)
        heard_second = self._heard(second)
        self.assertEqual(len(heard_first), 1, "the first notification reached the listener once")
        self.assertEqual(len(heard_second), 1, "the second notification reached the listener once")
        self.assertEqual(
            heard_first, heard_second, "both came from the same PostgreSQL backend (kept)"
        )
        self.assertEqual(heard_first[0], bus_bus.NOTIFIER.backend_pid)
        self.assertNotEqual(heard_first[0], self.env.cr._cnx.get_backend_pid())

    def test_stock_way_opens_a_connection_per_request(self):
        """The comparison the kept connection exists for: switched off, each
        request's NOTIFY comes from a new backend."""
        first, second = self._channel(), self._channel()
        self.env["ir.config_parameter"].set_param(bus_bus.KEEP_PARAM, "0")
        # the setting is cached per worker: not "0" for the tests after this one
        self.addCleanup(self.env.registry.clear_cache)
        self._send_and_commit(first)
        self._send_and_commit(second)
        heard_first, heard_second = self._heard(first), self._heard(second)
        self.assertEqual(len(heard_first), 1)
        self.assertEqual(len(heard_second), 1)
        self.assertNotEqual(heard_first, heard_second)
        self.assertNotIn(bus_bus.NOTIFIER.backend_pid, heard_first + heard_second)

    def test_connection_dropped_by_postgresql_is_made_again(self):
        notifier = KeptNotifier(bus_bus.connect_listen_database, bus_bus.notify_stock)
        self.addCleanup(notifier._drop)
        before = self._channel()
        self.assertEqual(notifier.send([json.dumps([[self.env.cr.dbname, before]])]), "kept")
        (old_pid,) = self._heard(before)
        with self.listener.cursor() as cr:
            cr.execute("SELECT pg_terminate_backend(%s)", [old_pid])
        after = self._channel()
        self.assertEqual(notifier.send([json.dumps([[self.env.cr.dbname, after]])]), "kept")
        (new_pid,) = self._heard(after)
        self.assertNotEqual(new_pid, old_pid)
        self.assertEqual(new_pid, notifier.backend_pid)

    def test_forked_process_does_not_share_the_parent_connection(self):
        notifier = KeptNotifier(bus_bus.connect_listen_database, bus_bus.notify_stock)
        self.addCleanup(notifier._drop)
        parent = self._channel()
        notifier.send([json.dumps([[self.env.cr.dbname, parent]])])
        (parent_pid,) = self._heard(parent)
        parent_connection = notifier._connection
        self.addCleanup(parent_connection.close)
        notifier._pid = -1  # as seen from a child forked after the first send
        child = self._channel()
        notifier.send([json.dumps([[self.env.cr.dbname, child]])])
        (child_pid,) = self._heard(child)
        self.assertNotEqual(child_pid, parent_pid)
        self.assertFalse(parent_connection.closed, "the parent's connection is left alone")

    def test_unreachable_kept_connection_falls_back_to_the_stock_way(self):
        refused = psycopg2.OperationalError("connection refused")
        notifier = KeptNotifier(Mock(side_effect=refused), bus_bus.notify_stock)
        channel = self._channel()
        with self.assertLogs("odoo.addons.omnichannel_cc.tools.bus_notify", logging.INFO) as logs:
            self.assertEqual(notifier.send([json.dumps([[self.env.cr.dbname, channel]])]), "stock")
        self.assertEqual(len(self._heard(channel)), 1, "the notification still went out")
        self.assertIsNone(notifier.backend_pid)
        self.assertIn("notifying on a new connection", logs.output[-1])
        self.assertEqual(notifier._connect.call_count, 2, "made again once before giving up")


@tagged("post_install", "-at_install")
class TestCronWakeup(TransactionCase):
    """``ir.cron._notifydb`` (the cron workers' ``LISTEN cron_trigger``,
    which every delivery stored in the event inbox may wake) on the bus's
    kept connection, heard by a real second connection."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.listener = listening(cls, "cron_trigger")

    def _wake_and_hear(self, timeout=10.0):
        """Wake the cron workers; the backend pid the wake-up came from."""
        self.listener.poll()
        self.listener.notifies.clear()
        self.env["ir.cron"]._notifydb()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            select.select([self.listener], [], [], 0.2)
            self.listener.poll()
            for notify in self.listener.notifies:
                if notify.payload == self.env.cr.dbname:
                    return notify.pid
        self.fail("no cron_trigger notification came")

    def test_wakeups_on_the_kept_connection(self):
        first, second = self._wake_and_hear(), self._wake_and_hear()
        self.assertEqual(first, second, "both wake-ups came from the same backend (kept)")
        self.assertEqual(first, bus_bus.NOTIFIER.backend_pid)

    def test_stock_way_when_switched_off(self):
        self.env["ir.config_parameter"].set_param(bus_bus.KEEP_PARAM, "0")
        self.addCleanup(self.env.registry.clear_cache)
        self._wake_and_hear()  # the kept connection may exist from another test: not this one
        first, second = self._wake_and_hear(), self._wake_and_hear()
        self.assertNotEqual(first, second, "a new connection for each wake-up")
        self.assertNotIn(bus_bus.NOTIFIER.backend_pid, (first, second))
