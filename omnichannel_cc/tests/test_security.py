from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged, users

from .common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestSecurity(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Interaction = cls.env["omnichannel.interaction"]
        cls.waiting_sales = Interaction.browse(
            cls._inbound("s-1", "+48609876543")["interaction_id"]
        )
        cls.mine_sales = Interaction.browse(cls._inbound("s-2", "+48609876543")["interaction_id"])
        cls.mine_sales.write({"agent_id": cls.agent_sales.id, "state": "active"})
        cls.other_agent_sales = Interaction.browse(
            cls._inbound("s-3", "+48609876543")["interaction_id"]
        )
        cls.other_agent_sales.write({"agent_id": cls.supervisor_sales.id, "state": "active"})
        cls.waiting_claims = Interaction.browse(
            cls._inbound("c-1", "jan.testowy@tartak-test.example", channel=cls.channel_email)[
                "interaction_id"
            ]
        )
        cls.case_claims = cls.env["omnichannel.case"].create(
            {
                "subject": "Claim",
                "partner_id": cls.customer_contact.id,
                "queue_id": cls.queue_claims.id,
                "user_id": cls.agent_claims.id,
            }
        )
        cls.other_company = cls.env["res.company"].create({"name": "Other Sp. z o.o."})
        cls.all_test = (
            cls.waiting_sales | cls.mine_sales | cls.other_agent_sales | cls.waiting_claims
        )

    def _visible(self):
        return self.env["omnichannel.interaction"].search([("id", "in", self.all_test.ids)])

    @users("occ_agent_sales")
    def test_agent_sees_own_and_waiting_in_their_queues(self):
        self.assertEqual(self._visible(), (self.waiting_sales | self.mine_sales).with_env(self.env))
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].browse(self.waiting_claims.id).read(["name"])
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].browse(self.other_agent_sales.id).read(["name"])
        # cases: not the claims queue's
        self.assertFalse(self.env["omnichannel.case"].search([("id", "=", self.case_claims.id)]))
        # queues: only their own
        self.assertEqual(
            self.env["omnichannel.queue"].search(
                [("id", "in", (self.queue_sales | self.queue_claims).ids)]
            ),
            self.queue_sales.with_env(self.env),
        )

    @users("occ_agent_sales")
    def test_agent_works_on_their_interaction_but_configures_nothing(self):
        mine = self.env["omnichannel.interaction"].browse(self.mine_sales.id)
        mine.notes = "Klient prosi o ofertę"
        with self.assertRaises(AccessError):
            mine.unlink()
        with self.assertRaises(AccessError):
            self.env["omnichannel.channel"].create(
                {
                    "name": "x",
                    "channel_type": "phone",
                    "address": "+48225550199",
                    "queue_id": self.queue_sales.id,
                }
            )
        with self.assertRaises(AccessError):
            self.env["omnichannel.queue"].browse(self.queue_sales.id).name = "Renamed"

    @users("occ_agent_claims")
    def test_case_owner_sees_case(self):
        self.assertEqual(
            self.env["omnichannel.case"].search([("id", "=", self.case_claims.id)]).id,
            self.case_claims.id,
        )

    @users("occ_supervisor_sales")
    def test_supervisor_sees_their_team(self):
        self.assertEqual(
            self._visible(),
            (self.waiting_sales | self.mine_sales | self.other_agent_sales).with_env(self.env),
        )
        queue = self.env["omnichannel.queue"].browse(self.queue_sales.id)
        queue.member_ids = [Command.link(self.agent_claims.id)]
        with self.assertRaises(AccessError):
            self.env["omnichannel.queue"].browse(self.queue_claims.id).name = "Renamed"

    @users("occ_manager")
    def test_manager_sees_everything_in_their_company(self):
        self.assertEqual(self._visible(), self.all_test.with_env(self.env))
        other_company = self.other_company
        self.assertNotIn(other_company, self.env.user.company_ids)
        queue = (
            self.env["omnichannel.queue"]
            .sudo()
            .create({"name": "Other", "company_id": other_company.id})
        )
        foreign = (
            self.env["omnichannel.interaction"]
            .sudo()
            .create(
                {
                    "channel_id": self.channel_phone.id,
                    "queue_id": queue.id,
                    "company_id": other_company.id,
                    "state": "queued",
                }
            )
        )
        self.assertFalse(self.env["omnichannel.interaction"].search([("id", "=", foreign.id)]))
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].browse(foreign.id).read(["name"])

    @users("occ_plain")
    def test_plain_user_sees_nothing(self):
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].search([])
        with self.assertRaises(AccessError):
            self.env["omnichannel.case"].search([])


