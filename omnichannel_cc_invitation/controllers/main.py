"""Public pages of invitation links: open a chat / audio / video session or
upload files to a case. Every check runs before anything is written.

GET never changes anything, whatever the kind: e-mail security scanners
(Outlook Safe Links, Gmail) open links before the customer does, and must not
use a single-use link up. GET shows a landing page (or the upload form); only
the POST of its form, with Odoo's CSRF token, counts a use and joins."""

import logging

import pytz

from odoo import _, http
from odoo.http import request
from odoo.tools.mimetypes import guess_mimetype
from odoo.tools.misc import format_datetime

from odoo.addons.mail.models.discuss.mail_guest import add_guest_to_context

from ..models.omnichannel_invitation import SESSION_KINDS
from ..tools import invitation as invitation_tools

_logger = logging.getLogger(__name__)


class OmnichannelInvitationController(http.Controller):
    # ------------------------------------------------------------------
    # Pages
    # ------------------------------------------------------------------
    def _page_invalid(self):
        return request.render(
            "omnichannel_cc_invitation.invitation_page_invalid",
            {"title": _("Invitation not found")},
            status=404,
        )

    def _page_too_many(self):
        """Too many unknown links from this address lately: links are not
        guessed one request at a time."""
        return request.make_response(
            _("Too many invalid invitation links were opened from your address: try again later."),
            headers=[
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Retry-After", "600"),
                ("Cache-Control", "no-store"),
            ],
            status=429,
        )

    def _page_gone(self, invitation, link_status):
        messages = {
            invitation_tools.EXPIRED: _("This invitation link has expired."),
            invitation_tools.REVOKED: _("This invitation link was withdrawn."),
            invitation_tools.USED: _("This invitation link was already used."),
        }
        return request.render(
            "omnichannel_cc_invitation.invitation_page_gone",
            {
                "title": _("Invitation no longer valid"),
                "message": messages.get(link_status, messages[invitation_tools.USED]),
                "company": invitation.company_id,
                "reason": link_status,
            },
            status=410,
        )

    def _page_upload(self, invitation, token, error=None, done=False, status=200):
        limits = self._upload_limits()
        return request.render(
            "omnichannel_cc_invitation.invitation_page_upload",
            {
                "title": _("Send your files"),
                "invitation": invitation,
                "case": invitation.case_id or invitation.interaction_id.case_id,
                "company": invitation.company_id,
                "token": token,
                "error": error,
                "done": done,
                "max_mb": limits["max_bytes"] // (1024 * 1024),
                "max_files": limits["max_files"],
                "accept": ",".join(sorted(limits["extensions"])),
            },
            status=status,
        )

    def _page_landing(self, invitation, token):
        """What the link opens, who invites and until when; the Join button
        posts the form (a use is counted only then)."""
        kinds = dict(invitation._fields["kind"]._description_selection(request.env))
        agent = invitation.user_id
        queue = invitation._target_queue()
        titles = {
            "chat": _("Chat with us"),
            "audio": _("Audio call"),
            "video": _("Video call"),
        }
        # the visitor's time zone when their browser told Odoo (tz cookie),
        # else the inviting agent's, else UTC; always named on the page
        tz = request.httprequest.cookies.get("tz")
        if tz not in pytz.all_timezones_set:
            tz = agent.tz or invitation.invited_by_id.tz or "UTC"
        return request.render(
            "omnichannel_cc_invitation.invitation_page_landing",
            {
                "title": titles.get(invitation.kind, kinds.get(invitation.kind)),
                "invitation": invitation,
                "kind_label": kinds.get(invitation.kind),
                "agent_name": agent.name,
                "queue_name": queue.name,
                "company": invitation.company_id,
                "expiry_text": format_datetime(
                    request.env, invitation.expiry, tz=tz, dt_format="short"
                ),
                "expiry_tz": tz,
                "token": token,
            },
        )

    def _upload_limits(self):
        # sudo: only administrators read system parameters; the upload limits only
        params = request.env["ir.config_parameter"].sudo()
        try:
            max_mb = int(params.get_param("omnichannel_cc.invitation_upload_max_mb") or 10)
        except ValueError:
            max_mb = 10
        extensions = invitation_tools.parse_extensions(
            params.get_param("omnichannel_cc.invitation_upload_extensions")
        )
        return {
            "max_bytes": max(max_mb, 1) * 1024 * 1024,
            "max_files": invitation_tools.DEFAULT_MAX_FILES,
            "extensions": extensions or invitation_tools.DEFAULT_ALLOWED_EXTENSIONS,
        }

    def _check(self, token, write=False):
        """``(invitation, None)`` when the link may be used, else ``(None, response)``.

        Only a POST (``write``) marks an expired link as such: a GET reads.
        """
        remote_ip = request.httprequest.remote_addr or "unknown"
        Attempt = request.env["omnichannel.invitation.attempt"]
        if Attempt._is_blocked(remote_ip):
            return None, self._page_too_many()
        invitation = request.env["omnichannel.invitation"]._find_by_token(token)
        if not invitation:
            Attempt._record_failure(remote_ip)
            return None, self._page_invalid()
        link_status = invitation._link_status()
        if link_status != invitation_tools.VALID:
            if write and link_status == invitation_tools.EXPIRED:
                invitation._mark_expired()
            return None, self._page_gone(invitation, link_status)
        return invitation.with_company(invitation.company_id), None

    # ------------------------------------------------------------------
    # Routes
    # ------------------------------------------------------------------
    @http.route(
        "/omnichannel/invite/<string:token>",
        type="http",
        auth="public",
        methods=["GET"],
        sitemap=False,
    )
    def invitation_open(self, token, **kwargs):
        """Read only: the landing page of a session link, the form of an
        upload link, or why the link no longer works."""
        invitation, refusal = self._check(token)
        if refusal:
            return refusal
        if invitation.kind not in SESSION_KINDS:
            return self._page_upload(invitation, token)
        return self._page_landing(invitation, token)

    @http.route(
        "/omnichannel/invite/<string:token>",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=True,
        sitemap=False,
    )
    @add_guest_to_context
    def invitation_post(self, token, **kwargs):
        """The form of the page: Join a session, or send files. Odoo refuses
        it (400, before this runs) without the CSRF token of the page."""
        invitation, refusal = self._check(token, write=True)
        if refusal:
            return refusal
        if invitation.kind in SESSION_KINDS:
            return self._join(invitation)
        return self._upload(invitation, token)

    def _join(self, invitation):
        if not invitation._claim_use():
            # lost a race with another join of the same link
            invitation.invalidate_recordset()
            return self._page_gone(invitation, invitation._link_status())
        discuss, _interaction = invitation._ensure_session()
        # the visitor joins as a guest named after the customer (or as
        # themselves when logged in), with Discuss's own cookie
        # sudo: the visitor is no member yet; the link (checked, used once above) lets them in
        visitor_channel = discuss.with_env(request.env).sudo()
        visitor_channel._find_or_create_persona_for_channel(
            guest_name=invitation.partner_id.name or _("Guest"),
            timezone=request.env["mail.guest"]._get_timezone_from_request(request),
            country_code=request.geoip.country_code,
            post_joined_message=True,
        )
        # the members-only page: Discuss's /chat/<id>/<uuid> link would let
        # anyone holding it in, whatever the expiry or single use of ours
        return request.redirect(f"/discuss/channel/{discuss.id}", local=True)

    def _upload(self, invitation, token):
        limits = self._upload_limits()
        uploads = request.httprequest.files.getlist("files")
        files = []
        try:
            if len(uploads) > limits["max_files"]:
                raise invitation_tools.UploadError("too_many")
            for upload in uploads:
                # Odoo replays a request after a serialization failure but
                # rewinds only the first file of each field
                if upload.stream.seekable():
                    upload.stream.seek(0)
            # read at most one byte over the limit: a huge file is not loaded
            contents = [upload.read(limits["max_bytes"] + 1) for upload in uploads]
            checked = invitation_tools.check_upload(
                [(u.filename, len(c)) for u, c in zip(uploads, contents, strict=True)],
                max_bytes=limits["max_bytes"],
                allowed_extensions=limits["extensions"],
                max_files=limits["max_files"],
            )
            contents = [c for u, c in zip(uploads, contents, strict=True) if u.filename or c]
            for (name, mimetype), content in zip(checked, contents, strict=True):
                if not invitation_tools.content_matches(name, guess_mimetype(content)):
                    raise invitation_tools.UploadError("bad_content", name)
                files.append((name, mimetype, content))
        except invitation_tools.UploadError as error:
            return self._page_upload(
                invitation, token, error=self._upload_error_text(error, limits), status=400
            )
        if not invitation._claim_use():
            invitation.invalidate_recordset()
            return self._page_gone(invitation, invitation._link_status())
        invitation._store_uploads(files)
        return self._page_upload(invitation, token, done=len(files))

    def _upload_error_text(self, error, limits):
        max_mb = limits["max_bytes"] // (1024 * 1024)
        texts = {
            "no_file": _("Choose at least one file."),
            "too_many": _("Send at most %(count)s files at once.", count=limits["max_files"]),
            "bad_name": _("The file name %(name)s is not accepted.", name=error.filename),
            "too_large": _(
                "%(name)s is larger than %(size)s MB.", name=error.filename, size=max_mb
            ),
            "bad_type": _(
                "%(name)s: this type of file is not accepted (accepted: %(types)s).",
                name=error.filename,
                types=", ".join(sorted(limits["extensions"])),
            ),
            "bad_content": _(
                "%(name)s: the content does not match its extension.", name=error.filename
            ),
        }
        return texts.get(error.code, _("The files could not be accepted."))
