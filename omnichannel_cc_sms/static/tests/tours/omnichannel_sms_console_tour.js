import { registry } from "@web/core/registry";

const SYSTRAY = ".o_omnichannel_console_toggle";
const OFFER = ".o_omnichannel_offer_popup";
const POP = ".o_omnichannel_screen_pop";
const DOCK = ".o_omnichannel_sms_dock";
const COUNTER = `${DOCK} .o_omnichannel_sms_counter`;

// 72 characters with Polish letters: 2 SMS in UCS-2, 1 without the diacritics
export const SMS_REPLY = "Dzień dobry, paczka wyszła dziś rano. Kurier będzie jutro między 9 a 12.";

function overlap(first, second) {
    const a = document.querySelector(first).getBoundingClientRect();
    const b = document.querySelector(second).getBoundingClientRect();
    const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
    return apart ? false : `${first} ${JSON.stringify(a)} covers ${second} ${JSON.stringify(b)}`;
}

/** The two boxes apart (not over each other) within a few frames, else the tour fails. */
async function assertNotOverlapping(first, second) {
    const deadline = Date.now() + 3000;
    while (overlap(first, second) && Date.now() < deadline) {
        await new Promise((resolve) => requestAnimationFrame(resolve));
    }
    const covers = overlap(first, second);
    if (covers) {
        throw new Error(covers);
    }
}

// A customer texted the SMS channel; the agent, available, gets the offer
// and reads the customer's text in the SMS conversation beside the customer
// panel, accepts it, replies in Polish (the counter says UCS-2, two SMS, and
// what leaving out the diacritics would save), sends: the reply shows as
// queued. Then ends the conversation and wraps it up with a disposition.
registry.category("web_tour.tours").add("omnichannel_cc_sms_console_tour", {
    steps: () => [
        {
            content: "The SMS is offered to the agent",
            trigger: `${OFFER}[data-channel="sms"]:has(.o_omnichannel_offer_customer:contains("Jan Esemesowy"))`,
        },
        {
            content: "Before answering, the conversation shows what the customer wrote",
            trigger: `${DOCK} .o_omnichannel_sms_conversation[data-state="offered"] .o_omnichannel_sms_bubble:contains("Gdzie jest moja paczka? Zamówienie 1234")`,
            async run() {
                // the offer rings above the conversation, beside the panel
                await assertNotOverlapping(".o_omnichannel_offer_stack", DOCK);
                await assertNotOverlapping(DOCK, POP);
            },
        },
        {
            content: "Accept it",
            trigger: `${OFFER}[data-channel="sms"] .o_omnichannel_offer_accept`,
            run: "click",
        },
        {
            content: "The conversation is the agent's: the customer's text, a reply box",
            trigger: `${DOCK} .o_omnichannel_sms_conversation[data-state="active"]:has(.o_omnichannel_sms_reply_body) .o_omnichannel_sms_message[data-direction="in"] .o_omnichannel_sms_bubble:contains("Gdzie jest moja paczka? Zamówienie 1234")`,
        },
        {
            content: "The customer panel shows the same customer, beside the conversation",
            trigger: `${POP} .o_omnichannel_screen_pop_interaction[data-state="active"]`,
            async run() {
                await assertNotOverlapping(DOCK, POP);
            },
        },
        {
            trigger: `${SYSTRAY}[data-state="busy"]`,
        },
        {
            content: "Type a reply in Polish",
            trigger: `${DOCK} .o_omnichannel_sms_reply_body`,
            run: `edit ${SMS_REPLY}`,
        },
        {
            content: "The counter: UCS-2, two SMS",
            trigger: `${COUNTER}[data-encoding="UCS-2"][data-segments="2"] .o_omnichannel_sms_counter_summary:contains("72 characters · UCS-2 · 2 SMS · 62 left")`,
        },
        {
            content: "and what leaving out the Polish letters saves",
            trigger: `${COUNTER} .o_omnichannel_sms_counter_saving:contains("Without Polish characters: 1 SMS instead of 2")`,
        },
        {
            content: "Send",
            trigger: `${DOCK} .o_omnichannel_sms_send:enabled`,
            run: "click",
        },
        {
            content: "The reply is in the conversation, queued",
            trigger: `${DOCK} .o_omnichannel_sms_message[data-direction="out"][data-state="queued"] .o_omnichannel_sms_bubble:contains("${SMS_REPLY}")`,
        },
        {
            content: "and the box is empty again: nothing to send",
            trigger: `${DOCK} .o_omnichannel_sms_send:disabled:not(:has(.fa-spin))`,
        },
        {
            content: "End the conversation",
            trigger: `${DOCK} .o_omnichannel_sms_end`,
            run: "click",
        },
        {
            content: "The conversation stays readable; the wrap-up is in the customer panel",
            trigger: `${DOCK} .o_omnichannel_sms_conversation[data-state="wrapup"] .o_omnichannel_sms_wrapup_hint`,
        },
        {
            content: "Wrap-up: disposition",
            trigger: `${POP} .o_omnichannel_wrapup .o_omnichannel_wrapup_disposition`,
            run: "selectByLabel Resolved",
        },
        {
            content: "Close the interaction",
            trigger: `${POP} .o_omnichannel_wrapup_close:enabled`,
            run: "click",
        },
        {
            content: "The conversation and the panel are gone; the agent is available again",
            trigger: `body:not(:has(${DOCK})):not(:has(${POP}))`,
        },
        {
            trigger: `${SYSTRAY}[data-state="available"]`,
        },
    ],
});
