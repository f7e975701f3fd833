from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.translate import html_translate

from ..tools import script as script_tools

ANSWER_TYPES = [
    (script_tools.NONE, "No answer (text to read)"),
    (script_tools.CHOICE, "Multiple choice"),
    (script_tools.TEXT, "Text"),
    (script_tools.NUMBER, "Number"),
    (script_tools.DATE, "Date"),
    (script_tools.YES_NO, "Yes / no"),
]


class OmnichannelScriptStep(models.Model):
    """One step of a script: words to read and, maybe, a question."""

    _name = "omnichannel.script.step"
    _description = "Call script step"
    _order = "script_id, sequence, id"

    script_id = fields.Many2one("omnichannel.script", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(string="Title", required=True, translate=True)
    text = fields.Html(
        translate=html_translate,
        help="What the agent reads. {customer}, {agent} and {company} are replaced by "
        "the customer's, the agent's and the company's names.",
    )
    answer_type = fields.Selection(
        ANSWER_TYPES, default=script_tools.NONE, required=True, string="Answer"
    )
    required = fields.Boolean(help="The agent cannot go on without an answer.")
    choice_ids = fields.One2many(
        "omnichannel.script.choice", "step_id", string="Choices", copy=True
    )
    branch_ids = fields.One2many(
        "omnichannel.script.branch",
        "step_id",
        string="Branches",
        copy=True,
        help="Tried in order after the answer; the first that matches gives the next step. "
        "None matches: the next step by sequence.",
    )
    choice_count = fields.Integer(compute="_compute_counts", string="# Choices")
    branch_count = fields.Integer(compute="_compute_counts", string="# Branches")
    company_id = fields.Many2one(related="script_id.company_id", store=True, index=True)

    @api.constrains("sequence", "answer_type", "required", "script_id")
    def _check_script_flow(self):
        self.script_id._script_check_deferred()

    @api.depends("choice_ids", "branch_ids")
    def _compute_counts(self):
        for step in self:
            step.choice_count = len(step.choice_ids)
            step.branch_count = len(step.branch_ids)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_branch_target(self):
        # sudo: every branch leading here counts, readable or not; only step names are shown
        branches = (
            self.env["omnichannel.script.branch"]
            .sudo()
            .search([("next_step_id", "in", self.ids), ("step_id", "not in", self.ids)])
        )
        if branches:
            raise UserError(
                _(
                    "Branches of %(steps)s lead to this step: change them first.",
                    steps=", ".join(branches.step_id.mapped("display_name")),
                )
            )

    def write(self, vals):
        result = super().write(vals)
        if "script_id" in vals:
            # record rules are checked before a write only: a step moved to
            # another script must be one the user may change there too
            self.check_access("write")
        return result

    def unlink(self):
        scripts = self.script_id
        result = super().unlink()
        scripts._script_check_deferred()
        return result

    def _script_plain(self):
        """This step as a tools.script.Step."""
        self.ensure_one()
        return script_tools.Step(
            id=self.id,
            sequence=self.sequence,
            name=self.name or "",
            answer_type=self.answer_type,
            required=self.required,
            choices=tuple(script_tools.Choice(c.id, c.name or "") for c in self.choice_ids),
            branches=tuple(b._script_plain() for b in self.branch_ids),
        )
