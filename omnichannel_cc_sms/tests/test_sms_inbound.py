"""Customers' SMS over the real routes: checks, conversations, routing, keywords, MMS."""

from datetime import timedelta
from urllib.parse import urlencode

from odoo import fields
from odoo.tests import tagged
from odoo.tools import html2plaintext, mute_logger

from ..tools import sms_providers
from .common import OmnichannelSmsGatewayCommon


@tagged("post_install", "-at_install")
class TestSmsInbound(OmnichannelSmsGatewayCommon):
    # ------------------------------------------------------------------
    # conversations
    # ------------------------------------------------------------------
    def test_number_in_another_notation_lands_on_the_customer_routed_and_offered(self):
        self._available()
        response = self._kannel_mo("Dzień dobry, mam pytanie o polisę", "kannel-1")
        self.assertEqual(response.status_code, 200, response.text)
        # smsbox would text any answer back to the customer
        self.assertEqual(response.text, "")
        interaction = self._conversation()
        self.assertEqual(len(interaction), 1)
        self.assertEqual(interaction.partner_id, self.customer)
        self.assertEqual(interaction.channel_type, "sms")
        self.assertEqual(interaction.direction, "inbound")
        self.assertEqual(interaction.state, "offered")
        offer = interaction.offer_ids.filtered(lambda o: o.state == "pending")
        self.assertEqual(offer.user_id, self.agent_sales)
        message = interaction.message_ids.filtered(lambda m: m.message_type == "sms")
        self.assertEqual(len(message), 1)
        self.assertEqual(message.author_id, self.customer)
        self.assertEqual(html2plaintext(message.body).strip(), "Dzień dobry, mam pytanie o polisę")
        self.assertTrue(interaction.sms_last_date)
        # the customer's own message is texted to nobody
        self.assertFalse(self.env["sms.sms"].sudo().search([("mail_message_id", "=", message.id)]))
        self.assertFalse(self.sent)

    def test_twilio_message_from_e164_lands_on_the_same_customer(self):
        response = self._twilio_post("inbound", self._twilio_fields("SM" + "1" * 32, "Hello"))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertIn("<Response/>", response.text)
        self.assertTrue(response.headers["Content-Type"].startswith("text/xml"))
        interaction = self._conversation(self.twilio)
        self.assertEqual(interaction.partner_id, self.customer)
        self.assertEqual(interaction.state, "queued")  # nobody available

    def test_duplicate_delivery_creates_nothing(self):
        first = self._kannel_mo("Pierwsza wiadomość", "kannel-dup")
        self.assertEqual(first.status_code, 200)
        before = self._counts()
        again = self._kannel_mo("Pierwsza wiadomość", "kannel-dup")
        self.assertEqual(again.status_code, 200)
        self.assertEqual(self._counts(), before)
        fields_ = self._twilio_fields("SM" + "2" * 32, "Twice")
        self.assertEqual(self._twilio_post("inbound", fields_).status_code, 200)
        before = self._counts()
        self.assertEqual(self._twilio_post("inbound", fields_).status_code, 200)
        self.assertEqual(self._counts(), before)

    def test_next_message_joins_the_conversation_within_the_window(self):
        self._kannel_mo("Pierwsza", "kannel-w1")
        interaction = self._conversation()
        # 23 hours later: still the same conversation
        interaction.sudo().sms_last_date = fields.Datetime.now() - timedelta(hours=23)
        self._kannel_mo("Druga", "kannel-w2", sender="+48 609 876 543")
        self.assertEqual(self._conversation(), interaction)
        self.assertEqual(
            len(interaction.message_ids.filtered(lambda m: m.message_type == "sms")), 2
        )
        # 25 hours after the last SMS: a new conversation
        interaction.sudo().sms_last_date = fields.Datetime.now() - timedelta(hours=25)
        self._kannel_mo("Trzecia", "kannel-w3")
        conversations = self._conversation()
        self.assertEqual(len(conversations), 2)
        self.assertEqual(conversations[1], interaction)
        # a closed conversation is not joined either
        conversations[0].sudo()._set_state("abandoned", end_reason="customer")
        self._kannel_mo("Czwarta", "kannel-w4")
        self.assertEqual(len(self._conversation()), 3)

    def test_unknown_sender_becomes_a_contact(self):
        self._kannel_mo("Kim jestem?", "kannel-u1", sender="+48 512 000 111")
        interaction = self._conversation(number="+48512000111")
        partner = interaction.partner_id
        self.assertTrue(partner)
        self.assertEqual(partner.mobile, "+48512000111")
        # recognised next time, in any notation
        interaction.sudo()._set_state("abandoned", end_reason="customer")
        self._kannel_mo("To znowu ja", "kannel-u2", sender="0048512000111")
        self.assertEqual(self._conversation(number="+48512000111")[0].partner_id, partner)
        # a channel that creates no contacts
        self.kannel.email_create_partner = False
        self._kannel_mo("Anonim", "kannel-u3", sender="+48 512 000 222")
        self.assertFalse(self._conversation(number="+48512000222").partner_id)

    def test_open_case_is_continued(self):
        case = self.env["omnichannel.case"].create(
            {"subject": "Szkoda 1", "partner_id": self.customer.id}
        )
        self._kannel_mo("W sprawie szkody", "kannel-case")
        self.assertEqual(self._conversation().case_id, case)

    # ------------------------------------------------------------------
    # refusals: nothing stored
    # ------------------------------------------------------------------
    def test_forged_twilio_signature_stores_nothing(self):
        before = self._counts()
        fields_ = self._twilio_fields("SM" + "3" * 32, "Forged")
        forged = self._twilio_post("inbound", fields_, signature="bm90IGEgc2lnbmF0dXJl")
        self.assertEqual(forged.status_code, 401, forged.text)
        missing = self._twilio_post("inbound", fields_, signature=None)
        self.assertEqual(missing.status_code, 401)
        # signed for another body
        other = self._twilio_post(
            "inbound",
            fields_,
            signature=sms_providers.twilio_signature(
                self.TWILIO_TOKEN, self.base_url() + "/other", fields_
            ),
        )
        self.assertEqual(other.status_code, 401)
        status = self._twilio_post(
            "status", {"MessageSid": "SM1", "MessageStatus": "delivered"}, signature="eA=="
        )
        self.assertEqual(status.status_code, 401)
        self.assertEqual(self._counts(), before)

    def test_wrong_secret_or_address_is_403_and_stores_nothing(self):
        before = self._counts()
        self.assertEqual(self._kannel_mo("hi", "kannel-f1", secret="guess").status_code, 403)
        self.assertEqual(self._kannel_mo("hi", "kannel-f2", secret="").status_code, 403)
        self.assertEqual(self._kannel_dlr("0" * 32, 1, secret="guess").status_code, 403)
        self.kannel.sudo().sms_allowed_ips = "192.0.2.0/24"
        self.assertEqual(self._kannel_mo("hi", "kannel-f3").status_code, 403)
        self.assertEqual(self._counts(), before)
        self.kannel.sudo().sms_allowed_ips = "127.0.0.1, ::1"
        self.assertEqual(self._kannel_mo("hi", "kannel-f4").status_code, 200)

    def test_unknown_token_is_404(self):
        before = self._counts()
        for token in ("no-such-token", self._token(self.iap_channel)):
            response = self.url_open(f"/omnichannel/sms/{token}/inbound?text=hi&id=1&from=1")
            self.assertEqual(response.status_code, 404)
            response = self.url_open(f"/omnichannel/sms/{token}/status", data={"id": "1"})
            self.assertEqual(response.status_code, 404)
        self.assertEqual(self._counts(), before)

    def test_malformed_is_400(self):
        before = self._counts()
        token = self._token(self.kannel)
        base = f"/omnichannel/sms/{token}/inbound?secret={self.KANNEL_SECRET}"
        self.assertEqual(self.url_open(f"{base}&from=48609876543&text=no-id").status_code, 400)
        self.assertEqual(self.url_open(f"{base}&from=48609876543&id=x&text=%FF").status_code, 400)
        self.assertEqual(self._kannel_dlr("0" * 32, "not-a-type").status_code, 400)
        self.assertEqual(
            self._twilio_post("inbound", {"From": "+48609876543", "Body": "no sid"}).status_code,
            400,
        )
        # a signed generic gateway body that is not JSON
        body = b"id=1&from=2"
        response = self.url_open(
            f"/omnichannel/sms/{self._token(self.http_gateway)}/inbound",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Omnichannel-Signature": sms_providers.sign_body(self.HTTP_SECRET, body),
            },
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self._counts(), before)

    def test_json_to_a_form_gateway_is_415(self):
        body = b'{"From": "+48609876543"}'
        url = self.base_url() + f"/omnichannel/sms/{self._token(self.twilio)}/inbound"
        response = self.url_open(
            url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Twilio-Signature": sms_providers.twilio_signature(self.TWILIO_TOKEN, url, {}),
            },
        )
        self.assertEqual(response.status_code, 415)

    def test_too_large_is_413(self):
        before = self._counts()
        fields_ = self._twilio_fields("SM" + "4" * 32, "x" * (65 * 1024))
        response = self._twilio_post("inbound", fields_)
        self.assertEqual(response.status_code, 413)
        self.assertEqual(self._counts(), before)

    # ------------------------------------------------------------------
    # opt-out, opt-in, help
    # ------------------------------------------------------------------
    def test_stop_blacklists_first_then_confirms_once(self):
        Interaction = type(self.env["omnichannel.interaction"])
        find_customer = Interaction._sms_find_customer
        seen = []

        def checked(model, channel, number):
            # nothing else happens before the number is on the blacklist
            seen.append(self._blacklisted(number))
            return find_customer(model, channel, number)

        self.patch(Interaction, "_sms_find_customer", checked)
        response = self._kannel_mo("  Stop ", "kannel-stop1")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(seen, [True])
        self.assertTrue(self._blacklisted())
        confirmation = self._queued()
        self.assertEqual(len(confirmation), 1)
        self.assertEqual(confirmation.omnichannel_channel_id, self.kannel)
        self.assertIn("START", confirmation.body)
        # queued for the cron, not sent in the callback
        self.assertFalse(self.sent)
        # a STOP opens no conversation for an agent; it is logged on the customer
        self.assertFalse(self._conversation())
        logged = [html2plaintext(m.body or "") for m in self.customer.message_ids]
        self.assertTrue(any("SMS Kannel" in body and "Stop" in body for body in logged), logged)
        # the same delivery again, then another STOP: no second confirmation
        self._kannel_mo("  Stop ", "kannel-stop1")
        self._kannel_mo("STOP", "kannel-stop2")
        self.assertEqual(len(self._queued()), 1)
        # agents are warned, campaigns and surveys never text the number
        Interaction = self.env["omnichannel.interaction"]
        self.assertFalse(Interaction._sms_may_send("609 876 543", transactional=False))
        self.assertTrue(Interaction._sms_may_send("609 876 543", transactional=True))

    def test_stop_inside_a_conversation_is_shown_to_the_agent(self):
        self._kannel_mo("Dzień dobry", "kannel-s1")
        interaction = self._conversation()
        self._kannel_mo("REZYGNUJĘ", "kannel-s2")
        self.assertTrue(self._blacklisted())
        self.assertEqual(self._conversation(), interaction)
        bodies = [html2plaintext(m.body) for m in interaction.message_ids]
        self.assertTrue(any("REZYGNUJĘ" in body for body in bodies))
        self.assertTrue(any("blacklist" in body for body in bodies))
        # the confirmation is in the conversation
        self.assertEqual(self._queued().mail_message_id.res_id, interaction.id)

    def test_start_lifts_the_blacklist(self):
        self.env["phone.blacklist"].sudo()._add([self.customer_e164])
        self._kannel_mo("start", "kannel-start1")
        self.assertFalse(self._blacklisted())
        self.assertEqual(len(self._queued()), 1)
        # "TAK" from a number never blacklisted is an answer, not a keyword
        self._kannel_mo("Tak", "kannel-start2")
        interaction = self._conversation()
        self.assertEqual(len(interaction), 1)
        self.assertEqual(len(self._queued()), 1)

    def test_help_answers_the_help_text(self):
        self.kannel.sms_help_text = "Infolinia 22 100 20 30. STOP: wypisz."
        self._kannel_mo("pomoc", "kannel-help")
        help_sms = self._queued()
        self.assertEqual(help_sms.body, "Infolinia 22 100 20 30. STOP: wypisz.")
        self.assertFalse(self._blacklisted())

    def test_keywords_are_configurable(self):
        self.kannel.sms_optout_keywords = "KONIEC"
        self._kannel_mo("stop", "kannel-k1")
        self.assertFalse(self._blacklisted())
        self._kannel_mo("koniec", "kannel-k2")
        self.assertTrue(self._blacklisted())

    # ------------------------------------------------------------------
    # MMS
    # ------------------------------------------------------------------
    def test_mms_files_are_downloaded_after_the_commit(self):
        media_url = "https://twilio.test/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
        fields_ = self._twilio_fields(
            "MM" + "5" * 32,
            "Zdjęcie szkody",
            NumMedia="1",
            MediaUrl0=media_url,
            MediaContentType0="image/jpeg",
        )
        self.assertEqual(self._twilio_post("inbound", fields_).status_code, 200)
        # nothing fetched inside the callback
        self.assertFalse(self.sent)
        media = self.env["omnichannel.sms.media"].sudo().search([])
        self.assertEqual(media.state, "pending")
        cron = self.env.ref("omnichannel_cc_sms.ir_cron_sms_media")
        self.assertTrue(self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id)]))
        self.answer = sms_providers.HttpResponse(
            200, headers={"content-type": "image/jpeg"}, body=b"\xff\xd8\xffJPEG"
        )
        self.env["omnichannel.sms.media"].sudo()._cron_download()
        (request,) = self.sent
        self.assertEqual(request.url, media_url)
        self.assertTrue(request.headers["Authorization"].startswith("Basic "))
        self.assertEqual(media.state, "done")
        message = media.message_id
        self.assertEqual(message.attachment_ids.raw, b"\xff\xd8\xffJPEG")
        self.assertEqual(message.attachment_ids.mimetype, "image/jpeg")

    @mute_logger("odoo.addons.omnichannel_cc_sms.models.omnichannel_sms_media")
    def test_mms_file_elsewhere_is_refused(self):
        fields_ = self._twilio_fields(
            "MM" + "6" * 32,
            "",
            NumMedia="1",
            MediaUrl0="http://169.254.169.254/latest/meta-data",
            MediaContentType0="image/jpeg",
        )
        self.assertEqual(self._twilio_post("inbound", fields_).status_code, 200)
        Media = self.env["omnichannel.sms.media"].sudo()
        for _attempt in range(3):
            Media._cron_download()
        media = Media.search([])
        self.assertEqual(media.state, "failed")
        self.assertFalse(self.sent)
        interaction = self._conversation(self.twilio)
        self.assertTrue(
            any("could not be downloaded" in m.body for m in interaction.message_ids if m.body)
        )

    def test_get_and_post_are_both_accepted(self):
        token = self._token(self.kannel)
        fields_ = {
            "secret": self.KANNEL_SECRET,
            "from": "48609876543",
            "text": "POST",
            "id": "kannel-post",
        }
        response = self.url_open(
            f"/omnichannel/sms/{token}/inbound",
            data=urlencode(fields_),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        # Kannel's secret is in the URL, not in a posted form
        self.assertEqual(response.status_code, 403)
        response = self.url_open(
            f"/omnichannel/sms/{token}/inbound?secret={self.KANNEL_SECRET}",
            data=urlencode({"from": "48609876543", "text": "POST", "id": "kannel-post"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertTrue(self._conversation())
