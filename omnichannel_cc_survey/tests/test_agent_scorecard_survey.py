from datetime import datetime

from odoo.exceptions import AccessError
from odoo.tests import freeze_time, tagged

from .common import OmnichannelSurveyCommon

NOON = datetime(2026, 3, 10, 12, 0)
SURVEY_FIGURES = ["survey_sent:sum", "survey_answered:sum", "csat_score:avg", "nps_score:avg"]


@tagged("post_install", "-at_install")
class TestAgentScorecardSurvey(OmnichannelSurveyCommon):
    """Satisfaction on the agent scorecard equals the satisfaction analysis."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        (cls.agent | cls.other_agent).tz = "UTC"
        cls.csat_queue = cls.env["omnichannel.queue"].create(
            {
                "name": "Billing",
                "member_ids": [(6, 0, (cls.agent | cls.other_agent).ids)],
                "supervisor_ids": [(6, 0, cls.supervisor.ids)],
                "satisfaction_kind": "csat",
                "survey_id": cls.env.ref("omnichannel_cc_survey.survey_survey_csat").id,
            }
        )
        answers = [
            (cls.agent, cls.csat_queue, 5),
            (cls.agent, cls.csat_queue, 4),
            (cls.agent, cls.csat_queue, 2),
            (cls.agent, cls.csat_queue, None),  # asked, not answered
            (cls.agent, cls.queue, 10),  # an NPS answer: no CSAT
            (cls.other_agent, cls.csat_queue, 1),
        ]
        interactions = cls.env["omnichannel.interaction"]
        with freeze_time(NOON):
            for number, (user, queue, value) in enumerate(answers):
                interaction = cls._create_interaction(
                    queue=queue, partner=cls._new_customer(f"Scorecard {number}"), agent_id=user.id
                )
                interaction.action_close()
                invitation = cls.env["omnichannel.survey.invitation"].search(
                    [("interaction_id", "=", interaction.id)]
                )
                invitation._cron_send()
                if value is not None:
                    invitation._record_answer(value)
                interactions |= interaction
        cls.interactions = interactions
        cls.env.flush_all()

    def _scorecard(self, user=None):
        Scorecard = self.env["omnichannel.agent.scorecard"]
        if user:
            Scorecard = Scorecard.with_user(user)
        return {
            user: values
            for user, *values in Scorecard._read_group(
                [("user_id", "in", (self.agent | self.other_agent).ids)],
                ["user_id"],
                SURVEY_FIGURES,
            )
        }

    def test_satisfaction_equals_the_survey_report(self):
        scorecard = self._scorecard()
        report = {
            user: values
            for user, *values in self.env["omnichannel.survey.report"]._read_group(
                [("interaction_id", "in", self.interactions.ids)],
                ["agent_id"],
                ["nbr_sent:sum", "nbr_answered:sum", "csat_score:avg", "nps_score:avg"],
            )
        }
        self.assertEqual(scorecard, report)
        sent, answered, csat, nps = scorecard[self.agent]
        self.assertEqual((sent, answered), (5, 4))
        self.assertAlmostEqual(csat, 200 / 3)  # 5 and 4 of 5, 4, 2
        self.assertEqual(nps, 100.0)
        self.assertEqual(scorecard[self.other_agent][2], 0.0)

    def test_satisfaction_per_channel_and_day(self):
        rows = self.env["omnichannel.agent.scorecard"]._read_group(
            [("user_id", "=", self.agent.id), ("survey_sent", "=", 1)],
            ["date:day", "channel_type"],
            ["survey_sent:sum", "handled:sum"],
        )
        # the day the contacts were created (the transaction's clock), in the agent's zone
        day = self.interactions[0].create_date.date()
        self.assertEqual(rows, [(day, "chat", 5, 0)])

    def test_agent_sees_only_own_satisfaction(self):
        scorecard = self._scorecard(self.agent)
        self.assertEqual(set(scorecard), {self.agent})
        self.assertEqual(scorecard[self.agent][1], 4)
        others = (
            self.env["omnichannel.agent.scorecard"]
            .search([("user_id", "=", self.other_agent.id), ("survey_sent", "=", 1)])
            .with_user(self.agent)
        )
        self.assertTrue(others)
        with self.assertRaises(AccessError):
            others.read(["csat_score"])

    def test_supervisor_sees_their_team(self):
        self.assertEqual(set(self._scorecard(self.supervisor)), {self.agent, self.other_agent})
        self.assertFalse(self._scorecard(self.other_supervisor))
