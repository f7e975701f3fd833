import { registry } from "@web/core/registry";

const POP = ".o_omnichannel_screen_pop";
const OFFER = ".o_omnichannel_offer_popup";
const QUESTION = '.o-mail-Message:contains("Pytanie o fakturę")';

/**
 * Throw unless what the agent sees at a few points of `element` (left,
 * middle, right) is the element itself: no panel or popup over it.
 */
function assertUncovered(element, container) {
    const rect = element.getBoundingClientRect();
    const y = rect.top + rect.height / 2;
    for (const x of [rect.left + 4, rect.left + rect.width / 2, rect.right - 4]) {
        const seen = document.elementFromPoint(x, y);
        if (!seen || !container.contains(seen)) {
            throw new Error(
                `The composer is covered at (${Math.round(x)}, ${Math.round(y)}) by ${
                    seen?.outerHTML.slice(0, 120) || "nothing"
                }`
            );
        }
    }
}

/**
 * A website visitor (Jan Testowy, a portal user) has written in the live
 * chat. The agent gets the chat offered with the customer's screen-pop
 * (overdue invoice, open quotation) and accepts it: the conversation opens
 * beside the customer panel, and the agent answers in it.
 *
 * The accepted chat opens where Odoo opens a live chat for its operator:
 * `conversation` is a chat window, or the Discuss app when it is on screen.
 */
function chatAgentSteps(conversation) {
    const COMPOSER = `${conversation}:has(${QUESTION}) .o-mail-Composer-input`;
    return [
        {
            content: "The chat is offered with the customer's name",
            trigger: `${OFFER}[data-channel="chat"]:has(.o_omnichannel_offer_customer:contains("Jan Testowy"))`,
        },
        {
            content: "Before answering, the screen-pop shows the overdue invoice",
            trigger: `${POP}:has(.o_omnichannel_screen_pop_offer) .o_omnichannel_screen_pop_overdue .o_omnichannel_screen_pop_days_overdue:contains("12 days overdue")`,
        },
        {
            content: "... and the open quotation",
            trigger: `${POP} .o_omnichannel_screen_pop_orders tr:contains("Quotation")`,
        },
        {
            content: "Accept the chat",
            trigger: `${OFFER} .o_omnichannel_offer_accept`,
            run: "click",
        },
        {
            content: "The panel holds the active chat",
            trigger: `${POP} .o_omnichannel_screen_pop_interaction[data-state="active"]`,
        },
        {
            content: "The conversation opened by itself, with the visitor's question",
            trigger: `${conversation} ${QUESTION}`,
        },
        {
            content: "Its composer is beside the customer panel, not under it",
            trigger: `body:has(${POP}) ${COMPOSER}`,
            run() {
                const composer = this.anchor.closest(".o-mail-Composer");
                const panel = document.querySelector(POP).getBoundingClientRect();
                const rect = composer.getBoundingClientRect();
                if (rect.right > panel.left) {
                    throw new Error(
                        `The composer (right edge ${rect.right}) runs under the customer panel (left edge ${panel.left})`
                    );
                }
                assertUncovered(this.anchor, composer);
                const send = composer.querySelector(".o-mail-Composer-send");
                if (send) {
                    assertUncovered(send, composer);
                }
            },
        },
        {
            trigger: COMPOSER,
            run: "click && edit Dzień dobry, już sprawdzam fakturę",
        },
        {
            trigger: COMPOSER,
            run: "press Enter",
        },
        {
            content: "The answer is sent",
            trigger: `${conversation} .o-mail-Message:contains("już sprawdzam fakturę")`,
        },
    ];
}

registry.category("web_tour.tours").add("omnichannel_cc_chat_agent_tour", {
    steps: () => chatAgentSteps(".o-mail-ChatWindow"),
});

registry.category("web_tour.tours").add("omnichannel_cc_chat_agent_discuss_tour", {
    steps: () => chatAgentSteps(".o-mail-Discuss"),
});
