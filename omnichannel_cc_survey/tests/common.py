from odoo.tests import TransactionCase, new_test_user


class OmnichannelSurveyCommon(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.env.company.email = "contact-center@example.com"
        cls.agent = new_test_user(
            cls.env,
            login="survey_agent",
            groups="omnichannel_cc.group_omnichannel_agent",
            email="survey.agent@example.com",
        )
        cls.survey = cls.env["survey.survey"].create(
            {
                "title": "How did we do?",
                "access_mode": "public",
                "question_and_page_ids": [
                    (
                        0,
                        0,
                        {
                            "title": "How satisfied are you with our answer?",
                            "question_type": "scale",
                        },
                    )
                ],
            }
        )
        cls.queue = cls.env["omnichannel.queue"].create(
            {
                "name": "Support",
                "member_ids": [(6, 0, cls.agent.ids)],
                "survey_id": cls.survey.id,
            }
        )
        cls.queue_without_survey = cls.env["omnichannel.queue"].create(
            {"name": "Collections", "member_ids": [(6, 0, cls.agent.ids)]}
        )
        cls.channel = cls.env["omnichannel.channel"].create(
            {
                "name": "Support chat",
                "channel_type": "chat",
                "address": "support-chat",
                "queue_id": cls.queue.id,
            }
        )
        cls.customer = cls.env["res.partner"].create(
            {"name": "Marie Customer", "email": "marie@example.com"}
        )

    @classmethod
    def _create_interaction(cls, queue=None, partner=None, **vals):
        return cls.env["omnichannel.interaction"].create(
            dict(
                {
                    "channel_id": cls.channel.id,
                    "queue_id": (queue or cls.queue).id,
                    "partner_id": (cls.customer if partner is None else partner).id,
                    "agent_id": cls.agent.id,
                    "state": "active",
                },
                **vals,
            )
        )

    def _answers(self, interaction):
        return self.env["survey.user_input"].search(
            [("omnichannel_interaction_id", "=", interaction.id)]
        )
