"""The web chat greets visitors in their language."""

import json
import re

from lxml import etree

from odoo import Command
from odoo.tests import HttpCase, tagged
from odoo.tools import file_open
from odoo.tools.translate import PoFileReader

from odoo.addons.omnichannel_cc.tests.common import OmnichannelCommon

# the options the loader script hands to the chat window
OPTIONS_RE = re.compile(r"options: (\{.*\}),\s*$", re.MULTILINE)
GREETING = "Hello! How can we help you?"
GREETING_PL = "Dzień dobry! W czym możemy pomóc?"


@tagged("post_install", "-at_install")
class TestVisitorLanguage(OmnichannelCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pl_PL")
        cls.env.company.partner_id.lang = "en_US"
        cls.livechat = cls.env["im_livechat.channel"].create(
            {
                "name": "Support chat",
                "user_ids": [Command.clear()],
                "default_message": GREETING,
                "button_text": "Questions? Chat with us.",
            }
        )
        cls.livechat.update_field_translations("default_message", {"pl_PL": GREETING_PL})
        cls.livechat.update_field_translations(
            "button_text", {"pl_PL": "Masz pytanie? Porozmawiaj z nami."}
        )
        cls.env["omnichannel.channel"].create(
            {
                "name": "Web chat",
                "channel_type": "chat",
                "livechat_channel_id": cls.livechat.id,
                "queue_id": cls.queue_sales.id,
            }
        )
        cls.queue_sales.write({"member_ids": [Command.set(cls.agent_sales.ids)]})
        # somebody can chat: the loader hands out the chat window's texts
        cls.env["omnichannel.agent"]._for_user(cls.agent_sales)._change_state("available")

    def _options(self, accept_language=None, lang=None, cookie=None):
        url = f"/im_livechat/loader/{self.livechat.id}"
        if lang:
            url += f"?lang={lang}"
        headers = {"Accept-Language": accept_language} if accept_language else {}
        if cookie:
            headers["Cookie"] = f"frontend_lang={cookie}"
        response = self.url_open(url, headers=headers)
        self.assertEqual(response.status_code, 200, response.text)
        match = OPTIONS_RE.search(response.text)
        self.assertTrue(match, f"nobody available? {response.text}")
        return json.loads(match.group(1))

    def test_greeting_in_the_browser_language(self):
        options = self._options("pl-PL,pl;q=0.9,en;q=0.5")
        self.assertEqual(options["default_message"], GREETING_PL)
        self.assertEqual(options["button_text"], "Masz pytanie? Porozmawiaj z nami.")
        # German first, not installed: the next language the browser accepts
        self.assertEqual(self._options("de-DE,pl;q=0.8")["default_message"], GREETING_PL)
        self.assertEqual(self._options("en-US,en;q=0.9,pl;q=0.8")["default_message"], GREETING)

    def test_explicit_choice_wins_then_the_company_language(self):
        self.assertEqual(self._options("en-US", cookie="pl_PL")["default_message"], GREETING_PL)
        options = self._options("pl", lang="en_US", cookie="pl_PL")
        self.assertEqual(options["default_message"], GREETING)
        self.assertEqual(self._options("en", lang="pl_PL")["default_message"], GREETING_PL)
        self.assertEqual(self._options("de-DE")["default_message"], GREETING)
        self.env.company.partner_id.lang = "pl_PL"
        self.assertEqual(self._options("de-DE")["default_message"], GREETING_PL)

    def test_demo_greeting_has_its_polish_translation(self):
        """The demo chat's greeting and button (ours) are in i18n/pl.po, for
        the text the demo data sets."""
        with file_open("omnichannel_cc_livechat/demo/omnichannel_livechat_demo.xml", "rb") as demo:
            record = etree.parse(demo).find(".//record[@id='livechat_channel_support']")
        with file_open("omnichannel_cc_livechat/i18n/pl.po", "rb") as po:
            translations = {
                (entry["name"], entry["imd_name"]): (entry["src"], entry["value"])
                for entry in PoFileReader(po)
                if entry["type"] == "model"
            }
        for field in ("default_message", "button_text"):
            text = record.find(f"field[@name='{field}']").text
            key = (f"im_livechat.channel,{field}", "livechat_channel_support")
            self.assertIn(key, translations, f"{field} has no Polish translation")
            source, polish = translations[key]
            self.assertEqual(source, text, f"pl.po translates another {field}")
            self.assertTrue(polish and polish != text, f"{field} is not translated")
