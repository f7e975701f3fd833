from odoo import api, fields, models

OPEN_CASE_STATES = ("new", "open", "pending")


class OmnichannelCase(models.Model):
    """A customer matter spanning many interactions and channels, with an owner."""

    _name = "omnichannel.case"
    _description = "Customer case"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "priority desc, id desc"

    name = fields.Char(
        string="Reference", required=True, copy=False, readonly=True, default="/", index="trigram"
    )
    subject = fields.Char(required=True, tracking=True)
    description = fields.Html()
    partner_id = fields.Many2one("res.partner", string="Customer", required=True, tracking=True)
    commercial_partner_id = fields.Many2one(
        related="partner_id.commercial_partner_id", store=True, index=True
    )
    user_id = fields.Many2one(
        "res.users",
        string="Owner",
        tracking=True,
        index=True,
        default=lambda self: self.env.user,
        help="Calls and e-mails of this customer go straight to the owner while the case is open.",
    )
    queue_id = fields.Many2one("omnichannel.queue", tracking=True, index=True)
    state = fields.Selection(
        [
            ("new", "New"),
            ("open", "In progress"),
            ("pending", "Waiting for customer"),
            ("solved", "Solved"),
            ("cancel", "Cancelled"),
        ],
        default="new",
        required=True,
        tracking=True,
        index=True,
    )
    is_open = fields.Boolean(compute="_compute_is_open", store=True)
    priority = fields.Selection(
        [("0", "Normal"), ("1", "High"), ("2", "Urgent")], default="0", index=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    interaction_ids = fields.One2many("omnichannel.interaction", "case_id")
    interaction_count = fields.Integer(compute="_compute_interaction_count")
    date_closed = fields.Datetime(readonly=True, copy=False)

    @api.depends("state")
    def _compute_is_open(self):
        for case in self:
            case.is_open = case.state in OPEN_CASE_STATES

    @api.depends("interaction_ids")
    def _compute_interaction_count(self):
        for case in self:
            case.interaction_count = len(case.interaction_ids)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["ir.sequence"].next_by_code("omnichannel.case") or "/"
        return super().create(vals_list)

    def write(self, vals):
        if "state" in vals:
            vals["date_closed"] = (
                False if vals["state"] in OPEN_CASE_STATES else fields.Datetime.now()
            )
        return super().write(vals)

    def action_open(self):
        self.write({"state": "open"})
        return True

    def action_solve(self):
        self.write({"state": "solved"})
        return True

    def action_cancel(self):
        self.write({"state": "cancel"})
        return True

    def action_view_interactions(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_interaction_action"
        )
        action["domain"] = [("case_id", "=", self.id)]
        action["context"] = {"default_case_id": self.id, "default_partner_id": self.partner_id.id}
        return action
