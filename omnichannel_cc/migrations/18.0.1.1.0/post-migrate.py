"""The inbox's first applier becomes applier 0 of several.

Its cron is ``noupdate`` data: an update of the addon leaves its code as it
was (``model._cron_apply()``: every row), and next to the new second applier
(``applier=1``: its share) both would apply that share. The code is set here
unless someone changed it by hand.
"""


def migrate(cr, version):
    cr.execute(
        """UPDATE ir_act_server action
              SET code = 'model._cron_apply(applier=0)'
             FROM ir_cron cron, ir_model_data data
            WHERE data.module = 'omnichannel_cc'
              AND data.name = 'ir_cron_event_inbox'
              AND data.model = 'ir.cron'
              AND cron.id = data.res_id
              AND action.id = cron.ir_actions_server_id
              AND action.code = 'model._cron_apply()'"""
    )
