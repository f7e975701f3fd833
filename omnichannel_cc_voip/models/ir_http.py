from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """Whether the user turned the browser softphone on: only then does
        the web client ask for the softphone's account
        (``res.users.voip_softphone_config``); the other users' pages load
        without that request."""
        info = super().session_info()
        user = self.env.user
        info.setdefault("omnichannel_cc", {})["softphone"] = bool(
            user._is_internal() and user.omnichannel_softphone
        )
        return info
