from odoo import _, api, fields, models

from ..tools import script as script_tools

CONDITIONS = [
    ("any", "Any answer"),
    ("equals", "Answer is"),
    ("choice", "Choice is"),
    ("yes", "Yes"),
    ("no", "No"),
    ("gte", "At least"),
    ("lte", "At most"),
    ("range", "Between"),
]


class OmnichannelScriptBranch(models.Model):
    """Where the script goes after an answer that meets the condition."""

    _name = "omnichannel.script.branch"
    _description = "Call script branch"
    _order = "step_id, sequence, id"

    step_id = fields.Many2one(
        "omnichannel.script.step", required=True, ondelete="cascade", index=True
    )
    script_id = fields.Many2one(related="step_id.script_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    condition = fields.Selection(CONDITIONS, required=True, default="any")
    value = fields.Char(help="For 'Answer is': the answer, as the agent would type it.")
    choice_id = fields.Many2one(
        "omnichannel.script.choice",
        ondelete="cascade",
        domain="[('step_id', '=', step_id)]",
    )
    min_value = fields.Float(string="From")
    max_value = fields.Float(string="To")
    next_step_id = fields.Many2one(
        "omnichannel.script.step",
        string="Go to",
        # the step's unlink refuses to delete a target of another step's branch
        ondelete="cascade",
        domain="[('script_id', '=', script_id), ('id', '!=', step_id)]",
        help="Empty: the script ends.",
    )
    summary = fields.Char(compute="_compute_summary")

    @api.constrains(
        "step_id", "condition", "value", "choice_id", "min_value", "max_value", "next_step_id"
    )
    def _check_script_flow(self):
        self.step_id.script_id._script_check_deferred()

    @api.depends("condition", "value", "choice_id", "min_value", "max_value", "next_step_id")
    def _compute_summary(self):
        labels = dict(self._fields["condition"]._description_selection(self.env))
        for branch in self:
            what = {
                "equals": branch.value,
                "choice": branch.choice_id.name,
                "gte": "%g" % branch.min_value,
                "lte": "%g" % branch.max_value,
                "range": "%g - %g" % (branch.min_value, branch.max_value),
            }.get(branch.condition)
            condition = f"{labels.get(branch.condition, '')} {what or ''}".strip()
            branch.summary = _(
                "%(condition)s: %(target)s",
                condition=condition,
                target=branch.next_step_id.name or _("end"),
            )

    def write(self, vals):
        result = super().write(vals)
        if "step_id" in vals:
            # record rules are checked before a write only: a branch moved to
            # another script must be one the user may change there too
            self.check_access("write")
        return result

    def unlink(self):
        scripts = self.step_id.script_id
        result = super().unlink()
        scripts._script_check_deferred()
        return result

    def _script_plain(self):
        """This branch as a tools.script.Branch."""
        self.ensure_one()
        condition = self.condition
        low = high = None
        if condition in ("gte", "range"):
            low = self.min_value
        if condition in ("lte", "range"):
            high = self.max_value
        if condition in ("gte", "lte"):
            condition = script_tools.RANGE
        return script_tools.Branch(
            condition=condition,
            next_step_id=self.next_step_id.id or script_tools.END,
            value=self.value or "",
            choice_id=self.choice_id.id or 0,
            min_value=low,
            max_value=high,
        )
