import base64
from datetime import timedelta

from freezegun import freeze_time

from odoo import Command, fields, http
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon

AGENT = "omnichannel_cc.group_omnichannel_agent"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class ChatCommon(OmnichannelCommon, HttpCase):
    """A live chat channel served by the Sales queue; the visitor talks to
    the real im_livechat and mail controllers over HTTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_sales_2 = new_test_user(
            cls.env, "occ_chat_sales2", groups=AGENT, name="Ewa Sales"
        )
        cls.queue_sales.write(
            {"member_ids": [Command.set((cls.agent_sales | cls.agent_sales_2).ids)]}
        )
        cls.livechat = cls.env["im_livechat.channel"].create(
            {"name": "Web support", "user_ids": [Command.clear()]}
        )
        cls.channel_chat = cls.env["omnichannel.channel"].create(
            {
                "name": "Web chat",
                "channel_type": "chat",
                "livechat_channel_id": cls.livechat.id,
                "queue_id": cls.queue_sales.id,
            }
        )
        cls.portal_user = cls.env["res.users"].create(
            {
                "login": "occ_chat_portal",
                "password": "occ_chat_portal",
                "partner_id": cls.customer_contact.id,
                "groups_id": [Command.set(cls.env.ref("base.group_portal").ids)],
            }
        )
        Agent = cls.env["omnichannel.agent"]
        cls.agents = {
            user: Agent._for_user(user)
            for user in (cls.agent_sales, cls.agent_sales_2, cls.agent_claims)
        }
        for agent in cls.agents.values():
            agent._change_state("offline")

    def _available(self, *users, capacity=None):
        for user in users:
            if capacity is not None:
                self.agents[user].capacity_chat = capacity
            self.agents[user]._change_state("available")

    def _get_session(self, persisted=True, **params):
        params = dict(
            {"anonymous_name": "Visitor", "channel_id": self.livechat.id, "persisted": persisted},
            **params,
        )
        return self.make_jsonrpc_request("/im_livechat/get_session", params)

    def _session(self, **params):
        data = self._get_session(**params)
        self.assertTrue(data, "a session was expected")
        return self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])

    def _interaction(self, session):
        return self.env["omnichannel.interaction"].search([("discuss_channel_id", "=", session.id)])

    def _post(self, session, body, attachment=None):
        post_data = {"body": body, "message_type": "comment", "subtype_xmlid": "mail.mt_comment"}
        params = {"thread_model": "discuss.channel", "thread_id": session.id}
        if attachment:
            post_data["attachment_ids"] = [attachment["id"]]
            params["attachment_tokens"] = [attachment["access_token"]]
        return self.make_jsonrpc_request("/mail/message/post", dict(params, post_data=post_data))

    def _upload(self, session, name, content):
        response = self.url_open(
            "/mail/attachment/upload",
            {
                "csrf_token": http.Request.csrf_token(self),
                "thread_id": session.id,
                "thread_model": "discuss.channel",
                "is_pending": "true",
            },
            files={"ufile": (name, content, "image/png")},
        )
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()["data"]["ir.attachment"][0]


@tagged("post_install", "-at_install")
class TestChannelChat(ChatCommon):
    def test_linked_channel_address(self):
        self.assertEqual(self.channel_chat.address, "Web support")
        self.assertEqual(
            self.env["omnichannel.channel"]._find_by_address("chat", "Web support"),
            self.channel_chat,
        )
        self.assertEqual(self.livechat._omnichannel_channel(), self.channel_chat)

    def test_preview_reserves_nobody(self):
        """The first, not persisted call shows an operator without any offer."""
        self._available(self.agent_sales)
        self.authenticate("occ_chat_portal", "occ_chat_portal")
        for _attempt in range(3):
            data = self._get_session(persisted=False)
            self.assertEqual(data["discuss.channel"][0]["id"], -1)
            partner_ids = [p["id"] for p in data["res.partner"]]
            self.assertIn(self.agent_sales.partner_id.id, partner_ids)
        self.assertFalse(
            self.env["omnichannel.interaction"].search([("channel_id", "=", self.channel_chat.id)])
        )
        self.assertFalse(
            self.env["omnichannel.offer"].search([("user_id", "=", self.agent_sales.id)])
        )
        self.assertEqual(self.agents[self.agent_sales].load, 0)

    def test_persisted_session_is_offered_to_its_operator(self):
        self._available(self.agent_sales)
        self.authenticate("occ_chat_portal", "occ_chat_portal")
        session = self._session()
        self.assertEqual(session.livechat_operator_id, self.agent_sales.partner_id)
        interaction = self._interaction(session)
        self.assertEqual(len(interaction), 1)
        self.assertEqual(interaction.partner_id, self.customer_contact)
        self.assertEqual(interaction.channel_id, self.channel_chat)
        self.assertEqual(interaction.external_id, session.uuid)
        self.assertEqual(interaction.state, "offered")
        self.assertEqual(interaction.agent_id, self.agent_sales)
        offer = interaction.offer_ids
        self.assertEqual((offer.user_id, offer.state), (self.agent_sales, "pending"))
        # the same session delivered again: the same interaction, no new offer
        again = session._chat_start(self.agent_sales)
        self.assertEqual(again, interaction)
        self.assertEqual(len(self._interaction(session)), 1)
        self.assertEqual(len(interaction.offer_ids), 1)

    def test_case_owner_wins(self):
        self.env["omnichannel.routing.rule"].create(
            {
                "name": "Case owner",
                "require_open_case": True,
                "prefer": "case_owner",
                "preferred_timeout": 30,
            }
        )
        self.env["omnichannel.case"].create(
            {
                "partner_id": self.customer_company.id,
                "subject": "Broken saw",
                "user_id": self.agent_claims.id,
            }
        )
        self._available(self.agent_sales, self.agent_claims)
        self.authenticate("occ_chat_portal", "occ_chat_portal")
        data = self._get_session(persisted=False)
        self.assertIn(self.agent_claims.partner_id.id, [p["id"] for p in data["res.partner"]])
        session = self._session()
        self.assertEqual(session.livechat_operator_id, self.agent_claims.partner_id)
        interaction = self._interaction(session)
        self.assertEqual(interaction.agent_id, self.agent_claims)
        self.assertEqual(interaction.case_id.subject, "Broken saw")
        # an anonymous visitor is nobody's case: the queue's agent
        self.authenticate(None, None)
        session = self._session()
        self.assertEqual(session.livechat_operator_id, self.agent_sales.partner_id)
        self.assertFalse(self._interaction(session).partner_id)

    def test_owner_unavailable_goes_to_the_queue(self):
        self.env["omnichannel.routing.rule"].create(
            {"name": "Case owner", "require_open_case": True, "prefer": "case_owner"}
        )
        self.env["omnichannel.case"].create(
            {
                "partner_id": self.customer_company.id,
                "subject": "Late delivery",
                "user_id": self.agent_claims.id,
            }
        )
        self._available(self.agent_sales_2)  # agent_sales and the owner are offline
        self.authenticate("occ_chat_portal", "occ_chat_portal")
        session = self._session()
        self.assertEqual(session.livechat_operator_id, self.agent_sales_2.partner_id)
        self.assertEqual(self._interaction(session).agent_id, self.agent_sales_2)

    def test_capacity_respected(self):
        self._available(self.agent_sales, capacity=1)
        self._available(self.agent_sales_2, capacity=2)
        self.authenticate(None, None)
        operators = [self._session().livechat_operator_id for _i in range(3)]
        self.assertEqual(operators.count(self.agent_sales.partner_id), 1)
        self.assertEqual(operators.count(self.agent_sales_2.partner_id), 2)
        self.assertFalse(self.livechat.available_operator_ids)
        self.assertIs(self._get_session(persisted=False), False)

    def test_nobody_available_is_missed(self):
        self.queue_sales.overflow_action = "callback"
        self.authenticate("occ_chat_portal", "occ_chat_portal")
        self.assertFalse(self.livechat.available_operator_ids)
        init = self.make_jsonrpc_request("/im_livechat/init", {"channel_id": self.livechat.id})
        self.assertFalse(init["available_for_me"])
        self.assertIs(self._get_session(persisted=False), False)
        self.assertFalse(
            self.env["omnichannel.interaction"].search([]).filtered("discuss_channel_id")
        )
        self.assertIs(self._get_session(persisted=True), False)
        missed = self.env["omnichannel.interaction"].search(
            [("channel_id", "=", self.channel_chat.id)]
        )
        self.assertEqual(len(missed), 1)
        self.assertEqual(missed.state, "missed")
        self.assertEqual(missed.end_reason, "no_agent")
        self.assertEqual(missed.partner_id, self.customer_contact)
        self.assertTrue(missed.date_ended)
        callback = missed.callback_request_ids
        self.assertEqual(len(callback), 1, "a call-back request for the queue")
        self.assertEqual(
            (callback.partner_id, callback.phone, callback.state),
            (self.customer_contact, "+48609876543", "pending"),
        )

    def test_queue_closed(self):
        calendar = self.env["resource.calendar"].create(
            {"name": "Never", "attendance_ids": [Command.clear()]}
        )
        self.queue_sales.write({"resource_calendar_id": calendar.id, "closed_action": "callback"})
        self._available(self.agent_sales)
        self.assertFalse(self.livechat.available_operator_ids)
        self.authenticate(None, None)
        self.assertIs(self._get_session(persisted=True), False)
        missed = self.env["omnichannel.interaction"].search(
            [("channel_id", "=", self.channel_chat.id)]
        )
        self.assertEqual((missed.state, missed.end_reason), ("missed", "closed"))

    def test_overflow_queue_takes_the_chat(self):
        self.queue_sales.write(
            {"overflow_action": "queue", "overflow_queue_id": self.queue_claims.id}
        )
        self._available(self.agent_claims)
        self.assertEqual(self.livechat.available_operator_ids, self.agent_claims)
        self.authenticate(None, None)
        session = self._session()
        self.assertEqual(session.livechat_operator_id, self.agent_claims.partner_id)
        interaction = self._interaction(session)
        self.assertEqual(interaction.queue_id, self.queue_claims)
        self.assertEqual(interaction.agent_id, self.agent_claims)

    def test_transcript_files_and_end(self):
        self._available(self.agent_sales)
        self.authenticate("occ_chat_portal", "occ_chat_portal")
        session = self._session()
        interaction = self._interaction(session)
        self._post(session, "Dzień dobry, mam pytanie o fakturę")
        attachment = self._upload(session, "damage.png", PNG)
        self._post(session, "Zdjęcie szkody", attachment=attachment)
        # the operator answers in the chat: that accepts the offer
        session.with_user(self.agent_sales).message_post(
            body="Już sprawdzam", message_type="comment", subtype_xmlid="mail.mt_comment"
        )
        self.assertEqual(interaction.state, "active")
        self.assertTrue(interaction.date_answered)

        def transcript():
            return interaction.message_ids.filtered(lambda m: m.message_type == "comment").sorted(
                "id"
            )

        bodies = [m.body for m in transcript()]
        self.assertEqual(len(bodies), 3)
        self.assertIn("mam pytanie", bodies[0])
        self.assertIn("Zdjęcie szkody", bodies[1])
        self.assertIn("Już sprawdzam", bodies[2])
        self.assertEqual(transcript()[0].author_id, self.customer_contact)
        self.assertEqual(transcript()[2].author_id, self.agent_sales.partner_id)
        files = self.env["ir.attachment"].search(
            [("res_model", "=", "omnichannel.interaction"), ("res_id", "=", interaction.id)]
        )
        self.assertEqual(files.mapped("name"), ["damage.png"])
        self.assertEqual(files.raw, PNG)
        self.assertEqual(transcript()[1].attachment_ids, files)
        # syncing again copies nothing twice
        interaction._chat_sync_transcript()
        self.assertEqual(len(transcript()), 3)

        self.make_jsonrpc_request("/im_livechat/visitor_leave_session", {"channel_id": session.id})
        self.assertFalse(session.livechat_active)
        self.assertEqual(interaction.state, "wrapup")
        self.assertTrue(interaction.date_ended >= interaction.date_answered)
        self.assertEqual(len(transcript()), 3)
        self.assertTrue(self.agents[self.agent_sales].wrapup_until)

    def _wallboard_row(self, user):
        data = self.env["omnichannel.queue"].with_user(self.supervisor_sales).wallboard_data()
        return next(row for row in data["agents"] if row["user_id"] == user.id)

    def test_visitor_leaves_wrapup_lasts_the_queue_time(self):
        """The visitor leaves: the chat ends and its agent wraps up for the
        queue's wrap-up time; then the chat is closed and the agent is free,
        with no load and no current contact on the wallboard."""
        self.queue_sales.wrapup_seconds = 30
        self._available(self.agent_sales)
        self.authenticate(None, None)
        session = self._session()
        self._post(session, "Hello")
        interaction = self._interaction(session)
        interaction.offer_ids.with_user(self.agent_sales).action_accept()
        agent = self.agents[self.agent_sales]
        self.assertEqual((interaction.state, agent.state), ("active", "busy"))

        self.make_jsonrpc_request("/im_livechat/visitor_leave_session", {"channel_id": session.id})
        ended = interaction.date_ended
        wrapup_end = ended + timedelta(seconds=30)
        self.assertEqual((interaction.state, agent.state), ("wrapup", "wrapup"))
        self.assertEqual(agent.wrapup_until, wrapup_end)
        sweep = self.env.ref("omnichannel_cc.ir_cron_acd_sweep")
        self.assertTrue(
            self.env["ir.cron.trigger"].search(
                [("cron_id", "=", sweep.id), ("call_at", "=", wrapup_end)]
            ),
            "the sweep is woken when the wrap-up is over",
        )
        row = self._wallboard_row(self.agent_sales)
        # wrap-up is the agent's state; the chat is their current work, not load
        self.assertEqual((row["state"], row["load"]), ("wrapup", 0))
        self.assertEqual(row["current"]["id"], interaction.id)

        Queue = self.env["omnichannel.queue"]
        with freeze_time(wrapup_end - timedelta(seconds=1)):
            Queue._acd_sweep()
            self.assertEqual((interaction.state, agent.state), ("wrapup", "wrapup"))
        with freeze_time(wrapup_end):
            Queue._acd_sweep()
            self.assertEqual(interaction.state, "done")
            self.assertEqual(interaction.date_closed, wrapup_end)
            self.assertEqual((agent.state, agent.wrapup_until, agent.load), ("available", False, 0))
            row = self._wallboard_row(self.agent_sales)
        self.assertEqual((row["state"], row["load"], row["current"]), ("available", 0, False))
        self.assertIn(
            "wrap-up time of Sales is over", " ".join(interaction.message_ids.mapped("body"))
        )

    def test_chat_waits_for_the_agents_whole_wrapup(self):
        """Two chats end 20 s apart: the first one closes with the agent's
        wrap-up (which the second one extended), not before."""
        self.queue_sales.wrapup_seconds = 30
        self._available(self.agent_sales, capacity=2)
        self.authenticate(None, None)
        chats = []
        for name in ("First", "Second"):
            session = self._session(anonymous_name=name)
            self._post(session, "Hello")
            interaction = self._interaction(session)
            interaction.offer_ids.with_user(self.agent_sales).action_accept()
            chats.append(interaction)
        first, second = chats
        agent = self.agents[self.agent_sales]
        Queue = self.env["omnichannel.queue"]
        t0 = fields.Datetime.now()
        with freeze_time(t0):
            first._chat_session_closed()
        with freeze_time(t0 + timedelta(seconds=20)):
            second._chat_session_closed()
        self.assertEqual(agent.wrapup_until, t0 + timedelta(seconds=50))
        with freeze_time(t0 + timedelta(seconds=35)):
            Queue._acd_sweep()
            self.assertEqual((first.state, second.state, agent.state), ("wrapup",) * 3)
        with freeze_time(t0 + timedelta(seconds=50)):
            Queue._acd_sweep()
            self.assertEqual((first.state, second.state), ("done", "done"))
            self.assertEqual((agent.state, agent.load), ("available", 0))

    def test_chat_without_agent_wrapup_closes_after_the_queue_time(self):
        """An agent on a break has no wrap-up of their own: their chat still
        closes once the queue's wrap-up time is over."""
        self.queue_sales.wrapup_seconds = 30
        self._available(self.agent_sales)
        self.authenticate(None, None)
        session = self._session()
        self._post(session, "Hello")
        interaction = self._interaction(session)
        interaction.offer_ids.with_user(self.agent_sales).action_accept()
        agent = self.agents[self.agent_sales]
        agent._change_state("break", self.env["omnichannel.break.reason"].search([], limit=1).id)
        self.make_jsonrpc_request("/im_livechat/visitor_leave_session", {"channel_id": session.id})
        self.assertEqual(
            (interaction.state, agent.state, agent.wrapup_until), ("wrapup", "break", False)
        )
        Queue = self.env["omnichannel.queue"]
        with freeze_time(interaction.date_ended + timedelta(seconds=29)):
            Queue._acd_sweep()
            self.assertEqual(interaction.state, "wrapup")
        with freeze_time(interaction.date_ended + timedelta(seconds=30)):
            Queue._acd_sweep()
            self.assertEqual((interaction.state, agent.state), ("done", "break"))

    def test_agent_ends_the_chat(self):
        self._available(self.agent_sales)
        self.authenticate(None, None)
        session = self._session()
        self._post(session, "Hello")
        interaction = self._interaction(session)
        interaction.offer_ids.with_user(self.agent_sales).action_accept()
        interaction.with_user(self.agent_sales).action_end()
        self.assertEqual(interaction.state, "wrapup")
        self.assertFalse(session.livechat_active)
        self.assertIn("closed the conversation", session.message_ids[0].body)
        self.assertEqual(
            interaction.message_ids.filtered(lambda m: m.message_type == "comment").mapped("body"),
            ["<p>Hello</p>"],
        )

    def test_agent_leaves_the_chat(self):
        self._available(self.agent_sales)
        self.authenticate(None, None)
        session = self._session()
        self._post(session, "Hello")
        interaction = self._interaction(session)
        interaction.offer_ids.with_user(self.agent_sales).action_accept()
        session.with_user(self.agent_sales).action_unfollow()
        self.assertEqual(interaction.state, "wrapup")
        self.assertTrue(interaction.date_ended)
        self.assertFalse(session.livechat_active)

    def test_visitor_leaves_before_answer(self):
        self._available(self.agent_sales)
        self.authenticate(None, None)
        session = self._session()
        self._post(session, "Anybody?")
        interaction = self._interaction(session)
        self.make_jsonrpc_request("/im_livechat/visitor_leave_session", {"channel_id": session.id})
        self.assertEqual((interaction.state, interaction.end_reason), ("abandoned", "customer"))
        self.assertEqual(interaction.offer_ids.state, "cancelled")
        self.assertEqual(self.agents[self.agent_sales].load, 0)

    def test_other_agent_accepting_joins_the_chat(self):
        """The operator rejects: the ACD offers the chat to the next agent,
        who joins the visitor's session when accepting."""
        self._available(self.agent_sales)
        self.authenticate(None, None)
        session = self._session()
        interaction = self._interaction(session)
        self._available(self.agent_sales_2)
        interaction.offer_ids.with_user(self.agent_sales).action_reject()
        offer = interaction.offer_ids.filtered(lambda o: o.state == "pending")
        self.assertEqual(offer.user_id, self.agent_sales_2)
        offer.with_user(self.agent_sales_2).action_accept()
        self.assertIn(self.agent_sales_2.partner_id, session.channel_member_ids.partner_id)
        self.assertEqual(session.livechat_operator_id, self.agent_sales_2.partner_id)

    def test_access_of_another_queue(self):
        self._available(self.agent_sales)
        self.authenticate("occ_chat_portal", "occ_chat_portal")
        session = self._session()
        self._post(session, "Private question")
        interaction = self._interaction(session)
        self.assertEqual(
            interaction.with_user(self.agent_sales).read(["state"])[0]["state"], "offered"
        )
        with self.assertRaises(AccessError):
            interaction.with_user(self.agent_claims).read(["partner_id"])
        with self.assertRaises(AccessError):
            interaction.with_user(self.plain_user).read(["partner_id"])

    def test_unlinked_livechat_unchanged(self):
        """A live chat channel without a contact center channel keeps
        im_livechat's own operators and makes no interaction."""
        other = self.env["im_livechat.channel"].create(
            {"name": "Other", "user_ids": [Command.set(self.agent_sales.ids)]}
        )
        self.env["bus.presence"].create({"user_id": self.agent_sales.id, "status": "online"})
        self.assertEqual(other.available_operator_ids, self.agent_sales)
        self.authenticate(None, None)
        data = self.make_jsonrpc_request(
            "/im_livechat/get_session", {"anonymous_name": "V", "channel_id": other.id}
        )
        session = self.env["discuss.channel"].browse(data["discuss.channel"][0]["id"])
        self.assertEqual(session.livechat_operator_id, self.agent_sales.partner_id)
        self.assertFalse(self._interaction(session))


