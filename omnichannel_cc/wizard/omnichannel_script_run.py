from odoo import api, fields, models

from ..models.omnichannel_script_step import ANSWER_TYPES
from ..tools import script as script_tools


class OmnichannelScriptRun(models.TransientModel):
    """One step of a call script in a dialog: read, answer, next.

    A thin client of ``omnichannel.interaction.script_current_step`` /
    ``script_answer`` / ``script_back``, so the plain web client runs scripts
    exactly as the agent console does.
    """

    _name = "omnichannel.script.run"
    _description = "Run a call script"

    interaction_id = fields.Many2one("omnichannel.interaction", required=True, ondelete="cascade")
    script_id = fields.Many2one("omnichannel.script", readonly=True)
    done = fields.Boolean(readonly=True)
    step_id = fields.Many2one("omnichannel.script.step", readonly=True)
    title = fields.Char(readonly=True)
    text = fields.Html(readonly=True)
    answer_type = fields.Selection(ANSWER_TYPES, readonly=True)
    required = fields.Boolean(readonly=True)
    progress = fields.Integer(readonly=True)
    can_go_back = fields.Boolean(readonly=True)
    value_text = fields.Text(string="Answer")
    value_number = fields.Char(string="Number")
    value_date = fields.Date(string="Date")
    value_yes_no = fields.Selection([("yes", "Yes"), ("no", "No")], string="Yes / no")
    choice_id = fields.Many2one("omnichannel.script.choice", domain="[('step_id', '=', step_id)]")
    answer_ids = fields.One2many(related="interaction_id.script_answer_ids", string="Answers")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            interaction = self.env["omnichannel.interaction"].browse(vals["interaction_id"])
            vals.update(self._vals_from_state(interaction.script_current_step()))
        return super().create(vals_list)

    @api.model
    def _vals_from_state(self, state):
        """Wizard values from a ``script_current_step`` payload (previous answer filled in)."""
        vals = {
            "script_id": state["script_id"],
            "done": state["done"],
            "can_go_back": state["can_go_back"],
            "progress": state["progress"]["percent"],
        }
        if state["done"]:
            return vals
        vals.update(
            step_id=state["step_id"],
            title=state["title"],
            text=state["text"],
            answer_type=state["answer_type"],
            required=state["required"],
        )
        previous = state["answer"] and state["answer"]["value"]
        kind = state["answer_type"]
        if previous is False or previous is None:
            if kind == script_tools.YES_NO and state["answer"]:
                vals["value_yes_no"] = "no"
            return vals
        if kind == script_tools.TEXT:
            vals["value_text"] = previous
        elif kind == script_tools.NUMBER:
            vals["value_number"] = script_tools.format_number(previous)
        elif kind == script_tools.DATE:
            vals["value_date"] = previous
        elif kind == script_tools.YES_NO:
            vals["value_yes_no"] = "yes" if previous else "no"
        elif kind == script_tools.CHOICE:
            vals["choice_id"] = previous
        return vals

    def _answer_value(self):
        kind = self.answer_type
        if kind == script_tools.TEXT:
            return self.value_text or None
        if kind == script_tools.NUMBER:
            return self.value_number or None
        if kind == script_tools.DATE:
            return self.value_date or None
        if kind == script_tools.YES_NO:
            return {"yes": True, "no": False}.get(self.value_yes_no)
        if kind == script_tools.CHOICE:
            return self.choice_id.id or None
        return None

    @api.model
    def _action_open(self, interaction):
        wizard = self.create({"interaction_id": interaction.id})
        return {
            "type": "ir.actions.act_window",
            "name": interaction.script_id.name,
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "views": [[False, "form"]],
            "target": "new",
        }

    def action_next(self):
        self.ensure_one()
        if not self.done:
            self.interaction_id.script_answer(self.step_id.id, self._answer_value())
        return self._action_open(self.interaction_id)

    def action_back(self):
        self.ensure_one()
        self.interaction_id.script_back()
        return self._action_open(self.interaction_id)
