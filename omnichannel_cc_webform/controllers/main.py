"""Public web form channel: the form, its embeddable snippet and the post.

Every check runs before anything is written; a refused post stores nothing.
"""

import json
import logging
import secrets
import time

from odoo import SUPERUSER_ID, _, fields, http
from odoo.exceptions import UserError, ValidationError
from odoo.http import request
from odoo.tools.misc import hmac as odoo_hmac

from odoo.addons.omnichannel_cc.tools import address as address_tools
from ..tools import webform

_logger = logging.getLogger(__name__)

TOKEN_SCOPE = "omnichannel-webform"
EMBED_JS = """(function () {
  var script = document.currentScript;
  if (!script) { return; }
  var url = %(url)s;
  var frame = document.createElement("iframe");
  frame.src = url + "?embed=1";
  frame.title = script.getAttribute("data-title") || "Contact form";
  frame.className = "o_omnichannel_webform_frame";
  frame.style.width = "100%%";
  frame.style.border = "0";
  frame.style.height = (parseInt(script.getAttribute("data-height"), 10) || 720) + "px";
  frame.setAttribute("loading", "lazy");
  var target = script.getAttribute("data-target");
  var host = target && document.getElementById(target);
  if (host) { host.appendChild(frame); }
  else { script.parentNode.insertBefore(frame, script); }
})();
"""


