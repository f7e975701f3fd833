"""Odoo's bus, notifying the websocket dispatcher on a kept connection
(``tools/bus_notify.py``)."""

from odoo import models
from odoo.tools.misc import OrderedSet

from odoo.addons.bus.models.bus import ODOO_NOTIFY_FUNCTION, get_notify_payloads

from ..tools.bus_notify import KeptNotifier

# one per process: the connection it keeps is this process's
NOTIFIER = KeptNotifier(function=ODOO_NOTIFY_FUNCTION)
# "0": Odoo's own way, a connection per request (tests/bench/bench_bus_notify.py
# measures both in one run; an operator may switch back without a restart)
KEEP_PARAM = "omnichannel_cc.bus_notify_kept_connection"


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
                    NOTIFIER.send_stock(payloads)

        return super()._ensure_hooks()

    def _notify_on_kept_connection(self):
        # sudo: a technical setting (cached per worker), whoever sends the notification
        return self.env["ir.config_parameter"].sudo().get_param(KEEP_PARAM, "1") != "0"