# ---- issue 13: the security review's findings, one class each ----


@tagged("post_install", "-at_install")
class TestSecurityReviewH1QueueMembers(OmnichannelCommon):
    """H1: the members of a queue are chosen by its supervisors and by managers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.waiting_claims = cls.env["omnichannel.interaction"].browse(
            cls._inbound("h1-1", "jan.testowy@tartak-test.example", channel=cls.channel_email)[
                "interaction_id"
            ]
        )

    def _is_member(self, queue, user):
        # sudo: the test's own check of what was written
        return bool(
            self.env["omnichannel.queue.member"]
            .sudo()
            .search_count([("queue_id", "=", queue.id), ("user_id", "=", user.id)])
        )

    @users("occ_supervisor_sales")
    def test_h1_supervisor_cannot_join_a_queue_she_does_not_supervise(self):
        me = self.env.user
        with self.assertRaises(AccessError):
            self.env["omnichannel.queue.member"].create(
                {"queue_id": self.queue_claims.id, "user_id": me.id}
            )
        claims = self.env["omnichannel.queue"].browse(self.queue_claims.id)
        with self.assertRaises(AccessError):
            claims.write({"member_ids": [Command.link(me.id)]})
        with self.assertRaises(AccessError):
            claims.write({"supervisor_ids": [Command.link(me.id)]})
        self.assertFalse(self._is_member(self.queue_claims, me))
        self.assertNotIn(me, self.queue_claims.sudo().supervisor_ids)
        # so Claims' contacts stay closed to her
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].browse(self.waiting_claims.id).read(["name"])

    @users("occ_supervisor_sales")
    def test_h1_supervisor_cannot_move_a_membership_to_another_queue(self):
        me = self.env.user
        sales = self.env["omnichannel.queue"].browse(self.queue_sales.id)
        # her own queue: she may join it, but not carry the membership to Claims
        mine = self.env["omnichannel.queue.member"].create({"queue_id": sales.id, "user_id": me.id})
        with self.assertRaises(AccessError):
            mine.queue_id = self.queue_claims.id
        with self.assertRaises(AccessError):
            sales.write(
                {"member_line_ids": [Command.update(mine.id, {"queue_id": self.queue_claims.id})]}
            )
        # nor take a Claims membership over into Sales
        claims_line = self.queue_claims.member_line_ids
        with self.assertRaises(AccessError):
            sales.write({"member_line_ids": [Command.link(claims_line.id)]})
        self.assertEqual(mine.sudo().queue_id, self.queue_sales)
        self.assertEqual(claims_line.sudo().queue_id, self.queue_claims)
        self.assertFalse(self._is_member(self.queue_claims, me))

    def test_h1_supervisor_cannot_supervise_a_queue_she_only_works_in(self):
        self.queue_claims.member_ids = [Command.link(self.supervisor_sales.id)]
        claims = self.queue_claims.with_user(self.supervisor_sales)
        self.assertEqual(claims.name, "Claims", "she still sees the queue she works in")
        with self.assertRaises(AccessError):
            claims.write({"supervisor_ids": [Command.link(self.supervisor_sales.id)]})
        with self.assertRaises(AccessError):
            claims.write({"member_ids": [Command.link(self.agent_sales.id)]})
        with self.assertRaises(AccessError):
            claims.name = "Mine"
        with self.assertRaises(AccessError):
            claims.member_line_ids.filtered(lambda m: m.user_id == self.supervisor_sales).tier = 1
        self.assertNotIn(self.supervisor_sales, self.queue_claims.supervisor_ids)
        self.assertFalse(self._is_member(self.queue_claims, self.agent_sales))
        self.assertEqual(self.queue_claims.name, "Claims")

    def test_h1_memberships_kept_for_supervisors_managers_and_queue_log_in(self):
        # the supervisor manages her own queue's members
        Member = self.env["omnichannel.queue.member"].with_user(self.supervisor_sales)
        line = Member.create({"queue_id": self.queue_sales.id, "user_id": self.agent_claims.id})
        line.tier = 2
        line.unlink()
        self.assertFalse(self._is_member(self.queue_sales, self.agent_claims))
        # a manager manages every queue's
        self.env["omnichannel.queue"].browse(self.queue_claims.id).with_user(
            self.manager
        ).member_ids = [Command.link(self.agent_sales.id)]
        self.assertTrue(self._is_member(self.queue_claims, self.agent_sales))
        # an agent reads her memberships and logs in and out of her queues, nothing more
        Agent = self.env["omnichannel.agent"].with_user(self.agent_sales)
        mine = self.queue_sales.member_line_ids.filtered(lambda m: m.user_id == self.agent_sales)
        self.assertEqual(mine.with_user(self.agent_sales).logged_in, True)
        Agent.action_queue_login(self.queue_sales.ids, False)
        self.assertFalse(mine.logged_in)
        with self.assertRaises(AccessError):
            mine.with_user(self.agent_sales).logged_in = True
        self.assertFalse(mine.logged_in)
        Agent.action_queue_login(self.queue_sales.ids, True)
        self.assertTrue(mine.logged_in)


@tagged("post_install", "-at_install")
class TestSecurityReviewM2QueueConfiguration(OmnichannelCommon):
    """M2: supervisors configure the routing, scripts and skills of their own queues only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Rule = cls.env["omnichannel.routing.rule"]
        cls.rule_sales = Rule.create({"name": "VIP to Sales", "queue_id": cls.queue_sales.id})
        cls.rule_claims = Rule.create(
            {"name": "Debtors to Claims", "queue_id": cls.queue_claims.id}
        )
        Script = cls.env["omnichannel.script"]
        step_vals = [
            Command.create(
                {
                    "sequence": 10,
                    "name": "Kind",
                    "answer_type": "choice",
                    "choice_ids": [Command.create({"name": "Car"})],
                }
            ),
            Command.create({"sequence": 20, "name": "Close"}),
        ]
        cls.script_claims = Script.create({"name": "Claim", "step_ids": step_vals})
        cls.script_sales = Script.create({"name": "Offer", "step_ids": step_vals})
        cls.script_draft = Script.create({"name": "Draft", "step_ids": step_vals[1:]})
        cls.queue_claims.script_id = cls.script_claims
        cls.queue_sales.script_id = cls.script_sales
        first = cls.script_claims.step_ids[0]
        cls.branch_claims = cls.env["omnichannel.script.branch"].create(
            {
                "step_id": first.id,
                "condition": "choice",
                "choice_id": first.choice_ids.id,
                "next_step_id": cls.script_claims.step_ids[1].id,
            }
        )
        cls.skill = cls.env["omnichannel.skill"].create({"name": "Ukrainian"})
        Agent = cls.env["omnichannel.agent"]
        cls.skill_sales, cls.skill_claims = cls.env["omnichannel.agent.skill"].create(
            [
                {"agent_id": Agent._for_user(user).id, "skill_id": cls.skill.id, "level": 2}
                for user in (cls.agent_sales, cls.agent_claims)
            ]
        )

    @users("occ_supervisor_sales")
    def test_m2_supervisor_cannot_route_contacts_to_another_queue(self):
        Rule = self.env["omnichannel.routing.rule"]
        # reading stays open
        self.assertEqual(
            Rule.search([("id", "in", (self.rule_sales | self.rule_claims).ids)]),
            (self.rule_sales | self.rule_claims).with_env(self.env),
        )
        with self.assertRaises(AccessError):
            Rule.create({"name": "All to Claims", "sequence": 0, "queue_id": self.queue_claims.id})
        with self.assertRaises(AccessError):
            Rule.create({"name": "Everyone first", "sequence": 0, "priority": 10})
        with self.assertRaises(AccessError):
            Rule.browse(self.rule_sales.id).queue_id = self.queue_claims.id
        with self.assertRaises(AccessError):
            Rule.browse(self.rule_claims.id).write({"sequence": 1, "stop": False})
        with self.assertRaises(AccessError):
            Rule.browse(self.rule_claims.id).unlink()
        self.assertFalse(Rule.sudo().search([("name", "in", ("All to Claims", "Everyone first"))]))
        self.assertEqual(self.rule_sales.sudo().queue_id, self.queue_sales)
        self.assertEqual(self.rule_claims.sudo().sequence, 10)
        self.assertTrue(self.rule_claims.sudo().exists())

    @users("occ_supervisor_sales")
    def test_m2_supervisor_configures_the_routing_of_her_queue(self):
        Rule = self.env["omnichannel.routing.rule"]
        rule = Rule.create({"name": "Tagged to Sales", "queue_id": self.queue_sales.id})
        rule.priority = 5
        Rule.browse(self.rule_sales.id).unlink()
        self.assertFalse(self.rule_sales.sudo().exists())
        self.assertEqual(rule.sudo().priority, 5)

    @users("occ_supervisor_sales")
    def test_m2_supervisor_cannot_edit_another_queues_script(self):
        script = self.env["omnichannel.script"].browse(self.script_claims.id)
        step = script.step_ids[0]
        self.assertEqual(step.name, "Kind", "agents and supervisors still read it")
        with self.assertRaises(AccessError):
            script.name = "Mine"
        with self.assertRaises(AccessError):
            step.name = "Renamed"
        with self.assertRaises(AccessError):
            self.env["omnichannel.script.step"].create(
                {"script_id": script.id, "sequence": 15, "name": "Extra"}
            )
        with self.assertRaises(AccessError):
            step.choice_ids.name = "Truck"
        with self.assertRaises(AccessError):
            self.env["omnichannel.script.choice"].create({"step_id": step.id, "name": "Bike"})
        with self.assertRaises(AccessError):
            self.env["omnichannel.script.branch"].browse(self.branch_claims.id).unlink()
        with self.assertRaises(AccessError):
            script.step_ids[1].unlink()
        # a script no queue uses: managers only
        with self.assertRaises(AccessError):
            self.env["omnichannel.script"].browse(self.script_draft.id).name = "Mine"
        with self.assertRaises(AccessError):
            self.env["omnichannel.script"].create({"name": "New"})
        self.assertEqual(self.script_claims.name, "Claim")
        self.assertEqual(self.script_claims.step_ids.mapped("name"), ["Kind", "Close"])
        self.assertEqual(self.script_claims.step_ids.choice_ids.mapped("name"), ["Car"])
        self.assertTrue(self.branch_claims.exists())
        self.assertEqual(self.script_draft.name, "Draft")
        self.assertFalse(self.env["omnichannel.script"].sudo().search([("name", "=", "New")]))

    def test_m2_supervisor_edits_her_queues_script_while_only_hers(self):
        script = self.script_sales.with_user(self.supervisor_sales)
        script.step_ids[1].name = "Goodbye"
        script.step_ids[0].choice_ids.name = "Van"
        self.assertEqual(self.script_sales.step_ids[1].name, "Goodbye")
        # a step, choice or branch of hers may not be carried into the Claims script
        claims_step = self.script_claims.step_ids[0]
        with self.assertRaises(AccessError):
            script.step_ids[1].script_id = self.script_claims.id
        with self.assertRaises(AccessError):
            script.step_ids[0].choice_ids.step_id = claims_step.id
        self.assertEqual(self.script_claims.step_ids.mapped("name"), ["Kind", "Close"])
        self.assertEqual(claims_step.choice_ids.mapped("name"), ["Car"])
        # shared with Claims: no longer one queue's to change
        self.queue_claims.script_id = self.script_sales
        with self.assertRaises(AccessError):
            script.step_ids[1].name = "Bye"
        self.assertEqual(self.script_sales.step_ids[1].name, "Goodbye")

    @users("occ_supervisor_sales")
    def test_m2_supervisor_changes_the_skills_of_her_team_only(self):
        Skill = self.env["omnichannel.agent.skill"]
        Skill.browse(self.skill_sales.id).level = 4
        with self.assertRaises(AccessError):
            Skill.browse(self.skill_claims.id).level = 1
        with self.assertRaises(AccessError):
            Skill.browse(self.skill_claims.id).unlink()
        other_skill = self.env["omnichannel.skill"].sudo().create({"name": "Czech"})
        with self.assertRaises(AccessError):
            Skill.create(
                {
                    "agent_id": self.skill_claims.agent_id.id,
                    "skill_id": other_skill.id,
                    "level": 5,
                }
            )
        # her team's new skill may not be handed over to another team's agent
        czech = Skill.create(
            {"agent_id": self.skill_sales.agent_id.id, "skill_id": other_skill.id, "level": 3}
        )
        with self.assertRaises(AccessError):
            czech.agent_id = self.skill_claims.agent_id.id
        self.assertEqual(self.skill_sales.sudo().level, 4)
        self.assertEqual(self.skill_claims.sudo().level, 2)
        self.assertEqual(czech.sudo().agent_id, self.skill_sales.agent_id)
        self.assertEqual(
            Skill.sudo().search([("agent_id", "=", self.skill_claims.agent_id.id)]),
            self.skill_claims,
        )

    @users("occ_manager")
    def test_m2_manager_configures_every_queue(self):
        self.env["omnichannel.routing.rule"].create(
            {"name": "Manager's", "queue_id": self.queue_claims.id}
        )
        self.env["omnichannel.routing.rule"].browse(self.rule_claims.id).unlink()
        self.env["omnichannel.script"].browse(self.script_claims.id).step_ids[1].name = "End"
        self.env["omnichannel.script"].browse(self.script_draft.id).name = "Ready"
        self.env["omnichannel.agent.skill"].browse(self.skill_claims.id).level = 5
        self.assertEqual(self.script_claims.step_ids[1].name, "End")
        self.assertEqual(self.script_draft.name, "Ready")
        self.assertEqual(self.skill_claims.level, 5)
        self.assertFalse(self.rule_claims.exists())


