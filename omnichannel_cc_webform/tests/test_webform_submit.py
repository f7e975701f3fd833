import time
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models import omnichannel_channel as channel_model
from ..tools import webform
from .common import WebformCommon

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
IP = "203.0.113.7"


@tagged("post_install", "-at_install")
class TestWebformSubmit(WebformCommon):
    """``omnichannel.channel._webform_submit`` called directly, as the public
    user the form's route runs as: its refusals and what it creates."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.visitor = cls.env.ref("base.public_user")

    def _form(self, key=None):
        Channel = self.env["omnichannel.channel"].with_user(self.visitor)
        return Channel._webform_find(self.channel_webform.address if key is None else key)

    def _token(self, issued):
        form = self.channel_webform
        return webform.make_token(form._webform_sign, form.address_normalized, issued, "a" * 24)

    def _values(self, **values):
        return {
            "token": self.channel_webform._webform_token(),
            "name": "Ewa Nowa",
            "email": "ewa.nowa@example.com",
            "phone": "",
            "subject": "Szkoda w magazynie",
            "message": "Zalało magazyn.",
            **values,
        }

    def _submit(self, files=(), ip=IP, **values):
        return self._form()._webform_submit(self._values(**values), list(files), ip)

    def _refused(self, status, text=None, files=(), ip=IP, **values):
        with self.assertRaises(webform.FormError) as caught:
            self._submit(files=files, ip=ip, **values)
        self.assertEqual(caught.exception.status, status, caught.exception.message)
        if text:
            self.assertIn(text, caught.exception.message)
        return caught.exception

    def test_find_by_key_as_visitor(self):
        form = self._form()
        self.assertEqual(form, self.channel_webform)
        self.assertFalse(form.env.su, "only the search itself runs as superuser")
        self.assertEqual(form.env.user, self.visitor)
        self.assertEqual(self._form(f"  {self.channel_webform.address} "), form)
        for key in ("no-such-form", "", "x" * 129, self.channel_phone.address_normalized):
            self.assertFalse(self._form(key), key)
        self.channel_webform.active = False
        self.assertFalse(self._form())

    def test_l1_nul_in_key_finds_no_form(self):
        """L1: a NUL in the key used to reach PostgreSQL, which refuses it (500)."""
        key = self.channel_webform.address
        for bad in ("\x00", f"{key}\x00", f"\x00{key}", f"{key}\x1b", f"{key}\n{key}"):
            self.assertFalse(self._form(bad), repr(bad))

    @mute_logger("odoo.addons.omnichannel_cc_webform.models")
    def test_l6_uploads_sniffed_and_stored_by_base_name(self):
        """L6: the content must be what the extension says; the name stored
        is the base name; one refused file stores nothing at all."""
        stored = self._stored()
        html = b"<html><script>alert(1)</script></html>"
        for files in (
            [("x.pdf", html, "application/pdf")],
            [("opis.txt", b"Zalane", "text/plain"), ("x.png", html, "image/png")],
            [("../../..", b"Zalane", "text/plain")],
        ):
            self._refused(400, files=files)
        self.assertEqual(self._stored(), stored)
        interaction = self._submit(
            files=[("../../tmp/zdjecie.png", PNG, ""), ("C:\\x\\op\x00is.txt", b"Zalane", "")]
        )
        attachments = interaction.with_env(self.env).message_ids.attachment_ids.sorted("name")
        self.assertEqual(attachments.mapped("name"), ["opis.txt", "zdjecie.png"])
        self.assertEqual(attachments.mapped("mimetype"), ["text/plain", "image/png"])

    def test_submit_creates_interaction_partner_attachments_and_submission(self):
        partners = self.env["res.partner"].search_count([])
        interaction = self._submit(
            files=[("zdjecie.png", PNG, "image/png"), ("opis.txt", b"Zalane", "text/plain")],
            phone="601 222 333",
        )
        self.assertEqual(interaction.env.user, self.visitor)
        self.assertFalse(interaction.env.su, "the caller gets the record in its own environment")
        interaction = interaction.with_env(self.env)
        self.assertEqual(interaction, self._interactions())
        self.assertEqual(interaction.state, "queued")
        self.assertEqual(interaction.queue_id, self.queue_claims)
        self.assertEqual(interaction.external_id[:5], "form-")
        self.assertEqual(interaction.contact_address, "ewa.nowa@example.com")
        self.assertEqual(interaction.create_uid, self.env.ref("base.user_root"))
        partner = interaction.partner_id
        self.assertEqual((partner.name, partner.email), ("Ewa Nowa", "ewa.nowa@example.com"))
        self.assertEqual(partner.phone, "+48601222333")
        self.assertEqual(self.env["res.partner"].search_count([]), partners + 1)
        message = interaction.message_ids.filtered(lambda m: m.message_type == "comment")
        self.assertEqual(message.author_id, partner)
        self.assertEqual(message.attachment_ids.sorted("name").mapped("raw"), [b"Zalane", PNG])
        submission = self.env["omnichannel.webform.submission"].search([])
        self.assertEqual(len(submission), 1)
        self.assertEqual(
            (submission.channel_id, submission.remote_ip, submission.interaction_id),
            (self.channel_webform, IP, interaction),
        )

    def test_known_customer_identified_by_email_then_phone(self):
        first = self._submit(email="jan.testowy@tartak-test.example")
        second = self._submit(email="", phone="+48 509 333 444")
        self.assertEqual(first.sudo().partner_id, self.customer_contact)
        self.assertEqual(second.sudo().partner_id, self.customer_plain)

    def test_same_token_twice_gives_one_interaction(self):
        values = self._values()
        form = self._form()
        first = form._webform_submit(values, [], IP)
        second = form._webform_submit(values, [], IP)
        self.assertEqual(first, second)
        self.assertEqual(len(self._interactions()), 1)
        self.assertEqual(self.env["omnichannel.webform.submission"].search_count([]), 1)

    def test_honeypot_stores_nothing(self):
        stored = self._stored()
        with patch.object(channel_model._logger, "info") as log_info:
            result = self._submit(**{webform.HONEYPOT_FIELD: "http://spam.example"})
        self.assertFalse(result)
        self.assertEqual(result._name, "omnichannel.interaction")
        self.assertIn("honeypot", log_info.call_args[0][0])
        self.assertEqual(self._stored(), stored)

    @mute_logger("odoo.addons.omnichannel_cc_webform.models")
    def test_bad_tokens_refused(self):
        stored = self._stored()
        token = self.channel_webform._webform_token()
        issued, nonce, signature = token.split(".")
        self._refused(400, "missing", token="")
        self._refused(400, "malformed", token="garbage")
        self._refused(400, "invalid", token=f"{issued}.{nonce}.{'0' * len(signature)}")
        old = self._token(int(time.time()) - webform.TOKEN_MAX_AGE - 60)
        self._refused(400, "expired", token=old)
        other = self.env["omnichannel.channel"].create(
            {
                "name": "Other form",
                "channel_type": "webform",
                "address": "other-form-test",
                "queue_id": self.queue_claims.id,
            }
        )
        self._refused(400, "invalid", token=other._webform_token())
        self.assertEqual(self._stored(), stored)

    @mute_logger("odoo.addons.omnichannel_cc_webform.models")
    def test_content_refusals(self):
        self.channel_webform.write({"webform_max_files": 2, "webform_max_file_mb": 1})
        stored = self._stored()
        big = b"x" * (1024 * 1024 + 1)
        self._refused(
            413, "at most 2 files", files=[(f"p{i}.png", PNG, "image/png") for i in range(3)]
        )
        self._refused(413, "larger than 1 MB", files=[("big.pdf", big, "application/pdf")])
        self._refused(400, "not accepted", files=[("virus.exe", b"MZ", "application/octet-stream")])
        svg = b'<svg onload="alert(1)"><script>alert(1)</script></svg>'
        self._refused(400, "not accepted", files=[("x.svg", svg, "image/svg+xml")])
        self._refused(400, "not accepted", files=[("page.html", svg, "text/html")])
        self._refused(400, "not what its name says", files=[("fake.pdf", PNG, "text/html")])
        self._refused(413, "longer", message="x" * 20001)
        self._refused(400, "phone number", email="", phone="")
        self._refused(400, "e-mail address", email="not-an-email")
        self._refused(400, "phone number to be called back", callback="1")
        self._refused(
            400, "days ahead", phone="601 222 333", callback="1", callback_at="2099-01-15T10:30"
        )
        self.assertEqual(self._stored(), stored)

    @mute_logger("odoo.addons.omnichannel_cc_webform.models")
    def test_rate_limits_per_ip_and_per_form(self):
        self.channel_webform.webform_rate_ip = 2
        self._submit()
        self._submit()
        stored = self._stored()
        self._refused(429, "Too many forms")
        self.assertEqual(self._stored(), stored)
        self._submit(ip="203.0.113.8")  # another visitor
        self.channel_webform.write({"webform_rate_ip": 0, "webform_rate_channel": 3})
        stored = self._stored()
        self._refused(429, "too many messages", ip="203.0.113.9")
        self.assertEqual(self._stored(), stored)

    @mute_logger("odoo.addons.omnichannel_cc_webform.models")
    def test_error_while_creating_leaves_nothing(self):
        """A refusal raised after the first writes (the contact, the
        interaction) rolls them back: the visitor gets a 400, nothing stays."""
        stored = self._stored()
        values = self._values(phone="601 222 333")
        form = self._form()
        Interaction = self.registry["omnichannel.interaction"]
        with (
            patch.object(Interaction, "_route", side_effect=UserError("No route today")),
            self.assertRaises(webform.FormError) as caught,
        ):
            form._webform_submit(values, [("opis.txt", b"Zalane", "text/plain")], IP)
        self.assertEqual(caught.exception.status, 400)
        self.assertIn("No route today", caught.exception.message)
        self.assertEqual(self._stored(), stored)
        # the form's idempotency key was released too: the same form goes through
        self.assertTrue(form._webform_submit(values, [], IP))
