from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import script as script_tools

# Context key set while a script writes its own steps: their checks wait for
# the script's, so that moving several steps at once is judged once, at the end.
DEFER_CHECK = "omnichannel_script_defer_check"
# Set while copying: the copied branches still point at the original's steps.
SKIP_CHECK = "omnichannel_script_skip_check"


class OmnichannelScript(models.Model):
    """What the agent says and asks, step by step, branching on the answers."""

    _name = "omnichannel.script"
    _description = "Agent call script"
    _order = "name, id"

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        index=True,
        default=lambda self: self.env.company,
        help="Empty: used in every company.",
    )
    description = fields.Text(translate=True, help="What the script is for; agents see it.")
    step_ids = fields.One2many("omnichannel.script.step", "script_id", string="Steps", copy=True)
    step_count = fields.Integer(compute="_compute_step_count")
    queue_ids = fields.One2many(
        "omnichannel.queue",
        "script_id",
        string="Queues",
        help="Interactions of these queues follow this script.",
    )
    answer_count = fields.Integer(compute="_compute_answer_count")

    @api.constrains("step_ids")
    def _check_flow(self):
        if self.env.context.get(SKIP_CHECK):
            return
        for script in self:
            errors = script._script_flow().problems()
            if errors:
                raise ValidationError(
                    _(
                        "The script %(script)s cannot be saved:\n%(errors)s",
                        script=script.display_name,
                        errors="\n".join(script._script_error_text(e) for e in errors),
                    )
                )

    @api.depends("step_ids")
    def _compute_step_count(self):
        for script in self:
            script.step_count = len(script.step_ids)

    def _compute_answer_count(self):
        groups = self.env["omnichannel.script.answer"]._read_group(
            [("script_id", "in", self.ids)], ["script_id"], ["__count"]
        )
        counts = {script.id: count for script, count in groups}
        for script in self:
            script.answer_count = counts.get(script.id, 0)

    @api.model_create_multi
    def create(self, vals_list):
        scripts = super(OmnichannelScript, self.with_context(**{DEFER_CHECK: True})).create(
            vals_list
        )
        return scripts.with_env(self.env)

    def write(self, vals):
        return super(OmnichannelScript, self.with_context(**{DEFER_CHECK: True})).write(vals)

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        if default and "name" in default:
            return vals_list
        return [
            dict(vals, name=self.env._("%(name)s (copy)", name=script.name))
            for script, vals in zip(self, vals_list, strict=True)
        ]

    def copy(self, default=None):
        # branches point at steps of the original: remap them onto the copies
        new_scripts = super(OmnichannelScript, self.with_context(**{SKIP_CHECK: True})).copy(
            default=default
        )
        for old, new in zip(self, new_scripts, strict=True):
            step_map = dict(zip(old.step_ids, new.step_ids, strict=True))
            choice_map = {
                old_choice: new_choice
                for old_step, new_step in step_map.items()
                for old_choice, new_choice in zip(
                    old_step.choice_ids, new_step.choice_ids, strict=True
                )
            }
            for branch in new.step_ids.branch_ids:
                vals = {}
                if branch.next_step_id in step_map:
                    vals["next_step_id"] = step_map[branch.next_step_id].id
                if branch.choice_id in choice_map:
                    vals["choice_id"] = choice_map[branch.choice_id].id
                if vals:
                    branch.write(vals)
        new_scripts = new_scripts.with_env(self.env)
        new_scripts._check_flow()
        return new_scripts

    def action_view_answers(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "omnichannel_cc.omnichannel_script_answer_action"
        )
        action["domain"] = [("script_id", "=", self.id)]
        return action

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _script_flow(self):
        """The script as plain data for tools/script.py."""
        self.ensure_one()
        return script_tools.Flow([step._script_plain() for step in self.step_ids])

    def _script_check_deferred(self):
        """Check these scripts unless a script write will check them at its end."""
        if not self.env.context.get(DEFER_CHECK):
            self.exists()._check_flow()

    @api.model
    def _script_error_text(self, error):
        """The translated text of a tools.script.ScriptError."""
        params = {"step": error.step, "value": "", "max": "", "steps": ""}
        params.update(error.params)
        texts = {
            "required": lambda: self.env._("%(step)s: an answer is required.", **params),
            "not_text": lambda: self.env._("%(step)s: the answer must be text.", **params),
            "too_long": lambda: self.env._(
                "%(step)s: the answer is longer than %(max)s characters.", **params
            ),
            "not_number": lambda: self.env._("%(step)s: %(value)s is not a number.", **params),
            "not_date": lambda: self.env._(
                "%(step)s: %(value)s is not a date (use YYYY-MM-DD).", **params
            ),
            "not_yes_no": lambda: self.env._(
                "%(step)s: answer yes or no, not %(value)s.", **params
            ),
            "unknown_choice": lambda: self.env._(
                "%(step)s: %(value)s is not one of the choices.", **params
            ),
            "duplicate_step": lambda: self.env._("Step %(step)s appears twice.", **params),
            "unknown_answer_type": lambda: self.env._(
                "%(step)s: unknown answer type %(value)s.", **params
            ),
            "no_choices": lambda: self.env._(
                "%(step)s: a multiple-choice question needs choices.", **params
            ),
            "unknown_target": lambda: self.env._(
                "%(step)s: a branch leads to a step that is not in this script.", **params
            ),
            "condition_mismatch": lambda: self.env._(
                "%(step)s: the condition %(value)s does not fit this answer type.", **params
            ),
            "unknown_branch_choice": lambda: self.env._(
                "%(step)s: a branch names a choice of another question.", **params
            ),
            "bad_range": lambda: self.env._(
                "%(step)s: a range branch needs a lower or upper bound, lower below upper.",
                **params,
            ),
            "bad_equals_value": lambda: self.env._(
                "%(step)s: the branch value %(value)s is not a possible answer.", **params
            ),
            "cycle": lambda: self.env._("The script loops back: %(steps)s.", **params),
            "unreachable": lambda: self.env._("%(step)s can never be reached.", **params),
        }
        text = texts.get(error.code)
        return text() if text else str(error)
