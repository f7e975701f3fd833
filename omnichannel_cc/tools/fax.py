"""E-mail-to-fax gateways: who sent an inbound fax, where an outbound fax goes.

Pure functions fed plain strings (no ORM). Gateways announce the sender's
number in one of three common ways, checked in this order:

* a header ``X-Fax-From: +48 22 123 45 67``;
* the sender's local part ``+48221234567@fax.example.com``;
* the subject ``Fax from +48 22 123 45 67`` (also "Fax von", "Fax od", "Fax de").
"""

import re

from .address import AddressError, clean_phone

# "Jane <+48221234567@fax.example.com>" or a bare address
_ADDRESS_RE = re.compile(r"<([^<>]+)>")
# A phone number inside free text: optional +, digits with the usual noise;
# brackets only around digits ("+48 (22) 123 45 67"), so "... (2 pages)" stays out.
_NUMBER_IN_TEXT = r"(\+?(?:\(\d+\)\s*)?\d[\d\s.\-/]*(?:\(\d+\)[\d\s.\-/]*)*\d)"
_SUBJECT_RE = re.compile(
    r"\bfax\s+(?:from|von|od|de|received\s+from)\s*:?\s*" + _NUMBER_IN_TEXT,
    re.IGNORECASE,
)
_DOMAIN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


def _number_or_none(text):
    if not text:
        return None
    try:
        return clean_phone(text)
    except AddressError:
        return None


def number_from_sender(email_from):
    """The number in the local part of the sender address, or None."""
    if not email_from:
        return None
    text = email_from.strip()
    match = _ADDRESS_RE.search(text)
    if match:
        text = match.group(1).strip()
    local, at, _domain = text.partition("@")
    if not at:
        return None
    return _number_or_none(local)


def number_from_subject(subject):
    """The number in a subject like 'Fax from +48 22 123 45 67', or None."""
    if not subject:
        return None
    match = _SUBJECT_RE.search(subject)
    return _number_or_none(match.group(1)) if match else None


def parse_fax_sender(email_from=None, subject=None, x_fax_from=None):
    """The fax sender's number as the gateway gave it (digits, optional '+'),
    or None when the gateway withheld it. Not yet in E.164: national numbers
    need the channel's country, which the caller knows."""
    return (
        _number_or_none(x_fax_from and x_fax_from.strip())
        or number_from_sender(email_from)
        or number_from_subject(subject)
    )


def normalize_gateway_domain(domain):
    """'Fax.Example.com' -> 'fax.example.com'; AddressError when not a domain."""
    cleaned = (domain or "").strip().lower().lstrip("@")
    if not _DOMAIN_RE.match(cleaned):
        raise AddressError(f"{domain!r} is not a domain name")
    return cleaned


def gateway_address(e164_number, domain):
    """Where an outbound fax to ``e164_number`` is mailed: '<digits>@<domain>'.

    ``e164_number`` must already be E.164 ('+48221234567'); the '+' is dropped
    because most gateways want digits only.
    """
    if not e164_number or not re.fullmatch(r"\+\d{6,15}", e164_number):
        raise AddressError(f"{e164_number!r} is not an E.164 fax number")
    return f"{e164_number[1:]}@{normalize_gateway_domain(domain)}"


def is_pdf(filename=None, mimetype=None):
    """Whether an attachment is a PDF document, by its type or its name."""
    if mimetype and mimetype.split(";")[0].strip().lower() == "application/pdf":
        return True
    return bool(filename) and filename.strip().lower().endswith(".pdf")
