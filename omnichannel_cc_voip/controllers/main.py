"""Webhooks a PBX calls: CTI events and routing questions (see README)."""

import logging
import time

from odoo import SUPERUSER_ID, http
from odoo.exceptions import UserError, ValidationError
from odoo.http import request

from odoo.addons.omnichannel_cc.tools import signature

from ..tools import cti

_logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Omnichannel-Signature"


class OmnichannelVoipController(http.Controller):
    def _answer(self, status, payload):
        return request.make_json_response(payload, status=status)

    def _handle(self, token, parse, method_name):
        """Check size, token, signature, body and freshness, then apply; nothing
        is written unless every check passed."""
        # cached: Odoo replays the request after a serialization failure
        body = request.httprequest.get_data(as_text=False)
        try:
            if len(body) > cti.MAX_BODY:
                raise cti.CtiError(413, f"The body is larger than {cti.MAX_BODY} bytes.")
            channel = request.env["omnichannel.channel"].sudo()._voip_find_by_token(token)
            if not channel:
                raise cti.CtiError(404, "Unknown PBX token.")
            header = request.httprequest.headers.get(SIGNATURE_HEADER)
            if not signature.verify(channel.voip_secret, body, header):
                raise cti.CtiError(401, f"Missing or bad {SIGNATURE_HEADER}.")
            values = parse(body)
            if not signature.is_fresh(values["timestamp"], time.time()):
                raise cti.CtiError(
                    401, "The timestamp is more than 5 minutes off: check the PBX's clock."
                )
            # OdooBot applies the event, in the channel's company
            env = request.env(user=SUPERUSER_ID, su=True)
            Interaction = env["omnichannel.interaction"].with_company(channel.company_id)
            result = getattr(Interaction, method_name)(channel, values)
        except cti.CtiError as error:
            if error.status != 404:
                _logger.info("PBX request refused (%s): %s", error.status, error.message)
            return self._answer(error.status, {"error": error.message})
        except (UserError, ValidationError) as error:
            request.env.cr.rollback()
            return self._answer(400, {"error": str(error.args[0] if error.args else error)})
        return self._answer(200, result)

    @http.route(
        "/omnichannel/voip/<string:token>/event",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def voip_event(self, token, **kwargs):
        return self._handle(token, cti.parse_event, "_voip_event")

    @http.route(
        "/omnichannel/voip/<string:token>/route",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def voip_route(self, token, **kwargs):
        return self._handle(token, cti.parse_route, "_voip_route")
