import { describe, expect, test } from "@odoo/hoot";
import {
    analyze,
    GSM7_BASIC,
    GSM7_EXTENSION,
    hasPolishCharacters,
    isGsm7,
    transliterate,
} from "@omnichannel_cc_sms/sms_encoding";

describe.current.tags("headless");

/** The counts of `analyze` without the characters (most tests check units). */
function counts(text) {
    const { encoding, units, segments, per_segment, remaining } = analyze(text);
    return { encoding, units, segments, per_segment, remaining };
}

test("the GSM 03.38 tables: 127 basic characters (no escape), 10 in the extension", () => {
    expect(GSM7_BASIC.length).toBe(127);
    expect(new Set(GSM7_BASIC).size).toBe(127);
    expect(GSM7_BASIC).not.toInclude("\x1b");
    expect(GSM7_EXTENSION).toBe("\f^{}\\[~]|€");
    // every printable ASCII character is in one of them, except the backquote
    for (let code = 32; code < 127; code++) {
        const char = String.fromCharCode(code);
        expect(isGsm7(char)).toBe(char !== "`", { message: `${char} in GSM-7` });
    }
    // letters Odoo's own counter misses
    for (const char of "ΔΦΓΛΩΠΨΣΘΞ¤§¿¡ÆæßÉÅåØø") {
        expect(isGsm7(char)).toBe(true, { message: `${char} in GSM-7` });
    }
    for (const char of "áçêÈÍŁłąś😀\t") {
        expect(isGsm7(char)).toBe(false, { message: `${char} not in GSM-7` });
    }
});

test("empty text: no SMS, a whole GSM-7 one left", () => {
    expect(analyze("")).toEqual({
        encoding: "GSM-7",
        characters: 0,
        units: 0,
        segments: 0,
        per_segment: 160,
        remaining: 160,
    });
    expect(analyze(undefined).segments).toBe(0);
});

test("GSM-7: 160 in one SMS, 161 in two of 153", () => {
    expect(counts("a".repeat(1))).toEqual({
        encoding: "GSM-7",
        units: 1,
        segments: 1,
        per_segment: 160,
        remaining: 159,
    });
    expect(counts("a".repeat(160))).toEqual({
        encoding: "GSM-7",
        units: 160,
        segments: 1,
        per_segment: 160,
        remaining: 0,
    });
    expect(counts("a".repeat(161))).toEqual({
        encoding: "GSM-7",
        units: 161,
        segments: 2,
        per_segment: 153,
        remaining: 145,
    });
    expect(counts("a".repeat(153 * 2))).toEqual({
        encoding: "GSM-7",
        units: 306,
        segments: 2,
        per_segment: 153,
        remaining: 0,
    });
    expect(counts("a".repeat(153 * 2 + 1))).toEqual({
        encoding: "GSM-7",
        units: 307,
        segments: 3,
        per_segment: 153,
        remaining: 152,
    });
    // line breaks are basic characters: one unit each
    expect(counts("a\nb\r\nc")).toEqual({
        encoding: "GSM-7",
        units: 6,
        segments: 1,
        per_segment: 160,
        remaining: 154,
    });
});

test("GSM-7 extension characters count 2 units but 1 character", () => {
    for (const char of "^{}\\[~]|€\f") {
        const result = analyze(char);
        expect(result.encoding).toBe("GSM-7", { message: char });
        expect(result.characters).toBe(1, { message: char });
        expect(result.units).toBe(2, { message: char });
    }
    // 80 euro signs fill one SMS, 81 take two
    expect(counts("€".repeat(80))).toEqual({
        encoding: "GSM-7",
        units: 160,
        segments: 1,
        per_segment: 160,
        remaining: 0,
    });
    expect(analyze("€".repeat(81))).toEqual({
        encoding: "GSM-7",
        characters: 81,
        units: 162,
        segments: 2,
        per_segment: 153,
        remaining: 144,
    });
    // 159 letters and one bracket: 161 units, over one SMS
    expect(counts("a".repeat(159) + "[").segments).toBe(2);
    expect(counts("a".repeat(158) + "[").segments).toBe(1);
});

