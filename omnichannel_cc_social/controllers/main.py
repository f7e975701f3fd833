"""Webhook of social messenger channels (WhatsApp Cloud API, Messenger, Telegram).

``GET /omnichannel/social/<token>``: Meta's subscription handshake.
``POST /omnichannel/social/<token>``: events, signed by the platform. The
checks (size, token, signature, content type, JSON, clock) and the answers
are the shared webhook preamble's (``omnichannel_cc/controllers/webhook.py``);
nothing is written unless all passed. The platforms only need a 200: a
checked delivery is stored in the event inbox and answered at once
(``{"queued": true, "duplicate", "inbox_id"}``); the inbox's cron applies it
(a redelivery of the same body stores nothing; each message keeps its own
idempotency key besides).
"""

import hashlib
import json
import logging

from odoo import http
from odoo.http import request

from odoo.addons.omnichannel_cc.controllers.webhook import (
    WEBHOOK_ROUTE_TYPE,
    SignedWebhook,
)
from odoo.addons.omnichannel_cc.tools.webhook import InboxEntry, WebhookError

from ..tools import social as social_tools

_logger = logging.getLogger(__name__)


class OmnichannelSocialController(SignedWebhook, http.Controller):
    _webhook_label = "Social webhook"
    _webhook_max_body = social_tools.MAX_BODY
    _webhook_unknown_token = "Unknown webhook token."
    _webhook_bad_signature = "Missing or bad webhook signature."
    # The platforms retry a refused delivery for days: only a body whose
    # newest event is older than that is a replay (see social_tools).
    _webhook_max_age = social_tools.MAX_EVENT_AGE
    _webhook_clock_sender = "platform"

    def _webhook_channel(self, token):
        return request.env["omnichannel.channel"]._social_find_by_token(token)

    def _webhook_verify(self, channel, body, headers):
        return social_tools.verify_request(
            channel.social_platform, channel.social_app_secret, body, headers
        )

    def _webhook_timestamp(self, values):
        return social_tools.newest_timestamp(*values)

    @http.route(
        "/omnichannel/social/<string:token>",
        type=WEBHOOK_ROUTE_TYPE,
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def social_webhook(self, token, **kwargs):
        if request.httprequest.method == "GET":
            return self._handshake(token)
        return self._webhook_receive(
            token,
            lambda channel, payload: social_tools.parse_events(channel.social_platform, payload),
            "_social_receive",
            inbox=self._social_inbox_entry,
        )

    def _social_inbox_entry(self, channel, values):
        """One delivery (a batch of messages and statuses): keyed by its
        checked content, so that the platform's retry of it is a duplicate;
        the messages of one sender in order of receipt."""
        messages, statuses = values
        canonical = json.dumps([messages, statuses], sort_keys=True, separators=(",", ":"))
        key = hashlib.sha256(canonical.encode()).hexdigest()
        senders = {message["sender_id"] for message in messages}
        conversation = senders.pop() if len(senders) == 1 and not statuses else None
        return InboxEntry(f"social:{channel.id}", key, conversation)

    def _handshake(self, token):
        try:
            channel = self._webhook_find_channel(token)
        except WebhookError as error:
            return request.make_json_response({"error": error.message}, status=error.status)
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
