from odoo import models
from odoo.tools import SQL
from odoo.tools.sql import create_index


class OmnichannelInteraction(models.Model):
    """Indexes of the read paths: wallboard (omnichannel.queue.wallboard_data) and screen-pop.

    Each serves one part of the board and reads only what happened today,
    whatever the size of the history (the live contacts, waiting or held, are
    found through the index on ``state``):

    - ``_wallboard_queued_idx``: today's contacts by entry time, covering the
      columns of the queue figures (index-only scan of today's range);
    - ``_wallboard_closed_idx``: the contacts closed done, by closing time,
      covering the handle-time figures of queues and agents.

    The screen-pop's contact history (res.partner ``_omnichannel_pop_interactions``:
    a customer's latest interactions, newest first) reads
    ``_history_idx``: constant time however long the customer's history.

    Index-only scans need an up-to-date visibility map, and today's rows are
    written all day: the table gets its own, more eager autovacuum settings
    (a table storage parameter, nothing database-wide).
    """

    _inherit = "omnichannel.interaction"

    def init(self):
        res = super().init()
        cr, table = self.env.cr, self._table
        create_index(
            cr,
            "omnichannel_interaction_wallboard_queued_idx",
            table,
            ["date_queued", "queue_id", "state", "date_answered"],
            where="date_queued IS NOT NULL",
        )
        create_index(
            cr,
            "omnichannel_interaction_wallboard_closed_idx",
            table,
            ["date_closed", "queue_id", "agent_id", "date_answered"],
            where="state = 'done'",
        )
        create_index(
            cr,
            "omnichannel_interaction_history_idx",
            table,
            ["commercial_partner_id", "id DESC"],
            where="commercial_partner_id IS NOT NULL",
        )
        cr.execute(
            SQL(
                """ALTER TABLE %s SET (autovacuum_vacuum_scale_factor = 0.01,
                                       autovacuum_vacuum_insert_scale_factor = 0.01,
                                       autovacuum_analyze_scale_factor = 0.01)""",
                SQL.identifier(table),
            )
        )
        return res
