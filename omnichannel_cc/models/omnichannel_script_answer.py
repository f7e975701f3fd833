from odoo import _, api, fields, models

from ..tools import script as script_tools
from .omnichannel_script_step import ANSWER_TYPES


class OmnichannelScriptAnswer(models.Model):
    """The answer given to one script step during one interaction.

    One per (interaction, step): answering again changes it. The question and
    the shown value are kept, so the answer still reads well after the script
    was edited.
    """

    _name = "omnichannel.script.answer"
    _description = "Call script answer"
    _order = "interaction_id desc, sequence, id"
    _rec_name = "question"

    interaction_id = fields.Many2one(
        "omnichannel.interaction", required=True, ondelete="cascade", index=True
    )
    script_id = fields.Many2one("omnichannel.script", ondelete="set null", index=True)
    step_id = fields.Many2one("omnichannel.script.step", ondelete="set null", index=True)
    question = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    answer_type = fields.Selection(ANSWER_TYPES, required=True, default=script_tools.NONE)
    has_value = fields.Boolean(help="False: the step was passed without an answer.")
    value_text = fields.Text(string="Text")
    value_number = fields.Float(string="Number")
    value_date = fields.Date(string="Date")
    value_bool = fields.Boolean(string="Yes / no")
    choice_id = fields.Many2one("omnichannel.script.choice", ondelete="set null")
    value_display = fields.Char(
        string="Answer", compute="_compute_value_display", store=True, index="btree_not_null"
    )
    answered_by = fields.Many2one(
        "res.users", default=lambda self: self.env.user, ondelete="set null"
    )
    date = fields.Datetime(string="Answered on", default=fields.Datetime.now, required=True)
    partner_id = fields.Many2one(related="interaction_id.partner_id", string="Customer")
    company_id = fields.Many2one(
        related="interaction_id.company_id", store=True, index=True, string="Company"
    )

    _sql_constraints = [
        (
            "interaction_step_uniq",
            "unique(interaction_id, step_id)",
            "A script step has one answer per interaction.",
        ),
    ]

    @api.depends(
        "answer_type", "has_value", "value_text", "value_number", "value_date", "value_bool"
    )
    def _compute_value_display(self):
        for answer in self:
            kind = answer.answer_type
            if not answer.has_value or kind == script_tools.NONE:
                answer.value_display = False
            elif kind == script_tools.NUMBER:
                answer.value_display = script_tools.format_number(answer.value_number)
            elif kind == script_tools.DATE:
                answer.value_display = answer.value_date and answer.value_date.isoformat()
            elif kind == script_tools.YES_NO:
                answer.value_display = _("Yes") if answer.value_bool else _("No")
            else:
                # text, and the label of the choice (kept if the choice is deleted)
                answer.value_display = (answer.value_text or "")[:500]

    @api.model
    def _script_vals(self, step, answer):
        """Field values that store a tools.script.Answer for this step."""
        vals = {
            "script_id": step.script_id.id,
            "step_id": step.id,
            "question": step.name,
            "sequence": step.sequence,
            "answer_type": step.answer_type,
            "has_value": not answer.empty,
            "value_text": False,
            "value_number": 0.0,
            "value_date": False,
            "value_bool": False,
            "choice_id": False,
            "answered_by": self.env.uid,
            "date": fields.Datetime.now(),
        }
        if answer.empty:
            return vals
        if answer.answer_type == script_tools.TEXT:
            vals["value_text"] = answer.value
        elif answer.answer_type == script_tools.NUMBER:
            vals["value_number"] = answer.value
        elif answer.answer_type == script_tools.DATE:
            vals["value_date"] = answer.value
        elif answer.answer_type == script_tools.YES_NO:
            vals["value_bool"] = answer.value
        elif answer.answer_type == script_tools.CHOICE:
            vals["choice_id"] = answer.value
            vals["value_text"] = answer.display
        return vals

    def _script_plain(self):
        """This stored answer as a tools.script.Answer (for replaying the script)."""
        self.ensure_one()
        kind = self.answer_type
        if not self.has_value or kind == script_tools.NONE:
            return script_tools.Answer(kind)
        value = {
            script_tools.TEXT: self.value_text or "",
            script_tools.NUMBER: self.value_number,
            script_tools.DATE: self.value_date,
            script_tools.YES_NO: self.value_bool,
            script_tools.CHOICE: self.choice_id.id or None,
        }.get(kind)
        return script_tools.Answer(kind, value, self.value_display or "")

    def _script_value(self):
        """The answer as the UI and XML-RPC want it back (never None)."""
        self.ensure_one()
        if not self.has_value:
            return False
        kind = self.answer_type
        if kind == script_tools.NUMBER:
            return self.value_number
        if kind == script_tools.DATE:
            return fields.Date.to_string(self.value_date)
        if kind == script_tools.YES_NO:
            return self.value_bool
        if kind == script_tools.CHOICE:
            return self.choice_id.id or False
        return self.value_text or False
