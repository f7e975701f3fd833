from odoo import fields, models


class OmnichannelSkill(models.Model):
    """Something an agent can do: a language, a product line, claims handling."""

    _name = "omnichannel.skill"
    _description = "Agent skill"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)

    _sql_constraints = [("name_uniq", "unique(name)", "This skill already exists.")]
