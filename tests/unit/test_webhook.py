"""omnichannel_cc/tools/webhook.py: the signed webhooks' pure checks, without Odoo.

The HTTP side (the shared preamble, omnichannel_cc/controllers/webhook.py)
is tested through the PBX and social webhooks: their addons' HttpCase tests
and tests/e2e/test_webhook_hostile.py.
"""

import math
import sys
import time

import pytest

from tests.unit._tools import load_tools

(webhook,) = load_tools("webhook")


def _status(call, *args, **kwargs):
    with pytest.raises(webhook.WebhookError) as caught:
        call(*args, **kwargs)
    return caught.value.status


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


# ----------------------------------------------------------------------
# L1: a URL token no channel can have never reaches the database
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "token",
    ["\x00", "abc\x00def", "tok\nen", "\x7f", "", "x" * (webhook.MAX_TOKEN + 1), "żółw", None, 42],
)
def test_l1_nul_or_control_char_in_token_is_404(token):
    assert _status(webhook.check_token, token, "Unknown PBX token.") == 404
    with pytest.raises(webhook.WebhookError, match="Unknown PBX token."):
        webhook.check_token(token, "Unknown PBX token.")


def test_l1_real_tokens_pass():
    for token in ("Zq3-_abc", "x" * webhook.MAX_TOKEN, "token.with~chars"):
        webhook.check_token(token)


# ----------------------------------------------------------------------
# L2: hostile JSON, however well signed, is a 400
# ----------------------------------------------------------------------
@pytest.mark.parametrize("depth", [webhook.MAX_DEPTH + 1, 5_000, 30_000, 300_000])
def test_l2_deeply_nested_json_is_400(depth):
    for body in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
        started = time.monotonic()
        with pytest.raises(webhook.WebhookError, match="nested more than") as caught:
            webhook.load_json(body)
        assert caught.value.status == 400
        assert time.monotonic() - started < 2, "refused without parsing"


def test_l2_depth_is_counted_outside_strings_only():
    brackets = '"' + "[{" * 1000 + '\\"' + "]}" * 1000 + '"'
    assert webhook.load_json(f'{{"text": {brackets}}}'.encode()) == {
        "text": brackets[1:-1].replace('\\"', '"')
    }
    nested = b'{"a": ' * webhook.MAX_DEPTH + b"1" + b"}" * webhook.MAX_DEPTH
    assert webhook.json_depth(nested) == webhook.MAX_DEPTH
    assert webhook.load_json(nested)["a"]


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1e400", "-1e400", "1.5e309"])
def test_l2_non_finite_numbers_are_400(number):
    for body in (f'{{"timestamp": {number}}}', f'{{"entry": [{{"id": {number}}}]}}'):
        assert _status(webhook.load_json, body.encode()) == 400


def test_l2_finite_numbers_and_nul_in_strings_still_load():
    payload = webhook.load_json(b'{"t": 1700000000.5, "big": 1e300, "n": -0.0, "s": "a\\u0000b"}')
    assert payload["t"] == 1700000000.5 and math.isfinite(payload["big"])
    # a NUL inside a string is the parsers' to refuse (ids) or drop (texts)
    assert payload["s"] == "a\x00b"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b'"text"', b""])
def test_malformed_bodies_are_400(body):
    assert _status(webhook.load_json, body) == 400


def test_l2_clock_check_never_overflows():
    now = 1_700_000_000
    for timestamp in (10**400, -(10**400), math.inf, math.nan, 1e308):
        assert _status(webhook.check_clock, timestamp, now) == 401
    webhook.check_clock(now - 10, now)


# ----------------------------------------------------------------------
# L7 (a): a body sent as a form is told so (415), not "bad signature"
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "mimetype", ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]
)
def test_l7a_form_or_text_content_type_is_415(mimetype):
    with pytest.raises(webhook.WebhookError, match="application/json") as caught:
        webhook.check_content_type(mimetype)
    assert caught.value.status == 415


@pytest.mark.parametrize(
    "mimetype", ["application/json", "APPLICATION/JSON", "", None, "application/vnd.pbx+json"]
)
def test_l7a_json_or_undeclared_content_type_passes(mimetype):
    webhook.check_content_type(mimetype)


def test_size():
    assert _status(webhook.check_size, 65537, 65536) == 413
    webhook.check_size(65536, 65536)
    webhook.check_size(None, 65536)


def test_control_chars():
    assert webhook.has_control_chars("a\x00b") and webhook.has_control_chars("a\nb")
    assert not webhook.has_control_chars("Dzień dobry 📍")
