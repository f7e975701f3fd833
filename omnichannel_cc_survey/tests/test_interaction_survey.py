from psycopg2 import IntegrityError

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import OmnichannelSurveyCommon


@tagged("post_install", "-at_install")
class TestInteractionSurvey(OmnichannelSurveyCommon):
    def test_close_creates_one_answer(self):
        interaction = self._create_interaction()
        self.assertFalse(interaction.survey_user_input_id)
        interaction.with_user(self.agent).action_close()
        self.assertEqual(interaction.state, "done")
        answer = interaction.survey_user_input_id
        self.assertTrue(answer)
        self.assertEqual(answer.survey_id, self.survey)
        self.assertEqual(answer.partner_id, self.customer)
        self.assertEqual(answer.omnichannel_interaction_id, interaction)
        self.assertEqual(answer.state, "new")
        self.assertEqual(self._answers(interaction), answer)

    def test_closing_twice_makes_one_answer(self):
        interaction = self._create_interaction()
        interaction.action_close()
        answer = interaction.survey_user_input_id
        with self.assertRaises(UserError):
            interaction.action_close()
        # a write of the state goes through the state machine too: refused
        with self.assertRaises(UserError):
            interaction.write({"state": "done"})
        self.assertEqual(self._answers(interaction), answer)
        self.assertEqual(interaction.survey_user_input_id, answer)

    def test_closing_many_at_once(self):
        first = self._create_interaction()
        second = self._create_interaction()
        (first | second).action_close()
        self.assertEqual(len(self._answers(first)), 1)
        self.assertEqual(len(self._answers(second)), 1)
        self.assertNotEqual(first.survey_user_input_id, second.survey_user_input_id)

    def test_no_survey_when_queue_has_none(self):
        interaction = self._create_interaction(queue=self.queue_without_survey)
        interaction.action_close()
        self.assertEqual(interaction.state, "done")
        self.assertFalse(interaction.survey_user_input_id)
        self.assertFalse(self._answers(interaction))

    def test_no_survey_without_customer(self):
        interaction = self._create_interaction(partner=self.env["res.partner"])
        interaction.action_close()
        self.assertFalse(self._answers(interaction))

    def test_no_survey_before_done(self):
        interaction = self._create_interaction()
        interaction.action_end()
        self.assertEqual(interaction.state, "wrapup")
        self.assertFalse(self._answers(interaction))
        interaction.action_close()
        self.assertEqual(len(self._answers(interaction)), 1)

    def test_email_is_queued_with_start_url(self):
        interaction = self._create_interaction()
        interaction.with_user(self.agent).action_close()
        answer = interaction.survey_user_input_id
        mail = self.env["mail.mail"].search(
            [("model", "=", "survey.user_input"), ("res_id", "=", answer.id)]
        )
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail.state, "outgoing")
        self.assertEqual(mail.recipient_ids, self.customer)
        self.assertIn(self.survey.title, mail.subject)
        self.assertIn(answer.get_start_url(), mail.body_html)
        self.assertIn(answer.access_token, mail.body_html)
        self.assertIn("contact-center@example.com", mail.email_from)
        # and the interaction's chatter says so
        self.assertIn("e-mailed", interaction.message_ids[0].body)

    def test_customer_without_email(self):
        no_email = self.env["res.partner"].create({"name": "Phone-only customer"})
        interaction = self._create_interaction(partner=no_email)
        interaction.action_close()
        answer = interaction.survey_user_input_id
        self.assertTrue(answer)
        self.assertFalse(
            self.env["mail.mail"].search(
                [("model", "=", "survey.user_input"), ("res_id", "=", answer.id)]
            )
        )
        self.assertIn("no e-mail address", interaction.message_ids[0].body)

    def test_archived_survey_does_not_block_closing(self):
        self.survey.active = False
        interaction = self._create_interaction()
        with mute_logger("odoo.addons.omnichannel_cc_survey.models.omnichannel_interaction"):
            interaction.action_close()
        self.assertEqual(interaction.state, "done")
        self.assertFalse(interaction.survey_user_input_id)
        self.assertIn("could not be sent", interaction.message_ids[0].body)

    def test_database_refuses_second_answer(self):
        interaction = self._create_interaction()
        interaction.action_close()
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.survey._create_answer(
                partner=self.customer,
                check_attempts=False,
                omnichannel_interaction_id=interaction.id,
            )
            self.env.flush_all()

    def test_completed_answer_is_noted_on_interaction(self):
        interaction = self._create_interaction()
        interaction.action_close()
        interaction.survey_user_input_id._mark_done()
        self.assertEqual(interaction.survey_state, "done")
        self.assertIn("answered the satisfaction survey", interaction.message_ids[0].body)

    def test_agent_form_shows_survey_status_only(self):
        """Agents have no survey rights: the form hides the answer, not its status."""
        arch = (
            self.env["omnichannel.interaction"]
            .with_user(self.agent)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertIn('name="survey_state"', arch)
        self.assertNotIn('name="survey_user_input_id"', arch)
        interaction = self._create_interaction()
        interaction.action_close()
        self.assertEqual(interaction.with_user(self.agent).survey_state, "new")
