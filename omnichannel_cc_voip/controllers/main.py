"""Webhooks a PBX calls: CTI events and routing questions (see README).

The checks (size, token, signature, content type, JSON, clock) and the
answers are the shared webhook preamble's
(``omnichannel_cc/controllers/webhook.py``, whose route type reads the raw
body before anything parses it); the PBX signs the raw body with the
channel's secret and stamps it with its clock (``timestamp``, at most 5
minutes off).

``/event`` is fire-and-forget: once checked, the event is stored in the
event inbox and answered 200 ``{"queued": true, "duplicate", "inbox_id"}``
at once; the inbox's cron applies the events of each call in order of
receipt. ``/route`` is answered now: the PBX waits for where to send the
call.

Both run without a user (``auth="none"``: the PBX is not one, and the
public user would cost a query per request for nothing): the channel is
found by its token as superuser and, once the signature is checked, the
request is applied as OdooBot in the channel's company, as every signed
webhook is. ``readonly=False``: ``auth="none"`` routes default to a
read-only cursor in Odoo 18, and both write.
"""

from odoo import http
from odoo.http import request

from odoo.addons.omnichannel_cc.controllers.webhook import (
    WEBHOOK_ROUTE_TYPE,
    SignedWebhook,
)
from odoo.addons.omnichannel_cc.tools import signature
from odoo.addons.omnichannel_cc.tools.webhook import InboxEntry

from ..tools import cti

SIGNATURE_HEADER = "X-Omnichannel-Signature"


class OmnichannelVoipController(SignedWebhook, http.Controller):
    _webhook_label = "PBX request"
    _webhook_max_body = cti.MAX_BODY
    _webhook_unknown_token = "Unknown PBX token."
    _webhook_bad_signature = f"Missing or bad {SIGNATURE_HEADER}."
    _webhook_clock_sender = "PBX"

    def _webhook_channel(self, token):
        if not request.db:
            # auth="none" routes are served without a database too (a server
            # of several databases, none chosen by -d or --db-filter): no
            # channel has the token there (404, as before)
            return None
        return request.env["omnichannel.channel"]._voip_find_by_token(token)

    def _webhook_verify(self, channel, body, headers):
        return signature.verify(channel.voip_secret, body, headers.get(SIGNATURE_HEADER))

    def _webhook_timestamp(self, values):
        return values["timestamp"]

    @http.route(
        "/omnichannel/voip/<string:token>/event",
        type=WEBHOOK_ROUTE_TYPE,
        auth="none",
        readonly=False,
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def voip_event(self, token, **kwargs):
        return self._webhook_receive(
            token,
            lambda channel, payload: cti.parse_event(payload),
            "_voip_event",
            inbox=self._voip_inbox_entry,
        )

    def _voip_inbox_entry(self, channel, values):
        # the key of _voip_event's own claim (the events of one call in
        # order), and a keypad answer's digits: an answer refused as out of
        # range (a dead letter) does not make the corrected one a duplicate
        key = cti.event_key(values)
        if values.get("digits"):
            key = f"{key}|{values['digits']}"
        return InboxEntry(f"voip:{channel.id}", key, values["call_id"])

    @http.route(
        "/omnichannel/voip/<string:token>/route",
        type=WEBHOOK_ROUTE_TYPE,
        auth="none",
        readonly=False,
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def voip_route(self, token, **kwargs):
        return self._webhook_receive(
            token, lambda channel, payload: cti.parse_route(payload), "_voip_route"
        )