@tagged("post_install", "-at_install")
class TestChannelChatbot(ChatCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.script = cls.env["chatbot.script"].create({"title": "Tartak bot"})
        cls.step_hello, cls.step_question, cls.step_forward, cls.step_email = (
            cls.env["chatbot.script.step"]
            .sudo()
            .create(
                [
                    {
                        "step_type": "text",
                        "message": "Hello, I am the bot.",
                        "chatbot_script_id": cls.script.id,
                    },
                    {
                        "step_type": "free_input_single",
                        "message": "What is it about?",
                        "chatbot_script_id": cls.script.id,
                    },
                    {
                        "step_type": "forward_operator",
                        "message": "I am connecting you to an agent.",
                        "chatbot_script_id": cls.script.id,
                    },
                    {
                        "step_type": "question_email",
                        "message": "Nobody is free: your e-mail?",
                        "chatbot_script_id": cls.script.id,
                    },
                ]
            )
        )
        cls.livechat.rule_ids = [Command.create({"chatbot_script_id": cls.script.id})]

    def _bot_session(self):
        session = self._session(chatbot_script_id=self.script.id)
        self.assertEqual(session.chatbot_current_step_id, self.step_question)
        self.assertFalse(self._interaction(session), "the bot talks first")
        self._post(session, "My invoice")
        self.make_jsonrpc_request("/chatbot/step/trigger", {"channel_id": session.id})
        return session

    def test_forward_to_our_operator(self):
        self._available(self.agent_sales)
        self.authenticate(None, None)
        session = self._bot_session()
        self.assertEqual(session.chatbot_current_step_id, self.step_forward)
        self.assertIn(self.agent_sales.partner_id, session.channel_member_ids.partner_id)
        interaction = self._interaction(session)
        self.assertEqual(len(interaction), 1)
        self.assertEqual((interaction.state, interaction.agent_id), ("offered", self.agent_sales))
        bodies = " ".join(interaction.message_ids.mapped("body"))
        for text in ("Hello, I am the bot.", "What is it about?", "My invoice"):
            self.assertIn(text, bodies)
        self._post(session, "Are you there?")
        self.assertIn("Are you there?", interaction.message_ids[0].body)

    def test_forward_nobody_available(self):
        self.queue_sales.overflow_action = "callback"
        self.authenticate(None, None)
        session = self._bot_session()
        self.assertEqual(session.chatbot_current_step_id, self.step_forward)
        self.assertEqual(len(session.channel_member_ids), 2, "no operator joined")
        # the script goes on (asks for the e-mail); the contact is missed, not lost
        self.make_jsonrpc_request("/chatbot/step/trigger", {"channel_id": session.id})
        self.assertEqual(session.chatbot_current_step_id, self.step_email)
        interaction = self._interaction(session)
        self.assertEqual((interaction.state, interaction.end_reason), ("missed", "no_agent"))
        self.assertTrue(interaction.activity_ids)
        self.assertIn("My invoice", " ".join(interaction.message_ids.mapped("body")))
        self.assertFalse(interaction.partner_id)
        # the e-mail the anonymous visitor gives identifies the customer
        self._post(session, "Biuro@Tartak-Test.example")
        self.assertEqual(interaction.contact_address, "biuro@tartak-test.example")
        self.assertEqual(interaction.partner_id, self.customer_company)


# Drives the visitor's side on im_livechat's standalone support page, which
# loads only the live chat bundle (no tour runner): the same clicks and keys
# a visitor makes, inside the live chat's shadow DOM.
VISITOR_JS = """
(async () => {
    const root = () => document.querySelector(".o-livechat-root")?.shadowRoot;
    const waitFor = async (selector, text) => {
        for (let i = 0; i < 300; i++) {
            const found = [...(root()?.querySelectorAll(selector) || [])].filter(
                (el) => !text || el.textContent.includes(text)
            );
            if (found.length) {
                return found[0];
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error(`not found: ${selector} ${text || ""}`);
    };
    (await waitFor(".o-livechat-LivechatButton")).click();
    const input = await waitFor(".o-mail-ChatWindow .o-mail-Composer-input");
    input.focus();
    input.value = "Pytanie o fakturę FV/12";
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    await waitFor(".o-mail-Message", "Pytanie o fakturę");
    // let the post reach the server before the browser closes
    await new Promise((resolve) => setTimeout(resolve, 2000));
    console.log("test successful");
})().catch((error) => console.error(error.message));
"""


@tagged("post_install", "-at_install")
class TestChannelChatTour(ChatCommon):
    """In Chromium: a logged-in customer chats on the live chat support
    page; the agent gets the chat with the screen-pop, accepts and answers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tour_agent = new_test_user(
            cls.env,
            "occ_chat_tour_agent",
            groups=f"{AGENT},account.group_account_invoice",
            name="Chat Agent",
        )
        cls.queue_sales.write(
            {"member_ids": [Command.set(cls.tour_agent.ids)], "ring_timeout": 600}
        )
        cls.tour_agent_record = cls.env["omnichannel.agent"]._for_user(cls.tour_agent)
        cls.tour_agent_record._change_state("available")
        cls.overdue = cls._create_invoice(cls.customer_company, 1230.0, due_days_ago=12)
        cls.order = cls.env["sale.order"].create({"partner_id": cls.customer_company.id})

    def _visitor_writes(self):
        """The visitor asks in the live chat (Chromium): the session and its
        interaction, offered to the tour agent."""
        self.assertEqual(self.livechat.available_operator_ids, self.tour_agent)
        self.browser_js(
            f"/im_livechat/support/{self.livechat.id}",
            VISITOR_JS,
            ready="true",
            login="occ_chat_portal",
        )
        session = self.env["discuss.channel"].search(
            [("livechat_channel_id", "=", self.livechat.id)]
        )
        self.assertEqual(len(session), 1)
        self.assertEqual(session.livechat_operator_id, self.tour_agent.partner_id)
        interaction = self._interaction(session)
        self.assertEqual(interaction.partner_id, self.customer_contact)
        self.assertEqual((interaction.state, interaction.agent_id), ("offered", self.tour_agent))
        question = session.message_ids.filtered(lambda m: m.author_id == self.customer_contact)
        self.assertIn("Pytanie o fakturę FV/12", question.body)
        return session, interaction

    def _agent_accepts_and_answers(self, url, tour):
        """The agent accepts in the popup: the conversation opens beside the
        customer panel and the answer typed in its composer reaches the visitor's
        session (the tour checks that nothing covers the composer)."""
        session, interaction = self._visitor_writes()
        self.start_tour(url, tour, login="occ_chat_tour_agent")

        answers = session.message_ids.filtered(
            lambda m: m.author_id == self.tour_agent.partner_id and m.message_type == "comment"
        )
        self.assertEqual(len(answers), 1)
        self.assertIn("już sprawdzam fakturę", answers.body)
        interaction.invalidate_recordset()
        self.assertEqual((interaction.state, interaction.agent_id), ("active", self.tour_agent))
        self.assertTrue(interaction.date_answered)
        transcript = " ".join(interaction.message_ids.mapped("body"))
        self.assertIn("Pytanie o fakturę FV/12", transcript)
        self.assertIn("już sprawdzam fakturę", transcript)

    def test_visitor_chats_agent_answers(self):
        """Working in a list: the chat opens in a chat window."""
        self._agent_accepts_and_answers(
            "/odoo/action-omnichannel_cc.omnichannel_interaction_action",
            "omnichannel_cc_chat_agent_tour",
        )

    def test_visitor_chats_agent_answers_in_discuss(self):
        """Working in Discuss: the chat opens as Discuss's thread."""
        self._agent_accepts_and_answers("/odoo/discuss", "omnichannel_cc_chat_agent_discuss_tour")


@tagged("post_install", "-at_install")
class TestChannelSwitchThroughAdapters(ChatCommon):
    """Call, then e-mail through the mail gateway, then a live chat session:
    the customer continues one open case and the case owner gets the chat."""

    def test_call_then_email_then_chat(self):
        self.env["omnichannel.routing.rule"].create(
            {
                "name": "Case owner",
                "require_open_case": True,
                "prefer": "case_owner",
                "preferred_timeout": 30,
            }
        )
        case = self.env["omnichannel.case"].create(
            {
                "partner_id": self.customer_contact.id,
                "subject": "Uszkodzona piła",
                "user_id": self.agent_sales_2.id,
                "state": "open",
            }
        )
        call = self.env["omnichannel.interaction"].browse(
            self._inbound("switch-call", "0048 609-876-543")["interaction_id"]
        )
        raw = (
            "From: Jan Testowy <jan.testowy@tartak-test.example>\r\n"
            f"To: {self.channel_email.address}\r\n"
            "Subject: Zdjęcia piły\r\n"
            "Message-ID: <switch-mail-1@tartak-test.example>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "Dzień dobry, przesyłam opis uszkodzenia.\r\n"
        )
        self.env["mail.thread"].sudo().message_process(None, raw)
        email = self.env["omnichannel.interaction"].search(
            [
                ("channel_id", "=", self.channel_email.id),
                ("partner_id", "=", self.customer_contact.id),
            ]
        )
        self._available(self.agent_sales, self.agent_sales_2)
        self.authenticate("occ_chat_portal", "occ_chat_portal")
        session = self._session()
        chat = self._interaction(session)

        self.assertEqual(len(email), 1)
        self.assertIn("opis uszkodzenia", "".join(email.message_ids.mapped("body")))
        interactions = call | email | chat
        self.assertEqual(interactions.mapped("channel_type"), ["phone", "email", "chat"])
        self.assertEqual(interactions.case_id, case)
        self.assertEqual(case.interaction_ids, interactions)
        # the case owner takes the chat, though another agent of the queue is free
        self.assertEqual(session.livechat_operator_id, self.agent_sales_2.partner_id)
        self.assertEqual(chat.agent_id, self.agent_sales_2)
