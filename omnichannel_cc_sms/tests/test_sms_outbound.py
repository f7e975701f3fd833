"""Agents' SMS through the channel's gateway: queued in the request, sent by the
SMS queue's cron, delivery reports over the real status route."""

import json
from urllib.parse import parse_qs, parse_qsl, urlsplit

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models import omnichannel_interaction as sms_interaction
from ..tools import sms_providers
from .common import OmnichannelSmsGatewayCommon


@tagged("post_install", "-at_install")
class TestSmsOutbound(OmnichannelSmsGatewayCommon):
    def _answered(self, channel=None, sender=None):
        """An SMS conversation the sales agent answered."""
        self._available()
        if (channel or self.kannel) == self.twilio:
            fields_ = self._twilio_fields(
                "SM" + "9" * 32, "Dzień dobry", sender=sender or "+48609876543"
            )
            self.assertEqual(self._twilio_post("inbound", fields_).status_code, 200)
        else:
            self.assertEqual(self._kannel_mo("Dzień dobry", "kannel-out-1").status_code, 200)
        interaction = self._conversation(channel)
        self.assertEqual(interaction.state, "offered")
        interaction.with_user(self.agent_sales).action_answer()
        self.assertEqual(interaction.state, "active")
        return interaction.with_user(self.agent_sales)

    def _notification(self, sms_uuid):
        tracker = self.env["sms.tracker"].sudo().search([("sms_uuid", "=", sms_uuid)])
        return tracker.mail_notification_id

    def test_reply_leaves_through_the_gateway_only_from_the_cron(self):
        interaction = self._answered()
        triggers = self._triggers()
        result = interaction.action_sms_reply("Dzień dobry, polisa obejmuje narty.")
        # queued in the request, not sent
        self.assertFalse(self.sent)
        self.assertGreater(self._triggers(), triggers, "the SMS queue's cron is woken")
        sms = self.env["sms.sms"].sudo().browse(result["sms_id"])
        self.assertEqual(result["state"], "outgoing")
        self.assertEqual(sms.state, "outgoing")
        self.assertEqual(sms.omnichannel_channel_id, self.kannel)
        self.assertEqual(sms.number, self.customer_e164)
        self.assertEqual((result["encoding"], result["segments"]), ("UCS-2", 1))
        message = sms.mail_message_id
        self.assertEqual(message.message_type, "sms")
        self.assertEqual(message.author_id, self.agent_sales.partner_id)
        self.assertEqual(message.res_id, interaction.id)
        self.assertEqual(self._notification(sms.uuid).notification_status, "ready")
        # Odoo's own immediate send (composer, resend) leaves it queued too
        sms.send()
        self.assertFalse(self.sent)
        self.assertEqual(sms.state, "outgoing")

        self._run_queue()
        (request,) = self.sent
        self.assertEqual(request.method, "GET")
        params = dict(parse_qsl(urlsplit(request.url).query))
        self.assertEqual(params["to"], self.customer_e164)
        self.assertEqual(params["text"], "Dzień dobry, polisa obejmuje narty.")
        self.assertEqual(params["username"], "omnichannel")
        dlr = urlsplit(params["dlr-url"])
        self.assertEqual(dlr.path, f"/omnichannel/sms/{self._token(self.kannel)}/status")
        self.assertEqual(parse_qs(dlr.query)["id"], [sms.uuid])
        self.assertEqual(sms.state, "pending")
        self.assertEqual(sms.omnichannel_provider_id, sms.uuid)
        self.assertEqual(self._notification(sms.uuid).notification_status, "pending")
        # the cron again: nothing is sent twice
        self._run_queue()
        self.assertEqual(len(self.sent), 1)

        # Kannel's delivery report
        response = self._kannel_dlr(sms.uuid, 1, reply="id:1 stat:DELIVRD err:000")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["statuses"], 1)
        self.assertEqual(self._notification(sms.uuid).notification_status, "sent")
        self.assertEqual(sms.state, "sent")
        # a late "accepted" report does not take it back
        self._kannel_dlr(sms.uuid, 8)
        self.assertEqual(self._notification(sms.uuid).notification_status, "sent")

    def test_failed_delivery_report_shows_the_reason(self):
        interaction = self._answered()
        sms_id = interaction.action_sms_reply("Proszę oddzwonić.")["sms_id"]
        self._run_queue()
        sms = self.env["sms.sms"].sudo().browse(sms_id)
        response = self._kannel_dlr(sms.uuid, 16, reply="id:1 stat:REJECTD err:045 text:x")
        self.assertEqual(response.status_code, 200)
        notification = self._notification(sms.uuid)
        self.assertEqual(notification.notification_status, "bounce")
        self.assertEqual(notification.failure_type, "sms_rejected")
        self.assertIn("stat:REJECTD err:045", notification.failure_reason)
        self.assertEqual(sms.state, "error")
        self.assertEqual(sms.failure_type, "sms_rejected")

    def test_twilio_send_and_signed_status_callback(self):
        interaction = self._answered(self.twilio)
        sms_id = interaction.action_sms_reply("Hello")["sms_id"]
        self._run_queue()
        (request,) = self.sent
        self.assertTrue(
            request.url.endswith(f"/2010-04-01/Accounts/{self.TWILIO_SID}/Messages.json")
        )
        fields_ = dict(parse_qsl(request.body.decode()))
        self.assertEqual(
            (fields_["To"], fields_["From"], fields_["Body"]),
            (self.customer_e164, "+48225550303", "Hello"),
        )
        sms = self.env["sms.sms"].sudo().browse(sms_id)
        self.assertTrue(sms.omnichannel_provider_id.startswith("SM"))
        callback = urlsplit(fields_["StatusCallback"])
        # Twilio calls the callback exactly as it was given, signed
        response = self._twilio_post(
            "status",
            {
                "MessageSid": sms.omnichannel_provider_id,
                "MessageStatus": "undelivered",
                "ErrorCode": "30003",
                "AccountSid": self.TWILIO_SID,
            },
            query=callback.query,
        )
        self.assertEqual(response.status_code, 200, response.text)
        notification = self._notification(sms.uuid)
        self.assertEqual(notification.notification_status, "exception")
        self.assertEqual(notification.failure_type, "sms_not_delivered")
        self.assertIn("30003", notification.failure_reason)

    def test_report_before_the_send_is_recorded_still_finds_the_message(self):
        """Twilio may call back before the cron recorded the sid: our id is in the URL."""
        interaction = self._answered(self.twilio)
        sms = self.env["sms.sms"].sudo().browse(interaction.action_sms_reply("Hi")["sms_id"])
        response = self._twilio_post(
            "status",
            {"MessageSid": "SM" + "7" * 32, "MessageStatus": "delivered"},
            query=f"id={sms.uuid}",
        )
        self.assertEqual(response.status_code, 200)
        # Twilio still hears its empty TwiML (the report is applied by the inbox)
        self.assertIn("<Response/>", response.receipt.text)
        self.assertEqual(self._notification(sms.uuid).notification_status, "sent")
        # the cron records its send without taking the delivery back
        self._run_queue()
        self.assertEqual(self._notification(sms.uuid).notification_status, "sent")

    def test_status_of_another_channel_is_not_applied(self):
        interaction = self._answered()
        sms = self.env["sms.sms"].sudo().browse(interaction.action_sms_reply("Hi")["sms_id"])
        self._run_queue()
        body = json.dumps({"id": sms.uuid, "status": "failed", "reason": "x"}).encode()
        response = self.url_open(
            f"/omnichannel/sms/{self._token(self.http_gateway)}/status",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Omnichannel-Signature": sms_providers.sign_body(self.HTTP_SECRET, body),
            },
        )
        response = self._applied_status(response, self.http_gateway)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["unknown"], 1)
        self.assertEqual(self._notification(sms.uuid).notification_status, "pending")

    @mute_logger("odoo.addons.omnichannel_cc_sms.models.sms_sms")
    def test_gateway_refusals_become_failure_types(self):
        interaction = self._answered(self.twilio)
        self.answer = sms_providers.HttpResponse(
            400, body=b'{"code": 21211, "message": "The To number is not valid.", "status": 400}'
        )
        first = self.env["sms.sms"].sudo().browse(interaction.action_sms_reply("One")["sms_id"])
        self._run_queue()
        self.assertEqual((first.state, first.failure_type), ("error", "sms_number_format"))
        notification = self._notification(first.uuid)
        self.assertEqual(notification.notification_status, "exception")
        self.assertEqual(notification.failure_type, "sms_number_format")
        self.assertIn("21211", notification.failure_reason)
        # an unreachable gateway: a server error, and the agent may resend
        self.answer = sms_providers.TransportError("timed out")
        second = self.env["sms.sms"].sudo().browse(interaction.action_sms_reply("Two")["sms_id"])
        self._run_queue()
        self.assertEqual((second.state, second.failure_type), ("error", "sms_server"))
        self.assertEqual(self._notification(second.uuid).failure_type, "sms_server")
        # an unknown refusal keeps the gateway's words
        self.answer = sms_providers.HttpResponse(
            400, body=b'{"code": 21617, "message": "Too long"}'
        )
        third = self.env["sms.sms"].sudo().browse(interaction.action_sms_reply("Three")["sms_id"])
        self._run_queue()
        notification = self._notification(third.uuid)
        self.assertEqual(notification.failure_type, "unknown")
        self.assertIn("Too long", notification.failure_reason)

    def test_blacklisted_number_warns_first(self):
        interaction = self._answered()
        self.env["phone.blacklist"].sudo()._add([self.customer_e164])
        before = self.env["sms.sms"].sudo().search_count([])
        result = interaction.action_sms_reply("Czy mogę pomóc?")
        self.assertTrue(result["blacklisted"])
        self.assertIn("blacklist", result["warning"])
        self.assertEqual(self.env["sms.sms"].sudo().search_count([]), before)
        confirmed = interaction.action_sms_reply("Czy mogę pomóc?", confirm_blacklisted=True)
        self.assertEqual(confirmed["state"], "outgoing")

    def test_transliteration_keeps_polish_text_in_gsm7(self):
        self.kannel.sms_transliterate = True
        interaction = self._answered()
        result = interaction.action_sms_reply("Zażółć gęślą jaźń – dziękujemy")
        self.assertEqual((result["encoding"], result["segments"]), ("GSM-7", 1))
        sms = self.env["sms.sms"].sudo().browse(result["sms_id"])
        self.assertEqual(sms.body, "Zazolc gesla jazn - dziekujemy")
        self._run_queue()
        params = dict(parse_qsl(urlsplit(self.sent[0].url).query))
        self.assertEqual(params["coding"], "0")

    def test_phone_interaction_texts_through_the_company_sms_channel(self):
        call = self.env["omnichannel.interaction"].create(
            {
                "channel_id": self.channel_phone.id,
                "partner_id": self.customer.id,
                "contact_address": "+48 609 876 543",
                "queue_id": self.queue_sales.id,
                "agent_id": self.agent_sales.id,
                "state": "active",
            }
        )
        # the first SMS channel of the company, in the channels' order
        self.kannel.sequence = 1
        result = call.with_user(self.agent_sales).action_sms_reply("Oddzwonimy jutro.")
        sms = self.env["sms.sms"].sudo().browse(result["sms_id"])
        self.assertEqual(sms.omnichannel_channel_id, self.kannel)
        self.assertEqual(sms.number, self.customer_e164)

    def test_agents_reply_on_their_own_interactions_only(self):
        interaction = self._answered()
        other = (
            self.env["omnichannel.interaction"].browse(interaction.id).with_user(self.agent_claims)
        )
        with self.assertRaises(AccessError):
            other.action_sms_reply("Not mine")
        with self.assertRaises(UserError):
            interaction.action_sms_reply("   ")

    def test_composer_on_an_sms_interaction_uses_the_gateway(self):
        interaction = self._answered()
        composer = (
            self.env["sms.composer"]
            .with_user(self.agent_sales)
            .with_context(**interaction.action_send_sms()["context"])
            .create({"body": "Z kreatora"})
        )
        composer.action_send_sms()
        self.assertFalse(self.sent)
        sms = self._queued()
        self.assertEqual(sms.omnichannel_channel_id, self.kannel)
        self._run_queue()
        self.assertEqual(len(self.sent), 1)

    def test_the_agents_console_reloads_on_each_sms_and_report(self):
        interaction = self._answered()
        reloads = []

        def recorder(env, users):
            reloads.append(set(users.ids))

        self.patch(sms_interaction, "notify_console", recorder)
        self._kannel_mo("Jeszcze jedno pytanie", "kannel-reload")
        self.assertIn({self.agent_sales.id}, reloads)
        reloads.clear()
        sms = self.env["sms.sms"].sudo().browse(interaction.action_sms_reply("Tak")["sms_id"])
        self.assertIn({self.agent_sales.id}, reloads)
        reloads.clear()
        self._run_queue()
        self.assertIn({self.agent_sales.id}, reloads)
        reloads.clear()
        self._kannel_dlr(sms.uuid, 1)
        self.assertIn({self.agent_sales.id}, reloads)

    def test_console_shows_the_conversation(self):
        interaction = self._answered()
        result = interaction.action_sms_reply("Odpowiedź")
        rows = (
            self.env["omnichannel.interaction"]
            .with_user(self.agent_sales)
            ._console_interactions(interaction.date_answered)
        )
        (row,) = [row for row in rows if row["id"] == interaction.id]
        sms = row["sms"]
        self.assertEqual(sms["number"], self.customer_e164)
        self.assertFalse(sms["blacklisted"])
        self.assertFalse(sms["transliterate"])
        self.assertEqual(
            [(m["direction"], m["body"], m["state"]) for m in sms["messages"]],
            [("in", "Dzień dobry", "received"), ("out", "Odpowiedź", "outgoing")],
        )
        self.assertTrue(all(m["id"] and m["date"] for m in sms["messages"]))
        self._run_queue()
        self._kannel_dlr(self.env["sms.sms"].sudo().browse(result["sms_id"]).uuid, 1)
        rows = (
            self.env["omnichannel.interaction"]
            .with_user(self.agent_sales)
            ._console_interactions(interaction.date_answered)
        )
        (row,) = [row for row in rows if row["id"] == interaction.id]
        self.assertEqual(row["sms"]["messages"][-1]["state"], "delivered")

    def test_agent_without_email_replies_by_sms(self):
        """A text needs no e-mail address of its author (stock Odoo refuses to
        post a message whose author has none)."""
        interaction = self._answered()
        self.agent_sales.partner_id.sudo().email = False
        result = interaction.action_sms_reply("Dzień dobry")
        sms = self.env["sms.sms"].sudo().browse(result["sms_id"])
        self.assertEqual(sms.mail_message_id.author_id, self.agent_sales.partner_id)
        # elsewhere the stock rule holds
        with self.assertRaises(UserError):
            self.env["omnichannel.interaction"]._message_compute_author(
                author_id=self.agent_sales.partner_id.id
            )
