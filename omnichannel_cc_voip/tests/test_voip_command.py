"""Click-to-dial and listen-in on Asterisk: PBX commands that leave Odoo
only after the commit, once.

Asterisk cannot be installed here (not packaged in Debian bookworm nor on
PyPI/npm): its side is a recorded-protocol test double,
``peers.ReplayServer``, which replays AMI exchanges recorded from Asterisk 20
and checks every action Odoo sends against them. The AMI client, the
sockets and the timeouts are the real ones.

An Odoo test never commits: a test cursor's commit drops the postcommit
hooks. The tests run them as a real commit would, after the data is
written (they open fresh cursors, which in a test see the test's data).
"""

from unittest.mock import patch

from odoo import api
from odoo.exceptions import AccessError, UserError
from odoo.service.model import retrying
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon

from ..models import omnichannel_voip_command as command_model
from . import peers
from .test_ami import AMI_SECRET, AMI_USER


@tagged("post_install", "-at_install")
class TestVoipCommand(OmnichannelCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent_sales.omnichannel_extension = "1001"
        cls.supervisor_sales.omnichannel_extension = "1900"
        # click-to-dial uses the company's first phone channel: ours
        cls.env["omnichannel.channel"].search(
            [("channel_type", "=", "phone"), ("id", "!=", cls.channel_phone.id)]
        ).active = False
        cls.Interaction = cls.env["omnichannel.interaction"]
        cls.Command = cls.env["omnichannel.voip.command"]

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    def _asterisk(self, *recordings, port=None):
        """The channel drives an Asterisk played by a ReplayServer of
        ``recordings`` (one per AMI connection); ``port``: another port."""
        server = peers.ReplayServer(*recordings, placeholders={"INTERACTION_ID": r"\d+"})
        self.addCleanup(server.close)
        self.channel_phone.sudo().write(
            {
                "voip_pbx_type": "asterisk",
                "voip_ami_host": peers.HOST,
                "voip_ami_port": port or server.port,
                "voip_ami_username": AMI_USER,
                "voip_ami_secret": AMI_SECRET,
                "voip_ami_context": "from-internal",
            }
        )
        return server

    def _after_commit(self):
        """What a commit does once the data is written: run the postcommit hooks."""
        self.env.flush_all()
        self.env.cr.postcommit.run()
        self.env.invalidate_all()

    def _dial(self, env=None):
        env = env or self.env(user=self.agent_sales)
        partner = env["res.partner"].browse(self.customer_plain.id)
        return env["omnichannel.interaction"]._voip_dial(partner)

    def _calls(self):
        return self.Interaction.search(
            [("direction", "=", "outbound"), ("agent_id", "=", self.agent_sales.id)],
            order="id",
        )

    def _active_call(self):
        return self.Interaction.create(
            {
                "channel_id": self.channel_phone.id,
                "queue_id": self.queue_sales.id,
                "agent_id": self.agent_sales.id,
                "direction": "inbound",
                "contact_address": "+48509333444",
                "state": "active",
            }
        )

    def _notifications(self, bus_send):
        """(user, payload) of the pop-up notifications sent through a patched _bus_send."""
        return [
            (call.args[0], call.args[2])
            for call in bus_send.call_args_list
            if call.args[1] == "simple_notification"
        ]

    def _bodies(self, interaction):
        interaction.invalidate_recordset(["message_ids"])
        return " ".join(interaction.message_ids.mapped("body"))

    # ------------------------------------------------------------------
    # click-to-dial
    # ------------------------------------------------------------------
    def test_click_to_dial_is_sent_once_after_commit(self):
        server = self._asterisk("dial_from_odoo.txt")
        action = self._dial()
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(
            action["params"]["message"], "Calling Zofia Bez Długów (+48509333444)…", action
        )
        interaction = self._calls()
        command = self.Command.search([("interaction_id", "=", interaction.id)])
        self.assertEqual((command.kind, command.state), ("dial", "pending"))
        self.assertEqual(command.ami_action, "Originate")
        # a send inside the transaction would have been made by now (the
        # client waits for Asterisk's answer): nothing was
        self.assertEqual(server.connections, 0)
        self.assertEqual(server.received, [])

        self._after_commit()
        server.wait_done()
        self.assertEqual(server.errors, [])
        (originate,) = server.actions("Originate")
        self.assertEqual(originate["Channel"], "PJSIP/1001")
        self.assertEqual(originate["Variable"], f"OMNICHANNEL_INTERACTION={interaction.id}")
        self.assertEqual(command.state, "sent")
        self.assertTrue(command.date_sent)
        self.assertIn("placed by Anna Sales on their desk phone", self._bodies(interaction))
        self.assertEqual(interaction.state, "new", "the PBX's events say the rest")

        # the hook run again, or late: the claim refuses, nothing is sent
        tried = command_model.voip_send_commands(self.registry, command.ids)
        self.assertEqual(tried, 0)
        self.assertEqual(server.connections, 1)
        self.assertEqual(len(server.actions("Originate")), 1)

    def test_rolled_back_click_to_dial_sends_nothing(self):
        server = self._asterisk("dial_from_odoo.txt")
        self.env.flush_all()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.agent_sales.id, {})
            self._dial(env)
            rolled_back = env["omnichannel.voip.command"].sudo().search([]).ids
            self.assertEqual(len(rolled_back), 1)
            self.assertTrue(cr.postcommit._funcs, "the call waits for the commit")
            cr.rollback()
            self.assertFalse(cr.postcommit._funcs, "a rollback drops the call")
            cr.postcommit.run()
        self.assertFalse(self.Command.browse(rolled_back).exists())
        self.assertFalse(self._calls())
        # a committed dial reaches the PBX: the only action it ever got
        self._dial()
        self._after_commit()
        server.wait_done()
        self.assertEqual(server.errors, [])
        self.assertEqual(server.connections, 1)
        (originate,) = server.actions("Originate")
        self.assertEqual(originate["Variable"], f"OMNICHANNEL_INTERACTION={self._calls().id}")

    def test_request_retried_after_serialization_failure_dials_once(self):
        """A request Odoo retries (odoo.service.model.retrying) after a
        serialization failure: only the committed try's call is placed."""
        server = self._asterisk("dial_from_odoo.txt")
        self.env.flush_all()
        tries, hooks = [], []
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.agent_sales.id, {})

            def dial():
                self._dial(env)
                interaction = (
                    env["omnichannel.interaction"]
                    .sudo()
                    .search([("agent_id", "=", self.agent_sales.id)], order="id desc", limit=1)
                )
                tries.append(interaction.id)
                if len(tries) == 1:
                    # PostgreSQL refuses the first try: a concurrent update
                    with mute_logger("odoo.sql_db"):
                        cr.execute(
                            "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = "
                            "'serialization_failure'; END $$"
                        )
                # one command of this try, sent by the hooks the real commit
                # runs (a test cursor's commit drops them)
                (command_id,) = cr.postcommit.data[command_model.POSTCOMMIT_KEY]
                self.assertEqual(
                    env["omnichannel.voip.command"].sudo().browse(command_id).interaction_id.id,
                    interaction.id,
                )
                hooks.extend(cr.postcommit._funcs)
                return interaction.id

            committed = retrying(dial, env)
        self.assertEqual(len(tries), 2)
        self.assertEqual(committed, tries[1])
        self.assertFalse(self.Interaction.browse(tries[0]).exists())
        for hook in hooks:
            hook()
        self.env.invalidate_all()
        server.wait_done()
        self.assertEqual(server.errors, [])
        (originate,) = server.actions("Originate")
        self.assertEqual(originate["Variable"], f"OMNICHANNEL_INTERACTION={committed}")
        (command,) = self.Command.search([])
        self.assertEqual((command.interaction_id.id, command.state), (committed, "sent"))

    def test_same_call_asked_twice_is_placed_once(self):
        """A double click (or two workers): one unfinished command per key."""
        server = self._asterisk("dial_from_odoo.txt")
        self._dial()
        again = self._dial()
        self.assertEqual(again["params"]["type"], "warning")
        self.assertIn("already on its way", again["params"]["message"])
        self.assertEqual(len(self._calls()), 1, "no second interaction either")
        self._after_commit()
        server.wait_done()
        self.assertEqual(len(server.actions("Originate")), 1)
        # once the first call went out, calling again is a new call
        self._dial()
        self.assertEqual(len(self._calls()), 2)
        self.assertEqual(self.Command.search([]).mapped("state"), ["pending", "sent"])
        self.env.cr.postcommit.clear()

    def test_unreachable_asterisk_fails_after_commit(self):
        """The agent sees "calling..." at once; the failure comes after the
        commit: in the chatter, as a notification, and the call is missed."""
        self._asterisk(port=peers.free_port())
        action = self._dial()
        self.assertEqual(action["params"]["type"], "info")
        interaction = self._calls()
        Users = self.registry["res.users"]
        with patch.object(Users, "_bus_send", autospec=True) as bus_send:
            self._after_commit()
        command = self.Command.search([("interaction_id", "=", interaction.id)])
        self.assertEqual(command.state, "failed")
        self.assertIn("connection refused", command.error)
        self.assertEqual(interaction.state, "missed")
        self.assertEqual(interaction.voip_call_state, "failed")
        self.assertIn("could not be placed", self._bodies(interaction))
        ((user, payload),) = self._notifications(bus_send)
        self.assertEqual(user, self.agent_sales)
        self.assertEqual(payload["type"], "danger")
        self.assertIn("connection refused", payload["message"])

    def test_command_left_unsent_is_never_sent(self):
        """A worker dies between its commit and the send: the command is
        expired (the agent told), never sent later, and frees its key."""
        server = self._asterisk("dial_from_odoo.txt")
        self._dial()
        self.env.flush_all()
        lost = list(self.env.cr.postcommit.data[command_model.POSTCOMMIT_KEY])
        self.env.cr.postcommit.clear()  # the worker died: its hooks never ran
        command = self.Command.search([])
        self.assertFalse(self.Command._expire(), "not before the delay")
        self.env.cr.execute(
            "UPDATE omnichannel_voip_command SET write_date = write_date - interval '10 minutes'"
        )
        self.env.invalidate_all()
        Users = self.registry["res.users"]
        cron = self.env.ref("omnichannel_cc_voip.ir_cron_voip_command_expire")
        with patch.object(Users, "_bus_send", autospec=True) as bus_send:
            cron.sudo().method_direct_trigger()
        self.env.invalidate_all()
        self.assertEqual(command.state, "failed")
        self.assertIn("Never sent", command.error)
        self.assertEqual(command.interaction_id.state, "missed")
        ((user, payload),) = self._notifications(bus_send)
        self.assertEqual(user, self.agent_sales)
        self.assertIn("Never sent", payload["message"])
        # the lost hook, run late, finds nothing to send
        self.assertEqual(command_model.voip_send_commands(self.registry, lost), 0)
        self.assertEqual(server.connections, 0)
        # the number can be called again
        self._dial()
        self.assertEqual(len(self._calls()), 2)
        self._after_commit()
        server.wait_done()
        self.assertEqual(len(server.actions("Originate")), 1)

    def test_missing_ami_settings_refused_at_once(self):
        self.channel_phone.sudo().write({"voip_pbx_type": "asterisk", "voip_ami_host": False})
        with self.assertRaisesRegex(UserError, "Fill in the AMI host"):
            self._dial()
        self.assertFalse(self.Command.search([]))

    # ------------------------------------------------------------------
    # listen-in
    # ------------------------------------------------------------------
    def test_supervisor_listens_in_after_commit(self):
        server = self._asterisk("spy_from_odoo.txt")
        interaction = self._active_call()
        action = interaction.with_user(self.supervisor_sales).action_voip_spy("listen")
        self.assertIn("Your phone (1900) rings", action["params"]["message"])
        self.assertEqual(server.received, [], "nothing before the commit")
        self._after_commit()
        server.wait_done()
        self.assertEqual(server.errors, [])
        (originate,) = server.actions("Originate")
        self.assertEqual(originate["Data"], "PJSIP/1001-,qE")
        self.assertIn("listens in", self._bodies(interaction))
        # an agent of another queue's supervisor may not
        with self.assertRaises(AccessError):
            interaction.with_user(self.agent_claims).action_voip_spy("listen")

    def test_rolled_back_listen_in_sends_nothing(self):
        server = self._asterisk("spy_from_odoo.txt")
        interaction = self._active_call()
        self.env.flush_all()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.supervisor_sales.id, {})
            env["omnichannel.interaction"].browse(interaction.id).action_voip_spy("listen")
            self.assertTrue(cr.postcommit._funcs)
            cr.rollback()
            cr.postcommit.run()
        self.assertFalse(self.Command.search([]))
        self.assertNotIn("listens in", self._bodies(interaction))
        # the same request, committed: the one ChanSpy the PBX gets
        interaction.with_user(self.supervisor_sales).action_voip_spy("listen")
        self._after_commit()
        server.wait_done()
        self.assertEqual(server.connections, 1)
        self.assertEqual(len(server.actions("Originate")), 1)
        self.assertIn("listens in", self._bodies(interaction))
