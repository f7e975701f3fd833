"""Delivery reports through the event inbox: the status route stores them
(answered in the gateway's format at once), the inbox's cron applies them,
once, in order per message."""

from datetime import timedelta
from urllib.parse import urlencode

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import OmnichannelSmsGatewayCommon


@tagged("post_install", "-at_install")
class TestSmsStatusInbox(OmnichannelSmsGatewayCommon):
    def setUp(self):
        super().setUp()
        self.Inbox = self.env["omnichannel.event.inbox"].sudo()

    def _sent_sms(self, count=1):
        """Agents' replies handed to Kannel (their reports are awaited)."""
        self._available()
        self.assertEqual(self._kannel_mo("Dzień dobry", "kannel-inbox-1").status_code, 200)
        interaction = self._conversation().with_user(self.agent_sales)
        interaction.action_answer()
        ids = [
            interaction.action_sms_reply(f"Już sprawdzam ({n}).")["sms_id"] for n in range(count)
        ]
        self._run_queue()
        sms = self.env["sms.sms"].sudo().browse(ids)
        self.assertEqual(set(sms.mapped("state")), {"pending"})
        return sms

    def _post_dlr(self, sms_uuid, kind, reply=""):
        """Kannel's report as the route answers it (not applied)."""
        query = urlencode(
            {"secret": self.KANNEL_SECRET, "id": sms_uuid, "type": str(kind), "reply": reply}
        )
        response = self.url_open(f"/omnichannel/sms/{self._token(self.kannel)}/status?{query}")
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def _notification(self, sms_uuid):
        tracker = self.env["sms.tracker"].sudo().search([("sms_uuid", "=", sms_uuid)])
        return tracker.mail_notification_id

    def test_duplicate_report_is_stored_and_applied_once(self):
        sms = self._sent_sms()
        first = self._post_dlr(sms.uuid, 1, reply="id:1 stat:DELIVRD err:000")
        self.assertEqual(set(first), {"queued", "duplicate", "inbox_id"})
        self.assertFalse(first["duplicate"])
        # Kannel retries the same report: nothing more is stored
        again = self._post_dlr(sms.uuid, 1, reply="id:1 stat:DELIVRD err:000")
        self.assertEqual(again, {"queued": True, "duplicate": True, "inbox_id": first["inbox_id"]})
        rows = self.Inbox.search([("scope", "=", f"sms-status:{self.kannel.id}")])
        self.assertEqual(rows.ids, [first["inbox_id"]])
        self.assertEqual(
            (rows.kind, rows.conversation, rows.state),
            ("_sms_status_inbox", sms.uuid, "pending"),
        )
        # nothing is applied before the cron runs
        self.assertEqual(self._notification(sms.uuid).notification_status, "pending")
        self.assertEqual(self.Inbox._cron_apply(), 1)
        rows.invalidate_recordset()
        self.assertEqual(rows.state, "done")
        self.assertEqual(rows.result, {"statuses": 1, "unknown": 0, "ignored": 0})
        self.env.invalidate_all()
        self.assertEqual(self._notification(sms.uuid).notification_status, "sent")
        self.assertEqual(sms.state, "sent")
        # the cron again: nothing is applied twice
        self.assertEqual(self.Inbox._cron_apply(), 0)

    @mute_logger("odoo.addons.omnichannel_cc.models.omnichannel_event_inbox")
    def test_reports_of_one_message_are_applied_in_order(self):
        sms, other = self._sent_sms(2)
        SmsModel = type(self.env["sms.sms"])
        original = SmsModel._omnichannel_apply_reports
        # the first message's reports fail until the hiccup is over (applied
        # with others, then alone: the failure is the row's, not its chunk's)
        hiccup = [True]

        def apply_reports(model, channel, reports):
            if hiccup[0] and sms.uuid in repr(reports):
                raise RuntimeError("the database hiccuped")
            return original(model, channel, reports)

        self.patch(SmsModel, "_omnichannel_apply_reports", apply_reports)
        # buffered by the SMSC, then rejected; and the other message's delivery
        buffered = self._post_dlr(sms.uuid, 8)["inbox_id"]
        rejected = self._post_dlr(sms.uuid, 16, reply="id:1 stat:REJECTD err:045")["inbox_id"]
        delivered = self._post_dlr(other.uuid, 1)["inbox_id"]
        self.assertEqual(self.Inbox._cron_apply(), 1)
        rows = self.Inbox.browse([buffered, rejected, delivered])
        rows.invalidate_recordset()
        # the first report failed: it is retried later, and holds back the
        # later report of its message only
        self.assertEqual(rows.mapped("state"), ["failed", "pending", "done"])
        self.assertEqual(rows[0].attempts, 1)
        self.assertIn("hiccuped", rows[0].last_error)
        self.env.invalidate_all()
        self.assertEqual(self._notification(sms.uuid).notification_status, "pending")
        self.assertEqual(self._notification(other.uuid).notification_status, "sent")
        # its retry is due: both are applied, in the order they were received
        hiccup[0] = False
        rows[0].write({"next_attempt_at": fields.Datetime.now() - timedelta(seconds=1)})
        self.assertEqual(self.Inbox._cron_apply(), 2)
        rows.invalidate_recordset()
        self.assertEqual(rows.mapped("state"), ["done", "done", "done"])
        self.assertLess(rows[0].applied_at, rows[1].applied_at)
        self.env.invalidate_all()
        notification = self._notification(sms.uuid)
        self.assertEqual(notification.notification_status, "bounce")
        self.assertEqual(notification.failure_type, "sms_rejected")
        self.assertEqual(sms.state, "error")

    def test_report_for_an_unknown_message_is_dropped_once(self):
        """As when the webhook applied it at once: counted as unknown, no
        dead letter, nothing else written."""
        body = self._post_dlr("0" * 32, 1)
        before = self._counts()
        self.assertEqual(self.Inbox._cron_apply(), 1)
        row = self.Inbox.browse(body["inbox_id"])
        self.assertEqual(row.state, "done")
        self.assertEqual(row.result, {"statuses": 0, "unknown": 1, "ignored": 0})
        self.assertEqual(row.attempts, 0)
        self.assertEqual(self._counts(), before)
        self.assertEqual(self.Inbox._cron_apply(), 0)
        again = self._post_dlr("0" * 32, 1)
        self.assertTrue(again["duplicate"])
        self.assertEqual(self.Inbox._cron_apply(), 0)

    def test_gateways_hear_their_own_answer(self):
        """Twilio its empty TwiML, SMSAPI its OK: the receipt is not theirs to read."""
        smsapi = self.env["omnichannel.channel"].create(
            {
                "channel_type": "sms",
                "queue_id": self.queue_sales.id,
                "name": "SMS SMSAPI",
                "address": "+48 22 555 06 06",
                "sms_provider": "smsapi",
                "sms_base_url": "https://smsapi.test",
                "sms_secret": "smsapi-secret",
            }
        )
        url = f"/omnichannel/sms/{self._token(smsapi)}/status?secret=smsapi-secret"
        response = self.url_open(url, data={"MsgId": "m-1,m-2", "status": "404,403"})
        self.assertEqual((response.status_code, response.text), (200, "OK"))
        response = self.url_open(url, data={"MsgId": "m-3", "status": "404"})
        self.assertEqual((response.status_code, response.text), (200, "OK"))
        rows = self.Inbox.search([("scope", "=", f"sms-status:{smsapi.id}")], order="id")
        # one callback on several messages has no single message to keep in order
        self.assertEqual(rows.mapped("conversation"), [False, "m-3"])
        self.assertEqual(len(rows[0].payload["reports"]), 2)
        self.Inbox._cron_apply()
        rows.invalidate_recordset()
        self.assertEqual(rows.mapped("state"), ["done", "done"])
        self.assertEqual(rows[0].result["unknown"], 2)

        response = self._twilio_post("status", {"MessageSid": "SM1", "MessageStatus": "sent"})
        self.assertEqual(response.receipt.status_code, 200)
        self.assertIn("<Response/>", response.receipt.text)
        self.assertEqual(response.row.conversation, "SM1")
        self.assertEqual(response.json()["unknown"], 1)
