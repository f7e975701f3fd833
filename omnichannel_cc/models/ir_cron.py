"""The cron workers woken on the bus's kept connection (``tools/bus_notify.py``)."""

from odoo import models

from .bus_bus import NOTIFIER


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _notifydb(self):
        """Wake up the cron workers as the stock method does (``NOTIFY
        cron_trigger`` with the database's name, on the ``postgres``
        database), on the connection the bus keeps per process instead of a
        new one each time: every delivery the event inbox stores may wake its
        applier. The setting ``omnichannel_cc.bus_notify_kept_connection``
        = ``0`` restores the stock way for both."""
        stock = super()._notifydb
        if not self.env["bus.bus"]._notify_on_kept_connection():
            return stock()
        NOTIFIER.send([self.env.cr.dbname], channel="cron_trigger", stock=lambda _db: stock())
        return None
