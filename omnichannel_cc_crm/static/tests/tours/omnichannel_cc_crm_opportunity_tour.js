import { registry } from "@web/core/registry";

const SYSTRAY = ".o_omnichannel_console_toggle";
const POP = ".o_omnichannel_screen_pop";
const OFFER = ".o_omnichannel_offer_popup";

// A selling agent takes the call waiting in their queue and opens the
// opportunity from the console's quick actions: the lead's form opens.
registry.category("web_tour.tours").add("omnichannel_cc_crm_opportunity_tour", {
    steps: () => [
        {
            content: "Open the agent console",
            trigger: `${SYSTRAY}[data-state="offline"]`,
            run: "click",
        },
        {
            content: "Become available",
            trigger: ".o_omnichannel_console_state_available",
            run: "click",
        },
        {
            content: "Accept the call",
            trigger: `${OFFER} .o_omnichannel_offer_accept`,
            run: "click",
        },
        {
            content: "A quick action makes the opportunity",
            trigger: `${POP} .o_omnichannel_screen_pop_interaction[data-state="active"] .o_omnichannel_action_opportunity`,
            run: "click",
        },
        {
            content: "The lead's form, with its interactions",
            trigger: '.o_form_view button[name="action_view_omnichannel_interactions"]:contains("1")',
        },
    ],
});
