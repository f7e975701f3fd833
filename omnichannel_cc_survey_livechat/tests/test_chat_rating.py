from odoo.tests import tagged

from odoo.addons.omnichannel_cc_livechat.tests.test_channel_chat import ChatCommon


@tagged("post_install", "-at_install")
class TestChatRating(ChatCommon):
    """The visitor rates the chat through im_livechat's own route."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer_contact.email = "jan.testowy@example.com"
        cls.queue_sales.satisfaction_kind = "csat"
        cls.Invitation = cls.env["omnichannel.survey.invitation"]

    def _closed_chat(self):
        self._available(self.agent_sales)
        self.authenticate("occ_chat_portal", "occ_chat_portal")
        session = self._session()
        self._post(session, "Hello")
        interaction = self._interaction(session)
        interaction.offer_ids.with_user(self.agent_sales).action_accept()
        interaction.with_user(self.agent_sales).action_end()
        interaction.with_user(self.agent_sales).action_close()
        self.assertEqual(interaction.state, "done")
        return session, interaction

    def _feedback(self, session, rate, reason):
        return self.make_jsonrpc_request(
            "/im_livechat/feedback", {"channel_id": session.id, "rate": rate, "reason": reason}
        )

    def _invitation_mails(self, invitation):
        return self.env["mail.mail"].search(
            [("model", "=", invitation._name), ("res_id", "=", invitation.id)]
        )

    def test_rating_is_the_csat_answer_once(self):
        session, interaction = self._closed_chat()
        invitation = self.Invitation.search([("interaction_id", "=", interaction.id)])
        self.assertEqual((invitation.kind, invitation.state), ("csat", "scheduled"))
        rating_id = self._feedback(session, 1, "Too slow")
        self.assertEqual(
            (
                interaction.satisfaction_kind,
                interaction.satisfaction_value,
                interaction.satisfaction_comment,
            ),
            ("csat", 1, "Too slow"),
        )
        self.assertEqual((invitation.state, invitation.answer_channel), ("answered", "chat"))
        self.assertEqual(invitation.rating_id.id, rating_id)
        self.assertTrue(invitation.is_detractor)
        # a second feedback rewrites im_livechat's rating, not the answer
        self.assertEqual(self._feedback(session, 5, "Fine after all"), rating_id)
        self.assertEqual((interaction.satisfaction_value, invitation.value), (1, 1))
        self.assertEqual(self.Invitation.search_count([("interaction_id", "=", interaction.id)]), 1)
        # no second rating of the same chat on the interaction
        self.assertFalse(
            self.env["rating.rating"].search(
                [("res_model", "=", "omnichannel.interaction"), ("res_id", "=", interaction.id)]
            )
        )
        # the invitation is answered: the cron e-mails nothing
        self.Invitation._cron_send()
        self.assertEqual(invitation.state, "answered")
        self.assertFalse(invitation.send_channel)
        self.assertFalse(
            self._invitation_mails(invitation).filtered(lambda m: m._name == "mail.mail")
        )

    def test_nps_queue_stores_the_csat_answer(self):
        self.queue_sales.satisfaction_kind = "nps"
        session, interaction = self._closed_chat()
        invitation = self.Invitation.search([("interaction_id", "=", interaction.id)])
        self.assertEqual((invitation.kind, invitation.state), ("nps", "scheduled"))
        self._feedback(session, 5, "")
        self.assertEqual((invitation.kind, invitation.state), ("csat", "answered"))
        self.assertEqual(
            (interaction.satisfaction_kind, interaction.satisfaction_value), ("csat", 5)
        )
        self.Invitation._cron_send()
        self.assertFalse(invitation.send_channel)
        self.assertFalse(self._invitation_mails(invitation))

    def test_queue_without_survey_keeps_the_rating_only(self):
        self.queue_sales.satisfaction_kind = False
        session, interaction = self._closed_chat()
        self._feedback(session, 5, "")
        self.assertTrue(session.rating_ids)
        self.assertFalse(interaction.satisfaction_kind)
        self.assertFalse(self.Invitation.search([("interaction_id", "=", interaction.id)]))

    def test_survey_already_emailed_keeps_its_measure(self):
        self.queue_sales.satisfaction_kind = "nps"
        session, interaction = self._closed_chat()
        invitation = self.Invitation.search([("interaction_id", "=", interaction.id)])
        self.Invitation._cron_send()
        self.assertEqual((invitation.state, invitation.send_channel), ("sent", "email"))
        self._feedback(session, 3, "")
        self.assertEqual((invitation.kind, invitation.state), ("nps", "sent"))
        self.assertFalse(interaction.satisfaction_kind)
        self.assertIn("rated the chat 3 of 5", interaction.message_ids[0].body)
