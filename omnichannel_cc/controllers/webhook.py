"""The preamble of every signed public webhook, written once.

A provider's controller mixes :class:`SignedWebhook` into its
``http.Controller``, declares its routes with ``type=WEBHOOK_ROUTE_TYPE``,
says how its channel is found and its signature checked, and hands each
route's body to :meth:`SignedWebhook._webhook_receive` with a pure parser
and the name of the ``omnichannel.interaction`` method that applies the
result. The checks and their order (``tools/webhook.py``) and the JSON
answers are the same for every provider:

- 413 ``{"error"}``: the body is over the limit (announced or read);
- 404: unknown token, or one no channel can have (not logged: scanners);
- 401: missing or bad signature, or a signed timestamp out of the window;
- 403: refused by the provider's own check (``_webhook_verify`` raising
  ``WebhookError(403)``: a wrong shared secret, an address off the list);
- 415: a signed body declared as something else than JSON (a form), or,
  for a channel whose provider posts forms (``_webhook_format``), as
  something else than a form;
- 400: not a JSON object (or nested too deep, or with a non-finite
  number) / not a UTF-8 form, a field the parser refuses, or a
  ``UserError`` / ``ValidationError`` of the model (its writes are rolled
  back);
- 200: the model method's result, as JSON unless the route's ``answer``
  says otherwise (a provider expecting ``OK`` or XML).

A fire-and-forget route (``inbox`` given) does not apply the request: once
every check passed, one statement stores it in the event inbox
(``omnichannel.event.inbox``, committed before the answer goes out) and the
answer is 200 ``{"queued": true, "duplicate": <a redelivery>, "inbox_id"}``
(or the route's ``answer``); the inbox's cron applies it. The model's
refusals (``UserError``) then make dead letters, not 400s.

- 503 ``{"error"}`` with ``Retry-After``: the database became unavailable
  (or stayed busy after Odoo's retries) during the request; 500
  ``{"error"}``: any other failure, its details only in the log
  (``SignedWebhookDispatcher.handle_error``).

Nothing is written before every check passed.
"""

import logging
import time

import psycopg2
from werkzeug.exceptions import HTTPException

from odoo import SUPERUSER_ID
from odoo.exceptions import UserError, ValidationError
from odoo.http import HttpDispatcher, request

from ..tools import signature
from ..tools import webhook as webhook_tools

_logger = logging.getLogger(__name__)

WEBHOOK_ROUTE_TYPE = "omnichannel_webhook"


class SignedWebhookDispatcher(HttpDispatcher):
    """Routes of ``type=WEBHOOK_ROUTE_TYPE``: an ``http`` route whose raw
    body is read before Odoo parses a form out of it. The signature is over
    those bytes: a body sent as a form would otherwise reach the controller
    empty, and its sender hear "bad signature" instead of "send JSON"."""

    routing_type = WEBHOOK_ROUTE_TYPE

    def dispatch(self, endpoint, args):
        httprequest = self.request.httprequest
        controller = getattr(getattr(endpoint, "func", None), "__self__", None)
        limit = getattr(controller, "_webhook_max_body", SignedWebhook._webhook_max_body)
        length = httprequest.content_length
        if length is None or length <= limit:
            # cached: the form parser (and a replayed request) read the cache
            httprequest.get_data()
        return super().dispatch(endpoint, args)

    def handle_error(self, exc):
        """A sender reads JSON, never Odoo's HTML error page: 503 with
        ``Retry-After`` while the database cannot be reached (a PBX or a
        gateway retries it), 500 for anything else (the details stay in
        the log). Odoo's own answer for its HTTP exceptions is kept."""
        if isinstance(exc, HTTPException):
            return super().handle_error(exc)
        if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)):
            return self.request.make_json_response(
                {"error": "The database is unavailable or busy; send the request again later."},
                headers=[("Retry-After", "5")],
                status=503,
            )
        return self.request.make_json_response({"error": "Internal server error."}, status=500)


