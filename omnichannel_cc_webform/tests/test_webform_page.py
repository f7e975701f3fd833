"""The visitor's pages: HTML5 in standards mode, in the visitor's language."""

import re

from odoo.tests import HttpCase, tagged

from .common import WebformCommon

TOKEN_RE = re.compile(r'name="token" value="([^"]+)"')
HTML_LANG_RE = re.compile(r'<html lang="([^"]*)"')

# Runs in Chromium on the form, as a Polish visitor: standards mode, <html
# lang="pl">, Polish labels; the call-back time (and its hint) shown only
# while "Call me back" is ticked; then the form sent into a frame, whose
# thank-you page is checked the same way.
BROWSER_CHECK = """
(async () => {
    const check = (condition, message) => {
        if (!condition) {
            throw new Error(message);
        }
    };
    const visible = (el) => Boolean(el) && el.getClientRects().length > 0;
    const until = async (condition, what, ms = 20000) => {
        const end = Date.now() + ms;
        while (!condition()) {
            check(Date.now() < end, `timed out waiting for ${what}`);
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
    };
    const shown = (doc) => (doc.body.innerText || "").trim();

    check(document.compatMode === "CSS1Compat", `quirks mode (${document.compatMode})`);
    check(document.documentElement.lang === "pl", `lang="${document.documentElement.lang}"`);
    check(!shown(document).includes("DOCTYPE"), "the doctype is shown as text");
    const labels = [...document.querySelectorAll("label")].filter(visible);
    const texts = labels.map((label) => label.textContent.trim());
    check(texts.some((text) => text.startsWith("Wiadomość")), `no Polish label in ${texts}`);
    check(document.querySelector("button[type=submit]").textContent.trim() === "Wyślij",
        "the Send button is not in Polish");

    const box = document.querySelector("input[name=callback]");
    const when = document.querySelector("input[name=callback_at]");
    const hint = document.getElementById(when.getAttribute("aria-describedby"));
    check(visible(box) && box.labels[0].textContent.includes("Proszę o oddzwonienie"),
        "no Polish 'Call me back' box");
    check(!box.checked && !visible(when) && !visible(hint),
        "the call-back time shows while 'Call me back' is unticked");
    box.click();
    check(visible(when) && visible(hint), "the call-back time stays hidden once ticked");
    check(hint.textContent.includes("Zadzwonimy"), `hint not in Polish: ${hint.textContent}`);
    check(when.labels[0] && visible(when.labels[0]), "the call-back time has no label");
    // the hint sits with its field, not with the Send button
    const field = when.closest(".o_omnichannel_webform_callback_when");
    check(field && field.contains(hint), "the hint is not with the call-back time");
    check(!hint.parentElement.querySelector("button"), "the hint sits with the Send button");
    box.click();
    check(!visible(when) && !visible(hint), "the call-back time shows once unticked again");

    // send; the answer page opens in a frame of this page
    document.querySelector("input[name=name]").value = "Ewa Nowak";
    document.querySelector("input[name=email]").value = "ewa.nowak@example.com";
    document.querySelector("textarea[name=message]").value = "Proszę o kontakt.";
    const frame = document.createElement("iframe");
    frame.name = "o_omnichannel_webform_answer";
    document.body.appendChild(frame);
    const form = document.querySelector("form.o_omnichannel_webform_form");
    form.target = frame.name;
    form.submit();
    await until(
        () =>
            frame.contentDocument &&
            frame.contentDocument.readyState === "complete" &&
            frame.contentDocument.querySelector("h1"),
        "the answer page"
    );
    const answer = frame.contentDocument;
    check(answer.compatMode === "CSS1Compat", `answer in quirks mode (${answer.compatMode})`);
    check(answer.documentElement.lang === "pl", `answer lang="${answer.documentElement.lang}"`);
    check(shown(answer).startsWith("Dziękujemy"), `answer not in Polish: ${shown(answer)}`);
    check(answer.querySelector(".o_omnichannel_webform_thanks"), `not sent: ${shown(answer)}`);
    console.log("test successful");
})().catch((error) => console.error(`webform page: ${error.message}`));
"""