class OmnichannelWebformController(http.Controller):
    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _env(self):
        return request.env(user=SUPERUSER_ID, su=True)

    def _channel(self, key):
        env = self._env()
        key = (key or "").strip()
        if not key or len(key) > 128:
            return env["omnichannel.channel"]
        return env["omnichannel.channel"].search(
            [
                ("channel_type", "=", "webform"),
                ("address_normalized", "=", key),
                ("active", "=", True),
            ],
            limit=1,
        )

    def _sign(self, message):
        return odoo_hmac(self._env(), TOKEN_SCOPE, message)

    def _wants_json(self):
        accept = request.httprequest.headers.get("Accept", "")
        return "application/json" in accept and "text/html" not in accept

    def _page(self, template, values, status=200):
        html = "<!DOCTYPE html>\n" + self._env()["ir.qweb"]._render(template, values)
        return request.make_response(
            html,
            headers=[("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
            status=status,
        )

    def _error(self, channel, status, message):
        if self._wants_json():
            return request.make_response(
                json.dumps({"ok": False, "error": message}),
                headers=[("Content-Type", "application/json")],
                status=status,
            )
        return self._page(
            "omnichannel_cc_webform.webform_message_page",
            {"channel": channel, "title": _("Not sent"), "message": message, "error": True},
            status=status,
        )

    def _thanks(self, channel, interaction=None):
        if self._wants_json():
            return request.make_response(
                json.dumps({"ok": True, "reference": interaction.name if interaction else ""}),
                headers=[("Content-Type", "application/json")],
            )
        message = channel.webform_thanks or _(
            "Thank you, we received your message and will answer soon."
        )
        return self._page(
            "omnichannel_cc_webform.webform_message_page",
            {"channel": channel, "title": _("Thank you"), "message": message, "error": False},
        )

    # ------------------------------------------------------------------
    # Routes
    # ------------------------------------------------------------------
    @http.route(
        "/omnichannel/form/<string:key>",
        type="http",
        auth="public",
        methods=["GET"],
        save_session=False,
    )
    def webform_get(self, key, embed=None, **kwargs):
        channel = self._channel(key)
        if not channel:
            return request.not_found()
        issued = int(time.time())
        token = webform.make_token(
            self._sign, channel.address_normalized, issued, secrets.token_urlsafe(18)
        )
        callback_line = (
            self._env()["omnichannel.callback"]._phone_channel_for(
                channel.queue_id, channel.company_id, channel.webform_callback_channel_id
            )
            if channel.queue_id
            else False
        )
        return self._page(
            "omnichannel_cc_webform.webform_page",
            {
                "channel": channel,
                "token": token,
                "action": f"/omnichannel/form/{channel.address_normalized}",
                "honeypot": webform.HONEYPOT_FIELD,
                "offer_callback": bool(callback_line),
                "max_files": channel.webform_max_files,
                "max_file_mb": channel.webform_max_file_mb,
                "accept": ",".join("." + ext for ext in sorted(webform.ALLOWED_EXTENSIONS)),
                "embed": bool(embed),
            },
        )

    @http.route(
        "/omnichannel/form/<string:key>/embed.js",
        type="http",
        auth="public",
        methods=["GET"],
        save_session=False,
    )
    def webform_embed(self, key, **kwargs):
        channel = self._channel(key)
        if not channel:
            return request.not_found()
        url = f"{request.httprequest.host_url.rstrip('/')}/omnichannel/form/"
        url += channel.address_normalized
        return request.make_response(
            EMBED_JS % {"url": json.dumps(url)},
            headers=[
                ("Content-Type", "application/javascript; charset=utf-8"),
                ("Cache-Control", "public, max-age=300"),
            ],
        )

    @http.route(
        "/omnichannel/form/<string:key>",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,  # the signed form token replaces the session-bound CSRF token
        save_session=False,
    )
    def webform_post(self, key, **kwargs):
        httprequest = request.httprequest
        length = httprequest.content_length
        channel = self._channel(key)
        if not channel:
            return request.not_found()
        if length and length > webform.MAX_BODY_BYTES:
            return self._error(
                channel,
                413,
                _(
                    "The form is larger than %(mb)s MB: send fewer or smaller files.",
                    mb=webform.MAX_BODY_BYTES // (1024 * 1024),
                ),
            )
        remote_ip = httprequest.remote_addr or "unknown"
        try:
            values = {name: httprequest.form.get(name) for name in httprequest.form}
            nonce = webform.check_token(
                self._sign, channel.address_normalized, values.get("token"), time.time()
            )
            if webform.is_spam(values):
                _logger.info(
                    "Web form %s: honeypot filled from %s, submission dropped",
                    channel.address_normalized,
                    remote_ip,
                )
                return self._thanks(channel)
            files = [f for f in httprequest.files.getlist("attachments") if f and f.filename]
            if len(files) > max(channel.webform_max_files, 0):
                raise webform.FormError(
                    413, _("Send at most %(count)s files.", count=channel.webform_max_files)
                )
            for f in files:
                # Odoo replays a request after a serialization failure but
                # rewinds only the first file of each field
                if f.stream.seekable():
                    f.stream.seek(0)
            contents = [f.read(webform.MAX_BODY_BYTES + 1) for f in files]
            uploads = [
                webform.Upload(f.filename, f.mimetype or "", len(data))
                for f, data in zip(files, contents, strict=True)
            ]
            submission = webform.check_submission(
                values,
                uploads,
                fields.Datetime.now(),
                max_files=channel.webform_max_files,
                max_file_bytes=channel.webform_max_file_mb * 1024 * 1024,
            )
            region = channel.company_id.country_id.code
            email = phone = ""
            try:
                if submission.email:
                    email = address_tools.normalize_email(submission.email)
                if submission.phone:
                    phone = address_tools.normalize_phone(submission.phone, region)
            except address_tools.AddressError as error:
                raise webform.FormError(
                    400, _("Check your e-mail address and phone number: %(error)s", error=error)
                ) from error
            Submission = self._env()["omnichannel.webform.submission"]
            by_ip, by_channel = Submission._recent_counts(channel, remote_ip)
            refusal = webform.rate_limited(
                by_ip, by_channel, channel.webform_rate_ip, channel.webform_rate_channel
            )
            if refusal:
                _logger.info(
                    "Web form %s: rate limit for %s (%s from IP, %s for the form)",
                    channel.address_normalized,
                    remote_ip,
                    by_ip,
                    by_channel,
                )
                raise webform.FormError(429, refusal)
            Interaction = self._env()["omnichannel.interaction"].with_company(channel.company_id)
            external_id = f"form-{nonce}"
            interaction, created = Interaction._inbound_once(
                channel,
                external_id,
                lambda: Interaction._webform_create(
                    channel,
                    external_id,
                    submission,
                    email,
                    phone,
                    [
                        (f.filename, data, f.mimetype)
                        for f, data in zip(files, contents, strict=True)
                    ],
                ),
            )
            if created:
                Submission.create(
                    {
                        "channel_id": channel.id,
                        "remote_ip": remote_ip,
                        "interaction_id": interaction.id,
                    }
                )
        except webform.FormError as error:
            request.env.cr.rollback()
            if error.status != 429:
                _logger.info(
                    "Web form %s refused (%s) from %s: %s",
                    channel.address_normalized,
                    error.status,
                    remote_ip,
                    error.message,
                )
            return self._error(channel, error.status, error.message)
        except (UserError, ValidationError) as error:
            request.env.cr.rollback()
            return self._error(channel, 400, str(error.args[0] if error.args else error))
        return self._thanks(channel, interaction)
