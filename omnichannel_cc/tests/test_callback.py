from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestCallback(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Callback = cls.env["omnichannel.callback"]
        cls.a_sales = cls.env["omnichannel.agent"]._for_user(cls.agent_sales)
        cls.t0 = datetime(2026, 3, 2, 9, 0, 0)  # a Monday
        cls.no_contact = cls.env.ref("omnichannel_cc.disposition_no_contact")
        cls.resolved = cls.env.ref("omnichannel_cc.disposition_resolved")

    def _request(self, **kwargs):
        values = {
            "phone": "509 333 444",
            "queue": self.queue_sales,
            "source": "manual",
            "partner": self.customer_plain,
        }
        values.update(kwargs)
        return self.Callback._request(values.pop("phone"), values.pop("queue"), **values)

    def _attempt(self, callback):
        return callback.interaction_ids.sorted("id")[-1:]

    def test_cron_creates_outbound_interaction_routed_to_agent(self):
        self.a_sales._change_state("available")
        with freeze_time(self.t0):
            callback = self._request(when=self.t0)
            later = self._request(phone="+48 601 000 111", when=self.t0 + timedelta(hours=2))
            self.assertEqual(callback.phone, "+48509333444")
            self.assertEqual(callback.channel_id, self.channel_phone)
            done, left = self.Callback._process_due()
        self.assertEqual((done, left), (1, 0))
        self.assertEqual(callback.state, "in_progress")
        self.assertEqual(callback.attempts, 1)
        self.assertEqual(later.state, "pending", "not due yet")
        triggers = self.env["ir.cron.trigger"].search(
            [("cron_id", "=", self.env.ref("omnichannel_cc.ir_cron_callback").id)]
        )
        self.assertIn(self.t0 + timedelta(hours=2), triggers.mapped("call_at"), "wakes on time")
        self.assertFalse(later.interaction_ids)
        call = callback.interaction_ids
        self.assertEqual(len(call), 1)
        self.assertEqual(call.direction, "outbound")
        self.assertEqual(call.channel_id, self.channel_phone)
        self.assertEqual(call.partner_id, self.customer_plain)
        self.assertEqual(call.contact_address, "+48509333444")
        self.assertEqual(call.queue_id, self.queue_sales)
        self.assertEqual(call.state, "offered", "the ACD offered the call-back at once")
        self.assertEqual(call.agent_id, self.agent_sales)
        # claimed once: another run (another worker) does not call again
        with freeze_time(self.t0 + timedelta(minutes=1)):
            self.assertEqual(self.Callback._process_due(), (0, 0))
        self.assertEqual(len(callback.interaction_ids), 1)

    def test_same_number_merges_into_one_open_callback(self):
        first = self._request()
        again = self._request(phone="+48509333444", notes="Second try")
        self.assertEqual(first, again)
        self.assertEqual(self.Callback.search_count([("phone", "=", "+48509333444")]), 1)

    def test_retry_after_no_answer_then_failed(self):
        with freeze_time(self.t0):
            callback = self._request(when=self.t0)
            callback.write({"max_attempts": 2, "retry_delay": 30})
            self.Callback._process_due()
            first = self._attempt(callback)
            self.assertEqual(first.state, "queued", "nobody available yet")
            first.action_abandon()  # the customer did not pick up
        self.assertEqual(callback.state, "pending")
        self.assertEqual(callback.date_next, self.t0 + timedelta(minutes=30))
        with freeze_time(self.t0 + timedelta(minutes=10)):
            self.assertEqual(self.Callback._process_due(), (0, 0), "waits the retry delay")
        with freeze_time(self.t0 + timedelta(minutes=31)):
            self.a_sales._change_state("available")
            self.Callback._process_due()
            second = self._attempt(callback)
            self.assertNotEqual(first, second)
            self.assertEqual(callback.attempts, 2)
            second.with_user(self.agent_sales).action_answer()
            second.with_user(self.agent_sales).action_end()
            # the agent dialled but nobody answered
            second.with_user(self.agent_sales).disposition_id = self.no_contact
        self.assertEqual(callback.state, "failed", "two attempts, both without the customer")
        with freeze_time(self.t0 + timedelta(hours=5)):
            self.assertEqual(self.Callback._process_due(), (0, 0))
        self.assertEqual(len(callback.interaction_ids), 2)

    def test_done_when_answered(self):
        self.a_sales._change_state("available")
        with freeze_time(self.t0):
            callback = self._request(when=self.t0)
            self.Callback._process_due()
            call = self._attempt(callback)
            as_agent = call.with_user(self.agent_sales)
            as_agent.action_answer()
            self.assertEqual(callback.state, "in_progress")
            as_agent.action_end()
            self.assertEqual(callback.state, "in_progress", "decided with the disposition")
            as_agent.disposition_id = self.resolved
            as_agent.action_close()
        self.assertEqual(callback.state, "done")
        self.assertEqual(callback.user_id, self.agent_sales)

    def test_missed_outbound_is_not_reached(self):
        self.a_sales._change_state("available")
        with freeze_time(self.t0):
            callback = self._request(when=self.t0)
            callback.max_attempts = 1
            self.Callback._process_due()
            call = self._attempt(callback)
            call.write({"state": "missed"})  # e.g. the PBX reports the dial failed
        self.assertEqual(callback.state, "failed")

    def _office_hours(self):
        calendar = self.env["resource.calendar"].create({"name": "Biuro 8-16", "tz": "UTC"})
        calendar.attendance_ids = [Command.clear()] + [
            Command.create(
                {
                    "name": f"d{day}",
                    "dayofweek": str(day),
                    "hour_from": 8,
                    "hour_to": 16,
                    "day_period": "morning",
                }
            )
            for day in range(5)
        ]
        self.queue_sales.resource_calendar_id = calendar

    def test_closed_hours_queue_creates_callback_called_when_open(self):
        self._office_hours()
        self.queue_sales.closed_action = "callback"
        self.a_sales._change_state("available")
        sunday = datetime(2026, 3, 1, 10, 0)
        with freeze_time(sunday):
            result = self._inbound("cb-closed-1", "+48 509 333 444")
            self.assertEqual(result["state"], "missed")
            call = self.env["omnichannel.interaction"].browse(result["interaction_id"])
            callback = call.callback_request_ids
            self.assertEqual(callback.source, "queue_closed")
            self.assertEqual(callback.partner_id, self.customer_plain)
            self.assertEqual(callback.state, "pending")
            # due, but the queue is closed: nobody is called on Sunday
            self.assertEqual(self.Callback._process_due()[0], 1)
            self.assertEqual(callback.state, "pending")
            self.assertEqual(callback.attempts, 0)
            self.assertFalse(callback.interaction_ids)
        with freeze_time(datetime(2026, 3, 2, 8, 5)):
            self.Callback._process_due()
        self.assertEqual(callback.state, "in_progress")
        self.assertEqual(callback.interaction_ids.agent_id, self.agent_sales)

    def test_malformed_number(self):
        with self.assertRaisesRegex(ValidationError, "not a valid phone number"):
            self.Callback.create(
                {
                    "phone": "call me maybe",
                    "queue_id": self.queue_sales.id,
                    "channel_id": self.channel_phone.id,
                }
            )
        with self.assertRaisesRegex(ValidationError, "not a valid phone number"):
            self.Callback.api_request({"phone": "12", "queue_id": self.queue_sales.id})
        with self.assertRaisesRegex(ValidationError, "phone channel"):
            self.Callback.create(
                {
                    "phone": "+48509333444",
                    "queue_id": self.queue_sales.id,
                    "channel_id": self.channel_email.id,
                }
            )

    def test_api_request(self):
        Callback = self.Callback.with_user(self.manager)
        result = Callback.api_request(
            {
                "phone": "609 876 543",
                "queue_code": "T_SALES",
                "date_requested": "2026-03-02 12:00:00",
                "notes": "Wants a quote",
            }
        )
        callback = self.Callback.browse(result["callback_id"])
        self.assertEqual(result["phone"], "+48609876543")
        self.assertEqual(result["date_next"], "2026-03-02 12:00:00")
        self.assertEqual(callback.partner_id, self.customer_contact, "identified by number")
        self.assertEqual(callback.source, "api")
        with self.assertRaises(AccessError):
            self.Callback.with_user(self.agent_sales).api_request(
                {"phone": "609 876 543", "queue_code": "T_SALES"}
            )
        with self.assertRaisesRegex(ValidationError, "queue"):
            Callback.api_request({"phone": "609 876 543"})

    def test_access_by_role(self):
        sales = self._request()
        claims = self._request(queue=self.queue_claims, phone="+48 601 000 222")
        mine = self._request(queue=self.queue_claims, phone="+48 601 000 333")
        mine.user_id = self.agent_sales
        Callback = self.env["omnichannel.callback"]
        self.assertEqual(Callback.with_user(self.agent_sales).search([]), sales | mine)
        self.assertEqual(Callback.with_user(self.agent_claims).search([]), claims | mine)
        self.assertEqual(Callback.with_user(self.supervisor_sales).search([]), sales)
        self.assertEqual(Callback.with_user(self.manager).search([]), sales | claims | mine)
        with self.assertRaises(AccessError):
            claims.with_user(self.agent_sales).read(["phone"])
        with self.assertRaises(AccessError):
            Callback.with_user(self.plain_user).search([])
        with self.assertRaises(AccessError):
            sales.with_user(self.agent_sales).unlink()
        # an agent may log a manual request in their queue
        own = Callback.with_user(self.agent_sales).create(
            {
                "phone": "601 000 444",
                "queue_id": self.queue_sales.id,
                "channel_id": self.channel_phone.id,
            }
        )
        self.assertEqual(own.phone, "+48601000444")

    def test_multi_company(self):
        other = self.env["res.company"].create({"name": "Inna firma", "country_id": self.poland.id})
        queue = self.env["omnichannel.queue"].create({"name": "Other", "company_id": other.id})
        line = self.env["omnichannel.channel"].create(
            {
                "name": "Other line",
                "channel_type": "phone",
                "address": "+48 22 555 09 09",
                "queue_id": queue.id,
                "company_id": other.id,
            }
        )
        foreign = self._request(queue=queue)
        self.assertEqual(foreign.channel_id, line)
        self.assertEqual(foreign.company_id, other)
        as_manager = self.env["omnichannel.callback"].with_user(self.manager)
        self.assertFalse(as_manager.search([("id", "=", foreign.id)]))

    def test_request_button_on_interaction(self):
        result = self._inbound("cb-btn-1", "+48 509 333 444")
        call = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        action = call.action_request_callback()
        callback = self.Callback.browse(action["res_id"])
        self.assertEqual(callback.origin_interaction_id, call)
        self.assertEqual(callback.phone, "+48509333444")
        self.assertEqual(callback.source, "manual")

    def test_call_now_claims_only_its_records(self):
        later = self.t0 + timedelta(hours=3)
        with freeze_time(self.t0):
            first = self._request(when=later)
            second = self._request(phone="+48 601 000 555", when=self.t0)
            first.with_user(self.agent_sales).action_call_now()
        self.assertEqual(first.state, "in_progress")
        self.assertEqual(len(first.interaction_ids), 1)
        self.assertEqual(second.state, "pending", "due, but left to the cron")
