import { _t } from "@web/core/l10n/translation";
import { channelLabel } from "./agent_console_service";

/**
 * What an incoming contact is called, per channel type. The types of the
 * optional channel addons are listed too: a type that is not installed is
 * never offered, and a type not listed here reads "Incoming <channel>".
 */
function inboundTitles() {
    return {
        phone: _t("Incoming call"),
        chat: _t("Incoming web chat"),
        email: _t("Incoming e-mail"),
        sms: _t("Incoming SMS"),
        webform: _t("Incoming web form"),
        social: _t("Incoming message"),
        fax: _t("Fax"),
        video: _t("Video session"),
    };
}

/**
 * The title of an offer popup: what rings, in words. The server sends the
 * facts (`offer_kind`: inbound, outbound or callback; the call-back's
 * attempt and maximum; the customer's name); only the wording is made here.
 *
 * @param {Object} offer an offer of the console state
 * @returns {string}
 */
export function offerTitle(offer) {
    const customer = offer.customer_name;
    if (offer.offer_kind === "callback") {
        const values = {
            attempt: offer.callback_attempt,
            max: offer.callback_max_attempts,
            customer,
        };
        return customer
            ? _t("Call-back %(attempt)s/%(max)s to %(customer)s", values)
            : _t("Call-back %(attempt)s/%(max)s", values);
    }
    const channel = channelLabel(offer);
    if (offer.offer_kind === "outbound") {
        if (offer.channel_type === "phone") {
            return customer
                ? _t("Outbound call to %(customer)s", { customer })
                : _t("Outbound call");
        }
        return customer
            ? _t("%(channel)s to %(customer)s", { channel, customer })
            : _t("Outbound %(channel)s", { channel });
    }
    return inboundTitles()[offer.channel_type] || _t("Incoming %(channel)s", { channel });
}

/**
 * How the agent takes the offer: on their desk phone when the PBX rings it
 * (`answer_on_phone`), else with the popup's buttons.
 *
 * @param {Object} offer
 * @returns {string}
 */
export function offerAnswerHint(offer) {
    return offer.answer_on_phone
        ? _t("Answer on your phone")
        : _t("Accept or reject in the popup");
}
