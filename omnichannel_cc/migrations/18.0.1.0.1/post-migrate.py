"""18.0.1.0.1: the event inbox's applier and the ACD sweep run before
Odoo's other due jobs (cron priority 0). Their records are ``noupdate``, so
an upgrade does not rewrite them: the priority is set here, on databases
where nobody changed it from Odoo's default (5)."""

from odoo import SUPERUSER_ID, api

FIRST_JOBS = ("omnichannel_cc.ir_cron_event_inbox", "omnichannel_cc.ir_cron_acd_sweep")


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    for xmlid in FIRST_JOBS:
        cron = env.ref(xmlid, raise_if_not_found=False)
        if cron and cron.priority == 5:
            cron.priority = 0
