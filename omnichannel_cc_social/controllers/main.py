"""Webhook of social messenger channels (WhatsApp Cloud API, Messenger, Telegram).

``GET /omnichannel/social/<token>``: Meta's subscription handshake.
``POST /omnichannel/social/<token>``: events, signed by the platform. Every
check comes first; nothing is written unless all passed.
"""

import json
import logging

from odoo import SUPERUSER_ID, http
from odoo.exceptions import UserError, ValidationError
from odoo.http import request

from ..tools import social as social_tools

_logger = logging.getLogger(__name__)


class OmnichannelSocialController(http.Controller):
    def _answer(self, status, payload):
        return request.make_json_response(payload, status=status)

    @http.route(
        "/omnichannel/social/<string:token>",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def social_webhook(self, token, **kwargs):
        if request.httprequest.method == "GET":
            return self._handshake(token)
        return self._receive(token)

    def _handshake(self, token):
        channel = request.env["omnichannel.channel"].sudo()._social_find_by_token(token)
        if not channel:
            return self._answer(404, {"error": "Unknown webhook token."})
        challenge = social_tools.verify_handshake(
            channel.social_verify_token, request.httprequest.args
        )
        if challenge is None:
            _logger.info("Social webhook handshake refused for channel %s", channel.id)
            return request.make_response(
                "Forbidden", headers=[("Content-Type", "text/plain")], status=403
            )
        return request.make_response(
            challenge, headers=[("Content-Type", "text/plain; charset=utf-8")], status=200
        )

    def _receive(self, token):
        httprequest = request.httprequest
        try:
            length = httprequest.content_length or 0
            if length > social_tools.MAX_BODY:
                raise social_tools.SocialError(
                    413, f"The body is larger than {social_tools.MAX_BODY} bytes."
                )
            # cached: Odoo replays the request after a serialization failure
            body = httprequest.get_data(as_text=False)
            if len(body) > social_tools.MAX_BODY:
                raise social_tools.SocialError(
                    413, f"The body is larger than {social_tools.MAX_BODY} bytes."
                )
            channel = request.env["omnichannel.channel"].sudo()._social_find_by_token(token)
            if not channel:
                raise social_tools.SocialError(404, "Unknown webhook token.")
            if not social_tools.verify_request(
                channel.social_platform, channel.social_app_secret, body, httprequest.headers
            ):
                raise social_tools.SocialError(401, "Missing or bad webhook signature.")
            try:
                payload = json.loads(body)
            except (UnicodeDecodeError, ValueError) as error:
                raise social_tools.SocialError(400, "The body is not valid JSON.") from error
            messages, statuses = social_tools.parse_events(channel.social_platform, payload)
            # OdooBot stores the messages, in the channel's company
            env = request.env(user=SUPERUSER_ID, su=True)
            Interaction = env["omnichannel.interaction"].with_company(channel.company_id)
            result = Interaction._social_receive(
                channel.with_env(env).with_company(channel.company_id), messages, statuses
            )
        except social_tools.SocialError as error:
            if error.status != 404:
                _logger.info("Social webhook refused (%s): %s", error.status, error.message)
            return self._answer(error.status, {"error": error.message})
        except (UserError, ValidationError) as error:
            request.env.cr.rollback()
            return self._answer(400, {"error": str(error.args[0] if error.args else error)})
        return self._answer(200, result)
