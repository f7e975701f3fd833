from odoo import http
from odoo.http import request

from odoo.addons.im_livechat.controllers.main import LivechatController
from odoo.addons.mail.models.discuss.mail_guest import add_guest_to_context


class OmnichannelLivechatController(LivechatController):
    @http.route()
    @add_guest_to_context
    def get_session(
        self,
        channel_id,
        anonymous_name,
        previous_operator_id=None,
        chatbot_script_id=None,
        persisted=True,
        **kwargs,
    ):
        result = super().get_session(
            channel_id,
            anonymous_name,
            previous_operator_id=previous_operator_id,
            chatbot_script_id=chatbot_script_id,
            persisted=persisted,
            **kwargs,
        )
        if result is False and persisted:
            # im_livechat tells the visitor nobody is available; the contact
            # center keeps the attempt as a missed interaction
            # sudo: public route: visitors may not read live chat channels; records the miss only
            livechat = request.env["im_livechat.channel"].sudo().browse(int(channel_id)).exists()
            if livechat:
                livechat._omnichannel_missed(
                    anonymous_name, request.httprequest.remote_addr or "unknown"
                )
        return result
