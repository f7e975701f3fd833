import { registry } from "@web/core/registry";

const SYSTRAY = ".o_omnichannel_console_toggle";
const POP = ".o_omnichannel_screen_pop";

// Campaigns (issue 16): an available agent works a preview collections
// campaign from the console: next contact, the customer panel shows the
// overdue invoice, dial, end and wrap up with "Promise to pay".
registry.category("web_tour.tours").add("omnichannel_cc_campaign_preview_tour", {
    steps: () => [
        {
            content: "Open the agent console: available",
            trigger: `${SYSTRAY}[data-state="available"]`,
            run: "click",
        },
        {
            content: "The running preview campaign of the agent's queue",
            trigger: '.o_omnichannel_console_campaigns:contains("Tour collections")',
        },
        {
            content: "Next contact",
            trigger: ".o_omnichannel_console_next_contact",
            run: "click",
        },
        {
            content: "The call is in hand, with the campaign and the number to dial",
            trigger: `${POP} .o_omnichannel_screen_pop_interaction[data-state="active"] .o_omnichannel_screen_pop_campaign:contains("Tour collections"):contains("+48601555111")`,
        },
        {
            content: "The screen-pop shows the overdue invoice and its days overdue",
            trigger: `${POP} .o_omnichannel_screen_pop_overdue .o_omnichannel_screen_pop_days_overdue:contains("45 days overdue")`,
        },
        {
            trigger: `${POP} .o_omnichannel_screen_pop_balance.alert-danger`,
        },
        {
            content: "Dial",
            trigger: `${POP} .o_omnichannel_action_dial`,
            run: "click",
        },
        {
            content: "The attempt is counted",
            trigger: `${POP} .o_omnichannel_screen_pop_campaign_attempts:contains("Attempt 1")`,
        },
        {
            content: "End the call",
            trigger: `${POP} .o_omnichannel_action_end`,
            run: "click",
        },
        {
            content: "Wrap-up: promise to pay",
            trigger: `${POP} .o_omnichannel_wrapup .o_omnichannel_wrapup_disposition`,
            run: "selectByLabel Promise to pay",
        },
        {
            content: "Close the interaction",
            trigger: `${POP} .o_omnichannel_wrapup_close:enabled`,
            run: "click",
        },
        {
            content: "The panel closes; the agent is available again",
            trigger: `body:not(:has(${POP}))`,
        },
        {
            trigger: `${SYSTRAY}[data-state="available"]`,
        },
    ],
});
