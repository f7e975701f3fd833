import logging
import secrets
import time

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.misc import hmac as odoo_hmac

from odoo.addons.omnichannel_cc.models.res_partner import normalize_email
from odoo.addons.omnichannel_cc.tools import address as address_tools

from ..tools import webform

_logger = logging.getLogger(__name__)


class OmnichannelChannel(models.Model):
    """Web form settings: the channel's address is the form key."""

    _inherit = "omnichannel.channel"

    channel_type = fields.Selection(
        selection_add=[("webform", "Web form")], ondelete={"webform": "cascade"}
    )

    webform_title = fields.Char(string="Form title", translate=True)
    webform_intro = fields.Text(string="Form introduction", translate=True)
    webform_thanks = fields.Text(
        string="Thank-you message",
        translate=True,
        help="Shown after a successful submission.",
    )
    webform_rate_ip = fields.Integer(
        string="Submissions per visitor (10 min)",
        default=5,
        help="More from one IP address within 10 minutes are refused (HTTP 429). 0: no limit.",
    )
    webform_rate_channel = fields.Integer(
        string="Submissions per form (10 min)",
        default=300,
        help="More for this form within 10 minutes are refused (HTTP 429). 0: no limit.",
    )
    webform_max_files = fields.Integer(string="Attachments at most", default=webform.MAX_FILES)
    webform_max_file_mb = fields.Integer(
        string="Attachment size at most (MB)", default=webform.MAX_FILE_BYTES // (1024 * 1024)
    )
    webform_callback_channel_id = fields.Many2one(
        "omnichannel.channel",
        string="Call-back line",
        domain=[("channel_type", "=", "phone")],
        help='Phone channel used for "call me back" requests from this form; empty: the '
        "queue's or the company's first phone channel. Without any, the form offers no call-back.",
    )
    webform_url = fields.Char(string="Form URL", compute="_compute_webform_url")
    webform_snippet = fields.Char(string="Embed snippet", compute="_compute_webform_url")

    @api.depends("address", "channel_type")
    def _compute_webform_url(self):
        # sudo: agents may not read ir.config_parameter; only the base URL of the form's URL
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for channel in self:
            if channel.channel_type == "webform" and channel.address:
                url = f"{base}/omnichannel/form/{channel.address_normalized or channel.address}"
                channel.webform_url = url
                # the script puts the form's iframe where it stands (or into
                # the element named by data-target)
                channel.webform_snippet = (
                    f'<script src="{url}/embed.js" data-height="720"></script>'
                )
            else:
                channel.webform_url = False
                channel.webform_snippet = False

    @api.onchange("channel_type")
    def _onchange_channel_type_webform(self):
        if self.channel_type == "webform" and not self.address:
            self.address = secrets.token_urlsafe(12)

    # ------------------------------------------------------------------
    # Business methods: the public form
    # ------------------------------------------------------------------
    @api.model
    def _webform_find(self, key):
        """The active web form whose key is ``key``, or an empty recordset.

        The record is returned in the caller's environment: a visitor reads
        its settings through ``sudo()`` where needed.
        """
        key = (key or "").strip()
        # a key is a printable address: a NUL (``%00``) would not even reach
        # PostgreSQL, which refuses it in a string
        if not key or len(key) > 128 or not key.isprintable():
            return self.browse()
        # sudo: visitors may not read channels; the key is the form's public address
        form = self.sudo().search(
            [
                ("channel_type", "=", "webform"),
                ("address_normalized", "=", key),
                ("active", "=", True),
            ],
            limit=1,
        )
        return form.sudo(False)

    def _webform_sign(self, message):
        # sudo: the signing key is the database secret, a system parameter
        return odoo_hmac(self.env(su=True), webform.TOKEN_SCOPE, message)

    def _webform_token(self):
        """A new signed token for one rendering of this form."""
        self.ensure_one()
        return webform.make_token(
            self._webform_sign,
            self.address_normalized,
            int(time.time()),
            secrets.token_urlsafe(18),
        )

    def _webform_callback_line(self):
        """The phone channel that would call back, or an empty recordset:
        the form offers a call-back only when there is one."""
        self.ensure_one()
        if not self.queue_id:
            return self.browse()
        return self.env["omnichannel.callback"]._phone_channel_for(
            self.queue_id, self.company_id, self.webform_callback_channel_id
        )

    def _webform_submit(self, values, files, remote_ip):
        """Check one posted form and create its interaction.

        ``values``: the posted text fields (``token`` included); ``files``:
        ``[(filename, bytes, mimetype)]``; ``remote_ip``: the client's address.
        Every check runs before anything is written, and a refusal leaves
        nothing behind: raises ``webform.FormError`` with the HTTP status
        (400 bad input or token, 413 too large, 429 rate limit).

        Returns the interaction (in the caller's environment), the same one
        for a form sent twice; an empty recordset when the honeypot caught
        a bot (answered as a success, nothing stored).
        """
        self.ensure_one()
        # sudo: visitors may not read channels; the checks use this form's settings
        form = self.sudo()
        try:
            interaction = self._webform_accept(form, values, files, remote_ip)
        except webform.FormError as error:
            if error.status != 429:  # the rate limiter logs its own refusals
                _logger.info(
                    "Web form %s refused (%s) from %s: %s",
                    form.address_normalized,
                    error.status,
                    remote_ip,
                    error.message,
                )
            raise
        return interaction.with_env(self.env)

    def _webform_accept(self, form, values, files, remote_ip):
        """The checks and writes of ``_webform_submit``; ``form`` is this
        channel as it may be read (its settings)."""
        nonce = webform.check_token(
            self._webform_sign, form.address_normalized, values.get("token"), time.time()
        )
        if webform.is_spam(values):
            _logger.info(
                "Web form %s: honeypot filled from %s, submission dropped",
                form.address_normalized,
                remote_ip,
            )
            return self.env["omnichannel.interaction"]
        if len(files) > max(form.webform_max_files, 0):
            raise webform.FormError(
                413, _("Send at most %(count)s files.", count=form.webform_max_files)
            )
        submission = webform.check_submission(
            values,
            [webform.Upload(name, mimetype or "", data) for name, data, mimetype in files],
            fields.Datetime.now(),
            max_files=form.webform_max_files,
            max_file_bytes=form.webform_max_file_mb * 1024 * 1024,
        )
        email, phone = form._webform_contact_addresses(submission)
        Submission = self.env["omnichannel.webform.submission"]
        Submission._check_rate(form, remote_ip)
        # checked: from here on, everything is written or nothing
        # sudo: visitors may not create contacts, interactions or attachments;
        # OdooBot writes them, as it does every other channel's inbound contacts
        Interaction = self.env["omnichannel.interaction"].with_user(SUPERUSER_ID)
        try:
            with self.env.cr.savepoint():
                interaction, created = Interaction.with_company(form.company_id)._webform_receive(
                    form, nonce, submission, email, phone
                )
                if created:
                    # sudo: visitors may not create submissions (the rate limiter's memory)
                    Submission.sudo().create(
                        {
                            "channel_id": form.id,
                            "remote_ip": remote_ip,
                            "interaction_id": interaction.id,
                        }
                    )
        except (UserError, ValidationError) as error:
            raise webform.FormError(400, str(error.args[0] if error.args else error)) from error
        return interaction

    def _webform_contact_addresses(self, submission):
        """The visitor's e-mail and phone number, normalised (the phone in the
        form's country); FormError(400) when one of them is not valid."""
        region = self.company_id.country_id.code
        email = phone = ""
        try:
            if submission.email:
                email = normalize_email(submission.email)
            if submission.phone:
                phone = address_tools.normalize_phone(submission.phone, region)
        except address_tools.AddressError as error:
            raise webform.FormError(
                400, _("Check your e-mail address and phone number: %(error)s", error=error)
            ) from error
        return email, phone
