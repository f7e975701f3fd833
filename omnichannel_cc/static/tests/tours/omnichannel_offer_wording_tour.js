import { registry } from "@web/core/registry";

const OFFER = ".o_omnichannel_offer_popup";

/**
 * A step that waits for the title of the offer popup matching `selector`
 * and fails unless it reads exactly `expected`.
 */
function titleIs(selector, expected) {
    return {
        content: `The offer popup says "${expected}"`,
        trigger: `${OFFER}${selector} .o_omnichannel_offer_channel`,
        run({ anchor }) {
            const text = anchor.textContent.trim();
            if (text !== expected) {
                throw new Error(`Offer title: expected "${expected}", got "${text}"`);
            }
        },
    };
}

// Four offers ring for the agent at once: a phone call, a web chat, an
// e-mail and the first attempt of a call-back. Each popup says what it is.
registry.category("web_tour.tours").add("omnichannel_cc_offer_wording_tour", {
    steps: () => [
        {
            content: "The four offers are shown",
            trigger: `.o_omnichannel_offer_stack:has(${OFFER}:eq(3))`,
        },
        titleIs('[data-channel="phone"]:has([data-kind="inbound"])', "Incoming call"),
        titleIs('[data-channel="chat"]', "Incoming web chat"),
        titleIs('[data-channel="email"]', "Incoming e-mail"),
        titleIs('[data-channel="phone"]:has([data-kind="callback"])', "Call-back 1/3 to Zofia Bez Długów"),
        {
            content: "A call-back is accepted in the popup",
            trigger: `${OFFER}:has([data-kind="callback"]) .o_omnichannel_offer_accept`,
        },
        {
            content: "No phone rings outside the web client: no 'answer on your phone'",
            trigger: `body:not(:has(.o_omnichannel_offer_answer_on_phone))`,
        },
    ],
});
