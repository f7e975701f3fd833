"""omnichannel_cc_webform/tools/webform.py: form tokens and submission limits, without Odoo."""

import hashlib
import hmac
import sys
from datetime import datetime, timedelta

import pytest

from tests.unit._tools import load_tools

(webform,) = load_tools("webform", addon="omnichannel_cc_webform")
FormError = webform.FormError
Upload = webform.Upload
KEY = "claim-form"
NONCE = "n" * 24
NOW = 1_800_000_000
TODAY = datetime(2027, 1, 15, 9, 0)


def sign(message, secret=b"database-secret"):
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


def test_token_round_trip_returns_nonce():
    token = webform.make_token(sign, KEY, NOW, NONCE)
    assert webform.check_token(sign, KEY, token, NOW + 30) == NONCE


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # signature changed
        lambda t: str(NOW + 1) + t[len(str(NOW)) :],  # issue time changed
        lambda t: t.replace(NONCE, "m" * 24),  # nonce changed
        lambda t: webform.make_token(lambda m: sign(m, b"other-db"), KEY, NOW, NONCE),
        lambda t: "",
        lambda t: "a.b",
        lambda t: "x" * 400,
        lambda t: None,
    ],
)
def test_forged_tokens_refused(mangle):
    token = webform.make_token(sign, KEY, NOW, NONCE)
    with pytest.raises(FormError) as error:
        webform.check_token(sign, KEY, mangle(token), NOW + 30)
    assert error.value.status == 400


def test_token_bound_to_its_form():
    token = webform.make_token(sign, "other-form", NOW, NONCE)
    with pytest.raises(FormError, match="invalid"):
        webform.check_token(sign, KEY, token, NOW + 30)


def test_token_expiry_and_clock_skew():
    token = webform.make_token(sign, KEY, NOW, NONCE)
    assert webform.check_token(sign, KEY, token, NOW + webform.TOKEN_MAX_AGE) == NONCE
    with pytest.raises(FormError, match="expired"):
        webform.check_token(sign, KEY, token, NOW + webform.TOKEN_MAX_AGE + 1)
    with pytest.raises(FormError, match="expired"):
        webform.check_token(sign, KEY, token, NOW - 3600)  # issued in the future
    with pytest.raises(FormError, match="too fast"):
        webform.check_token(sign, KEY, token, NOW + 1, min_age=3)


def test_body_size_refused_before_parsing():
    webform.check_body_size(None)  # not announced: the limits on fields and files apply
    webform.check_body_size(webform.MAX_BODY_BYTES)
    with pytest.raises(FormError, match="larger than 12 MB") as error:
        webform.check_body_size(webform.MAX_BODY_BYTES + 1)
    assert error.value.status == 413


def test_bad_nonce_cannot_be_signed():
    with pytest.raises(ValueError):
        webform.make_token(sign, KEY, NOW, "short")


def test_honeypot():
    assert webform.is_spam({webform.HONEYPOT_FIELD: "http://spam"})
    assert not webform.is_spam({webform.HONEYPOT_FIELD: "  "})
    assert not webform.is_spam({})


VALID = {"name": "Ewa", "email": "ewa@example.com", "message": "Hello"}


def test_check_submission_cleans_values():
    result = webform.check_submission(
        dict(VALID, name="  Ewa \x00"), [Upload("a.pdf", "application/pdf", 10)], TODAY
    )
    assert result.name == "Ewa"
    assert result.callback_at is None
    assert len(result.uploads) == 1


@pytest.mark.parametrize(
    ("values", "status", "text"),
    [
        ({"message": "Hi"}, 400, "e-mail address or a phone"),
        ({"email": "a@b.example"}, 400, "Write a message"),
        (dict(VALID, message="x" * 20001), 413, "longer"),
        (dict(VALID, name="x" * 129), 400, "longer"),
        (dict(VALID, callback="1"), 400, "phone number to be called back"),
        (dict(VALID, phone="601", callback="1", callback_at="tomorrow"), 400, "date"),
    ],
)
def test_check_submission_refusals(values, status, text):
    with pytest.raises(FormError, match=text) as error:
        webform.check_submission(values, [], TODAY)
    assert error.value.status == status


@pytest.mark.parametrize(
    ("upload", "status"),
    [
        (Upload("big.pdf", "application/pdf", webform.MAX_FILE_BYTES + 1), 413),
        (Upload("run.exe", "application/octet-stream", 10), 400),
        (Upload("noext", "application/pdf", 10), 400),
        (Upload("page.pdf", "text/html", 10), 400),
        (Upload("empty.txt", "text/plain", 0), 400),
    ],
)
def test_upload_refusals(upload, status):
    with pytest.raises(FormError) as error:
        webform.check_upload(upload)
    assert error.value.status == status


def test_upload_accepted_with_generic_type_and_case():
    webform.check_upload(Upload("Photo.JPG", "application/octet-stream", 1000))
    webform.check_upload(Upload("scan.pdf", "application/pdf; name=scan.pdf", 1000))


def test_too_many_files():
    uploads = [Upload(f"{i}.png", "image/png", 10) for i in range(3)]
    with pytest.raises(FormError) as error:
        webform.check_submission(VALID, uploads, TODAY, max_files=2)
    assert error.value.status == 413


def test_callback_time_converted_to_utc():
    values = dict(VALID, phone="601", callback="1", callback_at="2027-01-16T10:30", tz_offset="-60")
    result = webform.check_submission(values, [], TODAY)
    assert result.callback_at == datetime(2027, 1, 16, 9, 30)


def test_callback_time_past_or_empty_means_now_and_far_future_refused():
    assert webform.parse_callback_time("", 0, TODAY) == TODAY
    assert webform.parse_callback_time("2020-01-01T10:00", 0, TODAY) == TODAY
    assert webform.parse_callback_time("2027-01-15T12:00", "junk", TODAY) == datetime(
        2027, 1, 15, 12, 0
    )
    far = (TODAY + timedelta(days=webform.CALLBACK_MAX_DAYS + 1)).strftime("%Y-%m-%dT%H:%M")
    with pytest.raises(FormError, match="days ahead"):
        webform.parse_callback_time(far, 0, TODAY)


def test_rate_limited():
    assert webform.rate_limited(4, 10, 5, 100) is None
    assert "Too many forms" in webform.rate_limited(5, 10, 5, 100)
    assert "too many messages" in webform.rate_limited(0, 100, 5, 100)
    assert webform.rate_limited(999, 999, 0, 0) is None
