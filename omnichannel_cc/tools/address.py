"""Normalisation of customer addresses (phone numbers, e-mails, handles).

Pure functions fed plain strings: the ORM decides which country applies and
calls in here, so the same input always gives the same stored value.
"""

import re

try:
    import phonenumbers
except ImportError:  # pragma: no cover - declared in external_dependencies
    phonenumbers = None

EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
# What people put around phone digits: spaces, dots, dashes, slashes, brackets.
PHONE_NOISE_RE = re.compile(r"[\s.\-/()\[\]]")
PHONE_CHARS_RE = re.compile(r"^\+?\d{3,20}$")


class AddressError(ValueError):
    """The text cannot be the kind of address it was given as."""


def looks_like_email(text):
    return bool(text) and bool(EMAIL_RE.match(text.strip()))


def clean_phone(text):
    """Digits with an optional leading '+', or raise AddressError."""
    if not text or not isinstance(text, str):
        raise AddressError("empty phone number")
    cleaned = PHONE_NOISE_RE.sub("", text.strip())
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not PHONE_CHARS_RE.match(cleaned):
        raise AddressError(f"{text!r} is not a phone number")
    return cleaned


def normalize_phone(text, region=None):
    """E.164 form of a phone number ('+48601234567').

    ``region`` is the ISO country code used when the number has no
    international prefix. Raises AddressError when the text cannot be a
    phone number, or when it is a national number and no region is known.
    """
    cleaned = clean_phone(text)
    if phonenumbers is None:  # pragma: no cover
        raise AddressError("the phonenumbers Python package is not installed")
    try:
        parsed = phonenumbers.parse(cleaned, (region or "").upper() or None)
    except phonenumbers.NumberParseException as error:
        raise AddressError(f"{text!r} is not a phone number: {error}") from error
    if not phonenumbers.is_possible_number(parsed):
        raise AddressError(f"{text!r} has the wrong number of digits for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone_or_none(text, region=None):
    """normalize_phone for stored fields: None instead of an error."""
    if not text:
        return None
    try:
        return normalize_phone(text, region)
    except AddressError:
        return None


def phone_candidates(text, regions):
    """Every E.164 reading of ``text`` for the given regions, in order, unique.

    A number with an international prefix has one reading; a national one
    ('601 234 567') has one per candidate region (partners' countries).
    Raises AddressError when no reading exists at all.
    """
    cleaned = clean_phone(text)
    if cleaned.startswith("+"):
        return [normalize_phone(cleaned)]
    found = []
    for region in regions:
        value = normalize_phone_or_none(cleaned, region)
        if value and value not in found:
            found.append(value)
    if not found:
        # '48601234567' typed without the '+'
        value = normalize_phone_or_none("+" + cleaned)
        if value:
            found.append(value)
    if not found:
        raise AddressError(f"{text!r} is not a phone number in any known country")
    return found


def classify(text):
    """'email', 'phone' or None for free text typed or received as an address."""
    if not text or not isinstance(text, str):
        return None
    if "@" in text:
        return (
            "email" if looks_like_email(re.sub(r"^.*<([^<>]+)>.*$", r"\1", text.strip())) else None
        )
    try:
        clean_phone(text)
    except AddressError:
        return None
    return "phone"
