"""One kept connection per process for the bus's ``NOTIFY imbus`` and the
cron workers' wake-up (``NOTIFY cron_trigger``).

Odoo 18's bus wakes the websocket dispatcher after each commit that created
bus notifications with ``SELECT pg_notify('imbus', ...)`` on a cursor of the
``postgres`` database, and its connection pool never keeps a connection to
that database: every such request opens a PostgreSQL connection (a backend
forked, authenticated) and closes it. Offers, accepts, closes, routed calls
and the event inbox's chunks all notify, so each paid it. ``ir.cron``
wakes its workers the same way (``_notifydb``: a delivery stored in the event
inbox, a retry, a cron changed), on another new connection each time.

:class:`KeptNotifier` holds one autocommit connection per process (made
again after a fork, or when PostgreSQL dropped it) and sends the payloads on
it under a lock. A connection that fails is closed and made once more; if
that fails too, the payloads go the stock way. Plain data in: the connection
is made, and the stock way taken, by the callables it is given
(``models/bus_bus.py``, ``models/ir_cron.py``).
"""

import logging
import os
import threading

import psycopg2
from psycopg2 import sql

_logger = logging.getLogger(__name__)

LOST_CONNECTION = (psycopg2.OperationalError, psycopg2.InterfaceError)


class KeptNotifier:
    """Sends ``NOTIFY`` payloads on one connection kept for this process.

    ``connect()``: a new psycopg2 connection to the database the dispatcher
    listens on; ``send_stock(payloads)``: Odoo's own way, the fallback.
    """

    def __init__(self, connect, send_stock, function="pg_notify", channel="imbus"):
        self._connect = connect
        self.send_stock = send_stock
        self.channel = channel
        self._query = sql.SQL("SELECT {}(%s, %s)").format(sql.Identifier(function))
        self._lock = threading.Lock()
        self._connection = None
        self._pid = None

    @property
    def backend_pid(self):
        """PostgreSQL's process id of the kept connection (None when there is none)."""
        connection = self._connection
        if connection is None or connection.closed or self._pid != os.getpid():
            return None
        return connection.get_backend_pid()

    def _drop(self):
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            try:
                connection.close()
            except psycopg2.Error:
                _logger.debug("closing a failed notify connection", exc_info=True)

    def _send_on_kept(self, payloads, channel):
        if self._pid != os.getpid():
            # a fork: the parent's connection is not this process's to use
            self._connection, self._pid = None, os.getpid()
        if self._connection is None or self._connection.closed:
            connection = self._connect()
            connection.autocommit = True
            self._connection = connection
        with self._connection.cursor() as cr:
            for payload in payloads:
                cr.execute(self._query, [channel, payload])

    def send(self, payloads, channel=None, stock=None):
        """Notify each payload on ``channel`` (default: the notifier's); on a
        lost connection, once more on a new one, then the stock way
        (``stock``, default ``send_stock``). Returns which way went:
        ``kept`` or ``stock``."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    self._send_on_kept(payloads, channel or self.channel)
                    return "kept"
                except LOST_CONNECTION:
                    self._drop()
                    _logger.info(
                        "bus notification: the kept connection failed (attempt %s), %s",
                        attempt,
                        "making it again" if attempt == 1 else "notifying on a new connection",
                    )
        (stock or self.send_stock)(payloads)
        return "stock"
