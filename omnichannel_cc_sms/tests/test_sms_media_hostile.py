"""Issue 19: what a customer sends by MMS is kept only when it is a picture,
sound, video, a PDF, an office document or plain text, told by its content;
markup (HTML, SVG) and programs are refused with a note, nothing stored."""

from odoo.tests import tagged
from odoo.tools import mute_logger

from ..tools import sms_providers
from .common import OmnichannelSmsGatewayCommon

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
HTML = b"<html><body><script>alert(1)</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@tagged("post_install", "-at_install")
class TestSmsMediaHostile(OmnichannelSmsGatewayCommon):
    def _mms(self, index, content_type):
        media_url = f"https://twilio.test/2010-04-01/Accounts/AC1/Messages/MM{index}/Media/ME1"
        fields_ = self._twilio_fields(
            "MM" + str(index) * 32,
            "",
            NumMedia="1",
            MediaUrl0=media_url,
            MediaContentType0=content_type,
        )
        self.assertEqual(self._twilio_post("inbound", fields_).status_code, 200)
        return self.env["omnichannel.sms.media"].sudo().search([("url", "=", media_url)])

    @mute_logger("odoo.addons.omnichannel_cc_sms.models.omnichannel_sms_media")
    def test_markup_and_programs_are_not_kept(self):
        Attachment = self.env["ir.attachment"].sudo()
        cases = [
            (1, SVG, "image/svg+xml"),
            (2, SVG, "image/jpeg"),  # markup under a picture's type
            (3, HTML, "text/html"),
            (4, EXE, "application/x-msdownload"),
            (5, EXE, "image/png"),
        ]
        attachments = Attachment.search_count([])
        for index, content, content_type in cases:
            media = self._mms(index, content_type)
            self.answer = sms_providers.HttpResponse(
                200, headers={"content-type": content_type}, body=content
            )
            media._cron_download()
            self.assertEqual(media.state, "failed", content_type)
            self.assertIn("not accepted", media.error)
            self.assertFalse(media.attachment_id)
            self.assertFalse(media.message_id.attachment_ids)
        self.assertEqual(Attachment.search_count([]), attachments, "nothing stored")
        notes = media.interaction_id.message_ids.filtered(
            lambda m: "was not kept" in (m.body or "")
        )
        self.assertEqual(len(notes), len(cases))
        # failed for good: no retry downloads it again
        sent = len(self.sent)
        self.env["omnichannel.sms.media"].sudo()._cron_download()
        self.assertEqual(len(self.sent), sent)

    def test_picture_is_kept_under_its_own_type(self):
        # the gateway says JPEG; the content is a PNG: kept as what it is
        media = self._mms(6, "image/jpeg")
        self.answer = sms_providers.HttpResponse(
            200, headers={"content-type": "image/jpeg"}, body=PNG
        )
        media._cron_download()
        self.assertEqual(media.state, "done")
        self.assertEqual(media.attachment_id.mimetype, "image/png")
        self.assertTrue(media.attachment_id.name.endswith(".png"))
        self.assertEqual(media.message_id.attachment_ids, media.attachment_id)
