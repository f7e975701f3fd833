import { useEffect, useState } from "@odoo/owl";
import { patch } from "@web/core/utils/patch";
import { SmsWidget } from "@sms/components/sms_widget/fields_sms_widget";
import { SmsCounter } from "../sms_counter/sms_counter";
import { transliterate } from "../sms_encoding";

/**
 * The SMS composer's body (and every other `sms_widget` field) counts as the
 * gateway sends: GSM 03.38 tables with extension characters counted twice,
 * surrogate pairs in UCS-2, 153 / 67 units per part of a long SMS; and offers
 * to drop the Polish diacritics that make a text UCS-2. Odoo's own counter
 * takes `€` or `[` for one unit and every line break for two, and moves only
 * when the field is left (the record is updated on "change").
 */
patch(SmsWidget, {
    components: { ...SmsWidget.components, SmsCounter },
});

patch(SmsWidget.prototype, {
    setup() {
        super.setup(...arguments);
        // what is in the box as the user types, and the record's value it was typed over
        this.smsLive = useState({ text: null, base: null });
        useEffect(
            (textarea) => {
                if (!textarea) {
                    return;
                }
                const onInput = () => {
                    Object.assign(this.smsLive, {
                        text: textarea.value,
                        base: this.props.record.data[this.props.name] || "",
                    });
                };
                textarea.addEventListener("input", onInput);
                return () => textarea.removeEventListener("input", onInput);
            },
            () => [this.textareaRef.el]
        );
    },

    /** The body as typed; the record's once it changed otherwise (saved, transliterated, reloaded). */
    get smsBody() {
        const value = this.props.record.data[this.props.name] || "";
        const live = this.smsLive;
        return live.text !== null && live.base === value ? live.text : value;
    },

    /** The text counted: the body once processed (mass_mailing_sms: links as trackers). */
    get smsCountedText() {
        return this._getValueForSmsCounts(this.smsBody);
    },

    /**
     * Characters other addons add beyond the text (mass_mailing_sms: the
     * opt-out link), as they extend `nbrChar` over Odoo's count of the text.
     */
    get smsExtraUnits() {
        const text = this._getValueForSmsCounts(this.props.record.data[this.props.name] || "");
        const odooCount = text.length + (text.match(/\n/g) || []).length;
        return Math.max(this.nbrChar - odooCount, 0);
    },

    async onSmsTransliterate() {
        const text = transliterate(this.smsBody);
        await this.props.record.update({ [this.props.name]: text });
        if (this.textareaRef.el) {
            this.textareaRef.el.value = text;
        }
    },
});
