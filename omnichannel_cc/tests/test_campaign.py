"""Campaigns (issue 16): lists from live data, compliance gates, preview
dialing and outcomes written back, access rights."""

from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged, users

from .common import OmnichannelCommon

# Monday 2 March 2026, 09:00 UTC: 10:00 in Warsaw, 04:00 in New York
T0 = datetime(2026, 3, 2, 9, 0)
OVERDUE_30 = (
    "[('move_type', '=', 'out_invoice'), ('state', '=', 'posted'), "
    "('payment_state', 'in', ('not_paid', 'partial')), "
    "('invoice_date_due', '<=', (context_today() - relativedelta(days=30)).strftime('%Y-%m-%d'))]"
)


@tagged("post_install", "-at_install")
class TestCampaign(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_sales_2 = new_test_user(
            cls.env,
            "occ_agent_sales_2",
            groups="omnichannel_cc.group_omnichannel_agent",
            name="Basia Sales",
        )
        cls.queue_sales.member_ids = [Command.link(cls.agent_sales_2.id)]
        Partner = cls.env["res.partner"]
        pl = cls.poland.id

        def partner(name, **vals):
            return Partner.create(dict({"name": name, "country_id": pl}, **vals))

        cls.p_ok = partner("Ok Kowalski", mobile="601 100 001")
        cls.p_no_phone = partner("Bez Telefonu")
        cls.p_invalid = partner("Zły Numer", phone="12 34")
        cls.p_blacklisted = partner("Na Czarnej Liście", mobile="601 100 004")
        cls.p_dnc = partner("Nie Dzwonić", mobile="601 100 005")
        cls.p_duplicate = partner("Ten Sam Numer", mobile="+48 601 100 001")
        cls.env["phone.blacklist"].sudo()._add(["+48601100004"])
        cls.d_ptp = cls.env.ref("omnichannel_cc.disposition_promise_to_pay")
        cls.d_no_answer = cls.env.ref("omnichannel_cc.disposition_no_answer")
        cls.d_busy = cls.env.ref("omnichannel_cc.disposition_busy")
        cls.d_callback = cls.env.ref("omnichannel_cc.disposition_callback")
        cls.d_wrong = cls.env.ref("omnichannel_cc.disposition_wrong_number")
        cls.d_dnc = cls.env.ref("omnichannel_cc.disposition_do_not_call")
        cls.d_resolved = cls.env.ref("omnichannel_cc.disposition_resolved")

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _campaign(self, partners=None, **vals):
        values = {
            "name": "Test campaign",
            "queue_id": self.queue_sales.id,
            "channel_id": self.channel_phone.id,
            "target_model": "res.partner",
            "target_domain": repr([("id", "in", partners.ids)]) if partners else "[]",
        }
        values.update(vals)
        return self.env["omnichannel.campaign"].create(values)

    def _reasons(self, campaign):
        return {c.partner_id: c.excluded_reason for c in campaign.contact_ids}

    def _live(self, *users_):
        for user in users_:
            self.env["omnichannel.agent"]._for_user(user).with_user(user).action_my_state(
                "available"
            )

    def _next(self, campaign, user):
        return campaign.with_user(user).action_next_contact()

    def _contact(self, payload):
        return self.env["omnichannel.campaign.contact"].browse(payload["contact_id"])

    def _pay(self, invoice):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({})._create_payments()

    def _wrap_up(self, payload, user, disposition, **kwargs):
        contact = self._contact(payload).with_user(user)
        contact.action_dial()
        contact.action_record_outcome(disposition.id, **kwargs)
        return contact

    # ------------------------------------------------------------------
    # List building
    # ------------------------------------------------------------------
    def test_list_building_each_exclusion_reason(self):
        partners = (
            self.p_ok
            | self.p_no_phone
            | self.p_invalid
            | self.p_blacklisted
            | self.p_dnc
            | self.p_duplicate
        )
        campaign = self._campaign(partners, dnc_ids=[Command.create({"number": "601 100 005"})])
        self.assertEqual(campaign.dnc_ids.number, "+48601100005", "stored in E.164")
        preview = campaign.action_preview_targets()
        self.assertEqual((preview["targets"], preview["excluded"], preview["callable"]), (6, 5, 1))
        self.assertEqual(
            preview["reasons"],
            {
                "no_phone": 1,
                "invalid_number": 1,
                "blacklisted": 1,
                "do_not_call": 1,
                "duplicate": 1,
            },
        )
        self.assertTrue(preview["message"].startswith("6 targets, 5 excluded ("))
        self.assertIn("blacklisted 1", preview["message"])
        self.assertEqual(campaign.target_summary, preview["message"], "shown on the form")
        self.assertFalse(campaign.contact_ids, "counting builds nothing")
        with freeze_time(T0):
            campaign.action_start()
        self.assertEqual(campaign.state, "running")
        self.assertEqual(campaign.user_id, self.env.user)
        self.assertEqual(
            self._reasons(campaign),
            {
                self.p_ok: False,
                self.p_no_phone: "no_phone",
                self.p_invalid: "invalid_number",
                self.p_blacklisted: "blacklisted",
                self.p_dnc: "do_not_call",
                self.p_duplicate: "duplicate",
            },
        )
        ok = campaign.contact_ids.filtered(lambda c: c.partner_id == self.p_ok)
        self.assertEqual((ok.state, ok.phone, ok.source), ("pending", "+48601100001", "domain"))
        self.assertEqual(campaign.pending_count, 1)
        self.assertEqual(campaign.excluded_count, 5)
        # a second start of the list adds nobody twice
        self.assertEqual(campaign._refresh_contacts(), (0, 0, 0))

    def test_marketing_needs_consent(self):
        partners = self.p_ok | self.customer_plain
        self.customer_plain.omnichannel_marketing_consent = True
        self.assertTrue(self.customer_plain.omnichannel_marketing_consent_date, "dated")
        campaign = self._campaign(partners, purpose="marketing")
        campaign.action_start()
        self.assertEqual(
            self._reasons(campaign), {self.p_ok: "no_consent", self.customer_plain: False}
        )
        service = self._campaign(partners, purpose="service")
        service.action_start()
        self.assertEqual(set(self._reasons(service).values()), {False})

    def test_consent_withdrawn_before_dial(self):
        self.customer_plain.omnichannel_marketing_consent = True
        campaign = self._campaign(self.customer_plain, purpose="marketing")
        with freeze_time(T0):
            campaign.action_start()
            self.customer_plain.omnichannel_marketing_consent = False
            self._live(self.agent_sales)
            self.assertFalse(self._next(campaign, self.agent_sales))
        self.assertEqual(campaign.contact_ids.excluded_reason, "no_consent")

    def test_invoices_resolve_to_the_customer(self):
        with freeze_time(T0):
            # Jan's company: one invoice through Jan, two through the company
            jan = self._create_invoice(self.customer_contact, 100, 40)
            self._create_invoice(self.customer_company, 200, 35)
            self._create_invoice(self.customer_company, 300, 31)
            self._create_invoice(self.customer_plain, 50, 10)  # not 30 days yet
            campaign = self._campaign(target_model="account.move", target_domain=OVERDUE_30)
            self.assertIn("2 targets, 0 excluded", campaign.action_preview_targets()["message"])
            campaign.action_start()
        contacts = campaign.contact_ids
        self.assertEqual(contacts.partner_id, self.customer_company)
        self.assertEqual(
            sorted(contacts.mapped("phone")), ["+48123998877", "+48609876543"], "one per number"
        )
        by_phone = {c.phone: c for c in contacts}
        self.assertEqual(by_phone["+48609876543"].person_id, self.customer_contact)
        self.assertEqual(
            (by_phone["+48609876543"].res_model, by_phone["+48609876543"].res_id),
            ("account.move", jan.id),
        )
        self.assertEqual(by_phone["+48123998877"].person_id, self.customer_company)

    def test_domain_evaluated_with_the_starting_users_rights(self):
        campaign = self._campaign(
            self.p_ok, target_model="account.move", target_domain=OVERDUE_30
        ).with_user(self.supervisor_sales)
        # the supervisor may not read invoices: their campaign on invoices cannot start
        with self.assertRaises(AccessError):
            campaign.action_start()

    def test_invalid_domain_refused(self):
        with self.assertRaises(ValidationError):
            self._campaign(target_domain="[('id', '=',")

    def test_non_preview_modes_need_the_pbx_dialer(self):
        for mode in ("progressive", "power", "predictive"):
            campaign = self._campaign(self.p_ok, dial_mode=mode)
            with self.assertRaisesRegex(UserError, "PBX dialer"):
                campaign.action_start()
            self.assertEqual(campaign.state, "draft")

    def test_state_machine(self):
        campaign = self._campaign(self.p_ok)
        campaign.action_start()
        campaign.action_pause()
        self.assertEqual(campaign.state, "paused")
        campaign.action_start()
        campaign.action_stop()
        self.assertEqual(campaign.state, "done")
        with self.assertRaises(UserError):
            campaign.write({"state": "running"})

    def test_import_csv_of_extra_contacts(self):
        campaign = self._campaign(self.p_ok)
        csv = (
            "campaign_id/.id,partner_id/.id,phone\n"
            f"{campaign.id},{self.customer_plain.id},509 333 444\n"
            f"{campaign.id},{self.p_blacklisted.id},\n"
        )
        wizard = self.env["base_import.import"].create(
            {
                "res_model": "omnichannel.campaign.contact",
                "file": csv.encode(),
                "file_type": "text/csv",
            }
        )
        result = wizard.execute_import(
            ["campaign_id/.id", "partner_id/.id", "phone"],
            ["campaign_id/.id", "partner_id/.id", "phone"],
            {"quoting": '"', "separator": ",", "has_headers": True},
        )
        self.assertFalse(result["messages"], result["messages"])
        reasons = {
            c.partner_id: (c.phone, c.excluded_reason, c.source) for c in campaign.contact_ids
        }
        self.assertEqual(
            reasons,
            {
                self.customer_plain: ("+48509333444", False, "import"),
                self.p_blacklisted: ("+48601100004", "blacklisted", "import"),
            },
        )

    # ------------------------------------------------------------------
    # Preview dialing
    # ------------------------------------------------------------------
    def test_preview_next_contact_end_to_end(self):
        with freeze_time(T0):
            self._create_invoice(self.customer_plain, 120, 45)
            campaign = self._campaign(
                target_model="account.move", target_domain=OVERDUE_30, script_id=False
            )
            campaign.action_start()
            self._live(self.agent_sales)
            payload = self._next(campaign, self.agent_sales)
        self.assertEqual(payload["partner_id"], self.customer_plain.id)
        self.assertEqual(payload["phone"], "+48509333444")
        self.assertEqual(payload["timezone"], "Europe/Warsaw")
        self.assertNotIn(None, payload.values(), "XML-RPC cannot send None")
        contact = self._contact(payload)
        interaction = contact.last_interaction_id
        self.assertEqual(contact.state, "in_progress")
        self.assertEqual(contact.user_id, self.agent_sales)
        self.assertEqual(
            (interaction.direction, interaction.state, interaction.agent_id),
            ("outbound", "active", self.agent_sales),
        )
        self.assertEqual(interaction.queue_id, self.queue_sales)
        self.assertEqual(interaction.campaign_id, campaign)
        self.assertEqual(interaction.invoice_id.id, contact.res_id)
        self.assertEqual(interaction.offer_ids.state, "accepted", "popped as any offer")
        # asking again gives the same contact while its call is open
        with freeze_time(T0 + timedelta(minutes=1)):
            self.assertEqual(self._next(campaign, self.agent_sales), payload)
            dialed = contact.with_user(self.agent_sales).action_dial()
            contact.with_user(self.agent_sales).action_dial()
        self.assertEqual(dialed["phone"], "+48509333444")
        self.assertEqual(
            contact.with_user(self.agent_sales).action_dial_tel()["url"], "tel:+48509333444"
        )
        self.assertEqual(contact.attempt_count, 1, "one attempt per call, however often dialed")
        # the call is on the customer's history
        self.assertIn(interaction, self.customer_plain.omnichannel_history_ids)

    def test_agent_must_be_available_and_a_member(self):
        campaign = self._campaign(self.p_ok)
        with freeze_time(T0):
            campaign.action_start()
            with self.assertRaises(UserError):
                self._next(campaign, self.agent_sales)  # offline
            self._live(self.agent_claims)
            with self.assertRaises(AccessError):
                self._next(campaign.sudo(), self.agent_claims)  # not of the queue
        self.assertEqual(campaign.contact_ids.state, "pending")

    def test_preview_claim_race_two_agents_one_contact(self):
        campaign = self._campaign(self.p_ok)
        with freeze_time(T0):
            campaign.action_start()
            self._live(self.agent_sales, self.agent_sales_2)
            first = self._next(campaign, self.agent_sales)
            self.assertTrue(first)
            self.assertFalse(self._next(campaign, self.agent_sales_2))
            # the second agent's SELECT ran before the first one's claim
            # (a stale read): the conditional UPDATE still refuses the contact
            contact = self._contact(first)
            Campaign = type(self.env["omnichannel.campaign"])
            with patch.object(
                Campaign, "_candidate_ids", side_effect=[[contact.id], []], autospec=True
            ):
                self.assertFalse(self._next(campaign, self.agent_sales_2))
        self.assertEqual(contact.user_id, self.agent_sales)
        self.assertEqual(len(contact.interaction_ids), 1)

    def test_skip_with_a_reason(self):
        campaign = self._campaign(self.p_ok)
        with freeze_time(T0):
            campaign.action_start()
            self._live(self.agent_sales)
            contact = self._contact(self._next(campaign, self.agent_sales))
            with self.assertRaises(UserError):
                contact.with_user(self.agent_sales).action_skip("")
            contact.with_user(self.agent_sales).action_skip("In court with us")
        self.assertEqual((contact.state, contact.excluded_reason), ("excluded", "skipped"))
        self.assertIn("In court with us", contact.notes)
        self.assertEqual(contact.last_interaction_id.state, "done")
        self.assertEqual(contact.attempt_count, 0, "not called")

    # ------------------------------------------------------------------
    # Re-evaluation before each dial
    # ------------------------------------------------------------------
    def test_payer_removed_and_new_debtor_joins(self):
        with freeze_time(T0):
            paid = self._create_invoice(self.customer_plain, 100, 40)
            self._create_invoice(self.customer_company, 100, 60)
            campaign = self._campaign(target_model="account.move", target_domain=OVERDUE_30)
            campaign.action_start()
            self.assertEqual(campaign.pending_count, 2)
            # the customer paid this morning
            self._pay(paid)
            # a new debtor after the start
            self._create_invoice(self.p_ok, 70, 30)
            self._live(self.agent_sales)
            called = []
            for _n in range(3):
                payload = self._next(campaign, self.agent_sales)
                if not payload:
                    break
                called.append(self._contact(payload).partner_id)
                self._wrap_up(payload, self.agent_sales, self.d_resolved)
        self.assertEqual(called, [self.customer_company], "the refresh is not due yet")
        payer = campaign.contact_ids.filtered(lambda c: c.partner_id == self.customer_plain)
        self.assertEqual((payer.state, payer.excluded_reason), ("excluded", "no_longer_matches"))
        # the dialer's refresh (every refresh_minutes): the new debtor joins
        with freeze_time(T0 + timedelta(minutes=16)):
            payload = self._next(campaign, self.agent_sales)
        self.assertEqual(self._contact(payload).partner_id, self.p_ok)

    def test_cron_refresh_and_matching_again(self):
        with freeze_time(T0):
            invoice = self._create_invoice(self.customer_plain, 100, 40)
            campaign = self._campaign(target_model="account.move", target_domain=OVERDUE_30)
            campaign.action_start()
            self._pay(invoice)
        with freeze_time(T0 + timedelta(minutes=20)):
            self.env["omnichannel.campaign"]._cron_refresh()
        contact = campaign.contact_ids
        self.assertEqual(contact.excluded_reason, "no_longer_matches")
        with freeze_time(T0 + timedelta(minutes=25)):
            self._create_invoice(self.customer_plain, 30, 31)
        with freeze_time(T0 + timedelta(minutes=40)):
            self.env["omnichannel.campaign"]._cron_refresh()
        self.assertEqual((contact.state, contact.excluded_reason), ("pending", False))
        self.assertEqual(len(campaign.contact_ids), 1)

    def test_blacklisted_after_the_start(self):
        campaign = self._campaign(self.p_ok)
        with freeze_time(T0):
            campaign.action_start()
            self.env["phone.blacklist"].sudo()._add(["+48601100001"])
            self._live(self.agent_sales)
            self.assertFalse(self._next(campaign, self.agent_sales))
        self.assertEqual(campaign.contact_ids.excluded_reason, "blacklisted")

    # ------------------------------------------------------------------
    # Calling hours across time zones and DST
    # ------------------------------------------------------------------
    def test_window_in_each_contacts_zone(self):
        usa = self.env.ref("base.us")
        new_yorker = self.env["res.partner"].create(
            {"name": "NY Customer", "country_id": usa.id, "phone": "+1 212 555 0100"}
        )
        campaign = self._campaign(self.p_ok | new_yorker)
        moment = datetime(2026, 3, 2, 7, 30)  # 08:30 in Warsaw, 02:30 in New York
        with freeze_time(moment):
            campaign.action_start()
            self._live(self.agent_sales)
            payload = self._next(campaign, self.agent_sales)
            self.assertEqual(self._contact(payload).partner_id, self.p_ok)
            self._wrap_up(payload, self.agent_sales, self.d_resolved)
            self.assertFalse(self._next(campaign, self.agent_sales))
        ny = campaign.contact_ids.filtered(lambda c: c.partner_id == new_yorker)
        # 08:00 EST (UTC-5) is 13:00 UTC
        self.assertEqual(ny.date_next_attempt, datetime(2026, 3, 2, 13, 0))
        self.assertEqual(ny.state, "pending")
        with freeze_time(datetime(2026, 3, 2, 13, 0)):
            self.assertEqual(self._contact(self._next(campaign, self.agent_sales)), ny)

    def test_window_over_the_dst_change_and_partner_tz(self):
        self.p_ok.tz = "Europe/Warsaw"
        campaign = self._campaign(self.p_ok)
        # Saturday 28 March 2026, 21:30 in Warsaw; summer time from that night
        with freeze_time(datetime(2026, 3, 28, 20, 30)):
            campaign.action_start()
            self._live(self.agent_sales)
            self.assertFalse(self._next(campaign, self.agent_sales))
        self.assertEqual(campaign.contact_ids.date_next_attempt, datetime(2026, 3, 29, 6, 0))
        with freeze_time(datetime(2026, 3, 29, 5, 59)):
            self._live(self.agent_sales)
            self.assertFalse(self._next(campaign, self.agent_sales))
        with freeze_time(datetime(2026, 3, 29, 6, 0)):
            self._live(self.agent_sales)
            self.assertTrue(self._next(campaign, self.agent_sales))

    def test_calendar_holidays_and_working_days(self):
        calendar = self.env["resource.calendar"].create(
            {
                "name": "Mon-Fri, Warsaw",
                "tz": "Europe/Warsaw",
                "attendance_ids": [
                    Command.create(
                        {
                            "name": f"Day {day}",
                            "dayofweek": str(day),
                            "hour_from": 8,
                            "hour_to": 17,
                        }
                    )
                    for day in range(5)
                ],
            }
        )
        # Monday 2 March is a (made-up) public holiday, 00:00-24:00 in Warsaw
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Holiday",
                "calendar_id": calendar.id,
                "date_from": datetime(2026, 3, 1, 23, 0),
                "date_to": datetime(2026, 3, 2, 22, 59),
            }
        )
        campaign = self._campaign(self.p_ok, calendar_id=calendar.id)
        with freeze_time(T0):
            campaign.action_start()
            self._live(self.agent_sales)
            self.assertFalse(self._next(campaign, self.agent_sales))
        # Tuesday 08:00 in Warsaw
        self.assertEqual(campaign.contact_ids.date_next_attempt, datetime(2026, 3, 3, 7, 0))

    # ------------------------------------------------------------------
    # Retries, maximum attempts, lockout
    # ------------------------------------------------------------------
    def test_retry_delays_and_maximum_attempts(self):
        campaign = self._campaign(self.p_ok, max_attempts=2, retry_busy=10, retry_no_answer=60)
        with freeze_time(T0):
            campaign.action_start()
            self._live(self.agent_sales)
            payload = self._next(campaign, self.agent_sales)
            contact = self._wrap_up(payload, self.agent_sales, self.d_busy)
        self.assertEqual(
            (contact.state, contact.last_outcome, contact.attempt_count), ("pending", "busy", 1)
        )
        self.assertEqual(contact.date_next_attempt, T0 + timedelta(minutes=10))
        with freeze_time(T0 + timedelta(minutes=5)):
            self._live(self.agent_sales)
            self.assertFalse(self._next(campaign, self.agent_sales), "not before the delay")
        with freeze_time(T0 + timedelta(minutes=10)):
            payload = self._next(campaign, self.agent_sales)
            self.assertEqual(payload["contact_id"], contact.id)
            self._wrap_up(payload, self.agent_sales, self.d_no_answer)
        self.assertEqual((contact.state, contact.excluded_reason), ("failed", "max_attempts"))
        self.assertEqual(len(contact.interaction_ids), 2, "every attempt is an interaction")

    def test_no_redial_within_72_hours_of_an_abandoned_call(self):
        campaign = self._campaign(self.p_ok, max_attempts=5)
        with freeze_time(T0):
            campaign.action_start()
            self._live(self.agent_sales)
            contact = self._contact(self._next(campaign, self.agent_sales))
            # the PBX reports an answered call nobody took (progressive / predictive)
            contact.sudo()._attempt_ended(contact.last_interaction_id, "abandoned")
        self.assertEqual(contact.date_abandoned, T0)
        self.assertEqual(contact.date_next_attempt, T0 + timedelta(hours=72))
        contact.sudo().date_next_attempt = False  # even when someone clears it
        with freeze_time(T0 + timedelta(hours=71)):
            contact.last_interaction_id.sudo().action_close()
            self._live(self.agent_sales)
            self.assertFalse(self._next(campaign, self.agent_sales))
        self.assertEqual(contact.date_next_attempt, T0 + timedelta(hours=72))
        with freeze_time(T0 + timedelta(hours=72)):
            self._live(self.agent_sales)
            self.assertTrue(self._next(campaign, self.agent_sales))

    # ------------------------------------------------------------------
    # Outcomes write back
    # ------------------------------------------------------------------
    def test_promise_to_pay_on_the_oldest_overdue_invoice(self):
        with freeze_time(T0):
            oldest = self._create_invoice(self.customer_plain, 80, 60)
            self._create_invoice(self.customer_plain, 120, 35)
            campaign = self._campaign(target_model="account.move", target_domain=OVERDUE_30)
            campaign.action_start()
            self._live(self.agent_sales)
            payload = self._next(campaign, self.agent_sales)
            contact = self._wrap_up(
                payload,
                self.agent_sales,
                self.d_ptp,
                promise_date="2026-03-09",
                promise_amount=150.0,
            )
        self.assertEqual((contact.state, contact.last_outcome), ("done", "promise_to_pay"))
        activity = oldest.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.date_deadline, fields.Date.to_date("2026-03-09"))
        # the agent may not open invoices: the follow-up is the salesperson's
        self.assertEqual(activity.user_id, oldest.invoice_user_id)
        self.assertIn("150.00", activity.note)
        self.assertEqual(contact.last_interaction_id.state, "done")

    def test_promise_to_pay_defaults(self):
        with freeze_time(T0):
            oldest = self._create_invoice(self.customer_plain, 80, 60)
            campaign = self._campaign(target_model="account.move", target_domain=OVERDUE_30)
            campaign.action_start()
            self._live(self.agent_sales)
            payload = self._next(campaign, self.agent_sales)
            # the console's own wrap-up, with the disposition only
            interaction = self._contact(payload).last_interaction_id.with_user(self.agent_sales)
            interaction.action_console_close(disposition_id=self.d_ptp.id)
        self.assertEqual(oldest.activity_ids.date_deadline, T0.date() + timedelta(days=7))
        self.assertIn("80.00", oldest.activity_ids.note)

    def test_call_back_at_a_time(self):
        campaign = self._campaign(self.p_ok)
        with freeze_time(T0):
            campaign.action_start()
            self._live(self.agent_sales)
            payload = self._next(campaign, self.agent_sales)
            contact = self._wrap_up(
                payload, self.agent_sales, self.d_callback, callback_at="2026-03-03 15:00:00"
            )
        callback = contact.callback_id
        self.assertTrue(callback)
        self.assertEqual(
            (callback.phone, callback.partner_id, callback.queue_id),
            ("+48601100001", self.p_ok, self.queue_sales),
        )
        self.assertEqual(callback.date_next, datetime(2026, 3, 3, 15, 0))
        self.assertEqual(callback.origin_interaction_id, contact.interaction_ids)
        self.assertEqual(contact.state, "done")

    def test_wrong_number_flagged(self):
        campaign = self._campaign(self.p_ok, max_attempts=5)
        with freeze_time(T0):
            campaign.action_start()
            self._live(self.agent_sales)
            contact = self._wrap_up(
                self._next(campaign, self.agent_sales), self.agent_sales, self.d_wrong
            )
        self.assertTrue(contact.wrong_number)
        self.assertEqual((contact.state, contact.excluded_reason), ("failed", "wrong_number"))
        with self.assertRaises(AccessError):
            contact.action_reset()  # the agent
        # their supervisor putting it back on the list clears the flag
        contact.with_user(self.supervisor_sales).action_reset()
        self.assertEqual(contact.state, "pending")
        self.assertFalse(contact.wrong_number)

    def test_do_not_call_blacklists_the_number_for_every_campaign(self):
        first = self._campaign(self.p_ok)
        second = self._campaign(self.p_ok, name="Second")
        with freeze_time(T0):
            first.action_start()
            second.action_start()
            self._live(self.agent_sales)
            contact = self._wrap_up(
                self._next(first, self.agent_sales), self.agent_sales, self.d_dnc
            )
            self.assertEqual((contact.state, contact.excluded_reason), ("excluded", "do_not_call"))
            self.assertTrue(self.env["phone.blacklist"].search([("number", "=", "+48601100001")]))
            self.assertFalse(self._next(second, self.agent_sales))
        self.assertEqual(second.contact_ids.excluded_reason, "blacklisted")

    # ------------------------------------------------------------------
    # Access rights
    # ------------------------------------------------------------------
    @classmethod
    def _access_fixture(cls):
        Campaign = cls.env["omnichannel.campaign"]
        sales = Campaign.create(
            {
                "name": "Sales campaign",
                "queue_id": cls.queue_sales.id,
                "target_model": "res.partner",
            }
        )
        claims = Campaign.create(
            {
                "name": "Claims campaign",
                "queue_id": cls.queue_claims.id,
                "target_model": "res.partner",
            }
        )
        Contact = cls.env["omnichannel.campaign.contact"]
        contacts = Contact.create(
            [
                {"campaign_id": sales.id, "partner_id": cls.p_ok.id},
                {"campaign_id": claims.id, "partner_id": cls.customer_plain.id},
            ]
        )
        return sales, claims, contacts

    def _visible(self, model, records):
        return self.env[model].search([("id", "in", records.ids)])

    @users("occ_agent_sales")
    def test_access_agent(self):
        sales, claims, contacts = self._access_fixture()
        self.assertEqual(self._visible("omnichannel.campaign", sales | claims), sales)
        self.assertEqual(self._visible("omnichannel.campaign.contact", contacts).campaign_id, sales)
        with self.assertRaises(AccessError):
            sales.with_env(self.env).write({"name": "Mine now"})
        with self.assertRaises(AccessError):
            contacts[0].with_env(self.env).write({"priority": 5})
        with self.assertRaises(AccessError):
            sales.with_env(self.env).action_start()
        with self.assertRaises(AccessError):
            self.env["omnichannel.campaign"].create({"name": "x", "target_model": "res.partner"})

    @users("occ_supervisor_sales")
    def test_access_supervisor(self):
        sales, claims, contacts = self._access_fixture()
        self.assertEqual(self._visible("omnichannel.campaign", sales | claims), sales)
        self.assertEqual(self._visible("omnichannel.campaign.contact", contacts).campaign_id, sales)
        sales.with_env(self.env).write({"max_attempts": 4})
        with self.assertRaises(AccessError):
            claims.with_env(self.env).write({"max_attempts": 4})

    @users("occ_manager")
    def test_access_manager(self):
        sales, claims, contacts = self._access_fixture()
        self.assertEqual(self._visible("omnichannel.campaign", sales | claims), sales | claims)
        self.assertEqual(self._visible("omnichannel.campaign.contact", contacts), contacts)

    def test_views_load_for_each_role(self):
        for user in (self.agent_sales, self.supervisor_sales, self.manager):
            for model in ("omnichannel.campaign", "omnichannel.campaign.contact"):
                views = (
                    self.env[model]
                    .with_user(user)
                    .get_views([(False, "list"), (False, "form"), (False, "search")])
                )
                self.assertEqual(set(views["views"]), {"list", "form", "search"})
        form = (
            self.env["omnichannel.campaign"]
            .with_user(self.agent_sales)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertNotIn("dnc_ids", form, "the do-not-call list is the supervisors'")

    def test_access_multi_company(self):
        other = self.env["res.company"].create({"name": "Other company"})
        queue = self.env["omnichannel.queue"].create({"name": "Other", "company_id": other.id})
        campaign = self.env["omnichannel.campaign"].create(
            {"name": "Elsewhere", "company_id": other.id, "queue_id": queue.id}
        )
        self.manager.company_ids = [Command.link(other.id)]
        Campaign = self.env["omnichannel.campaign"].with_user(self.manager)
        selected = Campaign.with_context(allowed_company_ids=[self.company.id])
        self.assertFalse(selected.search([("id", "=", campaign.id)]), "not selected")
        visible = Campaign.with_context(allowed_company_ids=[self.company.id, other.id]).search(
            [("id", "=", campaign.id)]
        )
        self.assertEqual(visible, campaign)