class SignedWebhook:
    """Mixin of the controllers of signed webhooks (not a controller itself:
    each provider's controller stays a separate one)."""

    # how refusals are logged: "<label> refused (<status>): <message>"
    _webhook_label = "Webhook request"
    _webhook_max_body = 64 * 1024
    _webhook_unknown_token = "Unknown webhook token."
    _webhook_bad_signature = "Missing or bad webhook signature."
    # window of the signed timestamp, when _webhook_timestamp gives one
    _webhook_max_age = signature.DEFAULT_TOLERANCE
    _webhook_max_ahead = signature.DEFAULT_TOLERANCE
    _webhook_clock_sender = "sender"

    def _webhook_channel(self, token):
        """The channel a URL token designates (read as superuser), or an
        empty recordset."""
        raise NotImplementedError

    def _webhook_verify(self, channel, body, headers):
        """Whether the request is signed by the channel's sender."""
        raise NotImplementedError

    def _webhook_timestamp(self, values):
        """The signed time of the parsed request (UNIX seconds), checked
        against the clock; None when the provider signs none."""
        return

    def _webhook_format(self, channel):
        """How the channel's provider encodes its requests: ``"json"`` (a
        JSON object body) or ``"form"`` (URL-encoded form fields and / or
        the URL's query string, as one dict of str)."""
        return "json"

    def _webhook_find_channel(self, token):
        """The channel of a URL token; ``WebhookError`` 404 when none, or
        when the token cannot be one (a NUL never reaches the database)."""
        webhook_tools.check_token(token, self._webhook_unknown_token)
        channel = self._webhook_channel(token)
        if not channel:
            raise webhook_tools.WebhookError(404, self._webhook_unknown_token)
        return channel

    def _webhook_receive(self, token, parse, method, answer=None, inbox=None):
        """Check the request, then apply it (or store it: ``inbox``).

        :param parse: ``parse(channel, payload)``: the checked values of the
            decoded JSON object (or form, see ``_webhook_format``); pure,
            raises ``WebhookError`` (400);
        :param method: name of the ``omnichannel.interaction`` method
            applying them, ``method(channel, values)``, which returns the
            JSON answer;
        :param answer: optional ``answer(channel, result)``: the response
            to send instead of the JSON result (None: the JSON result).
        :param inbox: optional ``inbox(channel, values)``: the
            ``tools.webhook.InboxEntry`` of a fire-and-forget request, which
            is stored for the inbox's cron to apply with ``method`` and
            answered at once (``{"queued": true, "duplicate", "inbox_id"}``).
        """
        httprequest = request.httprequest
        try:
            webhook_tools.check_size(httprequest.content_length, self._webhook_max_body)
            # read by SignedWebhookDispatcher before any form parsing; cached:
            # Odoo replays the request after a serialization failure
            body = httprequest.get_data(as_text=False)
            webhook_tools.check_size(len(body), self._webhook_max_body)
            channel = self._webhook_find_channel(token)
            # may raise WebhookError itself (403: secret, address)
            if not self._webhook_verify(channel, body, httprequest.headers):
                raise webhook_tools.WebhookError(401, self._webhook_bad_signature)
            if self._webhook_format(channel) == "form":
                webhook_tools.check_form_content_type(httprequest.mimetype)
                payload = webhook_tools.load_form(body, httprequest.query_string)
            else:
                webhook_tools.check_content_type(httprequest.mimetype)
                payload = webhook_tools.load_json(body)
            values = parse(channel, payload)
            timestamp = self._webhook_timestamp(values)
            if timestamp is not None:
                webhook_tools.check_clock(
                    timestamp,
                    time.time(),
                    max_age=self._webhook_max_age,
                    max_ahead=self._webhook_max_ahead,
                    sender=self._webhook_clock_sender,
                )
            # sudo: a public route; the signature checked above is the
            # sender's authority. OdooBot applies it in the channel's company.
            env = request.env(user=SUPERUSER_ID, su=True)
            channel = channel.with_env(env).with_company(channel.company_id)
            if inbox:
                entry = inbox(channel, values)
                inbox_id, duplicate = env["omnichannel.event.inbox"]._receive(
                    channel,
                    method,
                    entry.scope,
                    entry.key,
                    entry.conversation,
                    values if entry.payload is None else entry.payload,
                )
                result = {"queued": True, "duplicate": duplicate, "inbox_id": inbox_id}
            else:
                result = getattr(channel.env["omnichannel.interaction"], method)(channel, values)
        except webhook_tools.WebhookError as error:
            if error.status != 404:
                _logger.info(
                    "%s refused (%s): %s", self._webhook_label, error.status, error.message
                )
            return request.make_json_response({"error": error.message}, status=error.status)
        except (UserError, ValidationError) as error:
            request.env.cr.rollback()
            message = str(error.args[0] if error.args else error)
            return request.make_json_response({"error": message}, status=400)
        response = answer(channel, result) if answer else None
        return response or request.make_json_response(result, status=200)
