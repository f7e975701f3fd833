"""omnichannel_cc/tools/fax.py and email_gateway.py: pure, tested without Odoo."""

import sys
from email.message import EmailMessage

import pytest

from tests.unit._tools import load_tools

fax, email_gateway = load_tools("fax", "email_gateway")


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


@pytest.mark.parametrize(
    ("email_from", "subject", "x_fax_from", "expected"),
    [
        ("+48221234567@fax.example.com", "", None, "+48221234567"),
        ('"Fax gateway" <+48221234567@fax.example.com>', "", None, "+48221234567"),
        ("0048221234567@fax.example.com", None, None, "+48221234567"),
        ("221234567@fax.example.com", None, None, "221234567"),
        ("gateway@fax.example.com", "Fax from +48 22 123 45 67", None, "+48221234567"),
        ("gateway@fax.example.com", "FAX FROM: +48 (22) 123-45-67", None, "+48221234567"),
        ("gateway@fax.example.com", "Fax von +49 30 1234567 (2 Seiten)", None, "+49301234567"),
        ("gateway@fax.example.com", "Re: nothing", "+48 22 123 45 67", "+48221234567"),
        # the header wins over the other forms
        (
            "+48111111111@fax.example.com",
            "Fax from +48 333 333 333",
            "+48 22 123 45 67",
            "+48221234567",
        ),
        # sender local part before the subject
        ("+48221234567@fax.example.com", "Fax from +48 333 333 333", None, "+48221234567"),
    ],
)
def test_parse_fax_sender(email_from, subject, x_fax_from, expected):
    assert (
        fax.parse_fax_sender(email_from=email_from, subject=subject, x_fax_from=x_fax_from)
        == expected
    )


@pytest.mark.parametrize(
    ("email_from", "subject", "x_fax_from"),
    [
        ("gateway@fax.example.com", "Fax from anonymous", None),
        ("gateway@fax.example.com", "Invoice 2024/12", ""),
        ("not an address", None, "unknown"),
        (None, None, None),
        ("12@fax.example.com", "Fax from 12", None),
    ],
)
def test_parse_fax_sender_withheld(email_from, subject, x_fax_from):
    assert (
        fax.parse_fax_sender(email_from=email_from, subject=subject, x_fax_from=x_fax_from) is None
    )


def test_gateway_address():
    assert fax.gateway_address("+48221234567", "Fax.Example.COM") == "48221234567@fax.example.com"
    assert fax.gateway_address("+48221234567", "@fax.example.com") == "48221234567@fax.example.com"
    for number in ("48221234567", "+48 22 123", "+4822abc", "", None):
        with pytest.raises(fax.AddressError):
            fax.gateway_address(number, "fax.example.com")
    for domain in ("", "localhost", "fax example.com", "fax.example.com/x", None):
        with pytest.raises(fax.AddressError):
            fax.gateway_address("+48221234567", domain)


def test_is_pdf():
    assert fax.is_pdf("scan.PDF")
    assert fax.is_pdf("scan", "application/pdf; name=scan")
    assert not fax.is_pdf("scan.png", "image/png")
    assert not fax.is_pdf(None, None)


def _message(**headers):
    message = EmailMessage()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": "auto-generated"},
        {"Precedence": "bulk"},
        {"Precedence": "Junk"},
        {"X_Autoreply": "yes"},
        {"X_Auto_Response_Suppress": "OOF, AutoReply"},
        {"Return_Path": "<>"},
    ],
)
def test_automatic_mail(headers):
    assert email_gateway.is_automatic(email_gateway.kept_headers(_message(**headers)))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Auto_Submitted": "no"},
        {"Precedence": "normal"},
        {"Return_Path": "<jan@example.com>"},
        {"X_Auto_Response_Suppress": "DR"},
    ],
)
def test_human_mail(headers):
    assert not email_gateway.is_automatic(email_gateway.kept_headers(_message(**headers)))


def test_kept_headers_keep_fax_sender():
    kept = email_gateway.kept_headers(_message(X_Fax_From=" +48 22 123 45 67 "))
    assert kept["X-Fax-From"] == "+48 22 123 45 67"
    assert kept["Auto-Submitted"] == ""
