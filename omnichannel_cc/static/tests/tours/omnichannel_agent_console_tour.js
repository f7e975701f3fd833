import { registry } from "@web/core/registry";

const SYSTRAY = ".o_omnichannel_console_toggle";
const POP = ".o_omnichannel_screen_pop";
const OFFER = ".o_omnichannel_offer_popup";

// An agent on the web client becomes available from the systray; the call
// waiting in their queue is offered at once. The customer panel opens by
// itself before they answer and shows the overdue invoice; they open it with
// one click, accept the call, end it and wrap up with a disposition.
registry.category("web_tour.tours").add("omnichannel_cc_agent_console_tour", {
    steps: () => [
        {
            content: "The agent console sits in the systray: offline",
            trigger: `${SYSTRAY}[data-state="offline"]`,
            run: "click",
        },
        {
            content: "Logged in to the Sales queue, where a call waits",
            trigger: '.o_omnichannel_console_queue[data-queue="Sales"]:has(input:checked):contains("1 waiting")',
        },
        {
            content: "Become available",
            trigger: ".o_omnichannel_console_state_available",
            run: "click",
        },
        {
            content: "The call is offered: customer, queue, waiting time, countdown",
            trigger: `${OFFER}[data-channel="phone"]:has(.o_omnichannel_offer_customer:contains("Jan Testowy")):has(.o_omnichannel_offer_queue:contains("Sales")):has(.o_omnichannel_offer_waiting):has(.o_omnichannel_offer_countdown)`,
        },
        {
            content: "Before answering, the screen-pop shows the overdue invoice and its days overdue",
            trigger: `${POP}:has(.o_omnichannel_screen_pop_offer) .o_omnichannel_screen_pop_overdue .o_omnichannel_screen_pop_days_overdue:contains("12 days overdue")`,
        },
        {
            content: "The overdue balance is highlighted",
            trigger: `${POP} .o_omnichannel_screen_pop_balance.alert-danger`,
        },
        {
            content: "The invoice not yet due is listed without highlight",
            trigger: `${POP} .o_omnichannel_screen_pop_invoices tr:not(.o_omnichannel_screen_pop_overdue)`,
        },
        {
            content: "The open quotation with its status",
            trigger: `${POP} .o_omnichannel_screen_pop_orders tr:contains("Quotation")`,
        },
        {
            content: "The open case and its owner",
            trigger: `${POP} .o_omnichannel_screen_pop_cases tr:contains("Damaged delivery"):contains("Tomasz Claims")`,
        },
        {
            content: "The history across channels holds this call",
            trigger: `${POP} .o_omnichannel_screen_pop_history li`,
        },
        {
            content: "Accept the call",
            trigger: `${OFFER} .o_omnichannel_offer_accept`,
            run: "click",
        },
        {
            content: "The panel holds the active call; the popup is gone",
            trigger: `${POP} .o_omnichannel_screen_pop_interaction[data-state="active"]`,
        },
        {
            trigger: `body:not(:has(${OFFER}))`,
        },
        {
            content: "The agent is busy",
            trigger: `${SYSTRAY}[data-state="busy"]`,
        },
        {
            content: "One click opens the overdue invoice",
            trigger: `${POP} .o_omnichannel_screen_pop_overdue a`,
            run: "click",
        },
        {
            trigger: '.o_form_view .o_field_widget[name="partner_id"]:contains("Tartak Test")',
        },
        {
            content: "End the call",
            trigger: `${POP} .o_omnichannel_action_end`,
            run: "click",
        },
        {
            content: "Wrap-up: disposition",
            trigger: `${POP} .o_omnichannel_wrapup .o_omnichannel_wrapup_disposition`,
            run: "selectByLabel Promise to pay",
        },
        {
            content: "Wrap-up: notes",
            trigger: `${POP} .o_omnichannel_wrapup_notes`,
            run: "edit Pays on Friday",
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

// After a page reload the console rebuilds itself from the server: the
// active call is still there, in the systray and in the panel.
registry.category("web_tour.tours").add("omnichannel_cc_agent_console_reload_tour", {
    steps: () => [
        {
            content: "The active call is back in the panel",
            trigger: `${POP} .o_omnichannel_screen_pop_interaction[data-state="active"]`,
        },
        {
            content: "Reload the page",
            trigger: `${SYSTRAY}[data-state="busy"]`,
            run() {
                document.body.classList.add("o_omnichannel_before_reload");
                window.location.reload();
            },
        },
        {
            content: "After the reload: busy, with the active call",
            trigger: `body:not(.o_omnichannel_before_reload) ${SYSTRAY}[data-state="busy"]`,
            run: "click",
        },
        {
            trigger: '.o_omnichannel_console_interaction[data-state="active"]:contains("Jan Testowy")',
        },
        {
            content: "And in the panel, with its quick actions",
            trigger: `${POP} .o_omnichannel_screen_pop_interaction[data-state="active"] .o_omnichannel_action_end`,
            run: "click",
        },
        {
            content: "Wrap-up",
            trigger: `${POP} .o_omnichannel_wrapup`,
        },
    ],
});
