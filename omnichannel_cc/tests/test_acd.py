from datetime import date, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time
from psycopg2 import IntegrityError

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged, users
from odoo.tools import SQL, mute_logger

from .common import OmnichannelCommon

AGENT = "omnichannel_cc.group_omnichannel_agent"


@tagged("post_install", "-at_install")
class TestAcd(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_b = new_test_user(cls.env, "occ_agent_b", groups=AGENT, name="Bartek")
        cls.agent_c = new_test_user(cls.env, "occ_agent_c", groups=AGENT, name="Celina")
        cls.queue_sales.write(
            {
                "member_ids": [Command.set((cls.agent_sales | cls.agent_b | cls.agent_c).ids)],
                "ring_timeout": 20,
                "wrapup_seconds": 30,
            }
        )
        Agent = cls.env["omnichannel.agent"]
        cls.a_sales = Agent._for_user(cls.agent_sales)
        cls.a_b = Agent._for_user(cls.agent_b)
        cls.a_c = Agent._for_user(cls.agent_c)
        cls.a_claims = Agent._for_user(cls.agent_claims)
        cls.t0 = datetime(2026, 3, 2, 9, 0, 0)  # a Monday

    def _available(self, *agents, idle_since=None):
        for agent in agents:
            agent._change_state("available")
            if idle_since:
                agent.last_end_date = idle_since

    def _call(self, external_id, sender="+48 700 100 200", channel=None):
        result = self._inbound(external_id, sender, channel=channel)
        return self.env["omnichannel.interaction"].browse(result["interaction_id"])

    def _pending(self, interaction):
        return interaction.offer_ids.filtered(lambda o: o.state == "pending")

    # ------------------------------------------------------------------
    # Presence
    # ------------------------------------------------------------------
    def test_presence_log_and_break_reason(self):
        with freeze_time(self.t0):
            self.a_b._change_state("available")
        with freeze_time(self.t0 + timedelta(minutes=30)):
            with self.assertRaises(UserError):
                self.a_b._change_state("break")
            self.a_b._change_state("break", self.env.ref("omnichannel_cc.break_reason_coffee").id)
        with freeze_time(self.t0 + timedelta(minutes=40)):
            self.a_b._change_state("offline")
        logs = self.a_b.state_log_ids.sorted("date_start")
        self.assertEqual(logs.mapped("state"), ["available", "break", "offline"])
        self.assertEqual(logs[0].duration, 1800)
        self.assertEqual(logs[1].duration, 600)
        self.assertEqual(
            logs[1].break_reason_id, self.env.ref("omnichannel_cc.break_reason_coffee")
        )
        self.assertFalse(logs[2].date_end)
        with self.assertRaises(UserError):
            self.a_b._change_state("busy")

    @users("occ_agent_b")
    def test_agent_sets_own_state_only(self):
        presence = self.env["omnichannel.agent"].action_my_state("available")
        self.assertEqual(presence["state"], "available")
        with self.assertRaises(AccessError):
            self.env["omnichannel.agent"].browse(self.a_c.id).action_set_state("available")
        # agents see only their own presence
        self.assertEqual(self.env["omnichannel.agent"].search([]).user_id, self.env.user)

    @users("occ_supervisor_sales")
    def test_supervisor_sets_team_state(self):
        self.env["omnichannel.agent"].browse(self.a_c.id).action_set_state("available")
        self.assertEqual(self.a_c.state, "available")
        with self.assertRaises(AccessError):
            self.env["omnichannel.agent"].browse(self.a_claims.id).action_set_state("available")
        visible = self.env["omnichannel.agent"].search([]).user_id
        self.assertIn(self.agent_c, visible)
        self.assertNotIn(self.agent_claims, visible)

    # ------------------------------------------------------------------
    # Strategies
    # ------------------------------------------------------------------
    def test_longest_idle_offers_at_once(self):
        with freeze_time(self.t0):
            self._available(self.a_sales, idle_since=self.t0 - timedelta(minutes=5))
            self._available(self.a_b, idle_since=self.t0 - timedelta(minutes=50))
            self._available(self.a_c, idle_since=self.t0 - timedelta(minutes=20))
            call = self._call("li-1")
        self.assertEqual(call.state, "offered")
        self.assertEqual(call.agent_id, self.agent_b)
        offer = self._pending(call)
        self.assertEqual(offer.user_id, self.agent_b)
        self.assertEqual(offer.date_expire, self.t0 + timedelta(seconds=20))
        self.assertEqual(self.a_b.state, "busy")  # holds the offer

    def test_least_busy(self):
        self.queue_sales.strategy = "least_busy"
        self.a_sales.capacity_email = 5
        self.a_b.capacity_email = 5
        self.queue_sales.member_ids = [Command.set((self.agent_sales | self.agent_b).ids)]
        email = self.env["omnichannel.channel"].create(
            {
                "name": "Sales mail",
                "channel_type": "email",
                "address": "s@example.com",
                "queue_id": self.queue_sales.id,
            }
        )
        self._available(self.a_sales, self.a_b)
        agents = [self._call(f"lb-{i}", "x@example.com", channel=email).agent_id for i in range(4)]
        self.assertEqual(
            sorted(a.id for a in agents), sorted([self.agent_sales.id, self.agent_b.id] * 2)
        )

    def test_round_robin_remembers(self):
        self.queue_sales.strategy = "round_robin"
        self._available(self.a_sales, self.a_b, self.a_c)
        served = []
        for i in range(6):
            call = self._call(f"rr-{i}")
            served.append(call.agent_id)
            self._pending(call).with_user(call.agent_id).action_accept()
            call.action_close()
        self.assertEqual(served[:3], served[3:])
        self.assertEqual(len(set(served[:3])), 3)

    def test_skills_best_level(self):
        skill = self.env["omnichannel.skill"].create({"name": "German"})
        self.queue_sales.strategy = "skills"
        self.a_sales.skill_ids = [Command.create({"skill_id": skill.id, "level": 2})]
        self.a_c.skill_ids = [Command.create({"skill_id": skill.id, "level": 5})]
        self.env["omnichannel.routing.rule"].create(
            {
                "name": "German speakers",
                "channel_ids": [Command.set(self.channel_phone.ids)],
                "skill_id": skill.id,
            }
        )
        self._available(self.a_sales, self.a_b, self.a_c)
        first = self._call("sk-1")
        self.assertEqual(first.required_skill_id, skill)
        self.assertEqual(first.agent_id, self.agent_c)
        second = self._call("sk-2")
        self.assertEqual(second.agent_id, self.agent_sales)
        third = self._call("sk-3")  # nobody else has the skill: it waits
        self.assertEqual(third.state, "queued")

    def test_ring_all_first_accept_wins(self):
        self.queue_sales.strategy = "ring_all"
        self._available(self.a_sales, self.a_b, self.a_c)
        call = self._call("ra-1")
        self.assertEqual(call.state, "offered")
        self.assertFalse(call.agent_id)
        offers = self._pending(call)
        self.assertEqual(offers.user_id, self.agent_sales | self.agent_b | self.agent_c)
        winner = offers.filtered(lambda o: o.user_id == self.agent_c)
        winner.with_user(self.agent_c).action_accept()
        self.assertEqual(call.state, "active")
        self.assertEqual(call.agent_id, self.agent_c)
        self.assertEqual(set((offers - winner).mapped("state")), {"cancelled"})
        with self.assertRaises(UserError):
            (offers - winner)[0].with_user((offers - winner)[0].user_id).action_accept()
        # the others are free again
        self.assertEqual(self.a_sales.state, "available")

    def test_tiers(self):
        self.queue_sales.member_line_ids.filtered(lambda m: m.user_id == self.agent_c).tier = 2
        with freeze_time(self.t0):
            self._available(self.a_c, idle_since=self.t0 - timedelta(hours=2))
            self._available(self.a_sales, self.a_b, idle_since=self.t0)
            calls = [self._call(f"tier-{i}") for i in range(3)]
        self.assertEqual(calls[0].agent_id | calls[1].agent_id, self.agent_sales | self.agent_b)
        self.assertEqual(calls[2].agent_id, self.agent_c)  # tier 2 only when tier 1 is full

    def test_capacity_per_channel(self):
        self._available(self.a_sales)
        self.queue_sales.member_ids = [Command.set(self.agent_sales.ids)]
        first = self._call("cap-1")
        second = self._call("cap-2")
        self.assertEqual(first.agent_id, self.agent_sales)
        self.assertEqual(second.state, "queued")
        # chats have their own capacity (3)
        chat = self.env["omnichannel.channel"].create(
            {
                "name": "Chat",
                "channel_type": "chat",
                "address": "web",
                "queue_id": self.queue_sales.id,
            }
        )
        chats = [self._call(f"chat-{i}", f"visitor-{i}", channel=chat) for i in range(4)]
        self.assertEqual([c.state for c in chats], ["offered"] * 3 + ["queued"])
        # freeing the voice slot offers the waiting call at once
        self._pending(first).with_user(self.agent_sales).action_accept()
        first.action_close()
        self.assertEqual(second.state, "offered")

    def test_logged_out_of_queue_gets_nothing(self):
        self._available(self.a_sales)
        self.queue_sales.member_ids = [Command.set(self.agent_sales.ids)]
        self.env["omnichannel.agent"].with_user(self.agent_sales).action_queue_login(
            self.queue_sales.ids, logged_in=False
        )
        call = self._call("lo-1")
        self.assertEqual(call.state, "queued")
        self.env["omnichannel.agent"].with_user(self.agent_sales).action_queue_login(
            self.queue_sales.ids
        )
        self.assertEqual(call.state, "offered")
        with self.assertRaises(UserError):
            self.env["omnichannel.agent"].with_user(self.agent_sales).action_queue_login(
                self.queue_claims.ids
            )

    # ------------------------------------------------------------------
    # Offers: timeout, reject, wrap-up
    # ------------------------------------------------------------------
    def test_offer_timeout_requeues_and_counts_a_miss(self):
        self.queue_sales.member_ids = [Command.set((self.agent_sales | self.agent_b).ids)]
        with freeze_time(self.t0):
            self._available(self.a_sales, idle_since=self.t0 - timedelta(hours=1))
            self._available(self.a_b, idle_since=self.t0)
            call = self._call("to-1")
        self.assertEqual(call.agent_id, self.agent_sales)
        with freeze_time(self.t0 + timedelta(seconds=25)):
            self.env["omnichannel.queue"]._acd_sweep()
            self.assertEqual(self.a_sales.miss_count, 1)
            self.assertEqual(call.state, "offered")
            self.assertEqual(call.agent_id, self.agent_b)  # next agent, at once
            self.assertEqual(call.date_queued, self.t0)  # kept its place
            with self.assertRaises(UserError):  # the first offer is gone
                call.offer_ids.filtered(lambda o: o.user_id == self.agent_sales).with_user(
                    self.agent_sales
                ).action_accept()

    def test_expired_offer_cannot_be_accepted(self):
        self.queue_sales.member_ids = [Command.set((self.agent_sales | self.agent_b).ids)]
        with freeze_time(self.t0):
            self._available(self.a_sales, idle_since=self.t0 - timedelta(hours=1))
            self._available(self.a_b, idle_since=self.t0)
            call = self._call("exp-1")
        self.assertEqual(call.agent_id, self.agent_sales)
        offer = self._pending(call)
        Offer = self.env["omnichannel.offer"].with_user(self.agent_sales)
        with freeze_time(self.t0 + timedelta(seconds=21)):
            # past its expiry, before the ACD's sweep: no longer listed ...
            self.assertEqual(Offer.action_my_offers(), [])
            self.assertEqual(
                self.env["omnichannel.agent"]
                .with_user(self.agent_sales)
                .action_console_state()["offers"],
                [],
            )
            # ... and refused, with what happens next; nothing changed by the refusal
            with self.assertRaisesRegex(UserError, "goes back to the queue"):
                offer.with_user(self.agent_sales).action_accept()
            self.assertEqual((offer.state, call.state), ("pending", "offered"))
            # the sweep due at the expiry takes it back, for the next agent
            self.env["omnichannel.queue"]._acd_sweep()
        self.assertEqual(offer.state, "timeout")
        self.assertEqual((call.state, call.agent_id), ("offered", self.agent_b))

    def test_reject_goes_to_next_agent(self):
        self.queue_sales.member_ids = [Command.set((self.agent_sales | self.agent_b).ids)]
        with freeze_time(self.t0):
            self._available(self.a_sales, idle_since=self.t0 - timedelta(hours=1))
            self._available(self.a_b, idle_since=self.t0)
            call = self._call("rej-1")
            self._pending(call).with_user(self.agent_sales).action_reject()
        self.assertEqual(call.agent_id, self.agent_b)
        self.assertEqual(self.a_sales.miss_count, 1)
        with self.assertRaises(AccessError):
            self._pending(call).with_user(self.agent_sales).action_reject()

    def test_wrapup_then_available(self):
        self.queue_sales.member_ids = [Command.set(self.agent_sales.ids)]
        with freeze_time(self.t0):
            self._available(self.a_sales)
            call = self._call("wu-1")
            waiting = self._call("wu-2")
            self._pending(call).with_user(self.agent_sales).action_accept()
        with freeze_time(self.t0 + timedelta(minutes=3)):
            call.action_end()
            self.assertEqual(self.a_sales.state, "wrapup")
            self.assertEqual(waiting.state, "queued")
        with freeze_time(self.t0 + timedelta(minutes=3, seconds=31)):
            self.env["omnichannel.queue"]._acd_sweep()
            self.assertEqual(waiting.state, "offered")
            self.assertEqual(waiting.agent_id, self.agent_sales)
        self.assertEqual(call.talk_duration, 180)

    def test_abandon_frees_the_agent(self):
        self.queue_sales.member_ids = [Command.set(self.agent_sales.ids)]
        self._available(self.a_sales)
        call = self._call("ab-1")
        call.action_abandon()
        self.assertEqual(call.state, "abandoned")
        self.assertEqual(call.end_reason, "customer")
        self.assertEqual(call.offer_ids.state, "cancelled")
        self.assertEqual(self.a_sales.state, "available")

    def test_waiting_order_priority_then_wait(self):
        self.queue_sales.member_ids = [Command.set(self.agent_sales.ids)]
        self.queue_sales.aging_seconds = 0
        with freeze_time(self.t0):
            old = self._call("wo-1")
        with freeze_time(self.t0 + timedelta(minutes=1)):
            urgent = self._call("wo-2")
            urgent.priority = 5
            self._available(self.a_sales)
        self.assertEqual(urgent.state, "offered")
        self.assertEqual(old.state, "queued")

    # ------------------------------------------------------------------
    # Business hours and limits
    # ------------------------------------------------------------------
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
        return calendar

    def test_closed_hours_voicemail(self):
        self._office_hours()
        self.queue_sales.closed_action = "voicemail"
        self._available(self.a_sales)
        with freeze_time(datetime(2026, 3, 1, 10, 0)):  # Sunday
            result = self._inbound("cl-1", "+48 700 100 200")
        self.assertEqual(result["state"], "missed")
        call = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        self.assertEqual(call.end_reason, "closed")
        with freeze_time(datetime(2026, 3, 2, 10, 0)):  # Monday 10:00
            self.assertEqual(self._call("cl-2").state, "offered")

    def test_closed_hours_callback_and_holiday(self):
        calendar = self._office_hours()
        self.queue_sales.closed_action = "callback"
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Święto",
                "calendar_id": calendar.id,
                "date_from": datetime(2026, 3, 2, 0, 0),
                "date_to": datetime(2026, 3, 2, 23, 59),
            }
        )
        with freeze_time(datetime(2026, 3, 2, 10, 0)):  # Monday, but a holiday
            call = self._call("hol-1")
        self.assertEqual(call.state, "missed")
        callback = call.callback_request_ids
        self.assertEqual(len(callback), 1, "a contact while closed becomes a call-back request")
        self.assertEqual(callback.source, "queue_closed")
        self.assertEqual(callback.phone, "+48700100200")
        self.assertEqual(callback.queue_id, self.queue_sales)
        self.assertEqual(callback.channel_id, self.channel_phone)
        self.assertEqual(callback.state, "pending")
        self.assertFalse(call.activity_ids)

    def test_closed_hours_keep_waiting_offers_nothing(self):
        self._office_hours()
        self._available(self.a_sales)
        with freeze_time(datetime(2026, 3, 2, 18, 0)):
            call = self._call("kw-1")
        self.assertEqual(call.state, "queued")
        with freeze_time(datetime(2026, 3, 3, 8, 1)):
            self.env["omnichannel.queue"]._acd_sweep()
        self.assertEqual(call.state, "offered")

    def test_closed_hours_auto_reply(self):
        self._office_hours()
        self.queue_sales.closed_action = "auto_reply"
        with freeze_time(datetime(2026, 3, 2, 20, 0)):
            call = self._call("ar-1", "+48 609 876 543")
        self.assertEqual(call.state, "queued")
        reply = call.message_ids.filtered(lambda m: m.partner_ids == self.customer_contact)
        self.assertIn("closed", reply.body)

    def test_max_queue_length_overflow(self):
        overflow = self.env["omnichannel.queue"].create({"name": "Overflow"})
        self.queue_sales.write({"max_queue_length": 2, "overflow_queue_id": overflow.id})
        calls = [self._call(f"ql-{i}") for i in range(3)]
        self.assertEqual([c.queue_id for c in calls], [self.queue_sales] * 2 + [overflow])
        self.assertEqual(calls[2].overflow_count, 1)

    def test_max_wait_overflow_to_callback(self):
        self.queue_sales.write({"max_wait_seconds": 120, "overflow_action": "callback"})
        with freeze_time(self.t0):
            call = self._call("mw-1")
        with freeze_time(self.t0 + timedelta(seconds=100)):
            self.env["omnichannel.queue"]._acd_sweep()
            self.assertEqual(call.state, "queued")
        with freeze_time(self.t0 + timedelta(seconds=130)):
            self.env["omnichannel.queue"]._acd_sweep()
        self.assertEqual(call.state, "missed")
        self.assertEqual(call.end_reason, "overflow")
        self.assertEqual(call.wait_duration, 130)
        self.assertEqual(call.callback_request_ids.source, "queue_overflow")
        self.assertEqual(call.callback_request_ids.state, "pending")

    # ------------------------------------------------------------------
    # Routing rules end to end through api_inbound
    # ------------------------------------------------------------------
    def _brief_rules(self):
        self.queue_collections = self.env["omnichannel.queue"].create(
            {"name": "Collections", "member_ids": [Command.set(self.agent_c.ids)]}
        )
        self.queue_sales.member_ids = [Command.set((self.agent_sales | self.agent_b).ids)]
        Rule = self.env["omnichannel.routing.rule"]
        Rule.create(
            {
                "name": "Case owner",
                "sequence": 1,
                "require_open_case": True,
                "prefer": "case_owner",
                "preferred_timeout": 60,
            }
        )
        Rule.create(
            {
                "name": "Debtors",
                "sequence": 2,
                "channel_ids": [Command.set(self.channel_phone.ids)],
                "min_overdue_amount": 0.01,
                "queue_id": self.queue_collections.id,
                "priority": 10,
            }
        )

    def test_debtor_goes_to_collections(self):
        self._brief_rules()
        self._create_invoice(self.customer_company, 4800.0, due_days_ago=60)
        self._available(self.a_sales, self.a_b, self.a_c)
        result = self._inbound("debtor-1", "+48 609 876 543")
        self.assertEqual(result["queue_id"], self.queue_collections.id)
        self.assertEqual(result["state"], "offered")
        self.assertEqual(result["agent_id"], self.agent_c.id)
        self.assertEqual(result["partner_id"], self.customer_contact.id)
        # a customer who pays on time stays in Sales
        payer = self._inbound("payer-1", "+48 509 333 444")
        self.assertEqual(payer["queue_id"], self.queue_sales.id)

    def test_overdue_on_the_company_s_day(self):
        """An instalment due today is overdue once the day has turned where
        the company is, whatever the time zone of the user or request
        routing the call; a company moving to another zone moves it."""
        self._brief_rules()
        self._available(self.a_sales, self.a_b, self.a_c)
        self.env.user.tz = "Pacific/Pago_Pago"  # UTC-11: still 10 January
        with freeze_time(datetime(2026, 1, 10, 12, 0)):
            invoice = self._create_invoice(self.customer_company, 900.0, due_days_ago=0)
            self.assertEqual(invoice.invoice_date_due, date(2026, 1, 10))
            self.company.partner_id.tz = "Pacific/Kiritimati"  # UTC+14: 11 January
            debtor = self._inbound("tz-east", "+48 609 876 543")
            self.assertEqual(debtor["queue_id"], self.queue_collections.id)
            self.company.partner_id.tz = "Pacific/Pago_Pago"
            on_time = self.env["omnichannel.interaction"].with_context(tz="Pacific/Kiritimati")
            payer = on_time.api_inbound(self._payload("tz-west", "+48 609 876 543"))
            self.assertEqual(payer["queue_id"], self.queue_sales.id)

    def test_open_case_reaches_its_owner(self):
        self._brief_rules()
        self.env["omnichannel.case"].create(
            {
                "subject": "Szkoda",
                "partner_id": self.customer_contact.id,
                "user_id": self.agent_claims.id,
                "state": "open",
            }
        )
        self._available(self.a_sales, self.a_b, self.a_claims)
        with freeze_time(self.t0):
            result = self._inbound("case-1", "+48 609 876 543")
        # the owner is not a member of Sales, yet gets the call first
        self.assertEqual(result["agent_id"], self.agent_claims.id)
        self.assertEqual(result["state"], "offered")

    def test_preferred_agent_busy_falls_back_after_timeout(self):
        self._brief_rules()
        self.env["omnichannel.case"].create(
            {
                "subject": "Szkoda",
                "partner_id": self.customer_contact.id,
                "user_id": self.agent_claims.id,
            }
        )
        self._available(self.a_sales)
        with freeze_time(self.t0):
            result = self._inbound("case-2", "+48 609 876 543")
        call = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        self.assertEqual(call.state, "queued")  # owner offline: waits for them
        self.assertEqual(call.preferred_agent_id, self.agent_claims)
        with freeze_time(self.t0 + timedelta(seconds=61)):
            self.env["omnichannel.queue"]._acd_sweep()
        self.assertEqual(call.agent_id, self.agent_sales)

    def test_sticky_last_agent(self):
        self.env["omnichannel.routing.rule"].create(
            {"name": "Sticky", "sticky_days": 7, "prefer": "last_agent", "preferred_timeout": 30}
        )
        self._available(self.a_sales, self.a_b, self.a_c)
        with freeze_time(self.t0):
            first = self._call("st-1", "+48 609 876 543")
            served_by = first.agent_id
            self._pending(first).with_user(served_by).action_accept()
            first.action_close()
        with freeze_time(self.t0 + timedelta(days=2)):
            again = self._call("st-2", "+48 609 876 543")
        self.assertEqual(again.agent_id, served_by)
        with freeze_time(self.t0 + timedelta(days=9)):
            self.assertFalse(self._call("st-3", "+48 609 876 543").preferred_agent_id)

    def test_rule_match_counter_and_tags(self):
        vip = self.env["res.partner.category"].create({"name": "VIP"})
        self.customer_company.category_id = [Command.link(vip.id)]
        rule = self.env["omnichannel.routing.rule"].create(
            {"name": "VIP first", "category_ids": [Command.set(vip.ids)], "priority": 50}
        )
        call = self._call("vip-1", "+48 609 876 543")
        self.assertEqual(call.priority, 50)
        self.assertEqual(call.routing_rule_ids, rule)
        self.assertEqual(rule.match_count, 1)
        self.assertEqual(self._call("vip-2", "+48 509 333 444").priority, 0)

    def test_cached_rules_follow_every_change(self):
        """The routing keeps the rules in the registry's cache: each change a
        rule's outcome depends on is seen by the next contact routed."""
        Routing = self.env["omnichannel.interaction"]
        company_id = self.env.company.id

        def plain():
            return {rule.id: rule for rule in Routing._routing_rules(company_id)}

        vip = self.env["res.partner.category"].create({"name": "VIP"})
        other = self.env["omnichannel.channel"].create(
            {
                "name": "Second line",
                "channel_type": "phone",
                "address": "+48 22 555 01 02",
                "queue_id": self.queue_sales.id,
            }
        )
        before = plain()
        with self.assertQueryCount(0):
            plain()
        rule = self.env["omnichannel.routing.rule"].create(
            {
                "name": "VIP first",
                "category_ids": [Command.set(vip.ids)],
                "channel_ids": [Command.set((self.channel_phone | other).ids)],
                "priority": 50,
            }
        )
        self.assertEqual(plain()[rule.id].priority, 50)
        with self.assertQueryCount(0):
            plain()
        rule.priority = 60
        self.assertEqual(plain()[rule.id].priority, 60)
        vip.active = False
        self.assertEqual(plain()[rule.id].category_ids, frozenset())
        vip.active = True
        self.assertEqual(plain()[rule.id].category_ids, frozenset(vip.ids))
        other.active = False
        self.assertEqual(plain()[rule.id].channel_ids, frozenset(self.channel_phone.ids))
        other.active = True
        other.unlink()
        self.assertEqual(plain()[rule.id].channel_ids, frozenset(self.channel_phone.ids))
        vip.unlink()
        self.assertEqual(plain()[rule.id].category_ids, frozenset())
        rule.active = False
        self.assertEqual(plain(), before)
        rule.active = True
        self.assertIn(rule.id, plain())
        rule.unlink()
        self.assertEqual(plain(), before)
        # and a contact routed right after a change follows it
        urgent = self.env["omnichannel.routing.rule"].create(
            {"name": "All urgent", "sequence": -1, "priority": 7}
        )
        call = self._call("cache-1", "+48 609 876 543")
        self.assertEqual((call.priority, call.routing_rule_ids), (7, urgent))

    # ------------------------------------------------------------------
    # Guards
    # ------------------------------------------------------------------
    @mute_logger("odoo.sql_db")
    def test_unique_indexes_are_the_last_guard(self):
        self._available(self.a_sales, self.a_b)
        call = self._call("g-1")
        offer = self._pending(call)
        self.env.flush_all()
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            self.env.cr.execute(
                """INSERT INTO omnichannel_offer
                          (interaction_id, user_id, state, ring_all, date_offered)
                   VALUES (%s, %s, 'pending', false, now())""",
                [call.id, self.agent_c.id],
            )
        offer.with_user(offer.user_id).action_accept()
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            self.env.cr.execute(
                """INSERT INTO omnichannel_offer
                          (interaction_id, user_id, state, ring_all, date_offered)
                   VALUES (%s, %s, 'accepted', true, now())""",
                [call.id, self.agent_c.id],
            )

    def test_agent_not_above_capacity_on_repeated_dispatch(self):
        self.queue_sales.member_ids = [Command.set(self.agent_sales.ids)]
        self._available(self.a_sales)
        calls = [self._call(f"rep-{i}") for i in range(5)]
        for _i in range(3):
            self.queue_sales._dispatch()
        self.assertEqual(sum(1 for c in calls if c.state == "offered"), 1)
        self.assertEqual(
            self.env["omnichannel.offer"].search_count(
                [("user_id", "=", self.agent_sales.id), ("state", "=", "pending")]
            ),
            1,
        )

    def test_agent_offers_listing(self):
        self._available(self.a_sales)
        self.queue_sales.member_ids = [Command.set(self.agent_sales.ids)]
        with freeze_time(self.t0):
            call = self._call("ls-1", "+48 609 876 543")
        with freeze_time(self.t0 + timedelta(seconds=5)):
            offers = self.env["omnichannel.offer"].with_user(self.agent_sales).action_my_offers()
        self.assertEqual(offers[0]["interaction_id"], call.id)
        self.assertEqual(offers[0]["seconds_left"], 15)
        self.assertEqual(offers[0]["partner_id"], self.customer_contact.id)
        self.assertTrue(fields.Datetime.now())
        with freeze_time(self.t0 + timedelta(seconds=20)):  # the last second of the offer
            offers = self.env["omnichannel.offer"].with_user(self.agent_sales).action_my_offers()
        self.assertEqual([offer["seconds_left"] for offer in offers], [0])

    # ------------------------------------------------------------------
    # The agent's row is locked first in an agent's action
    # ------------------------------------------------------------------
    def _statements_of(self, action):
        """The SQL statements ``action()`` runs, in order."""
        statements = []
        cr = self.env.cr
        execute = cr.execute

        def recording(query, params=None, log_exceptions=True):
            statements.append(str(query.code if isinstance(query, SQL) else query))
            return execute(query, params, log_exceptions)

        self.env.flush_all()
        with patch.object(cr, "execute", side_effect=recording):
            action()
        return statements

    def _agent_locked_before_writes(self, statements, label):
        lock = next(
            (
                n
                for n, sql in enumerate(statements)
                if "FROM omnichannel_agent" in sql and sql.rstrip().endswith("FOR UPDATE")
            ),
            None,
        )
        self.assertIsNotNone(lock, f"{label}: the agent's row is never locked")
        writes = [
            n
            for n, sql in enumerate(statements)
            if sql.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE", "WITH"))
        ]
        self.assertTrue(writes, f"{label}: writes nothing")
        self.assertLess(lock, writes[0], f"{label}: a write comes before the agent's row lock")

    def test_agent_actions_lock_the_agent_row_first(self):
        """Accept, reject, close and presence lock the agent's row before
        writing anything: the inbox's applier, which commits changes of the
        same agents all the time, cannot make the agent's request fail after
        its first statements (REPEATABLE READ; see _lock_for_action)."""
        self.queue_sales.member_ids = [Command.set((self.agent_sales | self.agent_b).ids)]
        self._available(self.a_sales, self.a_b)
        first = self._call("lock-1")
        offer = self._pending(first)
        agent = offer.user_id
        accept = self._statements_of(offer.with_user(agent).action_accept)
        self._agent_locked_before_writes(accept, "accept")
        close = self._statements_of(first.with_user(agent).action_close)
        self._agent_locked_before_writes(close, "close")
        second = self._call("lock-2")
        offer = self._pending(second)
        reject = self._statements_of(offer.with_user(offer.user_id).action_reject)
        self._agent_locked_before_writes(reject, "reject")
        presence = self._statements_of(
            lambda: self.env["omnichannel.agent"].with_user(self.agent_b).action_my_state("offline")
        )
        self._agent_locked_before_writes(presence, "presence")
