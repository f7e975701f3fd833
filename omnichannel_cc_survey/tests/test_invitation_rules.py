from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..tools import satisfaction
from .common import OmnichannelSurveyCommon


@tagged("post_install", "-at_install")
class TestInvitationRules(OmnichannelSurveyCommon):
    def test_close_schedules_one_invitation_and_sends_nothing(self):
        interaction = self._create_interaction()
        interaction.with_user(self.agent).action_close()
        invitation = self._invitation(interaction)
        self.assertEqual(len(invitation), 1)
        self.assertEqual(invitation.state, "scheduled")
        self.assertEqual(invitation.kind, "nps")
        self.assertEqual(invitation.agent_id, self.agent)
        # nothing leaves in the closing request: no mail until the cron runs
        self.assertFalse(
            self.env["mail.mail"].search(
                [("model", "=", invitation._name), ("res_id", "=", invitation.id)]
            )
        )
        # chat: invited right away; the window is 28 days
        self.assertLessEqual(invitation.date_scheduled, fields.Datetime.now())
        self.assertEqual((invitation.date_expire - invitation.date_scheduled).days, 28)

    def test_no_invitation_without_measure_or_customer(self):
        interaction = self._closed(queue=self.queue_without_survey)
        self.assertFalse(self._invitation(interaction))
        interaction = self._create_interaction(partner=self.env["res.partner"])
        interaction.action_close()
        self.assertFalse(self._invitation(interaction))

    def test_email_channel_waits_an_hour(self):
        channel = self.env["omnichannel.channel"].create(
            {
                "name": "Mail",
                "channel_type": "email",
                "address": "help@example.com",
                "queue_id": self.queue.id,
            }
        )
        interaction = self._closed(channel_id=channel.id)
        invitation = self._invitation(interaction)
        delay = invitation.date_scheduled - invitation.create_date
        self.assertAlmostEqual(delay.total_seconds(), 3600, delta=5)
        self.assertFalse(self.Invitation._cron_send())
        with freeze_time(fields.Datetime.now() + timedelta(minutes=61)):
            self.assertEqual(self.Invitation._cron_send(), invitation)
        self.assertEqual(invitation.state, "sent")

    def test_sampling_is_seeded(self):
        self.queue.survey_sample_rate = 50
        interactions = self.env["omnichannel.interaction"]
        for index in range(12):
            interactions |= self._closed(partner=self._new_customer(f"Sample {index}"))
        expected = {i.id: satisfaction.sampled(i.id, 50, seed=self.queue.id) for i in interactions}
        for interaction in interactions:
            invitation = self._invitation(interaction)
            if expected[interaction.id]:
                self.assertEqual(invitation.state, "scheduled")
            else:
                self.assertEqual(
                    (invitation.state, invitation.skip_reason), ("skipped", "sampling")
                )
        # both outcomes happen in 12 draws of 50 %
        self.assertEqual(len(set(expected.values())), 2)

    def test_quiet_period_any_channel(self):
        first = self._closed(partner=self.customer)
        self.assertEqual(self._invitation(first).state, "scheduled")
        other_queue = self.queue.copy({"name": "Sales"})
        second = self._closed(partner=self.customer, queue=other_queue)
        invitation = self._invitation(second)
        self.assertEqual((invitation.state, invitation.skip_reason), ("skipped", "quiet_period"))
        # 31 days later the customer may be asked again
        with freeze_time(fields.Datetime.now() + timedelta(days=31)):
            third = self._closed(partner=self.customer)
            self.assertEqual(self._invitation(third).state, "scheduled")

    def test_exclusions(self):
        wrong = self.env["omnichannel.disposition"].create(
            {"name": "Wrong number", "code": "WRONG_SURVEY"}
        )
        complainer = self._new_customer("Complainer")
        self.env["omnichannel.case"].create(
            {"subject": "Broken device", "partner_id": complainer.id}
        )
        open_case = self._closed(partner=complainer)
        self.queue.write(
            {"survey_excluded_disposition_ids": [(6, 0, wrong.ids)], "survey_min_seconds": 30}
        )
        cases = {
            "disposition": self._closed(disposition_id=wrong.id),
            "internal": self._closed(partner=self.other_agent.partner_id),
        }
        # a short interaction: answered and closed at once, no talk time
        short = self._create_interaction(partner=self._new_customer("Short one"))
        short.action_close()
        cases["short"] = short
        cases["open_case"] = open_case
        for reason, interaction in cases.items():
            invitation = self._invitation(interaction)
            self.assertEqual((invitation.state, invitation.skip_reason), ("skipped", reason))
        # a portal customer is a customer, not an internal contact
        self.queue.survey_min_seconds = 0
        portal = new_test_user(
            self.env, login="survey_portal", groups="base.group_portal", email="p@example.com"
        )
        self.assertEqual(
            self._invitation(self._closed(partner=portal.partner_id)).state, "scheduled"
        )

    def test_window_expires(self):
        interaction = self._closed()
        invitation = self._invitation(interaction)
        self.Invitation._cron_send()
        self.assertEqual(invitation.state, "sent")
        with freeze_time(fields.Datetime.now() + timedelta(days=29)):
            self.Invitation._cron_send()
            self.assertEqual(invitation.state, "expired")
            self.assertEqual(invitation._public_status(), "expired")
            result = invitation._record_answer(9)
        self.assertEqual(result, {"recorded": False, "status": "expired"})
        self.assertFalse(interaction.satisfaction_value)

    def test_email_sent_by_cron_with_link(self):
        interaction = self._closed()
        invitation = self._invitation(interaction)
        self.Invitation._cron_send()
        self.assertEqual((invitation.state, invitation.send_channel), ("sent", "email"))
        mail = self.env["mail.mail"].search(
            [("model", "=", invitation._name), ("res_id", "=", invitation.id)]
        )
        self.assertEqual(len(mail), 1)
        self.assertIn(invitation.get_answer_url(), mail.body_html)
        self.assertEqual(mail.recipient_ids, invitation.partner_id)
        self.assertIn("contact-center@example.com", mail.email_from)
        # a second run sends nothing more
        self.Invitation._cron_send()
        self.assertEqual(
            self.env["mail.mail"].search_count(
                [("model", "=", invitation._name), ("res_id", "=", invitation.id)]
            ),
            1,
        )

    def test_no_email_address_skipped(self):
        interaction = self._closed(partner=self._new_customer("No mail", email=False))
        invitation = self._invitation(interaction)
        self.Invitation._cron_send()
        self.assertEqual((invitation.state, invitation.skip_reason), ("skipped", "no_address"))

    def test_failed_send_retried_then_skipped(self):
        interaction = self._closed()
        invitation = self._invitation(interaction)
        template = self.env.ref("omnichannel_cc_survey.mail_template_survey_invitation")
        template.body_html = "<p><t t-out='object.no_such_field'/></p>"
        now = fields.Datetime.now()
        for attempt in range(1, 4):
            with (
                freeze_time(now + timedelta(minutes=20 * attempt)),
                mute_logger(
                    "odoo.addons.omnichannel_cc_survey.models.omnichannel_survey_invitation"
                ),
            ):
                self.Invitation._cron_send()
            self.assertEqual(invitation.attempts, attempt)
        self.assertEqual((invitation.state, invitation.skip_reason), ("skipped", "failed"))
        self.assertTrue(invitation.last_error)

    def test_at_most_one_invitation(self):
        interaction = self._closed()
        self.Invitation._schedule(interaction)
        self.assertEqual(len(self._invitation(interaction)), 1)

    def test_campaign_measure_wins(self):
        campaign = self.env["omnichannel.campaign"].create(
            {"name": "Renewals", "queue_id": self.queue.id, "satisfaction_kind": "csat"}
        )

        def campaign_call():
            customer = self._new_customer(f"Renewal {self.Invitation.search_count([])}")
            contact = self.env["omnichannel.campaign.contact"].create(
                {"campaign_id": campaign.id, "partner_id": customer.id}
            )
            return self._closed(partner=customer, campaign_contact_id=contact.id)

        interaction = campaign_call()
        self.assertEqual(interaction.campaign_id, campaign)
        invitation = self._invitation(interaction)
        self.assertEqual(invitation.kind, "csat")
        self.assertEqual(
            invitation.survey_id, self.env.ref("omnichannel_cc_survey.survey_survey_csat")
        )
        # a campaign without a measure: the queue's
        campaign.satisfaction_kind = False
        interaction = campaign_call()
        self.assertEqual(self._invitation(interaction).kind, "nps")
