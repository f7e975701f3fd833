from odoo import fields, models


class OmnichannelDisposition(models.Model):
    """How an interaction ended, chosen by the agent at wrap-up."""

    _name = "omnichannel.disposition"
    _description = "Interaction disposition"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    outcome = fields.Selection(
        [
            ("resolved", "Resolved"),
            ("follow_up", "Follow-up needed"),
            ("sale", "Sale"),
            ("promise_to_pay", "Promise to pay"),
            ("no_contact", "No contact"),
            # campaigns (issue 16): what the next attempt depends on
            ("no_answer", "No answer"),
            ("busy", "Busy"),
            ("machine", "Answering machine"),
            ("callback", "Call back later"),
            ("wrong_number", "Wrong number"),
            ("do_not_call", "Do not call"),
            ("other", "Other"),
        ],
        default="other",
        required=True,
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("code_uniq", "unique(code)", "The disposition code must be unique."),
    ]
