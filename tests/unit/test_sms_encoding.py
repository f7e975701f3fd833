"""omnichannel_cc_sms/tools/sms_encoding.py: GSM-7 / UCS-2, units and segments, without Odoo."""

import sys

import pytest

from tests.unit._tools import load_tools

(enc,) = load_tools("sms_encoding", addon="omnichannel_cc_sms")


def test_loaded_without_odoo():
    assert "odoo" not in sys.modules


def test_empty_text_takes_no_segment():
    assert enc.analyze("") == {
        "encoding": "GSM-7",
        "characters": 0,
        "units": 0,
        "segments": 0,
        "per_segment": 160,
        "remaining": 160,
    }
    assert enc.analyze(None)["segments"] == 0


def test_plain_ascii_is_gsm7():
    result = enc.analyze("Hello, your parcel leaves today.")
    assert result["encoding"] == "GSM-7"
    assert result["units"] == result["characters"] == 32
    assert result["segments"] == 1
    assert result["remaining"] == 128


def test_gsm7_basic_table_accents_stay_gsm7():
    # these accented letters have a GSM-7 code of their own
    text = "èéùìòÇØøÅåÄÖÑÜäöñüàßÉÆæ£¥§¿¡Δ"
    result = enc.analyze(text)
    assert result["encoding"] == "GSM-7"
    assert result["units"] == len(text)


@pytest.mark.parametrize("char", list("^{}\\[~]|€\f"))
def test_extension_characters_count_two_units(char):
    result = enc.analyze("a" + char)
    assert result["encoding"] == "GSM-7"
    assert result["characters"] == 2
    assert result["units"] == 3


def test_gsm7_boundary_160_161():
    assert enc.analyze("a" * 160)["segments"] == 1
    assert enc.analyze("a" * 160)["remaining"] == 0
    over = enc.analyze("a" * 161)
    assert over["segments"] == 2
    assert over["per_segment"] == 153
    assert over["remaining"] == 153 * 2 - 161


def test_gsm7_multipart_153_per_segment():
    assert enc.analyze("a" * 306)["segments"] == 2
    assert enc.analyze("a" * 306)["remaining"] == 0
    assert enc.analyze("a" * 307)["segments"] == 3


def test_extension_characters_push_over_the_limit():
    # 159 units + one € (2 units) = 161 units: two segments
    result = enc.analyze("a" * 159 + "€")
    assert result["characters"] == 160
    assert result["units"] == 161
    assert result["segments"] == 2
    # 80 euros = 160 units: one segment
    assert enc.analyze("€" * 80)["segments"] == 1


def test_polish_text_is_ucs2():
    result = enc.analyze("Zażółć gęślą jaźń")
    assert result["encoding"] == "UCS-2"
    assert result["units"] == result["characters"] == 17
    assert result["per_segment"] == 70
    assert result["remaining"] == 53


def test_ucs2_boundary_70_71():
    assert enc.analyze("ą" * 70)["segments"] == 1
    over = enc.analyze("ą" * 71)
    assert over["segments"] == 2
    assert over["per_segment"] == 67
    assert over["remaining"] == 67 * 2 - 71


def test_ucs2_multipart_67_per_segment():
    assert enc.analyze("ą" * 134)["segments"] == 2
    assert enc.analyze("ą" * 135)["segments"] == 3


def test_one_polish_letter_turns_the_whole_text_ucs2():
    text = "a" * 100 + "ł"
    result = enc.analyze(text)
    assert result["encoding"] == "UCS-2"
    assert result["segments"] == 2  # 101 units > 70


def test_emoji_outside_bmp_count_two_units():
    result = enc.analyze("Dziękuję 👍")
    assert result["encoding"] == "UCS-2"
    assert result["characters"] == 10
    assert result["units"] == 11
    assert enc.analyze("👍" * 35)["segments"] == 1
    assert enc.analyze("👍" * 36)["segments"] == 2


def test_bmp_symbols_count_one_unit():
    # € is GSM-7 (extension); ™ is not GSM-7 but in the BMP
    assert enc.analyze("™")["units"] == 1
    assert enc.analyze("™")["encoding"] == "UCS-2"


def test_transliterate_polish_diacritics():
    assert enc.transliterate("Zażółć gęślą jaźń") == "Zazolc gesla jazn"
    assert enc.transliterate("ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż") == "ACELNOSZZ acelnoszz"


def test_transliterate_keeps_gsm7_accents_and_maps_typography():
    assert enc.transliterate("éèüÄñ") == "éèüÄñ"
    assert enc.transliterate("„Cytat” – ‘tak’…") == "\"Cytat\" - 'tak'..."
    assert enc.transliterate("a\u00a0b") == "a b"
    # other accented letters: their base letter
    assert enc.transliterate("čřžý") == "crzy"


def test_transliterate_keeps_what_has_no_look_alike():
    assert enc.transliterate("👍 Привет") == "👍 Привет"
    assert enc.analyze(enc.transliterate("👍 ok"))["encoding"] == "UCS-2"


def test_transliteration_saves_segments():
    text = (
        "Dzień dobry, przypominamy o płatności składki za polisę. Prosimy o wpłatę "
        "do piątku. Dziękujemy, Wisła Ubezpieczenia"
    )
    before, after = enc.analyze(text), enc.analyze(enc.transliterate(text))
    assert before["encoding"] == "UCS-2" and after["encoding"] == "GSM-7"
    assert before["segments"] == 2
    assert after["segments"] == 1
    savings = enc.savings(text)
    assert savings["segments_saved"] == 1
    assert savings["text"] == enc.transliterate(text)


def test_transliterate_is_idempotent():
    text = "Zażółć „gęślą” jaźń – 100 €"
    once = enc.transliterate(text)
    assert enc.transliterate(once) == once
    assert enc.encoding_of(once) == "GSM-7"
