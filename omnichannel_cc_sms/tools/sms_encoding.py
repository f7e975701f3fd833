"""Length and encoding of an SMS text: GSM-7 or UCS-2, units and segments.

Pure Python, no ORM. The agent console's composer counts the same way in
JavaScript (``static/src``): keep both in step.

- GSM-7 (3GPP TS 23.038): the basic table counts 1 unit per character, the
  extension table (``^ { } \\ [ ~ ] | €`` and the form feed) 2 units (an
  escape, then the character); 160 units in a single SMS, 153 per segment of
  a multipart one (the concatenation header takes the rest).
- Any other character makes the whole text UCS-2: 1 unit per UTF-16 code
  unit (2 for a character outside the BMP, e.g. most emoji); 70 units in a
  single SMS, 67 per segment of a multipart one.

:func:`transliterate` replaces Polish diacritics (and other accented Latin
letters, typographic quotes and dashes) by GSM-7 look-alikes, so that a text
written in Polish stays in GSM-7: 160 characters per SMS instead of 70.
"""

import math
import unicodedata

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7 = "GSM-7"
UCS2 = "UCS-2"
# (units in a single SMS, units per segment of a multipart SMS)
LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}

# Characters mapped explicitly: Polish first, then what Unicode decomposition
# cannot bring back to GSM-7 (ł has no decomposition, quotes and dashes are
# not accented letters).
TRANSLITERATION = {
    "ą": "a",
    "ć": "c",
    "ę": "e",
    "ł": "l",
    "ń": "n",
    "ó": "o",
    "ś": "s",
    "ź": "z",
    "ż": "z",
    "Ą": "A",
    "Ć": "C",
    "Ę": "E",
    "Ł": "L",
    "Ń": "N",
    "Ó": "O",
    "Ś": "S",
    "Ź": "Z",
    "Ż": "Z",
    "đ": "d",
    "Đ": "D",
    "œ": "oe",
    "Œ": "OE",
    "ç": "c",
    "„": '"',
    "”": '"',
    "“": '"',
    "«": '"',
    "»": '"',
    "‚": "'",
    "‘": "'",
    "’": "'",
    "`": "'",
    "´": "'",
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "−": "-",
    "…": "...",
    "\u00a0": " ",
    "\u2007": " ",
    "\u202f": " ",
    "\t": " ",
    "•": "-",
    "×": "x",
}


def is_gsm7_char(char):
    """Whether ``char`` is in the GSM-7 basic or extension table."""
    return char in GSM7_BASIC or char in GSM7_EXTENSION


def encoding_of(text):
    """``"GSM-7"`` when every character of ``text`` has a GSM-7 code, else ``"UCS-2"``."""
    return GSM7 if all(is_gsm7_char(char) for char in text or "") else UCS2


def units(text, encoding=None):
    """Units ``text`` takes in ``encoding`` (its own by default): GSM-7 septets
    (extension characters 2), or UTF-16 code units for UCS-2."""
    text = text or ""
    encoding = encoding or encoding_of(text)
    if encoding == GSM7:
        return sum(2 if char in GSM7_EXTENSION else 1 for char in text)
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def analyze(text):
    """What ``text`` costs as one SMS message.

    Returns ``{"encoding": "GSM-7" | "UCS-2", "characters", "units",
    "segments", "per_segment", "remaining"}``: ``per_segment`` is 160 / 70
    while the text fits one SMS, 153 / 67 once it needs several;
    ``remaining`` the units left before one more segment is needed. An empty
    text takes no segment.
    """
    text = text or ""
    encoding = encoding_of(text)
    count = units(text, encoding)
    single, multi = LIMITS[encoding]
    if count <= single:
        segments, per_segment = (1 if count else 0), single
        remaining = single - count
    else:
        segments, per_segment = math.ceil(count / multi), multi
        remaining = segments * multi - count
    return {
        "encoding": encoding,
        "characters": len(text),
        "units": count,
        "segments": segments,
        "per_segment": per_segment,
        "remaining": remaining,
    }


def transliterate_char(char):
    """A GSM-7 replacement of one character, or the character itself when
    it is GSM-7 already or has no look-alike (emoji, Cyrillic ...)."""
    if is_gsm7_char(char):
        return char
    mapped = TRANSLITERATION.get(char)
    if mapped is not None and all(is_gsm7_char(c) for c in mapped):
        return mapped
    # an accented Latin letter without a GSM-7 code: its base letter
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if base and all(is_gsm7_char(c) for c in base):
        return base
    return char


def transliterate(text):
    """``text`` with Polish diacritics and other common non-GSM characters
    replaced by GSM-7 look-alikes (``ą→a``, ``ł→l``, ``„→"``, ``–→-``);
    characters without one (emoji) are kept, and keep the text UCS-2."""
    return "".join(transliterate_char(char) for char in text or "")


def savings(text):
    """What :func:`transliterate` saves on ``text``: ``{"text", "before",
    "after", "segments_saved"}`` (``before`` / ``after``: :func:`analyze`)."""
    converted = transliterate(text)
    before, after = analyze(text), analyze(converted)
    return {
        "text": converted,
        "before": before,
        "after": after,
        "segments_saved": before["segments"] - after["segments"],
    }
