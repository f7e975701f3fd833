"""Every non-final state has an exit (issue 19): invitation links.

The link is not one of the transition-table state machines (its only
non-final state is ``active``); the table has the form of
``omnichannel_cc.tests.test_state_exits.EXITS`` and is checked against the
field's selection: a new state without a row fails.
"""

from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.tests import tagged

from .test_invitation import InvitationCommon

FINAL = {
    "used": "a single-use link was used",
    "expired": "past its expiry",
    "revoked": "revoked by the contact center",
}
EXITS = {
    "active": [
        ("timeout", "_cron_expire (hourly) at expiry", "expired", "test_active_expires"),
        (
            "user",
            "action_revoke (the inviting agent, a supervisor)",
            "revoked",
            "test_active_revoked",
        ),
        (
            "user",
            "the customer opens a single-use link (_claim_use, public page)",
            "used",
            "test_active_used",
        ),
    ],
}


@tagged("post_install", "-at_install")
class TestStateExitsInvitation(InvitationCommon):
    def test_table_matches_the_model(self):
        Invitation = self.env["omnichannel.invitation"]
        selection = {key for key, _label in Invitation._fields["state"].selection}
        self.assertEqual(set(EXITS), selection - set(FINAL), "every non-final state has a row")
        self.assertLessEqual(set(FINAL), selection)
        for state, rows in EXITS.items():
            self.assertTrue(rows, f"{state} has no exit")
            for kind, how, target, test in rows:
                self.assertIn(kind, ("timeout", "sweep", "user"), how)
                self.assertIn(target, FINAL, how)
                self.assertTrue(callable(getattr(self, test, None)), test)

    def test_active_expires(self):
        invitation = self._invite(user=self.agent_sales)
        self.assertEqual(invitation.state, "active")
        Invitation = self.env["omnichannel.invitation"]
        with freeze_time(invitation.expiry - timedelta(minutes=1)):
            Invitation._cron_expire()
        self.assertEqual(invitation.state, "active", "not before its expiry")
        with freeze_time(invitation.expiry + timedelta(minutes=1)):
            Invitation._cron_expire()
        self.assertEqual(invitation.state, "expired")

    def test_active_revoked(self):
        invitation = self._invite(user=self.agent_sales)
        invitation.with_user(self.agent_sales).action_revoke()
        self.assertEqual(invitation.state, "revoked")

    def test_active_used(self):
        invitation = self._invite(user=self.agent_sales, single_use=True)
        # sudo: as the public page: the visitor's token selects the link
        link = self.env["omnichannel.invitation"].sudo().browse(invitation.id)
        with freeze_time(fields.Datetime.now() + timedelta(minutes=5)):
            self.assertTrue(link._claim_use())
        self.assertEqual(invitation.state, "used")
