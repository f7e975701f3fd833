"""The customer's answer page of an invitation link.

A GET only shows the question (mail scanners and link previews open links):
nothing is recorded. The form's POST (CSRF-checked) records the answer once.
"""

from odoo import http
from odoo.http import request

from ..tools import satisfaction

# longer than any access token (32 characters)
MAX_TOKEN = 128


class OmnichannelSurveyController(http.Controller):
    def _invitation(self, token):
        Invitation = request.env["omnichannel.survey.invitation"]
        # a token is printable ASCII: anything else (a NUL, which PostgreSQL
        # refuses with an error) is no invitation's
        if not token or len(token) > MAX_TOKEN or not token.isascii() or not token.isprintable():
            return Invitation
        # sudo: the public visitor holds only the link's token, which selects one invitation
        return Invitation.sudo().search([("access_token", "=", token)], limit=1)

    def _render(self, invitation, status, error=None, status_code=200):
        if invitation.partner_id.lang:
            # the customer's language, whatever the browser's
            request.update_context(lang=invitation.partner_id.lang)
        low, high = satisfaction.RANGES.get(invitation.kind, (0, 10))
        values = {
            "invitation": invitation,
            "status": status,
            "error": error,
            "scores": list(range(low, high + 1)),
            "company": invitation.company_id or request.env.company,
        }
        response = request.render("omnichannel_cc_survey.survey_answer_page", values)
        response.status_code = status_code
        return response

    @http.route("/omnichannel/survey/<string:token>", type="http", auth="public", methods=["GET"])
    def survey_page(self, token, **kwargs):
        invitation = self._invitation(token)
        status = invitation._public_status()
        return self._render(invitation, status, status_code=404 if status == "unknown" else 200)

    @http.route("/omnichannel/survey/<string:token>", type="http", auth="public", methods=["POST"])
    def survey_answer(self, token, value=None, comment=None, **kwargs):
        invitation = self._invitation(token)
        if not invitation:
            return self._render(invitation, "unknown", status_code=404)
        try:
            result = invitation._record_answer(value, comment=comment, channel="email")
        except ValueError:
            return self._render(
                invitation, invitation._public_status(), error="range", status_code=400
            )
        if result["recorded"]:
            status = "thanks"
        elif result["status"] in ("duplicate", "already_answered"):
            status = "answered"
        else:
            status = result["status"]
        return self._render(invitation, status)
