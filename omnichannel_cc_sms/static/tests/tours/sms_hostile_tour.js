import { registry } from "@web/core/registry";

// Issue 19 (see tests/test_sms_hostile_ui.py): the customer's name and SMS
// hold HTML/JS that would set window.__xss if a browser ran it.
const OFFER = ".o_omnichannel_offer_popup";
const DOCK = ".o_omnichannel_sms_dock";
const IMG = "<img src=x onerror=";
const SCRIPT = "<script>window.__xss=1</script>";
const SVG = '"><svg onload=window.__xss=1>';
const has = (text) => `:contains('${text}')`;

function noScriptRan(where) {
    return {
        content: `No payload ran: ${where}`,
        trigger: "body",
        run() {
            if (window.__xss !== undefined) {
                console.error(`A payload ran (${where}): window.__xss = ${window.__xss}`);
                throw new Error(`A payload ran (${where})`);
            }
        },
    };
}

registry.category("web_tour.tours").add("omnichannel_cc_sms_hostile_tour", {
    steps: () => [
        {
            content: "The SMS is offered: the customer's name as text",
            trigger: `${OFFER}[data-channel="sms"] .o_omnichannel_offer_customer${has(IMG)}`,
        },
        {
            content: "The conversation shows the SMS as text",
            trigger: `${DOCK} .o_omnichannel_sms_bubble${has(SCRIPT)}${has(SVG)}${has(IMG)}`,
        },
        noScriptRan("SMS offer and conversation"),
        {
            content: "Accept it",
            trigger: `${OFFER}[data-channel="sms"] .o_omnichannel_offer_accept`,
            run: "click",
        },
        {
            trigger: `${DOCK} .o_omnichannel_sms_conversation[data-state="active"] .o_omnichannel_sms_message[data-direction="in"] .o_omnichannel_sms_bubble${has(SCRIPT)}`,
        },
        noScriptRan("SMS conversation, active"),
    ],
});
