"""omnichannel_cc_webform/tools/webform.py: form tokens and submission limits, without Odoo."""

import hashlib
import hmac
import io
import sys
import zipfile
from datetime import datetime, timedelta

import pytest

from tests.unit._tools import load_tools

(webform,) = load_tools("webform", addon="omnichannel_cc_webform")
(upload_tools,) = load_tools("upload")
FormError = webform.FormError
Upload = webform.Upload
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 32
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
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
        dict(VALID, name="  Ewa \x00"), [Upload("a.pdf", "application/pdf", PDF)], TODAY
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
        (Upload("big.pdf", "application/pdf", PDF.ljust(webform.MAX_FILE_BYTES + 1)), 413),
        (Upload("run.exe", "application/octet-stream", b"MZ" * 5), 400),
        (Upload("noext", "application/pdf", PDF), 400),
        (Upload("page.pdf", "text/html", PDF), 400),
        (Upload("empty.txt", "text/plain", b""), 400),
    ],
)
def test_upload_refusals(upload, status):
    with pytest.raises(FormError) as error:
        webform.check_upload(upload)
    assert error.value.status == status


def test_upload_accepted_with_generic_type_and_case():
    webform.check_upload(Upload("Photo.JPG", "application/octet-stream", JPEG))
    webform.check_upload(Upload("scan.pdf", "application/pdf; name=scan.pdf", PDF))


def test_too_many_files():
    uploads = [Upload(f"{i}.png", "image/png", PNG) for i in range(3)]
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


