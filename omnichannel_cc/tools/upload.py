"""Files uploaded by the public: a safe base name and the type of the content.

Pure Python (no Odoo import). The type is sniffed from the content's first
bytes (and, for office documents, the names inside their zip), never taken
from the browser or from the name alone: an HTML page saved as ``x.pdf`` is
not a PDF. The names of the types are those of ``odoo.tools.mimetypes``, so a
type it guessed can be checked here too.
"""

import codecs
import io
import mimetypes
import re
import unicodedata
import zipfile

MAX_NAME_LENGTH = 255
TEXT_HEAD_BYTES = 8192  # how much of a text file is looked at

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
HEIC = "image/heic"
TEXT = "text/plain"
MARKUP = "text/html"  # HTML, XML or SVG: what a browser would run
ZIP = "application/zip"
OLE = "application/x-ole-storage"  # the container of .doc and .xls
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
UNKNOWN = "application/octet-stream"

# what the content may be for each extension; odoo.tools.mimetypes tells a
# .doc from a .xls by guesswork (and calls an unknown one a .doc), and does
# not know HEIC
CONTENT_TYPES = {
    ".pdf": (PDF,),
    ".png": (PNG,),
    ".jpg": (JPEG,),
    ".jpeg": (JPEG,),
    ".gif": (GIF,),
    ".webp": (WEBP,),
    ".heic": (HEIC, UNKNOWN),
    ".txt": (TEXT,),
    ".csv": (TEXT, "text/csv"),
    ".odt": (ODT,),
    ".ods": (ODS,),
    ".docx": (DOCX,),
    ".xlsx": (XLSX,),
    ".doc": (OLE, DOC),
    ".xls": (OLE, XLS, DOC),
}

_OOXML_DIRS = (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX))
_MIMETYPE_RE = re.compile(r"^[\w-]+/[\w.+-]+$")
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
# control bytes that plain text never holds (tab, line feed, form feed,
# carriage return and the old end-of-file mark 0x1A are text)
_BINARY_BYTES = frozenset(set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1A})


def safe_filename(name, max_length=MAX_NAME_LENGTH):
    """The base name of an uploaded file, fit to be stored and shown.

    Any client path goes (``/`` and ``\\``: ``../../x.pdf`` is ``x.pdf``), and
    so do control and invisible format characters (NUL; a right-to-left
    override makes ``cod.exe`` read ``exe.doc``) and leading or trailing dots
    and spaces. Too long a name is shortened before its extension. ``""``
    when nothing is left.
    """
    text = unicodedata.normalize("NFC", str(name or ""))
    text = "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cf"))
    base = text.replace("\\", "/").rsplit("/", 1)[-1].strip(" .")
    if len(base) > max_length:
        stem, dot, extension = base.rpartition(".")
        if dot and 0 < len(extension) < 16:
            base = stem[: max_length - len(extension) - 1].rstrip(" .") + "." + extension
        else:
            base = base[:max_length].rstrip(" .")
    return base


def extension_of(filename):
    """``".pdf"`` for ``"Scan.PDF"``; ``""`` without one."""
    return "." + filename.rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""


def _zip_type(data):
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            # OpenDocument: a small uncompressed "mimetype" member holds the type
            info = archive.getinfo("mimetype") if "mimetype" in names else None
            if info and info.compress_type == zipfile.ZIP_STORED and info.file_size < 256:
                declared = archive.read("mimetype").decode("ascii").strip()
                return declared if _MIMETYPE_RE.match(declared) else ZIP
            if "[Content_Types].xml" in names:
                for folder, mimetype in _OOXML_DIRS:
                    if any(member.startswith(folder) for member in names):
                        return mimetype
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        RuntimeError,
        ValueError,
        EOFError,
        OSError,
    ):
        pass
    return ZIP


def _text_type(head):
    """TEXT, MARKUP or None (not text) for the first bytes of a file."""
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            # a cut-off last character is no reason to refuse
            text = codecs.getincrementaldecoder(encoding)("replace").decode(head[len(bom) :])
            break
    else:
        if any(byte in _BINARY_BYTES for byte in head):
            return None
        # UTF-8 or a one-byte code page (Excel saves CSV in the Windows one)
        text = head.decode("utf-8", "replace").removeprefix("\ufeff")
    if any(ord(char) in _BINARY_BYTES for char in text):
        return None
    # a tag first: HTML, XML or SVG (odoo.tools.mimetypes calls it XML too)
    return MARKUP if text.lstrip().startswith("<") else TEXT


def sniff(data):
    """The type of ``data`` (bytes) told by its content, one of this module's
    constants or an OpenDocument type; UNKNOWN when none fits."""
    data = bytes(data or b"")
    if not data:
        return UNKNOWN
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return WEBP
    if data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS:
        return HEIC
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE
    if data.startswith(b"PK\x03\x04"):
        return _zip_type(data)
    return _text_type(data[:TEXT_HEAD_BYTES]) or UNKNOWN


def content_matches(filename, sniffed_mimetype, strict=False):
    """True when the sniffed type of a file fits its extension.

    An extension this module does not know is accepted on its name alone
    (an administrator allowed it explicitly), unless ``strict``.
    """
    expected = CONTENT_TYPES.get(extension_of(filename))
    if expected is None:
        return not strict
    return (sniffed_mimetype or "") in expected


# ----------------------------------------------------------------------
# Media a customer sends over a messenger or by MMS
# ----------------------------------------------------------------------
# What a customer may send that is kept: pictures, PDF and office documents
# (told by their content), plain text and contact cards (text claimed as
# such), sound and video (binary claimed as such). Never HTML, SVG, XML nor
# a program, whatever the gateway or the name says.
MEDIA_SNIFFED_TYPES = frozenset({PDF, PNG, JPEG, GIF, WEBP, HEIC, DOCX, XLSX, ODT, ODS})
MEDIA_OLE_TYPES = frozenset({DOC, XLS})
MEDIA_TEXT_TYPES = frozenset({TEXT, "text/csv", "text/vcard", "text/x-vcard", "text/calendar"})
MEDIA_BINARY_FAMILIES = ("audio/", "video/")


def received_media_type(data, claimed_type):
    """The type a received media file is kept as, or None when it is refused.

    ``claimed_type`` is what the gateway or the platform says (``image/jpeg;
    charset=...``); the content has the last word: a picture, a PDF or an
    office document is the type its first bytes tell, text is kept only when
    claimed as text, sound and video only when they are no text nor markup.
    """
    claimed = (claimed_type or "").split(";", 1)[0].strip().lower()
    if claimed and not _MIMETYPE_RE.match(claimed):
        claimed = ""
    sniffed = sniff(data)
    if sniffed in MEDIA_SNIFFED_TYPES:
        return sniffed
    if sniffed == OLE and claimed in MEDIA_OLE_TYPES:
        return claimed
    if sniffed == TEXT and claimed in MEDIA_TEXT_TYPES:
        return claimed
    if sniffed == UNKNOWN and claimed.startswith(MEDIA_BINARY_FAMILIES):
        return claimed
    return None


def media_filename(name, mimetype, default_stem="file"):
    """A safe file name for a received media of ``mimetype``: the sender's
    base name when its extension says that type, else with the type's
    extension added (``page.html`` holding a JPEG is ``page.html.jpg``), so
    that nothing reading the name takes it for another type."""
    base = safe_filename(name) or default_stem
    if mimetypes.guess_type(base)[0] == mimetype or mimetype in CONTENT_TYPES.get(
        extension_of(base), ()
    ):
        return base
    extension = mimetypes.guess_extension(mimetype) or ".bin"
    return safe_filename(base + extension)
