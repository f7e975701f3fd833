"""Every non-final state has an exit (issue 19): invitation links.

The link is one of the transition-table state machines
(``omnichannel.state.mixin``, STYLE.md 17): every change of its state goes
through ``_set_state``. The table has the form of
``omnichannel_cc.tests.test_state_exits.EXITS`` and is checked against the
field's selection and the model's transitions with the same ``check_table``:
a new state without a row, or a row the transitions refuse, fails.
"""

from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.omnichannel_cc.tests.test_state_exits import check_table

from .test_invitation import InvitationCommon

MODEL = "omnichannel.invitation"
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
    def _flush_tracking(self):
        # tracking messages are written just before the commit
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.env.flush_all()

    def test_table_matches_the_model(self):
        check_table(self, {MODEL: EXITS}, {MODEL: FINAL})
        transitions = self.env[MODEL]._state_transitions
        for state in FINAL:
            self.assertEqual(tuple(transitions[state]), (), f"{state} is final")

    def test_table_check_fails_on_a_new_state(self):
        with self.assertRaises(AssertionError):
            check_table(self, {MODEL: {}}, {MODEL: FINAL})

    def test_final_links_do_not_come_back(self):
        """Every way of writing the state goes through the machine: a final
        link refuses any change, even by a manager or the superuser."""
        revoked = self._invite(user=self.agent_sales)
        revoked.with_user(self.agent_sales).action_revoke()
        for user in (self.agent_sales, self.manager):
            with self.assertRaises(UserError):
                revoked.with_user(user).write({"state": "active"})
        with self.assertRaises(UserError):
            revoked.sudo().write({"state": "expired"})
        with self.assertRaises(UserError):
            revoked._set_state("used")
        self.assertEqual(revoked.state, "revoked")
        # revoking a dead link again changes nothing, and tracks nothing new
        self._flush_tracking()
        tracked = len(revoked.message_ids)
        revoked.with_user(self.agent_sales).with_context(
            tracking_disable=False, mail_notrack=False
        ).action_revoke()
        self._flush_tracking()
        self.assertEqual((revoked.state, len(revoked.message_ids)), ("revoked", tracked))

    def test_state_change_is_tracked(self):
        invitation = self._invite(user=self.agent_sales)
        # Odoo tracks nothing of a record in the transaction that creates it
        self._flush_tracking()
        # tracking is what this test checks: the common set-up disables it
        invitation.with_user(self.agent_sales).with_context(
            tracking_disable=False, mail_notrack=False
        ).write({"state": "revoked"})
        self.assertEqual(invitation.state, "revoked")
        self._flush_tracking()
        values = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", MODEL),
                    ("mail_message_id.res_id", "=", invitation.id),
                    ("field_id.name", "=", "state"),
                ]
            )
        )
        self.assertEqual(len(values), 1, "the change is tracked once, through the ORM")
        self.assertEqual(values.old_value_char, "Active")
        self.assertEqual(values.new_value_char, "Revoked")

    def test_cron_leaves_links_changed_meanwhile(self):
        """The expiry cron is a guarded claim: a link revoked by then stays
        revoked, an active one past its expiry expires."""
        late = self._invite(user=self.agent_sales)
        revoked = self._invite(user=self.agent_sales)
        revoked.with_user(self.agent_sales).action_revoke()
        with freeze_time(late.expiry + timedelta(minutes=1)):
            self.assertEqual(self.env[MODEL]._cron_expire(), 1)
        self.assertEqual((late.state, revoked.state), ("expired", "revoked"))

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
            self.assertFalse(link._claim_use(), "a single-use link is used once")
        self.assertEqual((invitation.state, invitation.use_count), ("used", 1))

    def test_multi_use_link_counts_and_stays_active(self):
        invitation = self._invite(user=self.agent_sales)
        # sudo: as the public page: the visitor's token selects the link
        link = self.env[MODEL].sudo().browse(invitation.id)
        self.assertTrue(link._claim_use())
        self.assertTrue(link._claim_use())
        self.assertEqual((invitation.state, invitation.use_count), ("active", 2))
        with freeze_time(invitation.expiry + timedelta(minutes=1)):
            self.assertFalse(link._claim_use(), "not after its expiry")
