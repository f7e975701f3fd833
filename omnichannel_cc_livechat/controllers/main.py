from odoo import http
from odoo.http import request

from odoo.addons.im_livechat.controllers.main import LivechatController
from odoo.addons.mail.models.discuss.mail_guest import add_guest_to_context
from odoo.addons.omnichannel_cc.tools import language


class OmnichannelLivechatController(LivechatController):
    @http.route()
    def loader(self, channel_id, **kwargs):
        """The chat button's script, its texts (the greeting, the button) in
        the visitor's language for a contact center's chat: ``?lang=`` on
        the script's URL or Odoo's ``frontend_lang`` cookie, else the
        browser's Accept-Language, among the installed languages."""
        # sudo: visitors may not read live chat channels; whether this one is linked
        livechat = request.env["im_livechat.channel"].sudo().browse(int(channel_id)).exists()
        if not livechat:
            # im_livechat answers 500 for an id no channel can have (0: an
            # empty recordset); the script of no channel is not found
            raise request.not_found()
        channel = livechat._omnichannel_channel()
        if channel:
            request.update_context(lang=self._omnichannel_visitor_lang(channel))
        return super().loader(channel_id, **kwargs)

    def _omnichannel_visitor_lang(self, channel):
        """The code of the language the visitor of ``channel`` (a contact
        center's chat channel, read as superuser) reads."""
        languages = {
            code: data.iso_code
            for code, data in request.env["res.lang"]._get_active_by("code").items()
        }
        requested, accepted = language.request_choices(request.httprequest)
        # sudo: the database's default language of contacts, a setting visitors may not read
        default = request.env["ir.default"].sudo()._get("res.partner", "lang")
        return language.visitor_language(
            languages, requested, accepted, fallback=(channel.company_id.partner_id.lang, default)
        )

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
