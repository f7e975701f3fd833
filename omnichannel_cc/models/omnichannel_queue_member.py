from odoo import fields, models


class OmnichannelQueueMember(models.Model):
    """An agent's membership of a queue: tier, penalty and whether they are logged in."""

    _name = "omnichannel.queue.member"
    _description = "Queue member"
    _order = "queue_id, tier, penalty, id"

    queue_id = fields.Many2one("omnichannel.queue", required=True, ondelete="cascade", index=True)
    user_id = fields.Many2one(
        "res.users", string="Agent", required=True, ondelete="cascade", index=True
    )
    tier = fields.Integer(
        default=1, help="Tier 2 agents are offered work only when nobody of tier 1 is free."
    )
    penalty = fields.Integer(help="Within a tier, agents with a lower penalty are offered first.")
    logged_in = fields.Boolean(
        default=True, help="Static members are always logged in; agents may log out of a queue."
    )
    company_id = fields.Many2one(related="queue_id.company_id", store=True, index=True)

    _sql_constraints = [
        (
            "queue_user_uniq",
            "unique(queue_id, user_id)",
            "This agent is already a member of the queue.",
        ),
    ]

    def write(self, vals):
        result = super().write(vals)
        if "queue_id" in vals:
            # record rules are checked before a write only: a membership moved
            # to another queue must be one the user may manage there too
            self.check_access("write")
        return result
