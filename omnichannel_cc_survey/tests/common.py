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
        cls.other_agent = new_test_user(
            cls.env,
            login="survey_agent2",
            groups="omnichannel_cc.group_omnichannel_agent",
            email="survey.agent2@example.com",
        )
        cls.supervisor = new_test_user(
            cls.env,
            login="survey_supervisor",
            groups="omnichannel_cc.group_omnichannel_supervisor",
            email="survey.supervisor@example.com",
        )
        cls.other_supervisor = new_test_user(
            cls.env,
            login="survey_supervisor2",
            groups="omnichannel_cc.group_omnichannel_supervisor",
        )
        cls.manager = new_test_user(
            cls.env, login="survey_manager", groups="omnichannel_cc.group_omnichannel_manager"
        )
        cls.queue = cls.env["omnichannel.queue"].create(
            {
                "name": "Support",
                "member_ids": [(6, 0, (cls.agent | cls.other_agent).ids)],
                "supervisor_ids": [(6, 0, cls.supervisor.ids)],
                "satisfaction_kind": "nps",
                "survey_id": cls.env.ref("omnichannel_cc_survey.survey_survey_nps").id,
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
        cls.Invitation = cls.env["omnichannel.survey.invitation"]

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

    @classmethod
    def _new_customer(cls, name="Customer", email=True):
        return cls.env["res.partner"].create(
            {"name": name, "email": email and f"{name.lower().replace(' ', '.')}@example.com"}
        )

    def _closed(self, **vals):
        """A closed interaction of a fresh customer (no quiet period in the way)."""
        vals.setdefault(
            "partner", self._new_customer(f"Customer {self.Invitation.search_count([])}")
        )
        interaction = self._create_interaction(**vals)
        interaction.action_close()
        return interaction

    def _invitation(self, interaction):
        return self.Invitation.search([("interaction_id", "=", interaction.id)])
