from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    omnichannel_member_ids = fields.One2many(
        "omnichannel.queue.member", "user_id", string="Contact center queues"
    )
    omnichannel_agent_ids = fields.One2many("omnichannel.agent", "user_id")
