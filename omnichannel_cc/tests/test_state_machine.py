from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL

from ..models.omnichannel_callback import CALLBACK_TRANSITIONS
from ..models.omnichannel_interaction import TRANSITIONS
from ..models.omnichannel_offer import OFFER_TRANSITIONS
from .common import OmnichannelCommon


@tagged("post_install", "-at_install")
class TestInteractionStateMachine(OmnichannelCommon):
    """Every state change of an interaction goes through ``_set_state``: the
    transition table, the time stamps and the chatter tracking."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # tracking is what this test checks: the common set-up disables it
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=False, mail_notrack=False))

    def _interaction(self, state="queued", **vals):
        interaction = self.env["omnichannel.interaction"].create(
            dict(
                {
                    "channel_id": self.channel_phone.id,
                    "queue_id": self.queue_sales.id,
                    "contact_address": "+48601000111",
                    "state": state,
                },
                **vals,
            )
        )
        # Odoo tracks nothing of a record in the transaction that creates it:
        # end that transaction's pre-commit work, as if the contact had come earlier
        self.env.flush_all()
        self.env.cr.precommit.run()
        return interaction

    def _tracked_states(self, interaction):
        # tracking values are written by a pre-commit hook
        self.env.flush_all()
        self.env.cr.precommit.run()
        values = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", "omnichannel.interaction"),
                    ("mail_message_id.res_id", "=", interaction.id),
                    ("field_id.name", "=", "state"),
                ],
                order="id",
            )
        )
        return [(value.old_value_char, value.new_value_char) for value in values]

    def test_forbidden_transition_is_refused_and_changes_nothing(self):
        call = self._interaction()
        with self.assertRaises(UserError):
            call.write({"state": "done", "notes": "closed without anybody talking"})
        self.assertEqual(call.state, "queued")
        self.assertFalse(call.notes)
        self.assertFalse(call.date_closed)
        done = self._interaction()
        done._set_state("active")
        done._set_state("done")
        for target in ("queued", "active", "wrapup", "done"):
            with self.assertRaises(UserError, msg=target):
                done._set_state(target)

    def test_context_key_from_a_caller_does_not_skip_the_machine(self):
        """A client can send any context over RPC: the key alone opens nothing."""
        call = self._interaction()
        with self.assertRaises(UserError):
            call.with_context(omnichannel_interaction_state_machine=True).write({"state": "done"})
        self.assertEqual(call.state, "queued")

    def test_write_of_state_goes_through_the_machine(self):
        call = self._interaction()
        call.write({"state": "active", "agent_id": self.agent_sales.id})
        self.assertTrue(call.date_answered, "the machine stamps the answer time")
        self.assertEqual(call.agent_id, self.agent_sales)
        self.assertEqual(self._tracked_states(call), [("Queued", "Active")])

    def test_times_stamped_only_when_not_given(self):
        call = self._interaction()
        given = fields.Datetime.to_datetime("2026-01-02 03:04:05")
        call._set_state("active", date_answered=given)
        self.assertEqual(call.date_answered, given)
        call._set_state("wrapup")
        self.assertTrue(call.date_ended)
        ended = call.date_ended
        call._set_state("done")
        self.assertEqual(call.date_ended, ended, "an existing end time is kept")
        self.assertTrue(call.date_closed)
        self.assertGreater(call.talk_duration + 1, 0)

    def test_acd_offer_is_tracked_and_stamped(self):
        """The ACD's offer used to be a raw UPDATE without tracking."""
        self.env["omnichannel.agent"]._for_user(self.agent_sales).sudo()._change_state("available")
        call = self._interaction()
        call.queue_id._dispatch()
        self.assertEqual(call.state, "offered")
        self.assertEqual(call.agent_id, self.agent_sales)
        self.assertTrue(call.date_offered)
        self.assertIn(("Queued", "Offered"), self._tracked_states(call))

    def test_guarded_claim_moves_only_rows_still_allowed(self):
        first = self._interaction()
        second = self._interaction()
        # another transaction offered the second one meanwhile
        self.env.cr.execute(
            SQL("UPDATE omnichannel_interaction SET state = 'active' WHERE id = %s", second.id)
        )
        (first | second).invalidate_recordset(["state"])
        moved = (first | second)._set_state("offered", guard=SQL("state = 'queued'"))
        self.assertEqual(moved, first)
        self.assertEqual(second.state, "active")
        self.assertEqual(first.state, "offered")

    def test_tracking_of_many_interactions_in_one_flush(self):
        """The event inbox applies many calls per flush: their tracking
        messages are made in one create, and are each interaction's own (the
        same author, note subtype and values as one interaction tracked alone)."""
        alone = self._interaction()
        calls = self._interaction() | self._interaction() | self._interaction()
        Thread = type(self.env["mail.thread"])
        batch_calls = []
        original = Thread._message_log_batch

        def counted(records, *args, **kwargs):
            if records._name == "omnichannel.interaction":
                batch_calls.append(len(records))
            return original(records, *args, **kwargs)

        alone._set_state("active", agent_id=self.agent_sales.id)
        self._tracked_states(alone)
        with patch.object(Thread, "_message_log_batch", counted):
            agents = (self.agent_sales, self.agent_claims, False)
            for call, agent in zip(calls, agents, strict=True):
                call._set_state("active", agent_id=agent and agent.id)
            self._tracked_states(calls[0])
        self.assertEqual(batch_calls, [3])

        def logged(interaction):
            messages = self.env["mail.message"].search(
                [("model", "=", interaction._name), ("res_id", "=", interaction.id)]
            )
            return [
                (
                    message.author_id,
                    message.subtype_id,
                    message.message_type,
                    sorted(
                        (v.field_id.name, v.old_value_char, v.new_value_char)
                        for v in message.sudo().tracking_value_ids
                    ),
                )
                for message in messages
            ]

        [(author, subtype, kind, values)] = logged(alone)
        self.assertEqual(subtype, self.env.ref("mail.mt_note"))
        self.assertEqual(values, [("agent_id", "", "Anna Sales"), ("state", "Queued", "Active")])
        for call, agent in zip(calls, ("Anna Sales", "Tomasz Claims", ""), strict=True):
            expected = [("state", "Queued", "Active")]
            if agent:
                expected.insert(0, ("agent_id", "", agent))
            self.assertEqual(logged(call), [(author, subtype, kind, expected)], agent)

    def test_transitions_added_on_purpose(self):
        """Transitions the table allows since the state machine became the only way."""
        # a transfer sends an active interaction back to waiting
        self.assertIn("queued", TRANSITIONS["active"])
        call = self._interaction()
        call._set_state("active", agent_id=self.agent_sales.id)
        call._set_state("queued", agent_id=False)
        self.assertEqual(call.state, "queued")
        # the PBX reports the voicemail or a failure after the hang-up
        gone = self._interaction()
        gone._set_state("abandoned")
        gone._set_state("missed")
        self.assertEqual(gone.state, "missed")
        # ... or an answer that came first but was reported late
        gone._set_state("wrapup")
        self.assertEqual(gone.state, "wrapup")
        self.assertEqual(TRANSITIONS["done"], ())
        self.assertEqual(TRANSITIONS["transferred"], ())