@tagged("post_install", "-at_install")
class TestWebformPage(WebformCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("pl_PL")
        cls.env["ir.module.module"]._load_module_terms(
            ["omnichannel_cc_webform"], ["pl_PL"], overwrite=True
        )
        cls.url = f"/omnichannel/form/{cls.channel_webform.address}"
        # the company writes English unless a test says otherwise
        cls.env.company.partner_id.lang = "en_US"

    def _get(self, url=None, accept_language=None, cookie=None):
        headers = {}
        if accept_language:
            headers["Accept-Language"] = accept_language
        if cookie:
            headers["Cookie"] = f"frontend_lang={cookie}"
        response = self.url_open(url or self.url, headers=headers)
        self.assertEqual(response.status_code, 200, response.text)
        return response

    def assertPage(self, response, lang, *texts):
        """An HTML5 page (the doctype first, as markup) in ``lang``."""
        text = response.text
        self.assertTrue(text.startswith("<!DOCTYPE html>"), text[:80])
        self.assertNotIn("&lt;!DOCTYPE", text)
        self.assertEqual(HTML_LANG_RE.search(text).group(1), lang, text[:200])
        for expected in texts:
            self.assertIn(expected, text)

    def test_browser_polish_visitor_standards_mode_and_call_back_field(self):
        self.browser_js(self.url, BROWSER_CHECK, cookies={"frontend_lang": "pl_PL"}, timeout=120)
        interaction = self._interactions()
        self.assertEqual(len(interaction), 1)
        self.assertFalse(interaction.callback_request_ids, "the box was left unticked")

    def test_accept_language_picks_an_installed_language(self):
        polish = self._get(accept_language="pl-PL,pl;q=0.9")
        self.assertPage(polish, "pl", "Wiadomość", "Wyślij", "Preferowany termin")
        self.assertNotIn(">Message", polish.text)
        # the answer page keeps the form's language
        self.assertIn(f'action="{self.url}?lang=pl_PL"', polish.text)
        # German first, not installed: the next language the browser accepts
        self.assertPage(self._get(accept_language="de-DE,de;q=0.9,pl;q=0.5"), "pl", "Wiadomość")
        english = self._get(accept_language="en-US,en;q=0.9,pl;q=0.8")
        self.assertPage(english, "en", "Message", "Preferred time", "Send")
        self.assertNotIn("Wiadomość", english.text)

    def test_explicit_choice_wins_over_the_browser(self):
        # Odoo's language cookie (the website's language switcher)
        self.assertPage(self._get(accept_language="en-US", cookie="pl_PL"), "pl", "Wiadomość")
        # ?lang= wins over the cookie and the header
        url = f"{self.url}?lang=en_US"
        self.assertPage(self._get(url, "pl-PL", cookie="pl_PL"), "en", "Message")
        self.assertPage(self._get(f"{self.url}?lang=pl", "en-US"), "pl", "Wiadomość")
        # a choice not installed is ignored
        self.assertPage(self._get(f"{self.url}?lang=de_DE", "pl"), "pl", "Wiadomość")

    def test_fallback_is_the_company_language(self):
        self.assertPage(self._get(accept_language="de-DE,de;q=0.9"), "en", "Message")
        self.env.company.partner_id.lang = "pl_PL"
        self.assertPage(self._get(accept_language="de-DE,de;q=0.9"), "pl", "Wiadomość")
        self.assertPage(self._get(), "pl", "Wiadomość")

    def test_answer_pages_in_the_form_language(self):
        token = TOKEN_RE.search(self._get(accept_language="pl").text).group(1)
        data = {"token": token, "email": "ewa.nowak@example.com", "message": "Proszę o kontakt."}
        thanks = self.url_open(f"{self.url}?lang=pl_PL", data=data)
        self.assertEqual(thanks.status_code, 200, thanks.text)
        self.assertPage(thanks, "pl", "Dziękujemy")
        self.assertEqual(len(self._interactions()), 1)
        refused = self.url_open(f"{self.url}?lang=pl_PL", data=dict(data, token="forged"))
        self.assertEqual(refused.status_code, 400, refused.text)
        self.assertPage(refused, "pl", "Nie wysłano")
        # without a choice: the browser's language, as for the form
        thanks = self.url_open(
            self.url, data=dict(data, token=token), headers={"Accept-Language": "en-US"}
        )
        self.assertPage(thanks, "en", "Thank you")
