from odoo import fields, models


class OmnichannelQueue(models.Model):
    _inherit = "omnichannel.queue"

    script_id = fields.Many2one(
        "omnichannel.script",
        ondelete="set null",
        index="btree_not_null",
        help="The call script agents follow for this queue's interactions.",
    )
