from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import OmnichannelSurveyCommon


@tagged("post_install", "-at_install")
class TestSurveyAccess(OmnichannelSurveyCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_queue = cls.env["omnichannel.queue"].create(
            {
                "name": "Billing",
                "member_ids": [(6, 0, cls.other_agent.ids)],
                "supervisor_ids": [(6, 0, cls.other_supervisor.ids)],
                "satisfaction_kind": "csat",
                "survey_id": cls.env.ref("omnichannel_cc_survey.survey_survey_csat").id,
            }
        )
        cls.mine = cls._create_interaction(partner=cls._new_customer("Alice"))
        cls.theirs = cls._create_interaction(
            partner=cls._new_customer("Bob"), queue=cls.other_queue, agent_id=cls.other_agent.id
        )
        (cls.mine | cls.theirs).action_close()
        invitations = cls.env["omnichannel.survey.invitation"].search(
            [("interaction_id", "in", (cls.mine | cls.theirs).ids)]
        )
        invitations._cron_send()
        for invitation in invitations:
            invitation._record_answer(5 if invitation.kind == "csat" else 2)
        cls.env.flush_all()

    def _visible(self, user, model):
        records = self.env[model].with_user(user).search([])
        return set(records.mapped("interaction_id").ids) & {self.mine.id, self.theirs.id}

    def test_agent_sees_own_scores(self):
        for model in ("omnichannel.survey.report", "omnichannel.survey.invitation"):
            self.assertEqual(self._visible(self.agent, model), {self.mine.id})
            self.assertEqual(self._visible(self.other_agent, model), {self.theirs.id})

    def test_supervisor_sees_their_queues(self):
        for model in ("omnichannel.survey.report", "omnichannel.survey.invitation"):
            self.assertEqual(self._visible(self.supervisor, model), {self.mine.id})
            self.assertEqual(self._visible(self.other_supervisor, model), {self.theirs.id})

    def test_manager_sees_all(self):
        for model in ("omnichannel.survey.report", "omnichannel.survey.invitation"):
            self.assertEqual(self._visible(self.manager, model), {self.mine.id, self.theirs.id})

    def test_agent_cannot_change_or_follow_up(self):
        invitation = self._invitation(self.mine).with_user(self.agent)
        self.assertEqual(invitation.followup_state, "open")
        with self.assertRaises(AccessError):
            invitation.write({"followup_outcome": "nothing"})
        with self.assertRaises(AccessError):
            invitation.action_followup_done("nothing")
        # the other queue's supervisor cannot close it either
        with self.assertRaises(AccessError):
            self._invitation(self.mine).with_user(self.other_supervisor).action_followup_done("x")

    def test_report_scores(self):
        report = self.env["omnichannel.survey.report"].with_user(self.manager)
        groups = report.read_group(
            [("interaction_id", "in", (self.mine | self.theirs).ids)],
            ["nps_score:avg", "csat_score:avg", "response_rate:avg", "nbr_answered:sum"],
            ["kind"],
        )
        by_kind = {group["kind"]: group for group in groups}
        self.assertEqual(by_kind["nps"]["nps_score"], -100.0)
        self.assertEqual(by_kind["csat"]["csat_score"], 100.0)
        self.assertEqual(by_kind["csat"]["response_rate"], 100.0)
        self.assertEqual(by_kind["nps"]["nbr_answered"], 1)

    def test_agent_record_shows_own_scores(self):
        agents = self.env["omnichannel.agent"]
        mine = agents.search([("user_id", "=", self.agent.id)]) or agents.create(
            {"user_id": self.agent.id}
        )
        mine.invalidate_recordset()
        self.assertEqual(mine.with_user(self.manager).satisfaction_count, 1)
        self.assertEqual(mine.satisfaction_nps, -100.0)
        self.assertEqual(mine.satisfaction_csat, 0.0)
        action = mine.action_open_satisfaction()
        self.assertEqual(action["domain"], [("agent_id", "=", self.agent.id)])
