import { registry } from "@web/core/registry";

const POP = ".o_omnichannel_screen_pop";
const OFFER = ".o_omnichannel_offer_popup";
// the conversation opens in Discuss (or a chat window on small screens)
const CHAT = ".o-mail-Thread";

// A website visitor (Jan Testowy, a portal user) has written in the live
// chat. The agent gets the chat offered with the customer's screen-pop
// (overdue invoice, open quotation), accepts it and answers in the chat.
registry.category("web_tour.tours").add("omnichannel_cc_chat_agent_tour", {
    steps: () => [
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
            content: "Open the conversations",
            trigger: '.o_menu_systray i[aria-label="Messages"]',
            run: "click",
        },
        {
            content: "The visitor's live chat",
            trigger: '.o-mail-NotificationItem:contains("Jan Testowy")',
            run: "click",
        },
        {
            content: "The visitor's question is in the conversation",
            trigger: `${CHAT} .o-mail-Message:contains("Pytanie o fakturę")`,
        },
        {
            trigger: ".o-mail-Composer-input",
            run: "edit Dzień dobry, już sprawdzam fakturę",
        },
        {
            trigger: ".o-mail-Composer-input",
            run: "press Enter",
        },
        {
            content: "The answer is sent",
            trigger: `${CHAT} .o-mail-Message:contains("już sprawdzam fakturę")`,
        },
    ],
});
