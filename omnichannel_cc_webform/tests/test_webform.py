import json
import re
import time
from unittest.mock import patch

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger
from odoo.tools.misc import hmac as odoo_hmac

from ..models import omnichannel_channel as channel_model
from ..tools import webform
from .common import WebformCommon

TOKEN_RE = re.compile(r'name="token" value="([^"]+)"')
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
BOUNDARY = "omnichannel-test-boundary"


@tagged("post_install", "-at_install")
class TestWebform(WebformCommon, HttpCase):
    """The web form over real HTTP (the test server), as a visitor's browser posts it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.url = f"/omnichannel/form/{cls.channel_webform.address}"

    def _token(self):
        response = self.url_open(self.url)
        self.assertEqual(response.status_code, 200)
        match = TOKEN_RE.search(response.text)
        self.assertTrue(match, "the form carries a signed token")
        return match.group(1)

    def _post(self, token=None, files=None, headers=None, **values):
        data = {
            "token": token if token is not None else self._token(),
            "name": "Ewa Nowa",
            "email": "ewa.nowa@example.com",
            "phone": "",
            "subject": "Szkoda w magazynie",
            "message": "Zalało magazyn.\nProszę o kontakt.",
        }
        data.update(values)
        return self.url_open(self.url, data=data, files=files, headers=headers)

    def test_form_and_embed_snippet(self):
        response = self.url_open(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertIn("text/html", response.headers["Content-Type"])
        for name in ("name", "email", "phone", "subject", "message", "attachments", "callback"):
            self.assertIn(f'name="{name}"', response.text)
        self.assertIn('enctype="multipart/form-data"', response.text)
        script = self.url_open(self.url + "/embed.js")
        self.assertEqual(script.status_code, 200)
        self.assertIn("javascript", script.headers["Content-Type"])
        self.assertIn(f"/omnichannel/form/{self.channel_webform.address}", script.text)
        self.assertIn("iframe", script.text)
        self.assertIn("/embed.js", self.channel_webform.webform_snippet)

    def test_post_creates_interaction_with_fields_and_attachment(self):
        before = self.env["res.partner"].search_count([])
        response = self._post(
            phone="601 222 333",
            files=[
                ("attachments", ("zdjecie.png", PNG, "image/png")),
                ("attachments", ("opis.txt", b"Zalane kartony", "text/plain")),
            ],
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertIn("Thank you", response.text)
        interaction = self._interactions()
        self.assertEqual(len(interaction), 1)
        self.assertEqual(interaction.state, "queued")
        self.assertEqual(interaction.queue_id, self.queue_claims)
        self.assertEqual(interaction.subject, "Szkoda w magazynie")
        self.assertEqual(interaction.contact_address, "ewa.nowa@example.com")
        partner = interaction.partner_id
        self.assertEqual(partner.name, "Ewa Nowa", "an unknown visitor becomes a contact")
        self.assertEqual(partner.email, "ewa.nowa@example.com")
        self.assertEqual(self.env["res.partner"].search_count([]), before + 1)
        message = interaction.message_ids.filtered(lambda m: m.message_type == "comment")
        self.assertEqual(message.author_id, partner)
        self.assertIn("Zalało magazyn.<br>Proszę o kontakt.", message.body)
        self.assertIn("+48601222333", message.body)
        attachments = message.attachment_ids.sorted("name")
        self.assertEqual(attachments.mapped("name"), ["opis.txt", "zdjecie.png"])
        self.assertEqual(attachments.mapped("raw"), [b"Zalane kartony", PNG])
        self.assertEqual(set(attachments.mapped("res_id")), {interaction.id})

    def test_known_customer_identified_by_email_then_phone(self):
        self._post(email="jan.testowy@tartak-test.example")
        self._post(email="", phone="+48 509 333 444", name="Zofia")
        first, second = self._interactions().sorted("id")
        self.assertEqual(first.partner_id, self.customer_contact)
        self.assertEqual(second.partner_id, self.customer_plain)
        self.assertEqual(second.contact_address, "+48509333444")

    def test_json_answer(self):
        response = self._post(headers={"Accept": "application/json"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["reference"], self._interactions().name)

    @mute_logger("odoo.addons.omnichannel_cc_webform.models")
    def test_forged_or_expired_token_stores_nothing(self):
        stored = self._stored()
        token = self._token()
        issued, nonce, signature = token.split(".")
        forged = f"{issued}.{nonce}.{'0' * len(signature)}"
        other_form = f"{int(issued) + 1}.{nonce}.{signature}"
        old = webform.make_token(
            lambda message: odoo_hmac(self.env(su=True), webform.TOKEN_SCOPE, message),
            self.channel_webform.address,
            int(time.time()) - webform.TOKEN_MAX_AGE - 60,
            "a" * 24,
        )
        for bad in (forged, other_form, "", "garbage", old):
            response = self._post(token=bad, headers={"Accept": "application/json"})
            self.assertEqual(response.status_code, 400, bad)
            self.assertFalse(response.json()["ok"])
        self.assertIn("expired", response.json()["error"])
        self.assertEqual(self._stored(), stored)

    def test_honeypot_answers_thanks_and_stores_nothing(self):
        stored = self._stored()
        token = self._token()
        with patch.object(channel_model._logger, "info") as log_info:
            response = self._post(token=token, **{webform.HONEYPOT_FIELD: "http://spam.example"})
        self.assertEqual(response.status_code, 200)
        self.assertIn("Thank you", response.text)
        self.assertIn("honeypot", log_info.call_args[0][0])
        self.assertEqual(self._stored(), stored)

    @mute_logger("odoo.addons.omnichannel_cc_webform.models")
    def test_rate_limit_per_ip(self):
        self.channel_webform.webform_rate_ip = 2
        self.assertEqual(self._post().status_code, 200)
        self.assertEqual(self._post().status_code, 200)
        stored = self._stored()
        response = self._post()
        self.assertEqual(response.status_code, 429)
        self.assertIn("Too many forms", response.text)
        self.assertEqual(self._stored(), stored)
        # the limit counts per form too
        self.channel_webform.write({"webform_rate_ip": 0, "webform_rate_channel": 2})
        self.assertEqual(self._post().status_code, 429)

    @mute_logger("odoo.addons.omnichannel_cc_webform.models")
    def test_size_and_type_limits(self):
        self.channel_webform.write({"webform_max_files": 2, "webform_max_file_mb": 1})
        stored = self._stored()
        big = b"x" * (1024 * 1024 + 1)
        cases = [
            (413, [("attachments", ("big.pdf", big, "application/pdf"))]),
            (413, [("attachments", (f"p{i}.png", PNG, "image/png")) for i in range(3)]),
            (400, [("attachments", ("virus.exe", b"MZ" * 10, "application/octet-stream"))]),
            (400, [("attachments", ("fake.pdf", PNG, "text/html"))]),
        ]
        for status, files in cases:
            response = self._post(files=files)
            self.assertEqual(response.status_code, status, response.text)
        with patch.object(webform, "MAX_BODY_BYTES", 2000):
            response = self._post(message="x" * 3000)
        self.assertEqual(response.status_code, 413)
        response = self._post(message="x" * 20001)
        self.assertEqual(response.status_code, 413)
        response = self._post(email="", phone="")
        self.assertEqual(response.status_code, 400)
        response = self._post(email="not-an-email")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self._stored(), stored)

    def test_unknown_or_archived_form_404(self):
        self.assertEqual(self.url_open("/omnichannel/form/no-such-form").status_code, 404)
        self.assertEqual(
            self.url_open("/omnichannel/form/no-such-form", data={"a": "b"}).status_code, 404
        )
        token = self._token()
        self.channel_webform.active = False
        stored = self._stored()
        self.assertEqual(self.url_open(self.url).status_code, 404)
        self.assertEqual(self.url_open(self.url + "/embed.js").status_code, 404)
        self.assertEqual(self._post(token=token).status_code, 404)
        self.assertEqual(self._stored(), stored)
        # a phone channel's address is not a form
        self.assertEqual(self.url_open("/omnichannel/form/+48225550101").status_code, 404)

    def test_double_submit_creates_one_interaction(self):
        token = self._token()
        first = self._post(token=token)
        second = self._post(token=token)
        self.assertEqual((first.status_code, second.status_code), (200, 200))
        self.assertEqual(len(self._interactions()), 1)
        self.assertEqual(self.env["omnichannel.webform.submission"].search_count([]), 1)

    def test_callback_request_from_form(self):
        response = self._post(
            phone="+48 601 222 333",
            callback="1",
            callback_at="2099-01-15T10:30",
            tz_offset="-60",  # the visitor is in UTC+1
        )
        # more than 60 days ahead
        self.assertEqual(response.status_code, 400)
        self.assertFalse(self._interactions())
        with patch.object(webform, "CALLBACK_MAX_DAYS", 100000):
            response = self._post(
                phone="+48 601 222 333",
                callback="1",
                callback_at="2099-01-15T10:30",
                tz_offset="-60",
            )
        self.assertEqual(response.status_code, 200, response.text)
        interaction = self._interactions()
        callback = interaction.callback_request_ids
        self.assertEqual(len(callback), 1)
        self.assertEqual(callback.source, "webform")
        self.assertEqual(callback.phone, "+48601222333")
        self.assertEqual(callback.partner_id, interaction.partner_id)
        self.assertEqual(callback.queue_id, self.queue_claims)
        self.assertEqual(callback.channel_id, self.channel_phone)
        self.assertEqual(str(callback.date_requested), "2099-01-15 09:30:00")
        self.assertEqual(callback.state, "pending")
        # asked without a phone number: refused, nothing stored
        stored = self._stored()
        self.assertEqual(self._post(callback="1").status_code, 400)
        self.assertEqual(self._stored(), stored)

    # ------------------------------------------------------------------
    # Security review, issue 13
    # ------------------------------------------------------------------
    def _post_raw(self, token, files):
        """A multipart post written byte by byte: ``requests`` would escape
        the NUL and control characters of a file name, a hostile client does
        not. ``files``: ``[(filename bytes, content, mimetype)]``."""
        values = {
            "token": token,
            "name": "Ewa Nowa",
            "email": "ewa.nowa@example.com",
            "message": "Zdjęcia w załączniku.",
        }
        body = b""
        for name, value in values.items():
            body += (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            ).encode()
        for filename, content, mimetype in files:
            body += (
                f"--{BOUNDARY}\r\n".encode()
                + b'Content-Disposition: form-data; name="attachments"; filename="'
                + filename
                + f'"\r\nContent-Type: {mimetype}\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        body += f"--{BOUNDARY}--\r\n".encode()
        return self.url_open(
            self.url,
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )

    def test_l1_nul_in_url_token_404(self):
        """L1: ``%00`` in the form key answered 500 with a traceback
        (PostgreSQL refuses NUL in a string); it is an unknown form."""
        token = self._token()
        stored = self._stored()
        for key in ("%00", f"{self.channel_webform.address}%00", "%00%00x", "a%00b"):
            url = f"/omnichannel/form/{key}"
            self.assertEqual(self.url_open(url).status_code, 404, url)
            self.assertEqual(self.url_open(url + "/embed.js").status_code, 404, url)
            response = self.url_open(url, data={"token": token, "email": "a@b.example"})
            self.assertEqual(response.status_code, 404, url)
        self.assertEqual(self._stored(), stored)

    def test_l4_embed_js_ignores_host_header(self):
        """L4: the script is cached publicly for 300 s: the form's URL in it
        comes from web.base.url, never from the request's Host header."""
        self.env["ir.config_parameter"].set_param("web.base.url", "https://forms.example.com")
        expected = f"https://forms.example.com/omnichannel/form/{self.channel_webform.address}"
        for headers in (
            {"Host": "evil.example"},
            {"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
            None,
        ):
            script = self.url_open(self.url + "/embed.js", headers=headers)
            self.assertEqual(script.status_code, 200)
            self.assertNotIn("evil.example", script.text)
            self.assertIn(f"var url = {json.dumps(expected)};", script.text)
            self.assertEqual(script.headers["Cache-Control"], "public, max-age=300")
        self.assertEqual(self.channel_webform.webform_url, expected)

    @mute_logger("odoo.addons.omnichannel_cc_webform.models")
    def test_l6_attachment_content_checked_against_extension(self):
        """L6: an HTML page saved as x.pdf was stored as a PDF; the content is
        sniffed and must be what the extension says. Nothing is stored from a
        post with one bad file among good ones."""
        stored = self._stored()
        for files in (
            [("attachments", ("x.pdf", HTML, "application/pdf"))],
            [("attachments", ("x.pdf", HTML, "application/octet-stream"))],
            [("attachments", ("x.txt", HTML, "text/plain"))],
            [("attachments", ("x.png", PDF, "image/png"))],
            [("attachments", ("x.docx", PDF, ""))],
            [
                ("attachments", ("zdjecie.png", PNG, "image/png")),
                ("attachments", ("x.pdf", HTML, "application/pdf")),
            ],
        ):
            response = self._post(files=files, headers={"Accept": "application/json"})
            self.assertEqual(response.status_code, 400, files)
            self.assertIn("not what its name says", response.json()["error"])
        self.assertEqual(self._stored(), stored)
        response = self._post(
            files=[("attachments", ("Skan.PDF", PDF, "application/octet-stream"))]
        )
        self.assertEqual(response.status_code, 200, response.text)
        attachment = self._interactions().message_ids.attachment_ids
        # the type stored is the extension's, not the browser's word
        self.assertEqual((attachment.name, attachment.mimetype), ("Skan.PDF", "application/pdf"))

    @mute_logger("odoo.addons.omnichannel_cc_webform.models")
    def test_l6_attachment_stored_under_base_name(self):
        """L6: file names kept ``../../..`` (and NUL, which failed with a
        500); only the base name is stored, without control characters."""
        response = self._post_raw(
            self._token(),
            [
                (b"../../../../etc/zdjecie.png", PNG, "image/png"),
                (b"..\\..\\..\\Windows\\opis.txt", b"Zalane kartony", "text/plain"),
                (b"C:\\Users\\Ewa\\skan\x00.pdf", PDF, "application/pdf"),
                (b"faktura\x1b[2J\x07.pdf", PDF, "application/pdf"),
            ],
        )
        self.assertEqual(response.status_code, 200, response.text)
        attachments = self._interactions().message_ids.attachment_ids
        self.assertEqual(
            sorted(attachments.mapped("name")),
            ["faktura[2J.pdf", "opis.txt", "skan.pdf", "zdjecie.png"],
        )
        # a name that is only a path is refused, and nothing is stored
        stored = self._stored()
        for name in (b"../../..", b"..\\..", b"\x00"):
            response = self._post_raw(self._token(), [(name, b"tekst", "text/plain")])
            self.assertEqual(response.status_code, 400, name)
            self.assertIn("no usable name", response.text)
        self.assertEqual(self._stored(), stored)
