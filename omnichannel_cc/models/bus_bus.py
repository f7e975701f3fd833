"""Odoo's bus, notifying the websocket dispatcher on a kept connection
(``tools/bus_notify.py``)."""

import psycopg2

import odoo
from odoo import models
from odoo.tools import SQL
from odoo.tools.misc import OrderedSet

from odoo.addons.bus.models.bus import ODOO_NOTIFY_FUNCTION, get_notify_payloads

from ..tools.bus_notify import KeptNotifier

# the database the dispatcher listens on (odoo/addons/bus/models/bus.py)
LISTEN_DATABASE = "postgres"
# "0": Odoo's own way, a connection per request (tests/bench/bench_bus_notify.py
# measures both in one run; an operator may switch back without a restart)
KEEP_PARAM = "omnichannel_cc.bus_notify_kept_connection"


def connect_listen_database():
    """A new connection to the dispatcher's database, as Odoo's pool makes it."""
    _db, info = odoo.sql_db.connection_info_for(LISTEN_DATABASE)
    return psycopg2.connect(**info)


def notify_stock(payloads):
    """Odoo's own way: a cursor of the ``postgres`` database, closed after."""
    with odoo.sql_db.db_connect(LISTEN_DATABASE).cursor() as cr:
        for payload in payloads:
            cr.execute(SQL("SELECT %s('imbus', %s)", SQL.identifier(ODOO_NOTIFY_FUNCTION), payload))


# one per process: the connection it keeps is this process's
NOTIFIER = KeptNotifier(connect_listen_database, notify_stock, function=ODOO_NOTIFY_FUNCTION)


class BusBus(models.Model):
    _inherit = "bus.bus"

    def _ensure_hooks(self):
        """Register the after-commit ``NOTIFY`` before the stock method does,
        under the same key: it then finds it registered and adds only the
        notifications' INSERT before commit. The channels, their payloads and
        the moment (after commit) are the stock ones; only the connection is
        kept instead of opened and closed for each request."""
        postcommit = self.env.cr.postcommit
        if "bus.bus.channels" not in postcommit.data:
            postcommit.data["bus.bus.channels"] = OrderedSet()

            @postcommit.add
            def notify():
                channels = list(postcommit.data.pop("bus.bus.channels"))
                payloads = get_notify_payloads(channels)
                # the setting read after commit, not in the request's work
                if self._notify_on_kept_connection():
                    NOTIFIER.send(payloads)
                else:
                    notify_stock(payloads)

        return super()._ensure_hooks()

    def _notify_on_kept_connection(self):
        # sudo: a technical setting (cached per worker), whoever sends the notification
        return self.env["ir.config_parameter"].sudo().get_param(KEEP_PARAM, "1") != "0"
