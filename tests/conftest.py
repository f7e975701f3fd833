"""Shared facts about the repository for the static, unit and e2e tests."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
ADDONS = (
    "omnichannel_cc",
    "omnichannel_cc_livechat",
    "omnichannel_cc_social",
    "omnichannel_cc_webform",
    "omnichannel_cc_invitation",
    "omnichannel_cc_sms",
    "omnichannel_cc_voip",
    "omnichannel_cc_survey",
    "omnichannel_cc_survey_sms",
    "omnichannel_cc_survey_livechat",
    "omnichannel_cc_survey_voip",
    "omnichannel_cc_crm",
    "omnichannel_cc_dashboard",
)
CORE = "omnichannel_cc"


@pytest.fixture(scope="session")
def repo_root():
    return REPO_ROOT