test("UCS-2: 70 in one SMS, 71 in two of 67", () => {
    expect(counts("ą".repeat(70))).toEqual({
        encoding: "UCS-2",
        units: 70,
        segments: 1,
        per_segment: 70,
        remaining: 0,
    });
    expect(counts("ą".repeat(71))).toEqual({
        encoding: "UCS-2",
        units: 71,
        segments: 2,
        per_segment: 67,
        remaining: 63,
    });
    expect(counts("ą".repeat(67 * 2))).toEqual({
        encoding: "UCS-2",
        units: 134,
        segments: 2,
        per_segment: 67,
        remaining: 0,
    });
    expect(counts("ą".repeat(67 * 2 + 1))).toEqual({
        encoding: "UCS-2",
        units: 135,
        segments: 3,
        per_segment: 67,
        remaining: 66,
    });
    // one character outside GSM-7 turns the whole text to UCS-2
    expect(counts("a".repeat(100) + "ł")).toEqual({
        encoding: "UCS-2",
        units: 101,
        segments: 2,
        per_segment: 67,
        remaining: 33,
    });
    // in UCS-2, extension characters are one unit like any other
    expect(counts("€ł").units).toBe(2);
});

test("Polish pangram: UCS-2, one SMS; transliterated it is GSM-7", () => {
    const text = "Zażółć gęślą jaźń";
    expect(hasPolishCharacters(text)).toBe(true);
    expect(analyze(text)).toEqual({
        encoding: "UCS-2",
        characters: 17,
        units: 17,
        segments: 1,
        per_segment: 70,
        remaining: 53,
    });
    const plain = transliterate(text);
    expect(plain).toBe("Zazolc gesla jazn");
    expect(hasPolishCharacters(plain)).toBe(false);
    expect(analyze(plain)).toEqual({
        encoding: "GSM-7",
        characters: 17,
        units: 17,
        segments: 1,
        per_segment: 160,
        remaining: 143,
    });
    // a longer Polish text: 3 SMS in UCS-2, 1 once transliterated
    const long = "Dzień dobry, Pańska przesyłka została wysłana. ".repeat(3);
    expect(long.length).toBe(141);
    expect(analyze(long).segments).toBe(3);
    expect(analyze(transliterate(long)).segments).toBe(1);
});

test("emoji: outside the BMP, 1 character and 2 UCS-2 units", () => {
    expect(analyze("😀")).toEqual({
        encoding: "UCS-2",
        characters: 1,
        units: 2,
        segments: 1,
        per_segment: 70,
        remaining: 68,
    });
    // 35 emoji fill one SMS, 36 take two
    expect(counts("😀".repeat(35))).toEqual({
        encoding: "UCS-2",
        units: 70,
        segments: 1,
        per_segment: 70,
        remaining: 0,
    });
    expect(counts("😀".repeat(36)).segments).toBe(2);
    // in the BMP: one unit
    expect(analyze("☺").units).toBe(1);
    // emoji have no stand-in: the text stays UCS-2
    expect(transliterate("Dzięki 😀")).toBe("Dzieki 😀");
    expect(analyze(transliterate("Dzięki 😀")).encoding).toBe("UCS-2");
});

test("transliterate: Polish letters, other diacritics, typography; GSM-7 letters kept", () => {
    expect(transliterate("ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ")).toBe("acelnoszz ACELNOSZZ");
    expect(transliterate("áâãčďěňřšťůžýÿ")).toBe("aaacdenrstuzyy");
    // the accented letters of the GSM-7 alphabet stay as they are
    expect(transliterate("èéùìòÇØøÅåÄÖÑÜäöñüàÉß")).toBe("èéùìòÇØøÅåÄÖÑÜäöñüàÉß");
    expect(transliterate("„Cytat” – ‘x’ «y»… 3\u00a0km")).toBe("\"Cytat\" - 'x' \"y\"... 3 km");
    // GSM-7 has the capital Ç only; compatibility forms decompose
    expect(transliterate("ç ﬁ ²")).toBe("c fi 2");
    // other scripts are kept
    expect(transliterate("Привет")).toBe("Привет");
    for (const text of ["Zażółć gęślą jaźń", "Łódź – Kraków „ekspres”", "Crème brûlée"]) {
        expect(isGsm7(transliterate(text))).toBe(true, { message: text });
    }
    expect(transliterate("")).toBe("");
});