# ----------------------------------------------------------------------
# L6 (issue 13): attachments are checked by content, stored by base name
# ----------------------------------------------------------------------
def office_zip(*members, mimetype=None):
    """A zip as office suites write them: ODF's uncompressed ``mimetype``
    member, or OOXML's ``[Content_Types].xml`` and folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if mimetype:
            archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        for member in members:
            archive.writestr(member, "<x/>")
    return buffer.getvalue()


DOCX = office_zip("[Content_Types].xml", "word/document.xml")
XLSX = office_zip("[Content_Types].xml", "xl/workbook.xml")
ODT = office_zip("content.xml", mimetype="application/vnd.oasis.opendocument.text")
ODS = office_zip("content.xml", mimetype="application/vnd.oasis.opendocument.spreadsheet")


def test_l6_every_accepted_extension_has_its_content_check():
    for extension in webform.ALLOWED_EXTENSIONS:
        assert "." + extension in upload_tools.CONTENT_TYPES, extension
        assert not upload_tools.content_matches(f"x.{extension}", "text/html", strict=True)
    assert not upload_tools.content_matches("x.dwg", "application/octet-stream", strict=True)
    # the invitation's rule: an extension an administrator allowed passes on its name
    assert upload_tools.content_matches("x.dwg", "application/octet-stream")


@pytest.mark.parametrize(
    ("data", "sniffed"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"\xff\xd8\xff\xee" + b"\x00" * 8, "image/jpeg"),  # Adobe's JPEG
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic", "image/heic"),
        (OLE, "application/x-ole-storage"),
        (DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (ODT, "application/vnd.oasis.opendocument.text"),
        (ODS, "application/vnd.oasis.opendocument.spreadsheet"),
        (office_zip("a.txt"), "application/zip"),
        (b"PK\x03\x04 not really a zip", "application/zip"),
        (office_zip("content.xml", mimetype="text/html"), "text/html"),
        ("Zażółć gęślą jaźń\n".encode(), "text/plain"),
        ("Nazwa;Kwota\nŁódź;12,50\r\n".encode("cp1250"), "text/plain"),  # Excel's CSV
        ("\ufeffa\tb\n".encode("utf-16"), "text/plain"),
        ("ą".encode() * 5000, "text/plain"),  # a character cut at the end of the head
        (HTML, "text/html"),
        (b"  \r\n<svg onload=alert(1)>", "text/html"),
        (b"\xef\xbb\xbf<html>", "text/html"),
        (b"MZ\x90\x00\x03\x00", "application/octet-stream"),
        (b"text\x00with a NUL", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_l6_content_sniffed_from_first_bytes(data, sniffed):
    assert upload_tools.sniff(data) == sniffed


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("x.pdf", HTML),  # the finding: an HTML page saved as x.pdf
        ("x.pdf", PNG),
        ("x.png", PDF),
        ("x.jpg", PNG),
        ("x.txt", HTML),
        ("x.csv", b"\x00\x01\x02binary"),
        ("x.docx", office_zip("a.txt")),
        ("x.docx", XLSX),
        ("x.xlsx", ODT),
        ("x.odt", ODS),
        ("x.doc", DOCX),
        ("x.xls", PDF),
        ("x.gif", b"GIF88a"),
    ],
)
def test_l6_upload_content_not_matching_its_extension_refused(name, content):
    for claimed in ("application/octet-stream", ""):
        with pytest.raises(FormError, match="not what its name says") as error:
            webform.check_upload(Upload(name, claimed, content))
        assert error.value.status == 400


@pytest.mark.parametrize(
    ("name", "content", "mimetype"),
    [
        ("Skan.PDF", PDF, "application/pdf"),
        ("photo.jpeg", JPEG, "image/jpeg"),
        ("szkoda.png", PNG, "image/png"),
        ("notes.txt", "Zalało magazyn".encode(), "text/plain"),
        ("kwoty.csv", "Łódź;12,50\n".encode("cp1250"), "text/csv"),
        ("pismo.docx", DOCX, webform.ALLOWED_EXTENSIONS["docx"][0]),
        ("tabela.xlsx", XLSX, webform.ALLOWED_EXTENSIONS["xlsx"][0]),
        ("pismo.odt", ODT, "application/vnd.oasis.opendocument.text"),
        ("tabela.ods", ODS, "application/vnd.oasis.opendocument.spreadsheet"),
        ("stare.doc", OLE, "application/msword"),
        ("stare.xls", OLE, "application/vnd.ms-excel"),
    ],
)
def test_l6_upload_accepted_by_content_and_stored_with_its_extension_type(name, content, mimetype):
    checked = webform.check_upload(Upload(name, "application/octet-stream", content))
    # the type stored is the extension's, never the browser's word
    assert (checked.filename, checked.mimetype, checked.content) == (name, mimetype, content)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\..\\windows\\win.txt", "win.txt"),
        ("C:\\Users\\Ewa\\Pulpit\\szkoda.txt", "szkoda.txt"),
        ("/var/www/../x.txt", "x.txt"),
        ("a\x00b.txt", "ab.txt"),
        ("line\r\nbreak\x1b[31m.txt", "linebreak[31m.txt"),
        ("invoice\u202etxt.exe.txt", "invoicetxt.exe.txt"),  # right-to-left override
        ("  ..hidden.txt. ", "hidden.txt"),
        ("zdje\u0328cie.txt", "zdjęcie.txt"),  # macOS sends decomposed letters
    ],
)
def test_l6_upload_stored_under_its_base_name(sent, stored):
    checked = webform.check_upload(Upload(sent, "text/plain", b"tekst"))
    assert checked.filename == stored
    result = webform.check_submission(VALID, [Upload(sent, "text/plain", b"tekst")], TODAY)
    assert [upload.filename for upload in result.uploads] == [stored]


@pytest.mark.parametrize("sent", ["../../..", "..\\..\\", "/", "\x00", " . ", "dir/"])
def test_l6_upload_without_a_base_name_refused(sent):
    with pytest.raises(FormError, match="no usable name") as error:
        webform.check_upload(Upload(sent, "text/plain", b"tekst"))
    assert error.value.status == 400


def test_l6_safe_filename_keeps_extension_when_shortened():
    name = upload_tools.safe_filename("a" * 400 + ".pdf")
    assert len(name) == upload_tools.MAX_NAME_LENGTH
    assert name.endswith("a.pdf")
    assert upload_tools.safe_filename(None) == ""
