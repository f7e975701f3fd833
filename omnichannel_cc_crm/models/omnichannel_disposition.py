from odoo import fields, models


class OmnichannelDisposition(models.Model):
    _inherit = "omnichannel.disposition"

    # closing an interaction with it makes the opportunity (once)
    outcome = fields.Selection(
        selection_add=[("opportunity", "Opportunity created")],
        ondelete={"opportunity": "set default"},
    )
