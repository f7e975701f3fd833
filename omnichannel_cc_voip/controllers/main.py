"""Webhooks a PBX calls: CTI events and routing questions (see README).

The checks (size, token, signature, content type, JSON, clock) and the
answers are the shared webhook preamble's
(``omnichannel_cc/controllers/webhook.py``, whose route type reads the raw
body before anything parses it); the PBX signs the raw body with the
channel's secret and stamps it with its clock (``timestamp``, at most 5
minutes off).
"""

from odoo import http
from odoo.http import request

from odoo.addons.omnichannel_cc.controllers.webhook import (
    WEBHOOK_ROUTE_TYPE,
    SignedWebhook,
)
from odoo.addons.omnichannel_cc.tools import signature

from ..tools import cti

SIGNATURE_HEADER = "X-Omnichannel-Signature"


class OmnichannelVoipController(SignedWebhook, http.Controller):
    _webhook_label = "PBX request"
    _webhook_max_body = cti.MAX_BODY
    _webhook_unknown_token = "Unknown PBX token."
    _webhook_bad_signature = f"Missing or bad {SIGNATURE_HEADER}."
    _webhook_clock_sender = "PBX"

    def _webhook_channel(self, token):
        return request.env["omnichannel.channel"]._voip_find_by_token(token)

    def _webhook_verify(self, channel, body, headers):
        return signature.verify(channel.voip_secret, body, headers.get(SIGNATURE_HEADER))

    def _webhook_timestamp(self, values):
        return values["timestamp"]

    @http.route(
        "/omnichannel/voip/<string:token>/event",
        type=WEBHOOK_ROUTE_TYPE,
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def voip_event(self, token, **kwargs):
        return self._webhook_receive(
            token, lambda channel, payload: cti.parse_event(payload), "_voip_event"
        )

    @http.route(
        "/omnichannel/voip/<string:token>/route",
        type=WEBHOOK_ROUTE_TYPE,
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def voip_route(self, token, **kwargs):
        return self._webhook_receive(
            token, lambda channel, payload: cti.parse_route(payload), "_voip_route"
        )
