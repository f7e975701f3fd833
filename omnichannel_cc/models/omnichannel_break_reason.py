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
    max_minutes = fields.Integer(
        string="Allowed minutes per day",
        help="Break time with this reason an agent may take per day; 0: no daily limit. "
        "Time beyond it is a break overrun on the agent scorecard.",
    )
    max_duration = fields.Integer(
        string="Allowed minutes per break",
        help="Length of one break with this reason; 0: no limit per break. Time beyond it "
        "is a break overrun on the agent scorecard.",
    )

    _sql_constraints = [
        (
            "break_limits_positive",
            "CHECK(max_minutes >= 0 AND max_duration >= 0)",
            "Break limits cannot be negative.",
        ),
    ]
