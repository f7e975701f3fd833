from odoo import fields, models


class OmnichannelAgentSkill(models.Model):
    _name = "omnichannel.agent.skill"
    _description = "Skill level of an agent"
    _order = "level desc"

    agent_id = fields.Many2one("omnichannel.agent", required=True, ondelete="cascade", index=True)
    skill_id = fields.Many2one("omnichannel.skill", required=True, ondelete="cascade", index=True)
    level = fields.Integer(default=3, help="1 (beginner) to 5 (expert).")

    _sql_constraints = [
        ("agent_skill_uniq", "unique(agent_id, skill_id)", "The agent already has this skill."),
        ("level_range", "CHECK(level BETWEEN 1 AND 5)", "A skill level is between 1 and 5."),
    ]

    def write(self, vals):
        result = super().write(vals)
        if "agent_id" in vals:
            # record rules are checked before a write only: a skill moved to
            # another agent must be one the user may change there too
            self.check_access("write")
        return result
