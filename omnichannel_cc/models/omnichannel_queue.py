from odoo import api, fields, models


class OmnichannelQueue(models.Model):
    """Where interactions wait for an agent."""

    _name = "omnichannel.queue"
    _description = "Contact center queue"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(help="Short code used by integrations (e.g. SALES).")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    member_ids = fields.Many2many(
        "res.users",
        "omnichannel_queue_member_rel",
        "queue_id",
        "user_id",
        string="Agents",
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("omnichannel_cc.group_omnichannel_agent").id)
        ],
    )
    supervisor_ids = fields.Many2many(
        "res.users",
        "omnichannel_queue_supervisor_rel",
        "queue_id",
        "user_id",
        string="Supervisors",
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("omnichannel_cc.group_omnichannel_supervisor").id)
        ],
    )
    priority = fields.Integer(default=0, help="Higher goes first when agents serve several queues.")
    service_level_target = fields.Float(
        string="Service level target (%)", default=80.0, help="Share answered within the threshold."
    )
    service_level_seconds = fields.Integer(string="Service level threshold (s)", default=20)
    wrapup_seconds = fields.Integer(string="Wrap-up time (s)", default=30)
    interaction_ids = fields.One2many("omnichannel.interaction", "queue_id")
    waiting_count = fields.Integer(compute="_compute_waiting_count")

    _sql_constraints = [
        (
            "service_level_target_range",
            "CHECK(service_level_target >= 0 AND service_level_target <= 100)",
            "The service level target is a percentage between 0 and 100.",
        ),
        (
            "code_company_uniq",
            "unique(code, company_id)",
            "A queue code must be unique within a company.",
        ),
    ]

    @api.depends("interaction_ids.state")
    def _compute_waiting_count(self):
        counts = dict(
            self.env["omnichannel.interaction"]._read_group(
                [("queue_id", "in", self.ids), ("state", "in", ("new", "queued", "offered"))],
                ["queue_id"],
                ["__count"],
            )
        )
        for queue in self:
            queue.waiting_count = counts.get(queue, 0)

    def action_view_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_interaction_action"
        )
        action["domain"] = [("queue_id", "=", self.id)]
        action["context"] = {"default_queue_id": self.id}
        return action
