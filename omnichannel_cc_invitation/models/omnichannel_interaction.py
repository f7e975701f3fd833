from odoo import _, fields, models
from odoo.exceptions import AccessError


class OmnichannelInteraction(models.Model):
    """Sessions opened from an invitation link: their Discuss channel."""

    _inherit = "omnichannel.interaction"

    invitation_ids = fields.One2many(
        "omnichannel.invitation", "interaction_id", string="Invitations sent"
    )

    def action_open_discuss_session(self):
        self.ensure_one()
        return self._omnichannel_join_discuss(self.discuss_channel_id)

    def _omnichannel_join_discuss(self, discuss):
        """Make the current user a member of ``discuss`` (the agent answering a
        session routed through a queue) and open it in Discuss."""
        if not discuss:
            return False
        if not self.env.user.has_group("omnichannel_cc.group_omnichannel_agent"):
            raise AccessError(_("Only contact center agents join invitation sessions."))
        if self:
            # the agent must be allowed to see the interaction of this session
            self.check_access("read")
        # sudo: agents are no members of the session; they join it as themselves (checked above)
        discuss.sudo()._add_members(users=self.env.user, post_joined_message=True)
        return {
            "type": "ir.actions.client",
            "tag": "mail.action_discuss",
            "context": {"active_id": f"discuss.channel_{discuss.id}"},
        }
