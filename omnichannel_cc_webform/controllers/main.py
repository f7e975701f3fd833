"""Public web form channel: the form, its embeddable snippet and the post.

The routes parse the request and answer; the form's model
(``omnichannel.channel._webform_submit``) checks, rate-limits and creates.
Pages and messages are in the visitor's language: ``?lang=`` or Odoo's
``frontend_lang`` cookie, else the browser's Accept-Language, among the
installed languages (``omnichannel_cc/tools/language.py``).
"""

import json
from urllib.parse import urlencode

from odoo import _, http
from odoo.http import request

from odoo.addons.omnichannel_cc.tools import language

from ..tools import webform

EMBED_JS = """(function () {
  var script = document.currentScript;
  if (!script) { return; }
  var url = %(url)s;
  var lang = script.getAttribute("data-lang");
  var frame = document.createElement("iframe");
  frame.src = url + "?embed=1" + (lang ? "&lang=" + encodeURIComponent(lang) : "");
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
    def _wants_json(self):
        accept = request.httprequest.headers.get("Accept", "")
        return "application/json" in accept and "text/html" not in accept

    def _form(self, key):
        """The form of ``key``, its environment in the visitor's language
        (the request's too: ``_()`` of routes and models); 404 when none."""
        form = request.env["omnichannel.channel"]._webform_find(key)
        if not form:
            raise request.not_found()
        languages = {
            code: data.iso_code
            for code, data in request.env["res.lang"]._get_active_by("code").items()
        }
        requested, accepted = language.request_choices(request.httprequest)
        # sudo: the database's default language of contacts, a setting visitors may not read
        default = request.env["ir.default"].sudo()._get("res.partner", "lang")
        lang = language.visitor_language(
            languages,
            requested,
            accepted,
            # sudo: visitors may not read channels; the language of the form's company
            fallback=(form.sudo().company_id.partner_id.lang, default),
        )
        request.update_context(lang=lang)
        return form.with_env(request.env)

    def _page(self, template, values, status=200):
        # the page's <html lang>: the BCP 47 tag of the language rendered
        lang = request.env["res.lang"]._get_data(code=request.env.lang)
        values = dict(
            values,
            html_lang=language.html_lang(lang.iso_code),
            html_dir="rtl" if lang.direction == "rtl" else None,
        )
        # the template starts with the doctype: the browser renders in standards mode
        html = request.env["ir.qweb"]._render(template, values)
        return request.make_response(
            html,
            headers=[("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
            status=status,
        )

    def _error(self, form_sudo, status, message):
        if self._wants_json():
            return request.make_response(
                json.dumps({"ok": False, "error": message}),
                headers=[("Content-Type", "application/json")],
                status=status,
            )
        return self._page(
            "omnichannel_cc_webform.webform_message_page",
            {"channel": form_sudo, "title": _("Not sent"), "message": message, "error": True},
            status=status,
        )

    def _thanks(self, form_sudo, interaction):
        if self._wants_json():
            # sudo: visitors may not read interactions; they get their own reference
            reference = interaction.sudo().name if interaction else ""
            return request.make_response(
                json.dumps({"ok": True, "reference": reference}),
                headers=[("Content-Type", "application/json")],
            )
        message = form_sudo.webform_thanks or _(
            "Thank you, we received your message and will answer soon."
        )
        return self._page(
            "omnichannel_cc_webform.webform_message_page",
            {"channel": form_sudo, "title": _("Thank you"), "message": message, "error": False},
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
        form = self._form(key)
        # sudo: visitors may not read channels; the page shows this form's texts and limits
        form_sudo = form.sudo()
        return self._page(
            "omnichannel_cc_webform.webform_page",
            {
                "channel": form_sudo,
                "token": form_sudo._webform_token(),
                # the answer page in the language of the form
                "action": f"/omnichannel/form/{form_sudo.address_normalized}?"
                + urlencode({"lang": form.env.lang}),
                "honeypot": webform.HONEYPOT_FIELD,
                "offer_callback": bool(form_sudo._webform_callback_line()),
                "max_files": form_sudo.webform_max_files,
                "max_file_mb": form_sudo.webform_max_file_mb,
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
        form = request.env["omnichannel.channel"]._webform_find(key)
        if not form:
            raise request.not_found()
        # sudo: visitors may not read channels; the script points to this form's URL.
        # The URL is built on web.base.url, never on the request's Host: the
        # answer is cached publicly, by proxies too
        url = form.sudo().webform_url
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
        form = self._form(key)
        # sudo: visitors may not read channels; the answer page shows the form's texts
        form_sudo = form.sudo()
        try:
            # refused before the body is parsed
            webform.check_body_size(httprequest.content_length)
            values = {name: httprequest.form.get(name) for name in httprequest.form}
            files = []
            for upload in httprequest.files.getlist("attachments"):
                if not (upload and upload.filename):
                    continue
                # Odoo replays a request after a serialization failure but
                # rewinds only the first file of each field
                if upload.stream.seekable():
                    upload.stream.seek(0)
                data = upload.read(webform.MAX_BODY_BYTES + 1)
                files.append((upload.filename, data, upload.mimetype or ""))
            interaction = form._webform_submit(values, files, httprequest.remote_addr or "unknown")
        except webform.FormError as error:
            return self._error(form_sudo, error.status, error.message)
        return self._thanks(form_sudo, interaction)
