from odoo.tests import HttpCase, tagged

from .common import OmnichannelSurveyCommon


@tagged("post_install", "-at_install")
class TestSurveyTour(OmnichannelSurveyCommon, HttpCase):
    def test_customer_answers_then_supervisor_follows_up(self):
        customer = self._new_customer("Tour Customer")
        interaction = self._closed(partner=customer)
        invitation = self._invitation(interaction)
        self.Invitation._cron_send()
        mail = self.env["mail.mail"].search(
            [("model", "=", invitation._name), ("res_id", "=", invitation.id)]
        )
        # the customer follows the link of the e-mail
        url = invitation.get_answer_url()
        self.assertIn(url, mail.body_html)
        self.start_tour(
            url.replace(invitation.get_base_url(), ""), "omnichannel_cc_survey_answer_tour"
        )
        self.assertEqual(invitation.state, "answered")
        self.assertEqual(interaction.satisfaction_value, 3)
        self.assertEqual(invitation.followup_state, "open")
        self.assertEqual(invitation.followup_activity_id.user_id, self.supervisor)
        # the queue's supervisor records the outcome
        self.start_tour(
            "/odoo/action-omnichannel_cc_survey.omnichannel_survey_invitation_action",
            "omnichannel_cc_survey_followup_tour",
            login="survey_supervisor",
        )
        self.assertEqual(invitation.followup_state, "done")
        self.assertEqual(invitation.followup_outcome, "Called back, parcel re-sent")
        self.assertFalse(invitation.followup_activity_id.exists())
