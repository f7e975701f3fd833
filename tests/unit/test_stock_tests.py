"""The verdict of setup/stock_tests.py: which of Odoo's own tests failing
with our addons installed are regressions (failing with them every time,
never without them)."""

import importlib.util

from tests.conftest import REPO_ROOT

_spec = importlib.util.spec_from_file_location(
    "stock_tests", REPO_ROOT / "setup" / "stock_tests.py"
)
stock_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stock_tests)

TOUR = "/im_livechat:TestImLivechatSessionHistory.test_session_history_navigation_back_and_forth"
SMS = "/sms:TestSMSPost.test_body_responsive"


def test_failing_again_with_the_suite_only_is_a_regression():
    assert stock_tests.verdict([TOUR, SMS], {SMS}, set()) == ([SMS], [TOUR], [])


def test_failing_again_without_the_suite_too_is_odoo_s_own():
    assert stock_tests.verdict([TOUR, SMS], {TOUR, SMS}, {TOUR}) == ([SMS], [], [TOUR])


def test_passing_when_run_again_is_only_reported():
    assert stock_tests.verdict([TOUR], set(), set()) == ([], [TOUR], [])


def test_a_stock_failure_counts_only_for_a_test_that_failed_again_with_the_suite():
    assert stock_tests.verdict([SMS], {SMS}, {TOUR}) == ([SMS], [], [])


FAILED_TOUR = (
    "2026-12-07 10:22:23,083 1 ERROR db odoo.addons.im_livechat.tests.test_session_history: "
    "FAIL: TestImLivechatSessionHistory.test_session_history_navigation_back_and_forth"
)
FAILED_SET_UP = (
    "2026-12-07 10:22:24,000 1 ERROR db odoo.tests.suite: ERROR: setUpClass "
    "(odoo.addons.rating.tests.test_security.TestAccessRating)"
)


def test_failing_tests_read_from_an_odoo_log():
    log = f"{FAILED_TOUR}\nother line\n{FAILED_SET_UP}\n"
    assert stock_tests.failing_tests(log) == {TOUR, "/rating:TestAccessRating"}
