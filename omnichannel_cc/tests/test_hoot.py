"""The Hoot unit tests of the agent console and the wallboard, in headless Chromium.

Runs the suite of this addon (``static/tests/unit``, Hoot suite
"@omnichannel_cc") on ``/web/tests`` as ``web/tests/test_js.py`` runs Odoo's
own. A failed Hoot test fails this test.

Before running any test, Hoot loads every test file of the
``web.assets_unit_tests`` bundle (dry run): that takes minutes, and one file
that cannot load aborts the run (some of ``web``'s own cannot with the Hoot of
this Odoo: ``test.tags`desktop```). So the test files of the other addons
are taken out of the bundle, for this test's transaction only.
"""

import logging
import re
from pathlib import Path

from odoo.tests import HttpCase, tagged
from odoo.tools.misc import file_path

HOOT_SUCCESS = "[HOOT] test suite succeeded"
RE_PASSED = re.compile(r"\[HOOT\] passed (\d+) tests")
RE_TEST = re.compile(r"^\s*test\(", re.MULTILINE)


def unit_test_error_checker(message):
    """As web/tests/test_js.py: Hoot reports each failed test with "[HOOT]",
    then the run's failure without it; that one stops the browser."""
    return "[HOOT]" not in message


def hoot_hash(name):
    """Id of a Hoot suite or test from its full name (Hoot's generateHash)."""
    value = 0
    for char in name:
        value = ((value << 5) - value + ord(char)) & 0xFFFFFFFF
    return f"{value:08x}"


class _Collector(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class HootSuiteCase(HttpCase):
    """Run the Hoot unit tests of ``hoot_addon`` (no test here: a base)."""

    hoot_addon = None

    def _count_hoot_tests(self):
        folder = Path(file_path(f"{self.hoot_addon}/static/tests/unit"))
        return sum(len(RE_TEST.findall(path.read_text())) for path in folder.rglob("*.test.js"))

    def _keep_only_own_test_files(self):
        """Remove the ``*.test.js`` files of every other addon from the bundle
        (their helpers stay: our tests import them)."""
        addons = self.env["ir.module.module"].search([("state", "=", "installed")]).mapped("name")
        removals = []
        for addon in addons:
            if addon == self.hoot_addon:
                continue
            try:
                folder = Path(file_path(f"{addon}/static/tests"))
            except FileNotFoundError:
                continue
            if next(folder.rglob("*.test.js"), None):
                removals.append(
                    {
                        "name": f"hoot: without {addon} tests",
                        "bundle": "web.assets_unit_tests",
                        "directive": "remove",
                        "path": f"{addon}/static/tests/**/*.test.js",
                        "sequence": 99,
                    }
                )
        self.env["ir.asset"].create(removals)

    def run_hoot_suite(self):
        expected = self._count_hoot_tests()
        self.assertTrue(expected, "no Hoot test found")
        self._keep_only_own_test_files()
        suite = hoot_hash(f"@{self.hoot_addon}")
        url = f"/web/tests?headless&loglevel=2&preset=desktop&timeout=15000&suite={suite}"
        # the browser logs under the test's logger; read how many tests passed
        collector = _Collector()
        browser_logger = self._logger.getChild("browser")
        browser_logger.addHandler(collector)
        level = browser_logger.level
        if not browser_logger.isEnabledFor(logging.INFO):
            browser_logger.setLevel(logging.INFO)
        try:
            self.browser_js(
                url,
                "",
                "",
                login="admin",
                timeout=300,
                success_signal=HOOT_SUCCESS,
                error_checker=unit_test_error_checker,
            )
        finally:
            browser_logger.removeHandler(collector)
            browser_logger.setLevel(level)
        passed = [int(m[1]) for m in map(RE_PASSED.search, collector.messages) if m]
        # every test written has run: no file left out of the bundle, no filter too narrow
        self.assertEqual(passed, [expected], "Hoot did not run every test of the suite")


@tagged("post_install", "-at_install")
class TestHoot(HootSuiteCase):
    hoot_addon = "omnichannel_cc"

    def test_hoot_unit(self):
        self.run_hoot_suite()