@tagged("post_install", "-at_install")
class TestSecurityReviewL5AgentPresence(OmnichannelCommon):
    """L5: only internal users of the agent group have an agent record and a presence."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = new_test_user(cls.env, "occ_portal", groups="base.group_portal")

    def _agent_of(self, user):
        # sudo: the test's own check of what was written
        return self.env["omnichannel.agent"].sudo().search([("user_id", "=", user.id)])

    def test_l5_portal_user_cannot_create_an_available_agent(self):
        for user in (self.portal_user, self.plain_user):
            with self.subTest(user=user.login):
                Agent = self.env["omnichannel.agent"].with_user(user)
                with self.assertRaisesRegex(AccessError, "not a contact center agent"):
                    Agent.action_my_state("available")
                self.assertFalse(self._agent_of(user))
                # nor made for them by the system (offers, transfers)
                with self.assertRaises(AccessError):
                    self.env["omnichannel.agent"]._for_user(user)
                self.assertFalse(self._agent_of(user))

    def test_l5_former_agent_cannot_change_presence(self):
        former = new_test_user(
            self.env, "occ_former_agent", groups="omnichannel_cc.group_omnichannel_agent"
        )
        self.queue_sales.member_ids = [Command.link(former.id)]
        agent = self.env["omnichannel.agent"]._for_user(former)
        former.groups_id = [Command.set(self.env.ref("base.group_user").ids)]
        with self.assertRaisesRegex(AccessError, "not a contact center agent"):
            self.env["omnichannel.agent"].with_user(former).action_my_state("available")
        with self.assertRaisesRegex(AccessError, "not a contact center agent"):
            agent.with_user(self.supervisor_sales).action_set_state("available")
        self.assertEqual(agent.state, "offline")


@tagged("post_install", "-at_install")
class TestSecurityReviewH3AgentWrites(OmnichannelCommon):
    """H3: agents change interactions only through the actions; the state,
    agent, queue, times and routing are the state machine's and the ACD's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_b = new_test_user(
            cls.env, "occ_h3_agent_b", groups="omnichannel_cc.group_omnichannel_agent"
        )
        cls.queue_sales.member_ids = [Command.link(cls.agent_b.id)]
        Agent = cls.env["omnichannel.agent"]
        cls.a_sales = Agent._for_user(cls.agent_sales)
        cls.a_b = Agent._for_user(cls.agent_b)
        cls.case_claims = cls.env["omnichannel.case"].create(
            {
                "subject": "Claim",
                "partner_id": cls.customer_contact.id,
                "queue_id": cls.queue_claims.id,
                "user_id": cls.agent_claims.id,
            }
        )
        cls.invoice = cls._create_invoice(cls.customer_contact, 100.0, due_days_ago=3)
        cls.resolved = cls.env.ref("omnichannel_cc.disposition_resolved")

    def _active_call(self, external_id):
        """A call (of a customer without a case) the ACD offered to agent_sales
        and she accepted."""
        self.a_sales._change_state("available")
        result = self._inbound(external_id, "+48 509 333 444")
        call = self.env["omnichannel.interaction"].browse(result["interaction_id"])
        call.offer_ids.with_user(self.agent_sales).action_accept()
        self.assertEqual((call.state, call.agent_id), ("active", self.agent_sales))
        return call.with_user(self.agent_sales)

    def _snapshot(self, interaction):
        # sudo: the test's own check of what was written
        rec = interaction.sudo()
        rec.invalidate_recordset()
        names = [
            "state",
            "agent_id",
            "queue_id",
            "priority",
            "date_queued",
            "date_answered",
            "date_ended",
            "wait_duration",
            "talk_duration",
            "hold_duration",
            "transfer_count",
            "required_skill_id",
            "case_id",
            "invoice_id",
            "sale_order_id",
        ]
        return {name: rec[name] for name in names}

    def _claims_case(self, partner, queue=None):
        """A case of Tomasz (Claims), in ``queue`` (default: Claims)."""
        return self.env["omnichannel.case"].create(
            {
                "subject": "Claim",
                "partner_id": partner.id,
                "queue_id": (queue or self.queue_claims).id,
                "user_id": self.agent_claims.id,
            }
        )

    def _presence(self, agent):
        agent.invalidate_recordset()
        return agent.state, agent._loads_by_class().get(agent.user_id.id, {})

    def test_h3_agent_cannot_fake_kpis(self):
        call = self._active_call("h3-kpi")
        before = self._snapshot(call)
        answered = before["date_answered"]
        for vals in (
            {"date_queued": answered},  # a wait of 0 s
            {"date_queued": answered, "date_answered": answered},
            {"date_ended": answered, "date_closed": answered},
            {"wait_duration": 1},
            {"hold_duration": 0, "hold_since": False},
            {"transfer_count": 0},
            {"priority": 100},
            {"notes": "covered", "date_answered": answered},
        ):
            with self.subTest(vals=vals), self.assertRaisesRegex(AccessError, "Use its actions"):
                call.write(vals)
        self.assertEqual(self._snapshot(call), before)
        self.assertFalse(call.sudo().notes, "a refused write changes nothing, also its rest")

    def test_h3_agent_cannot_link_records_she_cannot_read(self):
        call = self._active_call("h3-links")
        before = self._snapshot(call)
        order = self.env["sale.order"].create({"partner_id": self.customer_contact.id})
        for vals in (
            {"case_id": self.case_claims.id},
            {"invoice_id": self.invoice.id},
            {"sale_order_id": order.id},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                call.write(vals)
        with self.assertRaises(AccessError):
            self.env["omnichannel.interaction"].with_user(self.agent_sales).create(
                {
                    "channel_id": self.channel_phone.id,
                    "queue_id": self.queue_sales.id,
                    "agent_id": self.agent_sales.id,
                    "case_id": self.case_claims.id,
                }
            )
        # the console links only the customer's open cases she may read
        with self.assertRaises(UserError):
            call.action_console_link_case(self.case_claims.id)  # another customer's
        with self.assertRaises(AccessError):
            call.action_console_link_case(self._claims_case(self.customer_plain).id)
        solved = self._claims_case(self.customer_plain, self.queue_sales)
        solved.action_solve()
        with self.assertRaises(UserError):
            call.action_console_link_case(solved.id)
        self.assertEqual(self._snapshot(call), before)
        self.assertFalse(before["case_id"])

    def test_h3_agent_cannot_put_work_on_another_console(self):
        call = self._active_call("h3-console")
        self.a_b._change_state("available")
        before, presence_b = self._snapshot(call), self._presence(self.a_b)
        Interaction = self.env["omnichannel.interaction"].with_user(self.agent_sales)
        for vals in (
            {"agent_id": self.agent_b.id},
            {"queue_id": self.queue_claims.id},
            {"agent_id": self.agent_b.id, "queue_id": self.queue_claims.id},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                call.write(vals)
        common = {"channel_id": self.channel_phone.id, "queue_id": self.queue_sales.id}
        for vals in (
            {"agent_id": self.agent_b.id, "state": "active"},
            {"agent_id": self.agent_b.id},
            {"agent_id": self.agent_sales.id, "state": "active"},
            {"agent_id": self.agent_sales.id, "state": "offered"},
            {"agent_id": self.agent_sales.id, "state": "queued"},
            {"state": "queued", "date_queued": "2020-01-01 00:00:00"},
            {"state": "queued", "priority": 100},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                Interaction.create(dict(common, **vals))
        # a queue she is no member of
        with self.assertRaises(AccessError):
            Interaction.create(
                {
                    "channel_id": self.channel_email.id,
                    "queue_id": self.queue_claims.id,
                    "agent_id": self.agent_sales.id,
                }
            )
        # the supervisor too goes through her actions (assign, pick, transfer)
        with self.assertRaises(AccessError):
            call.with_user(self.supervisor_sales).write({"agent_id": self.agent_b.id})
        self.assertEqual(self._snapshot(call), before)
        self.assertEqual(self._presence(self.a_b), presence_b)
        self.assertFalse(
            self.env["omnichannel.interaction"].search([("agent_id", "=", self.agent_b.id)])
        )
        # the transfer is the way, with its checks
        call.action_transfer_agent(self.agent_b.id)
        self.assertEqual(
            call.sudo().offer_ids.filtered(lambda o: o.state == "pending").user_id, self.agent_b
        )

    def test_h3_agent_cannot_requeue_outside_transfer(self):
        call = self._active_call("h3-requeue")
        before, presence = self._snapshot(call), self._presence(self.a_sales)
        for vals in ({"state": "queued", "agent_id": False}, {"state": "queued"}):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                call.write(vals)
        with self.assertRaises(UserError):
            call.action_queue()
        self.assertEqual(self._snapshot(call), before)
        self.assertEqual(self._presence(self.a_sales), presence)

    def test_h3_agent_still_handles_her_call(self):
        Interaction = self.env["omnichannel.interaction"].with_user(self.agent_sales)
        waiting = Interaction.browse(
            self._inbound("h3-handle", "+48 509 333 444")["interaction_id"]
        )
        self.assertEqual(waiting.sudo().state, "queued")
        waiting.action_answer()
        call = waiting
        self.assertEqual((call.state, call.agent_id), ("active", self.agent_sales))
        call.action_hold()
        self.assertTrue(call.is_on_hold)
        call.action_resume()
        self.assertFalse(call.is_on_hold)
        call.write(
            {"notes": "Wants an offer", "subject": "Offer", "disposition_id": self.resolved.id}
        )
        # a case she may read: her own, new for this customer
        case = (
            self.env["omnichannel.case"]
            .with_user(self.agent_sales)
            .create({"subject": "Offer", "partner_id": self.customer_plain.id})
        )
        call.case_id = case
        call.partner_id = self.customer_plain
        self.assertEqual(call.case_id, case)
        # the customer's open case of a colleague, in her queue, from the console's list
        colleague_case = self._claims_case(self.customer_plain, self.queue_sales)
        call.action_console_link_case(colleague_case.id)
        self.assertEqual(call.case_id, colleague_case)
        call.action_end()
        self.assertEqual(call.state, "wrapup")
        call.action_console_close(self.resolved.id, "Offer sent")
        self.assertEqual(call.state, "done")
        self.assertEqual(call.notes, "Offer sent")
        self.assertTrue(call.date_closed)
        # and makes an outbound interaction of her own, as the form does
        outbound = Interaction.create(
            {
                "channel_id": self.channel_phone.id,
                "queue_id": self.queue_sales.id,
                "direction": "outbound",
                "partner_id": self.customer_plain.id,
                "agent_id": self.agent_sales.id,
                "state": "new",
                "priority": 0,
                "date_queued": False,
            }
        )
        outbound.action_answer()
        self.assertEqual((outbound.state, outbound.agent_id), ("active", self.agent_sales))

    def test_h3_manager_corrects_fields_but_not_the_state_machine(self):
        call = self._active_call("h3-manager")
        as_manager = call.with_user(self.manager)
        as_manager.write({"priority": 5, "agent_id": self.agent_b.id})
        self.assertEqual((as_manager.priority, as_manager.agent_id), (5, self.agent_b))
        with self.assertRaises(UserError):
            as_manager.write({"state": "new"})
        with self.assertRaises(AccessError):
            as_manager.write({"invoice_id": self.invoice.id})  # no accounting rights
        self.assertEqual(self._snapshot(call)["state"], "active")
        self.assertFalse(self._snapshot(call)["invoice_id"])

    def test_h3_form_shows_the_contact_center_fields_read_only_to_agents(self):
        call = self._active_call("h3-form")
        with Form(call.with_user(self.agent_sales)) as form:
            for fname in ("queue_id", "agent_id", "priority", "channel_id", "direction"):
                with self.assertRaises(AssertionError, msg=fname):
                    setattr(form, fname, False)
            form.notes = "Customer asked for the policy number"
        self.assertEqual(call.notes, "Customer asked for the policy number")
        with Form(call.with_user(self.manager)) as form:
            form.priority = 3
        self.assertEqual(call.priority, 3)
