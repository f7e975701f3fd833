"""omnichannel_cc/tools/address.py: pure normalisation, tested without Odoo."""

import sys

import pytest

from tests.unit._tools import load_tools

(address,) = load_tools("address")
AddressError = address.AddressError
MOBILE = "+48601234567"


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules
    assert address.phonenumbers is not None, "phonenumbers is not installed (requirements.txt)"


@pytest.mark.parametrize(
    "text",
    [
        "+48 601-234-567",
        "+48601234567",
        "0048601234567",
        "00 48 601 234 567",
        "+48 (601) 234 567",
        "(+48) 601.234.567",
        "+48/601/234/567",
        "  +48 601 234 567  ",
        "[+48] 601 234 567",
    ],
)
def test_normalize_phone_international(text):
    assert address.normalize_phone(text) == MOBILE


@pytest.mark.parametrize("region", ["PL", "pl"])
def test_normalize_phone_national_with_region(region):
    assert address.normalize_phone("601 234 567", region) == MOBILE
    assert address.normalize_phone("22 123-45-67", region) == "+48221234567"


def test_normalize_phone_region_ignored_for_international():
    assert address.normalize_phone("+48 601 234 567", "DE") == MOBILE


def test_normalize_phone_national_without_region_fails():
    with pytest.raises(AddressError):
        address.normalize_phone("601 234 567")


@pytest.mark.parametrize(
    "text", ["abc", "12", "++--", "", None, "+", "601 234 567 ext. 12", 601234567]
)
def test_normalize_phone_garbage(text):
    with pytest.raises(AddressError):
        address.normalize_phone(text, "PL")


@pytest.mark.parametrize("text", ["+48 601 234 567 89", "+48 60"])
def test_normalize_phone_wrong_length(text):
    with pytest.raises(AddressError):
        address.normalize_phone(text, "PL")


def test_address_error_is_value_error():
    assert issubclass(AddressError, ValueError)


@pytest.mark.parametrize("text", ["abc", "12", "++--", "", None])
def test_normalize_phone_or_none(text):
    assert address.normalize_phone_or_none(text, "PL") is None


def test_normalize_phone_or_none_valid():
    assert address.normalize_phone_or_none("601-234-567", "PL") == MOBILE


def test_clean_phone():
    assert address.clean_phone(" (0048) 601.234.567 ") == "+48601234567"
    assert address.clean_phone("601 234 567") == "601234567"
    with pytest.raises(AddressError):
        address.clean_phone("601 234 567 a")


def test_phone_candidates_without_plus():
    # '48601234567': country code typed without '+' or '00'
    assert address.phone_candidates("48601234567", []) == [MOBILE]
    assert address.phone_candidates("48601234567", ["PL"]) == [MOBILE]


def test_phone_candidates_international_has_one_reading():
    assert address.phone_candidates("+48 601 234 567", ["DE", "FR"]) == [MOBILE]


def test_phone_candidates_national_in_region_order():
    found = address.phone_candidates("601 234 567", ["PL", "DE"])
    assert found[0] == MOBILE
    assert len(found) == len(set(found))
    assert address.phone_candidates("601 234 567", ["PL", "PL"]) == [MOBILE]


@pytest.mark.parametrize("text", ["abc", "12", "++--"])
def test_phone_candidates_garbage(text):
    with pytest.raises(AddressError):
        address.phone_candidates(text, ["PL"])


def test_looks_like_email():
    assert address.looks_like_email("a@b.pl")
    assert not address.looks_like_email("a@b")
    assert not address.looks_like_email("")
    assert not address.looks_like_email(None)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("+48 601-234-567", "phone"),
        ("0048601234567", "phone"),
        ("601 234 567", "phone"),
        ("(22) 123.45.67", "phone"),
        ("jan@example.com", "email"),
        ("Jan Kowalski <JAN@EXAMPLE.COM>", "email"),
        ("jan@example", None),
        ("hello", None),
        ("abc", None),
        ("12", None),
        ("++--", None),
        ("", None),
        (None, None),
        (48601234567, None),
    ],
)
def test_classify(text, expected):
    assert address.classify(text) == expected
