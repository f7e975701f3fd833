"""omnichannel_cc/tools/language.py: the language a visitor reads, without Odoo."""

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from tests.unit._tools import load_tools

(language,) = load_tools("language")
INSTALLED = {"en_US": "en", "pl_PL": "pl", "pt_BR": "pt_BR", "fr_BE": "fr_BE"}


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("pl", "pl_PL"),
        ("pl-PL", "pl_PL"),
        ("PL-pl", "pl_PL"),
        ("pl_PL", "pl_PL"),
        ("en-GB", "en_US"),  # the language's main variant
        ("pt-BR", "pt_BR"),
        ("pt", "pt_BR"),  # the only variant installed
        ("fr", "fr_BE"),
        ("de-DE", None),
        ("*", None),
        ("", None),
        (None, None),
        ("pl; DROP", None),
    ],
)
def test_match_language(tag, code):
    assert language.match_language(tag, INSTALLED) == code


def test_main_variant_before_others():
    installed = {"en_GB": "en_GB", "en_US": "en", "en_AU": "en_AU"}
    assert language.match_language("en", installed) == "en_US"
    assert language.match_language("en-AU", installed) == "en_AU"
    assert language.match_language("en-CA", installed) == "en_US"


def test_explicit_choice_wins_over_the_browser():
    accepted = [("en-US", 1), ("en", 0.9)]
    assert language.visitor_language(INSTALLED, ["pl_PL"], accepted) == "pl_PL"
    # a choice not installed is skipped: the next choice, then the browser
    assert language.visitor_language(INSTALLED, ["de_DE", "pl_PL"], accepted) == "pl_PL"
    assert language.visitor_language(INSTALLED, ["de_DE", None], accepted) == "en_US"


def test_browser_languages_by_quality_among_installed():
    # Polish visitor
    assert language.visitor_language(INSTALLED, (), [("pl-PL", 1), ("pl", 0.9)]) == "pl_PL"
    # German first, not installed: the next language the browser accepts
    accepted = [("de-DE", 1), ("de", 0.9), ("pl", 0.8), ("en", 0.7)]
    assert language.visitor_language(INSTALLED, (), accepted) == "pl_PL"
    # qualities rank, not the order in the header; ties keep the header's order
    assert language.visitor_language(INSTALLED, (), [("en", 0.5), ("pl", 0.8)]) == "pl_PL"
    assert language.visitor_language(INSTALLED, (), [("pt", 0.5), ("pl", 0.5)]) == "pt_BR"
    # q=0: "not this one"
    assert language.visitor_language(INSTALLED, (), [("pl", 0)], ["en_US"]) == "en_US"


def test_fallbacks():
    assert language.visitor_language(INSTALLED, (), [("de", 1)], [None, "pl_PL"]) == "pl_PL"
    assert language.visitor_language(INSTALLED, (), (), ["de_DE"]) == "en_US"
    assert language.visitor_language({"pl_PL": "pl", "fr_BE": "fr_BE"}, (), ()) == "pl_PL"
    assert language.visitor_language({}, ["pl"], [("pl", 1)]) is None


@pytest.mark.parametrize(
    ("iso_code", "tag"),
    [
        ("pl", "pl"),
        ("en", "en"),
        ("pt_BR", "pt-BR"),
        ("zh_CN", "zh-CN"),
        ("sr@latin", "sr-Latn"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_html_lang(iso_code, tag):
    assert language.html_lang(iso_code) == tag


def test_request_choices():
    environ = EnvironBuilder(
        path="/omnichannel/form/claim?lang=pl_PL",
        headers={"Accept-Language": "de-DE,pl;q=0.8", "Cookie": "frontend_lang=en_US"},
    ).get_environ()
    requested, accepted = language.request_choices(Request(environ))
    assert requested == ("pl_PL", "en_US")
    assert accepted == [("de-DE", 1), ("pl", 0.8)]
    assert language.visitor_language(INSTALLED, requested[1:], accepted) == "en_US"
    assert language.visitor_language(INSTALLED, (), accepted) == "pl_PL"
