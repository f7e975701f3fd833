from odoo import models
from odoo.tools import SQL


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _omnichannel_pop_interaction_extra(self, interaction_ids):
        """The customer's satisfaction answer on its line of the screen-pop
        history: the measure and the value answered."""
        extras = super()._omnichannel_pop_interaction_extra(interaction_ids)
        if not interaction_ids:
            return extras
        self.env["omnichannel.interaction"].flush_model(["satisfaction_kind", "satisfaction_value"])
        # the ids are the history's, readable by the user (record rules)
        self.env.cr.execute(
            SQL(
                """SELECT id, satisfaction_kind, satisfaction_value
                     FROM omnichannel_interaction
                    WHERE id = ANY(%s) AND satisfaction_kind IS NOT NULL""",
                list(interaction_ids),
            )
        )
        for interaction_id, kind, value in self.env.cr.fetchall():
            extras.setdefault(interaction_id, []).append(
                {"key": "satisfaction", "label": kind.upper(), "value": value}
            )
        return extras
