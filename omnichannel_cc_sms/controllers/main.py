"""Callbacks of SMS gateways: received messages and delivery reports.

``/omnichannel/sms/<token>/inbound`` and ``/omnichannel/sms/<token>/status``
(GET or POST) in each gateway's own format (``tools/sms_providers.py``).
The checks (size 413, token 404, the gateway's authentication 401 / 403,
content type 415, form or JSON 400) and the refusals are the shared webhook
preamble's (``omnichannel_cc/controllers/webhook.py``); nothing is written
unless all passed. The success answer is what the gateway expects: empty
TwiML for Twilio, ``OK`` for SMSAPI, nothing for Kannel's smsbox (which
would text it back to the customer), JSON otherwise.

``/status`` is fire-and-forget: once checked, the callback's reports are
stored in the event inbox (keyed by their parsed content: a gateway's
retry stores nothing) and answered at once, in the gateway's format (JSON
``{"queued": true, "duplicate", "inbox_id"}`` for Kannel and the generic
gateway); the inbox's cron applies the reports of each message in order of
receipt. ``/inbound`` is applied now: the generic gateway's answer is the
applied result (``interaction_id``, ``partner_id``, ``keyword``), and a
message the model refuses is answered 400 for the gateway to see.
"""

import dataclasses
import hashlib
import json

from odoo import http
from odoo.http import request

from odoo.addons.omnichannel_cc.controllers.webhook import (
    WEBHOOK_ROUTE_TYPE,
    SignedWebhook,
)
from odoo.addons.omnichannel_cc.tools import webhook as webhook_tools
from odoo.addons.omnichannel_cc.tools.webhook import InboxEntry

from ..tools import sms_providers

MAX_BODY = 64 * 1024


class OmnichannelSmsController(SignedWebhook, http.Controller):
    _webhook_label = "SMS gateway callback"
    _webhook_max_body = MAX_BODY
    _webhook_unknown_token = "Unknown SMS token."
    _webhook_bad_signature = "Missing or bad signature."

    def _webhook_channel(self, token):
        channel = request.env["omnichannel.channel"]._sms_find_by_token(token)
        # an Odoo IAP channel receives nothing
        return channel if channel and channel._sms_uses_gateway() else channel.browse()

    def _webhook_format(self, channel):
        return channel._sms_adapter().payload

    def _webhook_verify(self, channel, body, headers):
        # raises 401 (signature) or 403 (secret, address) itself
        channel._sms_adapter().verify(self._sms_web_request(body, headers))
        return True

    def _sms_web_request(self, body, headers):
        httprequest = request.httprequest
        query = httprequest.query_string or b""
        form = ()
        if httprequest.method == "POST" and (httprequest.mimetype or "").lower() in (
            webhook_tools.FORM_MIMETYPES
        ):
            form = tuple(webhook_tools.form_pairs(body))
        # Twilio signs the URL it was given: as the proxy forwarded it, or
        # as the database's base URL says
        path = httprequest.path + (("?" + query.decode("latin-1")) if query else "")
        # sudo: the gateway's request runs as the public user; only the base URL is read
        base_url = request.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        urls = [httprequest.url]
        if base_url:
            urls.append(base_url.rstrip("/") + path)
        return sms_providers.WebRequest(
            method=httprequest.method,
            url=httprequest.url,
            headers=headers,
            body=body,
            query=tuple(webhook_tools.form_pairs(query)),
            form=form,
            remote_addr=httprequest.remote_addr or "",
            urls=tuple(dict.fromkeys(urls)),
        )

    def _sms_answer(self, kind):
        def answer(channel, result):
            content = channel._sms_adapter().answer(kind, result)
            if content is None:
                return None
            content_type, body = content
            return request.make_response(
                body, headers=[("Content-Type", f"{content_type}; charset=utf-8")], status=200
            )

        return answer

    @http.route(
        "/omnichannel/sms/<string:token>/inbound",
        type=WEBHOOK_ROUTE_TYPE,
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def sms_inbound(self, token, **kwargs):
        # not through the event inbox: the generic gateway's answer is the
        # applied result (the interaction and contact of the message), and
        # a refused message must be its 400, not a dead letter
        return self._webhook_receive(
            token,
            lambda channel, payload: channel._sms_adapter().parse_inbound(payload),
            "_sms_receive",
            answer=self._sms_answer("inbound"),
        )

    @http.route(
        "/omnichannel/sms/<string:token>/status",
        type=WEBHOOK_ROUTE_TYPE,
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
    )
    def sms_status(self, token, **kwargs):
        return self._webhook_receive(
            token,
            lambda channel, payload: channel._sms_adapter().parse_status(payload),
            "_sms_status_inbox",
            answer=self._sms_answer("status"),
            inbox=self._sms_status_inbox_entry,
        )

    def _sms_status_inbox_entry(self, channel, reports):
        """One callback's reports (``sms_providers.Status``) as JSON, keyed
        by that content (a gateway's retry of it is a duplicate); the
        reports of one message in order of receipt (an SMSAPI callback
        reporting on several messages has no single one: no order, and the
        reports never take a message back anyway)."""
        payload = {"reports": [dataclasses.asdict(report) for report in reports]}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        key = hashlib.sha256(canonical.encode()).hexdigest()
        messages = {report.provider_id or report.uuid for report in reports}
        conversation = messages.pop() if len(messages) == 1 else None
        return InboxEntry(f"sms-status:{channel.id}", key, conversation, payload)
