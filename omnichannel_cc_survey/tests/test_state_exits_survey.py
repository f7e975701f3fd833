"""Every non-final state has an exit (issue 19): satisfaction invitations.

The table has the form of ``omnichannel_cc.tests.test_state_exits.EXITS``
and is checked the same way: a new state without a row fails.
"""

from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from odoo.addons.omnichannel_cc.tests.test_state_exits import check_table

from .common import OmnichannelSurveyCommon

FINAL = {
    "omnichannel.survey.invitation": {
        "answered": "the customer answered",
        "expired": "the answer window is over",
        "skipped": "a rule excluded it, or it could not be sent",
    },
}
EXITS = {
    "omnichannel.survey.invitation": {
        "scheduled": [
            ("sweep", "_cron_send at date_scheduled", "sent", "test_scheduled_sent"),
            (
                "sweep",
                "_cron_send: no address to reach (or sending failed 3 times)",
                "skipped",
                "test_scheduled_skipped",
            ),
            (
                "timeout",
                "_cron_send after date_expire (the queue's survey window)",
                "expired",
                "test_scheduled_expired",
            ),
            (
                "user",
                "the customer answers (_record_answer, answer page, keypad, SMS)",
                "answered",
                "test_answered",
            ),
        ],
        "sent": [
            ("user", "the customer answers (_record_answer)", "answered", "test_answered"),
            (
                "timeout",
                "_cron_send after date_expire (the queue's survey window)",
                "expired",
                "test_sent_expired",
            ),
        ],
    },
}


@tagged("post_install", "-at_install")
class TestStateExitsSurvey(OmnichannelSurveyCommon):
    def _email_invitation(self):
        """An e-mail contact's invitation: sent an hour after the close."""
        channel = self.env["omnichannel.channel"].create(
            {
                "name": "Mail exits",
                "channel_type": "email",
                "address": "exits@example.com",
                "queue_id": self.queue.id,
            }
        )
        invitation = self._invitation(self._closed(channel_id=channel.id))
        self.assertEqual(invitation.state, "scheduled")
        return invitation

    def test_table_matches_the_models(self):
        check_table(self, EXITS, FINAL)

    def test_scheduled_sent(self):
        invitation = self._email_invitation()
        now = fields.Datetime.now()
        with freeze_time(now + timedelta(minutes=30)):
            self.Invitation._cron_send()
        self.assertEqual(invitation.state, "scheduled", "not before its time")
        with freeze_time(now + timedelta(minutes=61)):
            self.Invitation._cron_send()
        self.assertEqual(invitation.state, "sent")

    def test_scheduled_skipped(self):
        invitation = self._invitation(
            self._closed(partner=self._new_customer("Unreachable", email=False))
        )
        self.assertEqual(invitation.state, "scheduled")
        self.Invitation._cron_send()
        self.assertEqual((invitation.state, invitation.skip_reason), ("skipped", "no_address"))

    def test_scheduled_expired(self):
        """The cron did not run during the whole window (a stopped server)."""
        invitation = self._email_invitation()
        with freeze_time(invitation.date_expire + timedelta(minutes=1)):
            self.Invitation._cron_send()
        self.assertEqual(invitation.state, "expired")

    def test_sent_expired(self):
        invitation = self._invitation(self._closed())
        self.Invitation._cron_send()
        self.assertEqual(invitation.state, "sent")
        with freeze_time(invitation.date_expire - timedelta(minutes=1)):
            self.Invitation._cron_send()
        self.assertEqual(invitation.state, "sent", "not before the window's end")
        with freeze_time(invitation.date_expire + timedelta(minutes=1)):
            self.Invitation._cron_send()
        self.assertEqual(invitation.state, "expired")

    def test_answered(self):
        scheduled = self._email_invitation()
        sent = self._invitation(self._closed())
        self.Invitation._cron_send()
        self.assertEqual((scheduled.state, sent.state), ("scheduled", "sent"))
        public = self.env.ref("base.public_user")
        for invitation in scheduled | sent:
            # sudo: as the answer page: the public visitor's token selects the invitation
            result = invitation.with_user(public).sudo()._record_answer(9)
            self.assertEqual(result, {"recorded": True, "status": "answered"})
            self.assertEqual(invitation.state, "answered")
