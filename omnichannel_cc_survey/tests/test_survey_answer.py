from odoo.tests import tagged

from .common import OmnichannelSurveyCommon


@tagged("post_install", "-at_install")
class TestSurveyAnswer(OmnichannelSurveyCommon):
    def _answer(self, kind, value, comment=None):
        self.queue.satisfaction_kind = kind
        self.queue.survey_id = self.env.ref(f"omnichannel_cc_survey.survey_survey_{kind}")
        interaction = self._closed()
        invitation = self._invitation(interaction)
        self.Invitation._cron_send()
        return interaction, invitation, invitation._record_answer(value, comment=comment)

    def test_nps_answer_stored_everywhere(self):
        interaction, invitation, result = self._answer("nps", 9, "Quick and kind")
        self.assertEqual(result, {"recorded": True, "status": "answered"})
        self.assertEqual(invitation.state, "answered")
        self.assertEqual(
            (interaction.satisfaction_kind, interaction.satisfaction_value), ("nps", 9)
        )
        self.assertEqual(interaction.satisfaction_comment, "Quick and kind")
        # in Odoo's survey too, done, with the score and the comment
        answer = invitation.user_input_id
        self.assertEqual(answer.state, "done")
        self.assertEqual(answer.survey_id, self.env.ref("omnichannel_cc_survey.survey_survey_nps"))
        self.assertEqual(
            answer.user_input_line_ids.filtered(
                lambda line: line.answer_type == "scale"
            ).value_scale,
            9,
        )
        self.assertIn("Quick and kind", answer.user_input_line_ids.mapped("value_text_box"))
        self.assertEqual(interaction.survey_user_input_id, answer)
        self.assertFalse(invitation.is_detractor)
        self.assertFalse(invitation.followup_state)

    def test_csat_is_a_rating_of_the_agent(self):
        interaction, invitation, _result = self._answer("csat", 4)
        rating = invitation.rating_id
        self.assertEqual(rating.rating, 4)
        self.assertEqual(rating.rated_partner_id, self.agent.partner_id)
        self.assertEqual(rating.partner_id, invitation.partner_id)
        self.assertEqual((rating.res_model, rating.res_id), (interaction._name, interaction.id))

    def test_ces_answer(self):
        interaction, invitation, _result = self._answer("ces", 6)
        self.assertEqual(interaction.satisfaction_value, 6)
        self.assertFalse(invitation.rating_id)

    def test_out_of_range_stores_nothing(self):
        self.queue.satisfaction_kind = "csat"
        interaction = self._closed()
        invitation = self._invitation(interaction)
        for bad in (0, 6, "7", "x", None):
            with self.assertRaises(ValueError):
                invitation._record_answer(bad)
        self.assertEqual(invitation.state, "scheduled")
        self.assertFalse(interaction.satisfaction_value)

    def test_answered_once(self):
        interaction, invitation, _result = self._answer("nps", 10)
        again = invitation._record_answer(2, comment="changed my mind")
        self.assertEqual(again, {"recorded": False, "status": "already_answered"})
        self.assertEqual(interaction.satisfaction_value, 10)
        self.assertEqual(
            len(
                self.env["survey.user_input"].search(
                    [("omnichannel_interaction_id", "=", interaction.id)]
                )
            ),
            1,
        )

    def test_generic_entry_point_with_idempotency_key(self):
        """The keypad / chat hook: an answer for an interaction, a key per event."""
        interaction = self._closed()
        Interaction = self.env["omnichannel.interaction"]
        result = Interaction._survey_record_answer(
            interaction.id, "nps", "8", channel="phone", idempotency_key="call-1:survey"
        )
        self.assertEqual(result["status"], "answered")
        again = Interaction._survey_record_answer(
            interaction.id, "nps", "8", channel="phone", idempotency_key="call-1:survey"
        )
        self.assertEqual(again, {"recorded": False, "status": "duplicate"})
        self.assertEqual(self._invitation(interaction).answer_channel, "phone")
        with self.assertRaises(ValueError):
            Interaction._survey_record_answer(interaction.id, "csat", 4, channel="chat")
        # without an invitation yet (a queue asking on the phone only)
        other = self._closed(queue=self.queue_without_survey)
        result = Interaction._survey_record_answer(other.id, "csat", 5, channel="chat")
        self.assertEqual(result["status"], "answered")
        self.assertEqual(other.satisfaction_value, 5)

    def test_detractor_follow_up(self):
        case = self.env["omnichannel.case"].create(
            {"subject": "Late parcel", "partner_id": self.customer.id}
        )
        self.queue.survey_exclude_open_case = False
        interaction = self._create_interaction(case_id=case.id)
        interaction.action_close()
        invitation = self._invitation(interaction)
        invitation._record_answer(3, comment="Nobody called me back")
        self.assertTrue(invitation.is_detractor)
        self.assertEqual(invitation.followup_state, "open")
        activity = invitation.followup_activity_id
        self.assertEqual(activity.user_id, self.supervisor)
        self.assertEqual((activity.res_model, activity.res_id), (interaction._name, interaction.id))
        self.assertIn("Nobody called me back", activity.note)
        self.assertIn(case.display_name, activity.note)
        # the supervisor records the outcome; the activity is done
        invitation.with_user(self.supervisor).action_followup_done("Called back, refund sent")
        self.assertEqual(invitation.followup_state, "done")
        self.assertEqual(invitation.followup_outcome, "Called back, refund sent")
        self.assertFalse(activity.exists())

    def test_queue_threshold(self):
        self.queue.survey_detractor_max = 3
        _interaction, invitation, _result = self._answer("csat", 4)
        self.assertFalse(invitation.is_detractor)
        _interaction, invitation, _result = self._answer("csat", 3)
        self.assertTrue(invitation.is_detractor)
        self.queue.survey_detractor_max = -1
        _interaction, invitation, _result = self._answer("nps", 7)
        self.assertFalse(invitation.is_detractor)
        _interaction, invitation, _result = self._answer("nps", 6)
        self.assertTrue(invitation.is_detractor)

    def test_in_channel_prompt_and_keypad_answer(self):
        """The PBX asks whether to play the survey, then posts the digits."""
        Interaction = self.env["omnichannel.interaction"]
        call = self._create_interaction(partner=self._new_customer("Caller"))
        self.assertEqual(call._survey_prompt(), {"kind": "nps", "min": 0, "max": 10})
        # an employee calling is not asked
        internal = self._create_interaction(partner=self.other_agent.partner_id)
        self.assertFalse(internal._survey_prompt())
        # out of range: nothing stored
        with self.assertRaises(ValueError):
            Interaction._survey_record_answer(call.id, None, "12", channel="phone")
        # the keypad does not know the measure: the queue's
        result = Interaction._survey_record_answer(
            call.id, None, "10", channel="phone", idempotency_key="call-7:survey"
        )
        self.assertEqual(result["status"], "answered")
        self.assertEqual((call.satisfaction_kind, call.satisfaction_value), ("nps", 10))
        # answered: not asked again, and closing it invites nobody by e-mail
        self.assertFalse(call._survey_prompt())
        call.action_close()
        self.assertEqual(self._invitation(call).state, "answered")