@tagged("post_install", "-at_install")
class TestOfferAndCallbackStateMachines(OmnichannelCommon):
    def _offer(self):
        call = self.env["omnichannel.interaction"].create(
            {
                "channel_id": self.channel_phone.id,
                "queue_id": self.queue_sales.id,
                "contact_address": "+48601000222",
                "state": "queued",
            }
        )
        self.env["omnichannel.agent"]._for_user(self.agent_sales).sudo()._change_state("available")
        self.queue_sales._dispatch()
        return call.offer_ids

    def test_offer_transitions(self):
        offer = self._offer()
        self.assertEqual(offer.state, "pending")
        offer.with_user(self.agent_sales).action_accept()
        self.assertEqual(offer.state, "accepted")
        self.assertEqual(offer.interaction_id.state, "active")
        with self.assertRaises(UserError):
            offer._set_state("rejected")
        # a claim on an offer that is no longer pending moves nothing
        self.assertFalse(offer._set_state("accepted", guard=True))
        self.assertEqual(OFFER_TRANSITIONS["accepted"], ("transferred",))
        with self.assertRaises(UserError):
            offer.with_user(self.agent_sales).action_accept()

    def test_callback_transitions(self):
        callback = self.env["omnichannel.callback"].create(
            {
                "phone": "+48 601 000 333",
                "queue_id": self.queue_sales.id,
                "channel_id": self.channel_phone.id,
            }
        )
        self.assertEqual(callback.state, "pending")
        callback.action_cancel()
        self.assertEqual(callback.state, "cancelled")
        with self.assertRaises(UserError):
            callback.write({"state": "done"})
        self.assertEqual(callback.state, "cancelled")
        callback.action_reset()
        self.assertEqual(callback.state, "pending")
        self.assertEqual(CALLBACK_TRANSITIONS["done"], ())
