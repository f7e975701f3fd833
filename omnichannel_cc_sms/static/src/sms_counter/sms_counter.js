import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { analyze, hasPolishCharacters, transliterate } from "../sms_encoding";

/**
 * What a text costs as SMS, shown under a box the user types in: characters,
 * encoding (GSM-7 / UCS-2), SMS count and what is left in the last one.
 *
 * A text that is UCS-2 only for its Polish letters (or other accents) says
 * what leaving them out saves and, given `onTransliterate`, offers a button
 * to do it (the caller replaces its text with `transliterate(text)`).
 * With `transliterated` (the channel sends replies without diacritics), the
 * counts are those of the text as it will be sent.
 */
export class SmsCounter extends Component {
    static template = "omnichannel_cc_sms.SmsCounter";
    static props = {
        text: { type: String, optional: true },
        transliterated: { type: Boolean, optional: true },
        onTransliterate: { type: Function, optional: true },
        readonly: { type: Boolean, optional: true },
        // added by the caller beyond the text (e.g. an opt-out link)
        extraUnits: { type: Number, optional: true },
    };
    static defaultProps = { text: "", transliterated: false, readonly: false, extraUnits: 0 };

    get text() {
        return this.props.text || "";
    }

    /** The text as it goes out (the extra units as spaces: one GSM-7 unit each). */
    padded(text) {
        return this.props.extraUnits ? text + " ".repeat(this.props.extraUnits) : text;
    }

    get typed() {
        return analyze(this.padded(this.text));
    }

    get plainText() {
        return transliterate(this.text);
    }

    get plain() {
        return analyze(this.padded(this.plainText));
    }

    /** The counts shown: of the text as it will be sent. */
    get sent() {
        return this.props.transliterated ? this.plain : this.typed;
    }

    /** Leaving the diacritics out changes something. */
    get canSave() {
        return (
            this.typed.encoding !== this.plain.encoding && this.plain.encoding === "GSM-7"
        );
    }

    get summary() {
        const sent = this.sent;
        return _t("%(characters)s characters · %(encoding)s · %(segments)s SMS · %(remaining)s left", {
            characters: sent.characters,
            encoding: sent.encoding,
            segments: sent.segments,
            remaining: sent.remaining,
        });
    }

    get withoutLabel() {
        return hasPolishCharacters(this.text)
            ? _t("Without Polish characters")
            : _t("Without accents");
    }

    /** What sending without diacritics saves, in words. */
    get saving() {
        const { typed, plain } = this;
        if (plain.segments !== typed.segments) {
            return _t("%(without)s: %(after)s SMS instead of %(before)s", {
                without: this.withoutLabel,
                after: plain.segments,
                before: typed.segments,
            });
        }
        return _t("%(without)s: still %(after)s SMS, %(left)s left instead of %(before_left)s", {
            without: this.withoutLabel,
            after: plain.segments,
            left: plain.remaining,
            before_left: typed.remaining,
        });
    }

    get sentWithout() {
        const { typed, plain } = this;
        return _t("Sent without diacritics: %(after)s SMS instead of %(before)s", {
            after: plain.segments,
            before: typed.segments,
        });
    }

    onTransliterate() {
        this.props.onTransliterate();
    }
}
