import json
import xmlrpc.client
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged, users

from odoo.addons.bus.models.bus import channel_with_db, json_dump

from .common import OmnichannelCommon, record_web_client_calls

AGENT = "omnichannel_cc.group_omnichannel_agent"
T0 = datetime(2026, 3, 2, 9, 0, 0)  # a Monday


def _no_none(value, path="state"):
    """Every value XML-RPC can carry: no None anywhere."""
    if value is None:
        raise AssertionError(f"{path} is None")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_none(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _no_none(item, f"{path}[{index}]")


@tagged("post_install", "-at_install")
class TestAgentConsole(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_b = new_test_user(cls.env, "occ_console_b", groups=AGENT, name="Bartek")
        cls.queue_sales.write(
            {
                "member_ids": [Command.set((cls.agent_sales | cls.agent_b).ids)],
                "ring_timeout": 20,
                "wrapup_seconds": 30,
            }
        )
        Agent = cls.env["omnichannel.agent"]
        cls.a_sales = Agent._for_user(cls.agent_sales)
        cls.a_b = Agent._for_user(cls.agent_b)
        cls.invoice = cls._create_invoice(cls.customer_company, 1230.0, due_days_ago=12)
        cls.resolved = cls.env.ref("omnichannel_cc.disposition_resolved")

    def _call(self, external_id, sender="+48 609 876 543"):
        result = self._inbound(external_id, sender)
        return self.env["omnichannel.interaction"].browse(result["interaction_id"])

    def _state(self, user):
        return self.env["omnichannel.agent"].with_user(user).action_console_state()

    def _console_pushes(self, user):
        self.env.cr.precommit.run()
        channel = json_dump(channel_with_db(self.env.cr.dbname, user.partner_id))
        return self.env["bus.bus"].sudo().search([("channel", "=", channel)], order="id")

    # ------------------------------------------------------------------
    # State
    # ------------------------------------------------------------------
    def test_state_of_an_agent_on_break(self):
        coffee = self.env.ref("omnichannel_cc.break_reason_coffee")
        with freeze_time(T0):
            self.a_sales._change_state("break", coffee.id)
        with freeze_time(T0 + timedelta(seconds=75)):
            state = self._state(self.agent_sales)
        _no_none(state)
        self.assertEqual(state["user_id"], self.agent_sales.id)
        self.assertEqual(state["presence"]["state"], "break")
        self.assertEqual(state["presence"]["break_reason_id"], coffee.id)
        self.assertEqual(state["presence"]["break_reason_name"], coffee.name)
        self.assertEqual(state["presence"]["state_seconds"], 75)
        self.assertEqual([q["name"] for q in state["queues"]], ["Sales"])
        self.assertTrue(state["queues"][0]["logged_in"])
        self.assertEqual(state["offers"], [])
        self.assertEqual(state["interactions"], [])
        self.assertIn(coffee.id, [r["id"] for r in state["break_reasons"]])
        self.assertIn(self.resolved.id, [d["id"] for d in state["dispositions"]])
        self.assertEqual({s["value"] for s in state["states"]}, {"available", "offline"})

    def test_offer_then_active_then_wrapup(self):
        with freeze_time(T0):
            call = self._call("console-1")
            self.assertEqual(call.state, "queued")
            state = self._state(self.agent_sales)
            self.assertEqual(state["queues"][0]["waiting_count"], 1)
            self.a_sales._change_state("available")
        self.assertEqual(call.state, "offered")
        offer = call.offer_ids
        with freeze_time(T0 + timedelta(seconds=8)):
            state = self._state(call.agent_id)
        _no_none(state)
        self.assertEqual(state["presence"]["state"], "busy")
        [row] = state["offers"]
        self.assertEqual(row["offer_id"], offer.id)
        self.assertEqual(row["interaction_id"], call.id)
        self.assertEqual(row["partner_id"], self.customer_contact.id)
        self.assertEqual(row["partner_name"], self.customer_contact.display_name)
        self.assertEqual(row["channel_type"], "phone")
        self.assertEqual(row["queue"], "Sales")
        self.assertEqual(row["waiting_seconds"], 8)
        self.assertEqual(row["seconds_left"], 12)
        self.assertEqual(row["ring_seconds"], 20)
        [current] = state["interactions"]
        self.assertEqual((current["id"], current["state"]), (call.id, "offered"))

        agent = call.agent_id
        with freeze_time(T0 + timedelta(seconds=10)):
            offer.with_user(agent).action_accept()
        with freeze_time(T0 + timedelta(seconds=70)):
            state = self._state(agent)
        self.assertEqual(state["offers"], [])
        [current] = state["interactions"]
        self.assertEqual(current["state"], "active")
        self.assertEqual(current["partner_id"], self.customer_contact.id)
        self.assertEqual(current["channel_type"], "phone")
        self.assertEqual(current["queue"], "Sales")
        self.assertEqual(current["waiting_seconds"], 10)
        self.assertEqual(current["talk_seconds"], 60)
        self.assertEqual(current["state_seconds"], 60)

        with freeze_time(T0 + timedelta(seconds=100)):
            call.with_user(agent).action_end()
        with freeze_time(T0 + timedelta(seconds=110)):
            state = self._state(agent)
        [current] = state["interactions"]
        self.assertEqual(current["state"], "wrapup")
        self.assertEqual(current["talk_seconds"], 90)
        self.assertEqual(current["wrapup_seconds_left"], 20)
        self.assertEqual(state["presence"]["state"], "wrapup")
        self.assertEqual(state["presence"]["wrapup_seconds_left"], 20)

        with freeze_time(T0 + timedelta(seconds=120)):
            with self.assertRaises(UserError):
                call.with_user(agent).action_console_close(False, "no disposition")
            call.with_user(agent).action_console_close(self.resolved.id, "Paid tomorrow")
        self.assertEqual(call.state, "done")
        self.assertEqual(call.disposition_id, self.resolved)
        self.assertEqual(call.notes, "Paid tomorrow")
        self.assertEqual(self._state(agent)["interactions"], [])
        self.assertEqual(self._state(agent)["presence"]["state"], "available")

    def test_state_is_own_data_only(self):
        self.a_sales._change_state("available")
        call = self._call("console-own")
        self.assertEqual(call.agent_id, self.agent_sales)
        other = self._state(self.agent_b)
        self.assertEqual(other["offers"], [])
        self.assertEqual(other["interactions"], [])
        self.assertEqual(other["presence"]["user_id"], self.agent_b.id)
        claims = self._state(self.agent_claims)
        self.assertEqual([q["name"] for q in claims["queues"]], ["Claims"])
        with self.assertRaises(AccessError):
            self._state(self.plain_user)
        # another agent's interaction: no quick actions, no closing
        for method in (
            "action_console_new_quotation",
            "action_console_promise_to_pay",
            "action_console_case",
            "action_console_email",
        ):
            with self.assertRaises(AccessError):
                getattr(call.with_user(self.agent_b), method)()
        with self.assertRaises(AccessError):
            call.with_user(self.agent_b).action_console_close(self.resolved.id)

    @users("occ_agent_sales")
    def test_queue_login_shows_in_state(self):
        Agent = self.env["omnichannel.agent"]
        Agent.action_queue_login(self.queue_sales.ids, False)
        self.assertFalse(Agent.action_console_state()["queues"][0]["logged_in"])
        Agent.action_queue_login(self.queue_sales.ids, True)
        self.assertTrue(Agent.action_console_state()["queues"][0]["logged_in"])

    # ------------------------------------------------------------------
    # Quick actions
    # ------------------------------------------------------------------
    def _active_call(self, external_id):
        self.a_sales._change_state("available")
        call = self._call(external_id)
        call.offer_ids.with_user(self.agent_sales).action_accept()
        self.assertEqual(call.state, "active")
        return call.with_user(self.agent_sales)

    def test_quick_actions(self):
        self.agent_sales.groups_id += self.env.ref("sales_team.group_sale_salesman")
        call = self._active_call("console-qa")

        quotation = call.action_console_new_quotation()
        self.assertEqual(quotation["res_model"], "sale.order")
        order = (
            self.env["sale.order"]
            .with_user(self.agent_sales)
            .with_context(**quotation["context"])
            .create({})
        )
        self.assertEqual(order.partner_id, self.customer_contact)
        self.assertEqual(call.sale_order_id, order)

        promise = call.action_console_promise_to_pay()
        self.assertEqual(promise["res_model"], "mail.activity.schedule")
        wizard = (
            self.env["mail.activity.schedule"]
            .with_user(self.agent_sales)
            .with_context(**promise["context"])
            .create({})
        )
        self.assertEqual(wizard.summary, "Promise to pay")
        self.assertIn("Overdue", str(wizard.note))
        wizard.action_schedule_activities()
        self.assertEqual(call.activity_ids.summary, "Promise to pay")
        self.assertEqual(call.activity_ids.user_id, self.agent_sales)

        new_case = call.action_console_case()
        self.assertEqual(new_case["res_model"], "omnichannel.case")
        case = (
            self.env["omnichannel.case"]
            .with_user(self.agent_sales)
            .with_context(**new_case["context"])
            .create({})
        )
        self.assertEqual(call.case_id, case)
        self.assertEqual(case.partner_id, self.customer_contact)
        self.assertEqual(call.action_console_case()["res_id"], case.id)

        # a case of her queue: the console links only the cases the agent may read
        other_case = self.env["omnichannel.case"].create(
            {
                "partner_id": self.customer_company.id,
                "subject": "Older claim",
                "queue_id": self.queue_sales.id,
            }
        )
        call.action_console_link_case(other_case.id)
        self.assertEqual(call.case_id, other_case)
        stranger = self.env["omnichannel.case"].create(
            {"partner_id": self.customer_plain.id, "subject": "Not theirs"}
        )
        with self.assertRaises(UserError):
            call.action_console_link_case(stranger.id)

        email = call.action_console_email()
        self.assertEqual(email["res_model"], "mail.compose.message")
        self.assertEqual(email["context"]["default_res_ids"], call.ids)
        self.assertEqual(email["context"]["default_partner_ids"], self.customer_contact.ids)

    # ------------------------------------------------------------------
    # Bus
    # ------------------------------------------------------------------
    def test_bus_offer_and_console_messages(self):
        self._console_pushes(self.agent_sales).unlink()
        with freeze_time(T0):
            call = self._call("console-bus")
            self.a_sales._change_state("available")
        messages = [json.loads(m.message) for m in self._console_pushes(self.agent_sales)]
        types = [m["type"] for m in messages]
        self.assertIn("omnichannel.offer", types)
        self.assertEqual(types.count("omnichannel.console"), 1, "one reload per transaction")
        offer_payload = next(m["payload"] for m in messages if m["type"] == "omnichannel.offer")
        self.assertEqual(offer_payload["interaction_id"], call.id)
        self.assertEqual(offer_payload["partner_name"], self.customer_contact.display_name)
        self.assertEqual(offer_payload["queue"], "Sales")
        self.assertEqual(offer_payload["seconds_left"], 20)
        self.assertEqual(offer_payload["waiting_seconds"], 0)
        self.assertIn("expire", offer_payload)
        # the other agent of the queue heard nothing
        self.assertFalse(self._console_pushes(self.agent_b))


@tagged("post_install", "-at_install")
class TestAgentConsoleXmlrpc(OmnichannelCommon, HttpCase):
    def test_console_state_over_xmlrpc(self):
        self.agent_sales.password = "occ_agent_sales_pw"
        self.a_sales = self.env["omnichannel.agent"]._for_user(self.agent_sales)
        self.a_sales._change_state("available")
        self._inbound("console-rpc", "+48 609 876 543")
        state = self.xmlrpc_object.execute_kw(
            self.env.cr.dbname,
            self.agent_sales.id,
            "occ_agent_sales_pw",
            "omnichannel.agent",
            "action_console_state",
            [],
        )
        self.assertEqual(len(state["offers"]), 1)
        self.assertEqual(state["interactions"][0]["state"], "offered")
        with self.assertRaises(xmlrpc.client.Fault):
            self.xmlrpc_object.execute_kw(
                self.env.cr.dbname,
                self.agent_sales.id,
                "occ_agent_sales_pw",
                "omnichannel.interaction",
                "_console_interactions",
                [False],
            )


@tagged("post_install", "-at_install")
class TestAgentConsoleTour(OmnichannelCommon, HttpCase):
    """The agent console in Chromium: offer, screen-pop before answering,
    accept, end, wrap-up; and the console rebuilt after a page reload."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tour_agent = new_test_user(
            cls.env,
            "occ_console_tour",
            groups=f"{AGENT},account.group_account_invoice",
            name="Console Agent",
        )
        cls.queue_sales.write(
            {
                "member_ids": [Command.set(cls.tour_agent.ids)],
                "ring_timeout": 600,
                "wrapup_seconds": 600,
            }
        )
        cls.agent_record = cls.env["omnichannel.agent"]._for_user(cls.tour_agent)
        cls.agent_record._change_state("offline")
        cls.overdue = cls._create_invoice(cls.customer_company, 1230.0, due_days_ago=12)
        cls.current = cls._create_invoice(cls.customer_company, 400.0, due_days_ago=-10)
        cls.order = cls.env["sale.order"].create({"partner_id": cls.customer_company.id})
        cls.case = cls.env["omnichannel.case"].create(
            {
                "partner_id": cls.customer_company.id,
                "subject": "Damaged delivery",
                "user_id": cls.agent_claims.id,
                # a Sales case: the panel shows the cases its agent may read
                "queue_id": cls.queue_sales.id,
            }
        )
        # the call waits before the agent is even available
        result = cls._inbound("console-tour", "+48 609 876 543", subject="About my invoice")
        cls.call = cls.env["omnichannel.interaction"].browse(result["interaction_id"])

    def test_agent_console_tour(self):
        self.assertEqual(self.call.state, "queued")
        self.assertEqual(self.call.partner_id, self.customer_contact)
        self.start_tour("/odoo", "omnichannel_cc_agent_console_tour", login="occ_console_tour")
        self.call.invalidate_recordset()
        self.assertEqual(self.call.state, "done")
        self.assertEqual(self.call.agent_id, self.tour_agent)
        self.assertEqual(
            self.call.disposition_id, self.env.ref("omnichannel_cc.disposition_promise_to_pay")
        )
        self.assertEqual(self.call.notes, "Pays on Friday")
        self.assertTrue(self.call.date_answered and self.call.date_ended and self.call.date_closed)
        self.agent_record.invalidate_recordset()
        self.assertEqual(self.agent_record.state, "available")

    def test_agent_console_reload_tour(self):
        self.agent_record._change_state("available")
        self.call.offer_ids.with_user(self.tour_agent).action_accept()
        self.assertEqual(self.call.state, "active")
        self.start_tour(
            "/odoo", "omnichannel_cc_agent_console_reload_tour", login="occ_console_tour"
        )
        self.call.invalidate_recordset()
        self.assertEqual(self.call.state, "wrapup")


@tagged("post_install", "-at_install")
class TestConsoleStartUp(HttpCase):
    """The console starts from the session's facts: a user who is not an
    agent loads Odoo's pages without a request of ours; an agent's console
    asks for its state once the web client runs."""

    # the web client started, then the console's first state load (an agent)
    # or a moment for a request that should not come (everyone else)
    WAIT = """
        const start = Date.now();
        const check = () => {
            const console_ = odoo.__WOWL_DEBUG__.root.env.services.omnichannel_agent_console;
            if (console_.state.loaded || (!console_.state.enabled && Date.now() - start > 1500)) {
                console.log("test successful");
            } else {
                setTimeout(check, 50);
            }
        };
        check();
    """

    def _start_up_calls(self, user):
        calls = record_web_client_calls(self)
        self.browser_js("/odoo", self.WAIT, ready="odoo.isReady", login=user.login)
        # ours: our models' methods, and the agent group asked for (Odoo's
        # own start-up may ask for groups of its own)
        return [
            (model, method)
            for model, method, args in calls
            if model.startswith("omnichannel.") or (method == "has_group" and AGENT in args)
        ]

    def test_session_says_who_is_an_agent(self):
        agent = new_test_user(self.env, "occ_startup_agent", groups=AGENT)
        clerk = new_test_user(self.env, "occ_startup_clerk", groups="base.group_user")
        for user, expected in ((agent, True), (clerk, False)):
            self.authenticate(user.login, user.login)
            info = self.make_jsonrpc_request("/web/session/get_session_info", {})
            self.assertIs(info["omnichannel_cc"]["is_agent"], expected, user.login)

    def test_no_request_of_ours_for_a_user_who_is_not_an_agent(self):
        clerk = new_test_user(self.env, "occ_startup_clerk", groups="base.group_user")
        self.assertEqual(self._start_up_calls(clerk), [])

    def test_an_agent_console_loads_its_state_without_asking_its_group(self):
        agent = new_test_user(self.env, "occ_startup_agent", groups=AGENT)
        calls = self._start_up_calls(agent)
        self.assertIn(("omnichannel.agent", "action_console_state"), calls)
        self.assertNotIn(("res.users", "has_group"), calls)
