from odoo import api, fields, models


class OmnichannelScriptChoice(models.Model):
    """One possible answer of a multiple-choice step."""

    _name = "omnichannel.script.choice"
    _description = "Call script choice"
    _order = "step_id, sequence, id"

    step_id = fields.Many2one(
        "omnichannel.script.step", required=True, ondelete="cascade", index=True
    )
    script_id = fields.Many2one(related="step_id.script_id", store=True, index=True)
    sequence = fields.Integer(default=10)
    name = fields.Char(required=True, translate=True)

    @api.constrains("step_id", "name")
    def _check_script_flow(self):
        self.step_id.script_id._script_check_deferred()

    def write(self, vals):
        result = super().write(vals)
        if "step_id" in vals:
            # record rules are checked before a write only: a choice moved to
            # another script must be one the user may change there too
            self.check_access("write")
        return result

    def unlink(self):
        scripts = self.step_id.script_id
        result = super().unlink()
        scripts._script_check_deferred()
        return result
