import { describe, expect, test } from "@odoo/hoot";
import { patchTranslations } from "@web/../tests/web_test_helpers";

import { offerAnswerHint, offerTitle } from "@omnichannel_cc/agent_console/offer_wording";

describe.current.tags("headless");

/** An offer as the server describes it: an inbound contact unless told otherwise. */
function offer(values = {}) {
    return {
        channel_type: "phone",
        channel_label: "Phone",
        direction: "inbound",
        offer_kind: "inbound",
        callback_attempt: 0,
        callback_max_attempts: 0,
        customer_name: "Jan Testowy",
        answer_on_phone: false,
        ...values,
    };
}

test("offerTitle: an incoming contact is named after its channel", () => {
    patchTranslations();
    const titles = Object.fromEntries(
        ["phone", "chat", "email", "sms", "webform", "social", "fax", "video"].map((type) => [
            type,
            offerTitle(offer({ channel_type: type })),
        ])
    );
    expect(titles).toEqual({
        phone: "Incoming call",
        chat: "Incoming web chat",
        email: "Incoming e-mail",
        sms: "Incoming SMS",
        webform: "Incoming web form",
        social: "Incoming message",
        fax: "Fax",
        video: "Video session",
    });
    // a channel type the console does not know: the server's label of it
    expect(offerTitle(offer({ channel_type: "pigeon", channel_label: "Carrier pigeon" }))).toBe(
        "Incoming Carrier pigeon"
    );
    expect(offerTitle(offer({ channel_type: "pigeon", channel_label: false }))).toBe(
        "Incoming pigeon"
    );
});

test("offerTitle: outbound calls and call-backs say whom they call", () => {
    patchTranslations();
    const callback = { direction: "outbound", offer_kind: "callback" };
    expect(
        offerTitle(offer({ ...callback, callback_attempt: 1, callback_max_attempts: 3 }))
    ).toBe("Call-back 1/3 to Jan Testowy");
    expect(
        offerTitle(
            offer({ ...callback, callback_attempt: 2, callback_max_attempts: 5, customer_name: false })
        )
    ).toBe("Call-back 2/5");
    const outbound = { direction: "outbound", offer_kind: "outbound" };
    expect(offerTitle(offer(outbound))).toBe("Outbound call to Jan Testowy");
    expect(offerTitle(offer({ ...outbound, customer_name: false }))).toBe("Outbound call");
    expect(
        offerTitle(offer({ ...outbound, channel_type: "sms", channel_label: "SMS" }))
    ).toBe("SMS to Jan Testowy");
});

test("offerTitle: the translated wording, with the server's figures in its placeholders", () => {
    patchTranslations({
        "Call-back %(attempt)s/%(max)s to %(customer)s":
            "Oddzwonienie %(attempt)s/%(max)s do: %(customer)s",
        "Incoming call": "Połączenie przychodzące",
    });
    expect(
        offerTitle(
            offer({
                direction: "outbound",
                offer_kind: "callback",
                callback_attempt: 1,
                callback_max_attempts: 3,
            })
        )
    ).toBe("Oddzwonienie 1/3 do: Jan Testowy");
    expect(offerTitle(offer())).toBe("Połączenie przychodzące");
});

test("offerAnswerHint: on the desk phone, or in the popup", () => {
    patchTranslations();
    expect(offerAnswerHint(offer({ answer_on_phone: true }))).toBe("Answer on your phone");
    expect(offerAnswerHint(offer())).toBe("Accept or reject in the popup");
    expect(offerAnswerHint({})).toBe("Accept or reject in the popup");
});
