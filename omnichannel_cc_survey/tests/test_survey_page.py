from odoo.tests import HttpCase, tagged

from .common import OmnichannelSurveyCommon


@tagged("post_install", "-at_install")
class TestSurveyPage(OmnichannelSurveyCommon, HttpCase):
    def setUp(self):
        super().setUp()
        self.interaction = self._closed()
        self.invitation = self._invitation(self.interaction)
        self.Invitation._cron_send()
        self.url = f"/omnichannel/survey/{self.invitation.access_token}"

    def _csrf(self, html):
        marker = 'name="csrf_token" value="'
        start = html.index(marker) + len(marker)
        return html[start : html.index('"', start)]

    def test_get_shows_question_and_records_nothing(self):
        for _i in range(3):  # a mail scanner opening the link, then the customer
            response = self.url_open(self.url)
            self.assertEqual(response.status_code, 200)
            self.assertIn("o_omnichannel_survey_form", response.text)
            self.assertIn("recommend us", response.text)
        self.assertEqual(self.invitation.state, "sent")
        self.assertFalse(self.interaction.satisfaction_value)

    def test_post_records_once(self):
        page = self.url_open(self.url).text
        token = self._csrf(page)
        response = self.url_open(
            self.url, data={"csrf_token": token, "value": "4", "comment": "Slow answer"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_omnichannel_survey_thanks", response.text)
        self.assertEqual(self.invitation.state, "answered")
        self.assertEqual(self.interaction.satisfaction_value, 4)
        self.assertEqual(self.interaction.satisfaction_comment, "Slow answer")
        # a second POST (double click, back button) changes nothing
        response = self.url_open(self.url, data={"csrf_token": token, "value": "10"})
        self.assertIn("o_omnichannel_survey_answered", response.text)
        self.assertEqual(self.interaction.satisfaction_value, 4)
        # and the page now says it is answered
        self.assertIn("o_omnichannel_survey_answered", self.url_open(self.url).text)

    def test_post_without_csrf_refused(self):
        response = self.url_open(self.url, data={"value": "9"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.invitation.state, "sent")

    def test_out_of_range_post(self):
        token = self._csrf(self.url_open(self.url).text)
        response = self.url_open(self.url, data={"csrf_token": token, "value": "11"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("o_omnichannel_survey_form", response.text)
        self.assertEqual(self.invitation.state, "sent")

    def test_unknown_and_expired(self):
        response = self.url_open("/omnichannel/survey/no-such-token")
        self.assertEqual(response.status_code, 404)
        self.assertIn("o_omnichannel_survey_unknown", response.text)
        self.invitation._set_state("expired")
        self.assertIn("o_omnichannel_survey_expired", self.url_open(self.url).text)
