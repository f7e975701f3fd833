"""omnichannel_cc_sms/tools/sms_keywords.py: opt-out, opt-in and help keywords, without Odoo."""

import pytest

from tests.unit._tools import load_tools

(kw,) = load_tools("sms_keywords", addon="omnichannel_cc_sms")

DEFAULTS = (kw.DEFAULT_OPTOUT, kw.DEFAULT_OPTIN, kw.DEFAULT_HELP)


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop \n",
        "STOP ALL",
        "stop  all",
        "StopAll",
        "UNSUBSCRIBE",
        "end",
        "Quit",
        "CANCEL",
        "optout",
        "REVOKE",
        "REZYGNUJĘ",
        "wypisz",
        "rezygnuję",
        "rezygnuje",
    ],
)
def test_optout_keywords(text):
    assert kw.match_keyword(text, *DEFAULTS) == kw.OPTOUT


@pytest.mark.parametrize("text", ["START", "unstop", "Tak"])
def test_optin_keywords(text):
    assert kw.match_keyword(text, *DEFAULTS) == kw.OPTIN


@pytest.mark.parametrize("text", ["HELP", "pomoc", " Pomoc "])
def test_help_keywords(text):
    assert kw.match_keyword(text, *DEFAULTS) == kw.HELP


@pytest.mark.parametrize(
    "text",
    ["", "   ", "stop calling me", "Please STOP", "STOP.", "nie wiem", "Nie", "help me", None],
)
def test_the_whole_message_must_be_the_keyword(text):
    assert kw.match_keyword(text, *DEFAULTS) is None


def test_configured_lists():
    assert kw.match_keyword("koniec", "KONIEC, wypisz", "", "") == kw.OPTOUT
    # "NIE" (no) is an opt-out only where a channel lists it
    assert kw.match_keyword("Nie", "STOP,NIE", "", "") == kw.OPTOUT
    assert kw.match_keyword("STOP", "KONIEC", "", "") is None
    assert kw.parse_keywords(" a , ,B  C,") == frozenset({"a", "b c"})
    # a word in two lists: opting out wins
    assert kw.match_keyword("stop", "STOP", "STOP", "STOP") == kw.OPTOUT
