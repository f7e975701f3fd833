"""The Hoot unit tests of the SMS counter and the SMS conversation, in headless Chromium.

Runs the suite of this addon (``static/tests/unit``, Hoot suite
"@omnichannel_cc_sms"); see ``omnichannel_cc/tests/test_hoot.py``.
"""

from odoo.tests import tagged

from odoo.addons.omnichannel_cc.tests.test_hoot import HootSuiteCase


@tagged("post_install", "-at_install")
class TestHoot(HootSuiteCase):
    hoot_addon = "omnichannel_cc_sms"

    def test_hoot_unit(self):
        self.run_hoot_suite()
