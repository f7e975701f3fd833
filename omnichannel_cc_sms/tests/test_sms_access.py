"""Who sees what of the SMS channel: secrets for managers, conversations for their agents."""

import xmlrpc.client

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import OmnichannelSmsGatewayCommon

MANAGER_ONLY = (
    "sms_secret",
    "sms_token",
    "sms_account",
    "sms_allowed_ips",
    "sms_inbound_url",
    "sms_status_url",
)


@tagged("post_install", "-at_install")
class TestSmsAccess(OmnichannelSmsGatewayCommon):
    def test_secrets_are_for_managers_only(self):
        for user in (self.agent_sales, self.supervisor_sales):
            channel = self.kannel.with_user(user)
            self.assertTrue(channel.read(["name", "sms_provider", "sms_sender"]))
            for fname in MANAGER_ONLY:
                with self.assertRaises(AccessError, msg=fname):
                    channel.read([fname])
            self.assertFalse(set(MANAGER_ONLY) & set(channel.fields_get()))
            arch = channel.get_views([(False, "form")])["views"]["form"]["arch"]
            self.assertNotIn("sms_secret", arch)
            with self.assertRaises(AccessError):
                channel.action_sms_regenerate_token()
        manager_channel = self.kannel.with_user(self.manager)
        self.assertEqual(manager_channel.sms_secret, self.KANNEL_SECRET)
        self.assertTrue(
            manager_channel.sms_inbound_url.endswith(
                f"/omnichannel/sms/{manager_channel.sms_token}/inbound"
            )
        )
        arch = manager_channel.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("sms_secret", arch)
        old = manager_channel.sms_token
        manager_channel.action_sms_regenerate_token()
        self.assertNotEqual(manager_channel.sms_token, old)

    @mute_logger("odoo.http")
    def test_managers_configure_a_channel_over_xmlrpc(self):
        db = self.env.cr.dbname
        common = xmlrpc.client.ServerProxy(f"{self.base_url()}/xmlrpc/2/common")
        models = xmlrpc.client.ServerProxy(f"{self.base_url()}/xmlrpc/2/object")
        manager = common.authenticate(db, self.manager.login, self.manager.login, {})
        channel_id = models.execute_kw(
            db,
            manager,
            self.manager.login,
            "omnichannel.channel",
            "create",
            [
                {
                    "name": "SMSAPI",
                    "channel_type": "sms",
                    "address": "+48 22 555 06 06",
                    "queue_id": self.queue_sales.id,
                    "sms_provider": "smsapi",
                    "sms_secret": "smsapi-token",
                    "sms_allowed_ips": "89.174.81.0/24",
                }
            ],
        )
        (values,) = models.execute_kw(
            db,
            manager,
            self.manager.login,
            "omnichannel.channel",
            "read",
            [[channel_id], ["sms_token", "sms_base_url", "sms_secret", "sms_session_hours"]],
        )
        self.assertTrue(values["sms_token"])
        self.assertEqual(values["sms_base_url"], "https://api.smsapi.pl")
        self.assertEqual(values["sms_secret"], "smsapi-token")
        self.assertEqual(values["sms_session_hours"], 24)
        agent = common.authenticate(db, self.agent_sales.login, self.agent_sales.login, {})
        with self.assertRaises(xmlrpc.client.Fault):
            models.execute_kw(
                db,
                agent,
                self.agent_sales.login,
                "omnichannel.channel",
                "read",
                [[channel_id], ["sms_secret"]],
            )

    def test_each_sms_channel_gets_its_own_token(self):
        tokens = {self._token(c) for c in (self.kannel, self.twilio, self.http_gateway)}
        self.assertEqual(len(tokens), 3)
        self.assertTrue(all(token and len(token) >= 24 for token in tokens))
        # another channel type gets none
        self.assertFalse(self.channel_phone.sudo().sms_token)

    def test_agents_see_their_own_sms_conversations(self):
        self._available()
        self._kannel_mo("Dzień dobry", "kannel-acl")
        interaction = self._conversation()
        interaction.with_user(self.agent_sales).action_answer()
        Interaction = self.env["omnichannel.interaction"]
        self.assertEqual(
            Interaction.with_user(self.agent_sales).search([("channel_type", "=", "sms")]),
            interaction,
        )
        self.assertTrue(interaction.with_user(self.agent_sales).message_ids)
        # an agent of another queue sees nothing of it
        self.assertFalse(
            Interaction.with_user(self.agent_claims).search([("id", "=", interaction.id)])
        )
        with self.assertRaises(AccessError):
            interaction.with_user(self.agent_claims).read(["subject"])
        # MMS downloads and the SMS queue are not agents' business
        with self.assertRaises(AccessError):
            self.env["omnichannel.sms.media"].with_user(self.agent_sales).search([])
        with self.assertRaises(AccessError):
            self.env["sms.sms"].with_user(self.agent_sales).search([])

    def test_allowed_addresses_are_checked(self):
        with self.assertRaises(ValidationError):
            self.kannel.with_user(self.manager).sms_allowed_ips = "10.0.0.1, not-an-ip"
