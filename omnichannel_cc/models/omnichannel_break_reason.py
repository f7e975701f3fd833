from odoo import fields, models


class OmnichannelBreakReason(models.Model):
    _name = "omnichannel.break.reason"
    _description = "Agent break reason"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    productive = fields.Boolean(
        help="Back-office work or training: counted as working time in occupancy reports."
    )
    active = fields.Boolean(default=True)
