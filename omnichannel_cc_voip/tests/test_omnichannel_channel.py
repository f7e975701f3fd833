from unittest.mock import patch

from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests import tagged, users

from ..hooks import post_init_hook
from .common import OmnichannelVoipCommon


@tagged("post_install", "-at_install")
class TestChannelCredentials(OmnichannelVoipCommon):
    def test_phone_channel_gets_credentials(self):
        channel = self.phone_channel
        self.assertTrue(channel.voip_token)
        self.assertTrue(channel.voip_secret)
        self.assertGreaterEqual(len(channel.voip_secret), 40)
        self.assertRegex(channel.voip_token, r"^[A-Za-z0-9_-]{32}$")
        self.assertNotEqual(channel.voip_token, channel.voip_secret)

    def test_tokens_are_unique(self):
        other = self.phone_channel.copy({"address": "+32 2 290 34 91"})
        self.assertTrue(other.voip_token)
        self.assertNotEqual(other.voip_token, self.phone_channel.voip_token)
        self.assertNotEqual(other.voip_secret, self.phone_channel.voip_secret)

    def test_credentials_never_start_with_a_dash(self):
        # the PBX bridges take them on their command line ("--token -x..."
        # reads as an option): a drawn value starting with "-" is drawn again
        drawn = iter(["-dash-first", "token-ok", "-dash-again", "secret-ok"])
        with patch(
            "odoo.addons.omnichannel_cc_voip.models.omnichannel_channel.secrets.token_urlsafe",
            side_effect=lambda nbytes: next(drawn),
        ):
            channel = self.phone_channel.copy({"address": "+32 2 290 34 93"})
        self.assertEqual((channel.voip_token, channel.voip_secret), ("token-ok", "secret-ok"))

    def test_non_phone_channel_has_none(self):
        self.assertFalse(self.email_channel.voip_token)
        self.assertFalse(self.email_channel.voip_secret)

    def test_becoming_phone_generates(self):
        channel = self.env["omnichannel.channel"].create(
            {
                "name": "Chat",
                "channel_type": "chat",
                "address": "chat-key",
                "queue_id": self.queue.id,
            }
        )
        self.assertFalse(channel.voip_token)
        channel.write({"channel_type": "phone", "address": "+32 2 290 34 92"})
        self.assertTrue(channel.voip_token)
        self.assertTrue(channel.voip_secret)

    def test_find_by_token(self):
        model = self.env["omnichannel.channel"]
        self.assertEqual(
            model._voip_find_by_token(self.phone_channel.voip_token), self.phone_channel
        )
        self.assertFalse(model._voip_find_by_token("nope"))
        self.assertFalse(model._voip_find_by_token(False))

    @users("voip_manager")
    def test_manager_reads_and_regenerates(self):
        channel = self.phone_channel.with_env(self.env)
        old = channel.voip_secret
        self.assertTrue(old)
        channel.action_voip_regenerate_secret()
        self.assertTrue(channel.voip_secret)
        self.assertNotEqual(channel.voip_secret, old)

    @users("voip_agent")
    def test_agent_cannot_read_credentials(self):
        channel = self.phone_channel.with_env(self.env)
        self.assertEqual(channel.name, "Hotline")
        with self.assertRaises(AccessError):
            self.assertFalse(channel.voip_secret)
        with self.assertRaises(AccessError):
            channel.read(["voip_token"])
        with self.assertRaises(AccessError):
            channel.action_voip_regenerate_secret()
        with self.assertRaises(AccessError):
            channel.search([("voip_secret", "!=", False)])
        self.assertNotIn("voip_secret", channel.fields_get())

    def test_telephony_page_for_managers_only(self):
        def form_arch(user):
            return (
                self.env["omnichannel.channel"]
                .with_user(user)
                .get_views([(False, "form")])["views"]["form"]["arch"]
            )

        self.assertIn('name="telephony"', form_arch(self.manager))
        self.assertIn('name="voip_secret"', form_arch(self.manager))
        self.assertNotIn('name="voip_secret"', form_arch(self.agent))
        self.assertNotIn('name="telephony"', form_arch(self.agent))

    def test_manager_copies_the_masked_secret(self):
        """Issue 14: the secret stays masked, with a copy button beside it, for
        managers only (the agent's form has neither)."""

        def secret_fields(user):
            arch = (
                self.env["omnichannel.channel"]
                .with_user(user)
                .get_views([(False, "form")])["views"]["form"]["arch"]
            )
            return etree.fromstring(arch).xpath("//field[@name='voip_secret']")

        fields = secret_fields(self.manager)
        self.assertEqual(
            sorted((f.get("password", ""), f.get("widget", "")) for f in fields),
            [("", "CopyClipboardButton"), ("True", "")],
        )
        self.assertEqual(secret_fields(self.agent), [])

    def test_install_hook_backfills_existing_channels(self):
        """Channels created before the addon was installed get credentials."""
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE omnichannel_channel SET voip_token = NULL, voip_secret = NULL WHERE id = %s",
            [self.phone_channel.id],
        )
        self.phone_channel.invalidate_recordset(["voip_token", "voip_secret"])
        self.assertFalse(self.phone_channel.voip_token)
        post_init_hook(self.env)
        self.assertTrue(self.phone_channel.voip_token)
        self.assertTrue(self.phone_channel.voip_secret)
        self.assertFalse(self.email_channel.voip_token)
