from odoo import models

from .omnichannel_agent import AGENT_GROUP


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """The web client's start-up facts, with whether the user is an
        agent: the agent console starts from it without a request of its
        own (every page load of every user would otherwise ask, before the
        first screen is drawn)."""
        info = super().session_info()
        user = self.env.user
        # has_group reads the user's groups from the registry's cache: no query
        info["omnichannel_cc"] = {"is_agent": user._is_internal() and user.has_group(AGENT_GROUP)}
        return info
