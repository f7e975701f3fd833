/**
 * Length and encoding of an SMS, as the gateway will send it: the same maths
 * as `omnichannel_cc_sms/tools/sms_encoding.py` (keep the two in step).
 *
 * A text made only of the GSM 03.38 default alphabet goes as GSM-7: 160 units
 * in one SMS, 153 per part of a longer one (the rest holds the concatenation
 * header); a character of the extension table is sent as ESC + code and
 * counts 2 units. Any other character makes the whole text UCS-2: 70 units in
 * one SMS, 67 per part; a character outside the Basic Multilingual Plane
 * (most emoji) is a UTF-16 surrogate pair and counts 2 units.
 */

// GSM 03.38 default alphabet (0x1B, the escape to the extension table, left out)
export const GSM7_BASIC =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
// GSM 03.38 extension table: form feed ^ { } \ [ ~ ] | €
export const GSM7_EXTENSION = "\f^{}\\[~]|€";

export const GSM7 = "GSM-7";
export const UCS2 = "UCS-2";

// units in one SMS / in each part of a concatenated one
export const SEGMENT_UNITS = {
    [GSM7]: { single: 160, multi: 153 },
    [UCS2]: { single: 70, multi: 67 },
};

const BASIC = new Set(GSM7_BASIC);
const COMBINING_MARKS = /\p{Mn}/gu;
const EXTENSION = new Set(GSM7_EXTENSION);

/**
 * Characters mapped explicitly (the same table as the Python side): Polish
 * first, then what Unicode decomposition cannot bring back to GSM-7 (ł has no
 * decomposition, quotes and dashes are not accented letters).
 */
export const TRANSLITERATION = {
    ą: "a",
    ć: "c",
    ę: "e",
    ł: "l",
    ń: "n",
    ó: "o",
    ś: "s",
    ź: "z",
    ż: "z",
    Ą: "A",
    Ć: "C",
    Ę: "E",
    Ł: "L",
    Ń: "N",
    Ó: "O",
    Ś: "S",
    Ź: "Z",
    Ż: "Z",
    đ: "d",
    Đ: "D",
    œ: "oe",
    Œ: "OE",
    ç: "c",
    "\u201e": '"', // „
    "\u201d": '"', // ”
    "\u201c": '"', // “
    "«": '"',
    "»": '"',
    "\u201a": "'", // ‚
    "\u2018": "'", // ‘
    "\u2019": "'", // ’
    "`": "'",
    "´": "'",
    "\u2013": "-", // en dash
    "\u2014": "-", // em dash
    "\u2010": "-", // hyphen
    "\u2011": "-", // non-breaking hyphen
    "\u2212": "-", // minus
    "\u2026": "...",
    "\u00a0": " ", // no-break space
    "\u2007": " ", // figure space
    "\u202f": " ", // narrow no-break space
    "\t": " ",
    "\u2022": "-", // bullet
    "×": "x",
};

/** Units one character (a code point) takes in GSM-7; 0 if it has no GSM-7 code. */
function gsm7Units(char) {
    if (BASIC.has(char)) {
        return 1;
    }
    return EXTENSION.has(char) ? 2 : 0;
}

/** Whether the whole text can go as GSM-7. */
export function isGsm7(text) {
    for (const char of text || "") {
        if (!gsm7Units(char)) {
            return false;
        }
    }
    return true;
}

/**
 * Encoding, length and segments of `text`.
 *
 * @param {string} text
 * @returns {{encoding: string, characters: number, units: number, segments: number,
 *     per_segment: number, remaining: number}} `characters`: code points;
 *     `units`: septets (GSM-7) or UTF-16 code units (UCS-2); `per_segment`:
 *     units in each SMS of this text (160 or 153, 70 or 67); `remaining`:
 *     units still free in the last SMS
 */
export function analyze(text) {
    text = text || "";
    const chars = [...text];
    const gsm7 = chars.every((char) => gsm7Units(char));
    const encoding = gsm7 ? GSM7 : UCS2;
    const units = gsm7
        ? chars.reduce((sum, char) => sum + gsm7Units(char), 0)
        : text.length; // UTF-16 code units: a surrogate pair counts 2
    const limits = SEGMENT_UNITS[encoding];
    const perSegment = units > limits.single ? limits.multi : limits.single;
    const segments = Math.ceil(units / perSegment);
    return {
        encoding,
        characters: chars.length,
        units,
        segments,
        per_segment: perSegment,
        remaining: segments ? segments * perSegment - units : perSegment,
    };
}

/**
 * One character in GSM-7: itself when it has a GSM-7 code or no look-alike
 * (emoji, Cyrillic ...), else its stand-in: from the table, or an accented
 * Latin letter's base letter (compatibility decomposition, marks dropped).
 */
function transliterateChar(char) {
    if (gsm7Units(char)) {
        return char;
    }
    const mapped = TRANSLITERATION[char];
    if (mapped !== undefined && isGsm7(mapped)) {
        return mapped;
    }
    const base = char.normalize("NFKD").replace(COMBINING_MARKS, "");
    return base && isGsm7(base) ? base : char;
}

/**
 * `text` with the characters GSM-7 lacks replaced by look-alikes: Polish
 * letters (ą→a, Ł→L ...), other Latin letters without their diacritic
 * (á→a, č→c ...), typographic quotes, dashes, spaces and ellipsis. What has
 * none (emoji, other scripts) is kept: the text then stays UCS-2.
 *
 * @param {string} text
 * @returns {string}
 */
export function transliterate(text) {
    let result = "";
    for (const char of text || "") {
        result += transliterateChar(char);
    }
    return result;
}

/** Whether `text` holds a Polish letter with a diacritic (ą ć ę ł ń ó ś ź ż). */
export function hasPolishCharacters(text) {
    return /[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]/.test(text || "");
}
