import xmlrpc.client
from contextlib import contextmanager

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged, users

from .common import OmnichannelCommon


class ScriptCommon(OmnichannelCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.script = cls.env["omnichannel.script"].create(
            {
                "name": "Motor claim",
                "step_ids": [
                    Command.create(
                        {"sequence": 10, "name": "Greeting", "text": "<p>Hi {customer}</p>"}
                    ),
                    Command.create(
                        {
                            "sequence": 20,
                            "name": "Vehicle",
                            "answer_type": "choice",
                            "required": True,
                            "choice_ids": [
                                Command.create({"name": "Car"}),
                                Command.create({"name": "Truck"}),
                            ],
                        }
                    ),
                    Command.create(
                        {
                            "sequence": 30,
                            "name": "Injured",
                            "answer_type": "yes_no",
                            "required": True,
                        }
                    ),
                    Command.create(
                        {
                            "sequence": 40,
                            "name": "How many",
                            "answer_type": "number",
                            "required": True,
                        }
                    ),
                    Command.create(
                        {
                            "sequence": 50,
                            "name": "Tonnage",
                            "answer_type": "number",
                            "required": True,
                        }
                    ),
                    Command.create({"sequence": 55, "name": "Heavy vehicle"}),
                    Command.create(
                        {"sequence": 60, "name": "Date", "answer_type": "date", "required": True}
                    ),
                    Command.create({"sequence": 70, "name": "Notes", "answer_type": "text"}),
                ],
            }
        )
        steps = {s.name: s for s in cls.script.step_ids}
        cls.steps = steps
        truck = steps["Vehicle"].choice_ids.filtered(lambda c: c.name == "Truck")
        Branch = cls.env["omnichannel.script.branch"]
        for vals in (
            (steps["Vehicle"], "choice", steps["Tonnage"], {"choice_id": truck.id}),
            (steps["Injured"], "yes", steps["How many"], {}),
            (steps["Injured"], "no", steps["Date"], {}),
            (steps["How many"], "any", steps["Date"], {}),
            (steps["Tonnage"], "gte", steps["Heavy vehicle"], {"min_value": 12}),
            (steps["Tonnage"], "any", steps["Date"], {}),
        ):
            step, condition, target, extra = vals
            Branch.create(
                dict(
                    extra,
                    step_id=step.id,
                    condition=condition,
                    next_step_id=target.id,
                    sequence=len(step.branch_ids) + 1,
                )
            )
        cls.queue_claims.script_id = cls.script
        cls.agent_sales2 = new_test_user(
            cls.env,
            "occ_agent_sales2",
            groups="omnichannel_cc.group_omnichannel_agent",
            name="Other Sales",
        )

    @classmethod
    def _claim(cls, external_id, agent=None):
        Interaction = cls.env["omnichannel.interaction"]
        interaction = Interaction.browse(
            cls._inbound(external_id, "jan.testowy@tartak-test.example", channel=cls.channel_email)[
                "interaction_id"
            ]
        )
        interaction.write({"agent_id": (agent or cls.agent_claims).id, "state": "active"})
        return interaction


@tagged("post_install", "-at_install")
class TestScript(ScriptCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.claim = cls._claim("script-1")
        cls.sale = cls.env["omnichannel.interaction"].browse(
            cls._inbound("script-s1", "+48609876543")["interaction_id"]
        )
        cls.sale.write({"agent_id": cls.agent_sales.id, "state": "active"})

    @contextmanager
    def _refused(self, exception, text):
        # assertRaises (not assertRaisesRegex) rolls back to a savepoint
        with self.assertRaises(exception) as caught:
            yield
        self.assertIn(text, str(caught.exception))

    def _mine(self, interaction=None):
        return self.env["omnichannel.interaction"].browse((interaction or self.claim).id)

    def _no_none(self, value):
        if isinstance(value, dict):
            for item in value.values():
                self._no_none(item)
        elif isinstance(value, list):
            for item in value:
                self._no_none(item)
        else:
            self.assertIsNotNone(value)

    def test_script_chosen_by_queue(self):
        self.assertEqual(self.claim.script_id, self.script)
        self.assertFalse(self.sale.script_id)
        # moved to a queue with another script before answering: follows the new queue
        other = self.script.copy()
        self.queue_sales.script_id = other
        self.claim.queue_id = self.queue_sales
        self.assertEqual(self.claim.script_id, other)
        self.claim.queue_id = self.queue_claims
        self.assertEqual(self.claim.script_id, self.script)
        # once answering started, the script stays
        self.claim.script_answer(self.steps["Greeting"].id)
        self.claim.queue_id = self.queue_sales
        self.assertEqual(self.claim.script_id, self.script)
        # archived scripts are not chosen
        other.active = False
        self.queue_claims.script_id = other
        self.assertFalse(self._claim("script-3").script_id)

    @users("occ_agent_claims")
    def test_agent_runs_script_through_branches(self):
        claim, steps = self._mine(), self.steps
        state = claim.script_current_step()
        self._no_none(state)
        self.assertEqual(state["step_id"], steps["Greeting"].id)
        self.assertIn("Hi Jan Testowy", state["text"])
        self.assertFalse(state["can_go_back"])
        state = claim.script_answer(steps["Greeting"].id)
        self.assertEqual(state["step_id"], steps["Vehicle"].id)
        self.assertEqual([c["name"] for c in state["choices"]], ["Car", "Truck"])
        state = claim.script_answer(steps["Vehicle"].id, "Truck")
        self.assertEqual(state["step_id"], steps["Tonnage"].id)
        state = claim.script_answer(steps["Tonnage"].id, "18")
        self.assertEqual(state["step_id"], steps["Heavy vehicle"].id)
        self.assertEqual(state["progress"]["position"], 4)
        state = claim.script_answer(steps["Heavy vehicle"].id, False)
        self.assertEqual(state["step_id"], steps["Date"].id)
        state = claim.script_answer(steps["Date"].id, "2025-03-01")
        state = claim.script_answer(steps["Notes"].id, "Naczepa uszkodzona")
        self._no_none(state)
        self.assertTrue(state["done"])
        self.assertEqual(state["progress"]["percent"], 100)
        self.assertTrue(claim.script_done)
        self.assertEqual(
            [(a["question"], a["value"]) for a in state["answers"]],
            [
                ("Greeting", ""),
                ("Vehicle", "Truck"),
                ("Tonnage", "18"),
                ("Heavy vehicle", ""),
                ("Date", "2025-03-01"),
                ("Notes", "Naczepa uszkodzona"),
            ],
        )
        answers = claim.script_answer_ids
        self.assertEqual(len(answers), 6)
        self.assertEqual(set(answers.answered_by.ids), {self.env.uid})
        self.assertEqual(answers.filtered(lambda a: a.question == "Tonnage").value_number, 18)

    @users("occ_agent_claims")
    def test_back_and_change_reroutes(self):
        claim, steps = self._mine(), self.steps
        claim.script_answer(steps["Greeting"].id)
        claim.script_answer(steps["Vehicle"].id, "Car")
        claim.script_answer(steps["Injured"].id, "yes")
        state = claim.script_answer(steps["How many"].id, 2)
        self.assertEqual(state["step_id"], steps["Date"].id)
        state = claim.script_back()
        self.assertEqual(state["step_id"], steps["How many"].id)
        self.assertEqual(state["answer"]["value"], 2.0)
        claim.script_back()
        state = claim.script_back()
        self.assertEqual(state["step_id"], steps["Vehicle"].id)
        self.assertEqual(state["answer"]["display"], "Car")
        # answering again changes the answer; the Car questions are off the way now
        state = claim.script_answer(steps["Vehicle"].id, "Truck")
        self.assertEqual(state["step_id"], steps["Tonnage"].id)
        self.assertEqual(claim.script_answer_ids.mapped("question"), ["Greeting", "Vehicle"])
        self.assertEqual(claim.script_answer_ids[1].value_display, "Truck")
        state = claim.script_answer(steps["Tonnage"].id, "7,5")
        self.assertEqual(state["step_id"], steps["Date"].id)

    @users("occ_agent_claims")
    def test_wrong_answers_change_nothing(self):
        claim, steps = self._mine(), self.steps
        claim.script_answer(steps["Greeting"].id)
        claim.script_answer(steps["Vehicle"].id, "Truck")
        before = claim.script_current_step()
        for step, value, error in (
            (steps["Tonnage"], "dużo", ValidationError),
            (steps["Tonnage"], "", ValidationError),
            (steps["Vehicle"], "Bicycle", ValidationError),
            (steps["Date"], "2025-03-01", UserError),  # not on the way yet
            (steps["Injured"], "yes", UserError),  # off the way (Truck)
        ):
            with self.subTest(step=step.name, value=value), self.assertRaises(error):
                claim.script_answer(step.id, value)
        self.assertEqual(claim.script_current_step(), before)
        self.assertEqual(len(claim.script_answer_ids), 2)
        self.assertEqual(claim.script_answer_ids[1].value_display, "Truck")

    @users("occ_agent_claims")
    def test_answers_are_searchable(self):
        claim, steps = self._mine(), self.steps
        claim.script_answer(steps["Greeting"].id)
        claim.script_answer(steps["Vehicle"].id, "truck")
        claim.script_answer(steps["Tonnage"].id, "24")
        Interaction = self.env["omnichannel.interaction"]
        self.assertEqual(
            Interaction.search([("script_answer_ids.value_display", "ilike", "Truck")]), claim
        )
        self.assertFalse(Interaction.search([("script_answer_ids.value_display", "=", "Car")]))
        answers = self.env["omnichannel.script.answer"].search(
            [("script_id", "=", self.script.id), ("value_number", ">=", 20)]
        )
        self.assertEqual(answers.interaction_id, claim)

    @users("occ_agent_claims")
    def test_agent_answers_only_interactions_they_can_access(self):
        claim = self._mine()
        claim.script_answer(self.steps["Greeting"].id)
        # an interaction of the sales queue: not theirs
        sale = self.env["omnichannel.interaction"].browse(self.sale.id)
        with self.assertRaises(AccessError):
            sale.script_current_step()
        with self.assertRaises(AccessError):
            sale.script_answer(self.steps["Greeting"].id)
        other_answers = self.env["omnichannel.script.answer"].search([])
        self.assertEqual(other_answers.interaction_id, claim)
        # scripts are read-only for agents
        script = self.env["omnichannel.script"].browse(self.script.id)
        self.assertEqual(script.name, "Motor claim")
        with self.assertRaises(AccessError):
            script.name = "Renamed"
        with self.assertRaises(AccessError):
            self.env["omnichannel.script.answer"].browse(claim.script_answer_ids.ids).unlink()

    def test_other_agent_cannot_answer_and_closed_is_locked(self):
        claim = self._claim("script-4", agent=self.agent_sales)
        with self.assertRaises(AccessError):
            claim.with_user(self.agent_claims).script_answer(self.steps["Greeting"].id)
        claim.with_user(self.agent_sales).script_answer(self.steps["Greeting"].id)
        claim.action_close()
        with self.assertRaises(UserError):
            claim.with_user(self.agent_sales).script_back()
        # the queue's supervisor may still correct it
        self.queue_claims.supervisor_ids = self.supervisor_sales
        state = claim.with_user(self.supervisor_sales).script_back()
        self.assertEqual(state["step_id"], self.steps["Greeting"].id)

    def test_supervisor_edits_scripts(self):
        # the script of a queue she supervises (test_security: not of others)
        self.queue_claims.supervisor_ids = self.supervisor_sales
        script = self.script.with_user(self.supervisor_sales)
        script.step_ids[-1].name = "Additional notes"
        self.assertEqual(self.script.step_ids[-1].name, "Additional notes")
        # moving every step at once is judged once, at the end
        steps = script.step_ids
        script.write(
            {
                "step_ids": [
                    Command.update(step.id, {"sequence": 100 + step.sequence}) for step in steps
                ]
            }
        )
        self.assertEqual(script.step_ids, steps)

    def test_invalid_scripts_are_refused(self):
        steps = self.steps
        Branch = self.env["omnichannel.script.branch"]
        with self._refused(ValidationError, "loops back"):
            Branch.create(
                {
                    "step_id": steps["Date"].id,
                    "condition": "any",
                    "next_step_id": steps["Vehicle"].id,
                }
            )
        with self._refused(ValidationError, "never be reached"):
            # Heavy vehicle is only reached from Tonnage's first branch
            steps["Tonnage"].branch_ids[0].unlink()
        with self._refused(ValidationError, "not in this script"):
            Branch.create(
                {
                    "step_id": self.script.copy().step_ids[0].id,
                    "condition": "any",
                    "next_step_id": steps["Date"].id,
                }
            )
        with self._refused(ValidationError, "does not fit"):
            Branch.create({"step_id": steps["Notes"].id, "condition": "yes", "next_step_id": False})
        with self._refused(UserError, "lead to this step"):
            steps["Heavy vehicle"].unlink()
        self.assertEqual(len(self.script.step_ids), 8)

    def test_copy_keeps_branches_inside_the_copy(self):
        copy = self.script.copy()
        self.assertEqual(copy.name, "Motor claim (copy)")
        targets = copy.step_ids.branch_ids.next_step_id
        self.assertTrue(targets)
        self.assertEqual(targets.script_id, copy)
        self.assertEqual(copy.step_ids.branch_ids.choice_id.step_id.script_id, copy)

    def test_wizard_runs_the_script(self):
        claim = self.claim.with_user(self.agent_claims)
        action = claim.action_script_run()
        Run = self.env["omnichannel.script.run"].with_user(self.agent_claims)
        wizard = Run.browse(action["res_id"])
        self.assertEqual(wizard.step_id, self.steps["Greeting"])
        wizard = Run.browse(wizard.action_next()["res_id"])
        self.assertEqual(wizard.answer_type, "choice")
        wizard.choice_id = self.steps["Vehicle"].choice_ids[0]  # Car
        wizard = Run.browse(wizard.action_next()["res_id"])
        self.assertEqual(wizard.step_id, self.steps["Injured"])
        wizard.value_yes_no = "no"
        wizard = Run.browse(wizard.action_next()["res_id"])
        self.assertEqual(wizard.step_id, self.steps["Date"])
        wizard = Run.browse(wizard.action_back()["res_id"])
        self.assertEqual(wizard.value_yes_no, "no")  # the previous answer is shown
        self.assertEqual(len(claim.script_answer_ids), 3)


@tagged("post_install", "-at_install")
class TestScriptUi(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent = new_test_user(
            cls.env,
            "occ_script_tour_agent",
            groups="omnichannel_cc.group_omnichannel_agent",
            name="Script Agent",
        )
        script = cls.env["omnichannel.script"].create(
            {
                "name": "Tour claim intake",
                "step_ids": [
                    Command.create(
                        {
                            "sequence": 10,
                            "name": "Type of loss",
                            "answer_type": "choice",
                            "required": True,
                            "text": "<p>Good morning {customer}, what happened?</p>",
                            "choice_ids": [
                                Command.create({"name": "Motor"}),
                                Command.create({"name": "Home"}),
                            ],
                        }
                    ),
                    Command.create(
                        {"sequence": 20, "name": "Registration number", "answer_type": "text"}
                    ),
                    Command.create(
                        {"sequence": 30, "name": "Estimated loss", "answer_type": "number"}
                    ),
                ],
            }
        )
        first, registration, loss = script.step_ids
        cls.env["omnichannel.script.branch"].create(
            [
                {
                    "step_id": first.id,
                    "condition": "choice",
                    "choice_id": first.choice_ids[1].id,
                    "next_step_id": loss.id,
                },
                {"step_id": registration.id, "condition": "any", "next_step_id": False},
            ]
        )
        queue = cls.env["omnichannel.queue"].create(
            {
                "name": "Script tour queue",
                "member_ids": [Command.set(cls.agent.ids)],
                "script_id": script.id,
            }
        )
        channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Script tour mail",
                "channel_type": "email",
                "address": "script-tour@example.com",
                "queue_id": queue.id,
            }
        )
        partner = cls.env["res.partner"].create({"name": "Ewa Tour"})
        cls.interaction = cls.env["omnichannel.interaction"].create(
            {
                "channel_id": channel.id,
                "queue_id": queue.id,
                "partner_id": partner.id,
                "subject": "Zalane mieszkanie",
                "agent_id": cls.agent.id,
                "state": "active",
            }
        )

    def test_agent_runs_script_in_wizard(self):
        self.assertTrue(self.interaction.script_id)
        self.start_tour(
            f"/odoo/action-omnichannel_cc.omnichannel_interaction_action/{self.interaction.id}",
            "omnichannel_cc_script_tour",
            login="occ_script_tour_agent",
        )
        self.interaction.invalidate_recordset()
        answers = self.interaction.script_answer_ids
        self.assertEqual(answers.mapped("value_display"), ["Home", "12500"])
        self.assertTrue(self.interaction.script_done)
        self.assertEqual(answers.answered_by, self.agent)

    def test_script_over_xmlrpc(self):
        db, login = self.env.cr.dbname, "occ_script_tour_agent"
        uid = self.xmlrpc_common.authenticate(db, login, login, {})

        def call(method, *args):
            return self.xmlrpc_object.execute_kw(
                db, uid, login, "omnichannel.interaction", method, [[self.interaction.id], *args]
            )

        state = call("script_current_step")
        self.assertEqual((state["title"], state["answer"]), ("Type of loss", False))
        motor = state["choices"][0]["id"]
        with self.assertRaises(xmlrpc.client.Fault):
            call("script_answer", state["step_id"], "Bicycle")
        state = call("script_answer", state["step_id"], motor)
        self.assertEqual(state["title"], "Registration number")
        self.assertEqual(state["progress"]["percent"], 50)
        state = call("script_answer", state["step_id"], "WX 12345")
        self.assertTrue(state["done"])
        self.assertEqual([a["value"] for a in state["answers"]], ["Motor", "WX 12345"])
        state = call("script_back")
        self.assertEqual(state["answer"]["value"], "WX 12345")
