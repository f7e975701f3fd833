from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import OmnichannelVoipCommon


@tagged("post_install", "-at_install")
class TestResUsersExtension(OmnichannelVoipCommon):
    def test_extension_digits_only(self):
        self.agent.omnichannel_extension = "0201"
        self.assertEqual(self.agent.omnichannel_extension, "0201")
        for bad in ("12a", "12 3", "+32", "١٢٣"):
            with self.assertRaisesRegex(ValidationError, "digits only"):
                self.agent.omnichannel_extension = bad

    def test_extension_unique_per_company(self):
        self.agent.omnichannel_extension = "201"
        with self.assertRaisesRegex(ValidationError, "already used by"):
            self.manager.omnichannel_extension = "201"
        with self.assertRaisesRegex(ValidationError, "already used by"):
            self.env["res.users"].create(
                {"name": "Clone", "login": "voip_clone", "omnichannel_extension": "201"}
            )

    def test_extension_unique_within_one_batch(self):
        with self.assertRaises(ValidationError):
            (self.agent | self.manager).write({"omnichannel_extension": "555"})

    def test_extension_same_number_other_company(self):
        self.agent.omnichannel_extension = "201"
        self.manager.company_id = self.other_company
        self.manager.omnichannel_extension = "201"
        self.assertEqual(self.manager.omnichannel_extension, "201")
        # moving back into the first company collides
        with self.assertRaises(ValidationError):
            self.manager.company_id = self.company

    def test_extension_cleared_is_not_a_duplicate(self):
        self.agent.omnichannel_extension = False
        self.manager.omnichannel_extension = False
        self.assertFalse(self.agent.omnichannel_extension)

    def test_extension_self_readable(self):
        self.agent.omnichannel_extension = "777"
        self.assertIn("omnichannel_extension", self.agent.SELF_READABLE_FIELDS)
        agent_env_user = self.agent.with_user(self.agent)
        self.assertEqual(
            agent_env_user.read(["omnichannel_extension"])[0]["omnichannel_extension"], "777"
        )
