"""omnichannel_cc/tools/upload.py: which media a customer sends (MMS, messengers)
are kept, and under which name; tested without Odoo."""

import sys

import pytest

from tests.unit._tools import load_tools

(upload,) = load_tools("upload")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x01\x02" * 10
AMR = b"#!AMR\n\x3c\x91\x17\x16\xbe\x66\x78\x00\x00\x01"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
HTML = b"<html><body><script>alert(1)</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
VCARD = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jan Kowalski\r\nEND:VCARD\r\n"


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


@pytest.mark.parametrize(
    ("data", "claimed", "kept"),
    [
        (JPEG, "image/jpeg", "image/jpeg"),
        (JPEG, "image/png", "image/jpeg"),  # the content has the last word
        (PNG, "", "image/png"),
        (PDF, "application/octet-stream", "application/pdf"),
        (MP4, "video/mp4", "video/mp4"),
        (AMR, "audio/amr; codecs=x", "audio/amr"),
        (VCARD, "text/vcard", "text/vcard"),
        (b"Hello", "text/plain", "text/plain"),
    ],
)
def test_received_media_kept(data, claimed, kept):
    assert upload.received_media_type(data, claimed) == kept


@pytest.mark.parametrize(
    ("data", "claimed"),
    [
        (SVG, "image/svg+xml"),
        (SVG, "image/jpeg"),  # markup under a picture's name
        (HTML, "text/html"),
        (HTML, "text/plain"),  # markup is never text
        (HTML, "video/mp4"),
        (EXE, "application/x-msdownload"),
        (EXE, "application/octet-stream"),
        (EXE, ""),
        (b"Hello", "image/jpeg"),  # text claimed as a picture
        (b"Hello", "video/mp4"),
        (b"", "image/jpeg"),
        (MP4, "video/<script>"),
    ],
)
def test_received_media_refused(data, claimed):
    assert upload.received_media_type(data, claimed) is None


@pytest.mark.parametrize(
    ("name", "mimetype", "expected"),
    [
        ("zdjecie.jpg", "image/jpeg", "zdjecie.jpg"),
        ("Skan.PDF", "application/pdf", "Skan.PDF"),
        ("page.html", "image/jpeg", "page.html.jpg"),
        ("photo.svg", "image/png", "photo.svg.png"),
        ("../../etc/passwd", "text/plain", "passwd.txt"),
        ("", "image/png", "file.png"),
        ('"><svg onload=x>.pdf', "application/pdf", '"><svg onload=x>.pdf'),
    ],
)
def test_media_filename(name, mimetype, expected):
    assert upload.media_filename(name, mimetype) == expected
