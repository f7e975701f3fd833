"""omnichannel_cc_invitation/tools/invitation.py: tokens, signatures, validity, upload checks,
tested without Odoo."""

import hashlib
import hmac
import sys
from datetime import datetime, timedelta

import pytest

from tests.unit._tools import load_tools

(inv,) = load_tools("invitation", addon="omnichannel_cc_invitation")
EXPIRY = datetime(2026, 11, 25, 12, 30, 0)
NOW = datetime(2026, 11, 24, 12, 30, 0)


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


def test_tokens_are_random_and_urlsafe():
    tokens = {inv.new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert len(token) >= 43
        assert set(token) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def test_token_digest():
    assert inv.token_digest("abc") == hashlib.sha256(b"abc").hexdigest()
    assert inv.token_digest("") is None
    assert inv.token_digest(None) is None
    assert inv.token_digest("x" * 129) is None


def test_signature_is_odoo_hmac_of_id_token_expiry():
    # same construction as odoo.tools.misc.hmac(env, scope, message)
    message = repr(("omnichannel.invitation", "7|tok|2026-11-25T12:30:00"))
    expected = hmac.new(b"s3cret", message.encode(), hashlib.sha256).hexdigest()
    assert inv.sign("s3cret", 7, "tok", EXPIRY) == expected
    # microseconds are not stored by Odoo: they do not change the signature
    assert inv.sign("s3cret", 7, "tok", EXPIRY.replace(microsecond=1234)) == expected


@pytest.mark.parametrize(
    "changed",
    [
        {"secret": "other"},
        {"invitation_id": 8},
        {"token": "tok2"},
        {"expiry": EXPIRY + timedelta(days=1)},
    ],
)
def test_signature_covers_every_part(changed):
    base = {"secret": "s3cret", "invitation_id": 7, "token": "tok", "expiry": EXPIRY}
    good = inv.sign(**base)
    assert not inv.same_signature(good, inv.sign(**dict(base, **changed)))
    assert inv.same_signature(good, inv.sign(**base))


def test_sign_needs_a_secret():
    with pytest.raises(ValueError):
        inv.sign("", 1, "tok", EXPIRY)


@pytest.mark.parametrize("given", [None, "", 42, b"bytes"])
def test_same_signature_refuses_junk(given):
    assert not inv.same_signature("abc", given)
    assert not inv.same_signature(given, "abc")


@pytest.mark.parametrize(
    ("state", "expiry", "single_use", "use_count", "expected"),
    [
        ("active", EXPIRY, False, 0, inv.VALID),
        ("active", EXPIRY, False, 5, inv.VALID),
        ("active", EXPIRY, True, 0, inv.VALID),
        ("active", EXPIRY, True, 1, inv.USED),
        ("used", EXPIRY, True, 1, inv.USED),
        ("active", NOW, False, 0, inv.EXPIRED),  # expiry is exclusive
        ("active", NOW - timedelta(seconds=1), False, 0, inv.EXPIRED),
        ("active", None, False, 0, inv.EXPIRED),
        ("expired", EXPIRY, False, 0, inv.EXPIRED),
        ("revoked", EXPIRY, False, 0, inv.REVOKED),
        ("revoked", NOW - timedelta(days=3), True, 1, inv.REVOKED),
        ("used", NOW - timedelta(days=3), True, 1, inv.USED),
    ],
)
def test_status(state, expiry, single_use, use_count, expected):
    assert inv.status(state, expiry, NOW, single_use, use_count) == expected


def test_parse_extensions():
    assert inv.parse_extensions(".jpg, png;PDF  .Txt") == frozenset(
        {".jpg", ".png", ".pdf", ".txt"}
    )
    assert inv.parse_extensions("") == frozenset()
    assert inv.parse_extensions(None) == frozenset()


def test_check_upload_accepts_and_cleans():
    result = inv.check_upload(
        [("C:\\Users\\jan\\szkoda.JPG", 2000), ("dir/protokol.pdf", 10), ("", 0)],
        max_bytes=5000,
    )
    assert result == [("szkoda.JPG", "image/jpeg"), ("protokol.pdf", "application/pdf")]


@pytest.mark.parametrize(
    ("files", "code"),
    [
        ([], "no_file"),
        ([("", 0)], "no_file"),
        ([("empty.jpg", 0)], "no_file"),
        ([("big.jpg", 5001)], "too_large"),
        ([("ok.jpg", 10), ("big.png", 5001)], "too_large"),
        ([("page.html", 10)], "bad_type"),
        ([("image.svg", 10)], "bad_type"),
        ([("run.exe", 10)], "bad_type"),
        ([("noextension", 10)], "bad_type"),
        ([(".hidden.jpg", 10)], "bad_name"),
        ([("a" * 300 + ".jpg", 10)], "bad_name"),
        ([(f"p{i}.jpg", 10) for i in range(11)], "too_many"),
    ],
)
def test_check_upload_refuses(files, code):
    with pytest.raises(inv.UploadError) as caught:
        inv.check_upload(files, max_bytes=5000)
    assert caught.value.code == code


def test_check_upload_custom_extensions():
    assert inv.check_upload([("plan.dwg", 10)], allowed_extensions={".dwg"})
    with pytest.raises(inv.UploadError):
        inv.check_upload([("photo.jpg", 10)], allowed_extensions={".dwg"})


@pytest.mark.parametrize(
    ("name", "sniffed", "ok"),
    [
        ("a.jpg", "image/jpeg", True),
        ("a.JPEG", "image/jpeg", True),
        ("a.jpg", "text/html", False),
        ("a.png", "image/jpeg", False),
        ("a.pdf", "application/pdf", True),
        ("a.pdf", "application/octet-stream", False),
        ("a.txt", "text/plain", True),
        ("a.txt", "text/html", False),
        ("a.heic", "application/octet-stream", True),
        ("plan.dwg", "application/octet-stream", True),
    ],
)
def test_content_matches(name, sniffed, ok):
    assert inv.content_matches(name, sniffed) is ok
