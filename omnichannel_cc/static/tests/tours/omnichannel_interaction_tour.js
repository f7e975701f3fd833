import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// An agent opens a waiting call from the Contact Center app, answers it,
// ends it and wraps up with a disposition.
registry.category("web_tour.tours").add("omnichannel_cc_interaction_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("omnichannel_cc.omnichannel_menu_root", "Open the Contact Center"),
        {
            content: "Open the interactions list",
            trigger: 'button[data-menu-xmlid="omnichannel_cc.omnichannel_menu_work"]',
            run: "click",
        },
        {
            trigger: 'a[data-menu-xmlid="omnichannel_cc.omnichannel_interaction_menu"]',
            run: "click",
        },
        {
            content: "Open the waiting call of Jan Tour",
            trigger: '.o_data_row td:contains("Tour call")',
            run: "click",
        },
        {
            content: "The customer is already identified",
            trigger: '.o_field_widget[name="partner_id"] input:value("Jan Tour")',
        },
        {
            content: "Answer",
            trigger: 'button[name="action_answer"]',
            run: "click",
        },
        {
            trigger: '.o_statusbar_status button.o_arrow_button_current:contains("Active")',
        },
        {
            content: "End the call",
            trigger: 'button[name="action_end"]',
            run: "click",
        },
        {
            trigger: '.o_statusbar_status button.o_arrow_button_current:contains("Wrap-up")',
        },
        {
            content: "Choose a disposition",
            trigger: '.o_field_widget[name="disposition_id"] input',
            run: "edit Resolved",
        },
        {
            trigger: '.o-autocomplete--dropdown-menu li a:contains("Resolved")',
            run: "click",
        },
        {
            trigger: '.o_field_widget[name="notes"] textarea',
            run: "edit Klient zadowolony",
        },
        {
            content: "Close the interaction",
            trigger: 'button[name="action_close"]',
            run: "click",
        },
        {
            trigger: '.o_statusbar_status button.o_arrow_button_current:contains("Done")',
        },
    ],
});

// The customer's record shows every channel in one timeline.
registry.category("web_tour.tours").add("omnichannel_cc_partner_history_tour", {
    steps: () => [
        {
            content: "Interactions smart button",
            trigger: 'button[name="action_view_omnichannel_interactions"]:contains("2")',
        },
        {
            content: "Open the contact history",
            trigger: 'a.nav-link:contains("Contact history")',
            run: "click",
        },
        {
            trigger: '.o_field_widget[name="omnichannel_history_ids"] .o_data_row:contains("Phone")',
        },
        {
            trigger: '.o_field_widget[name="omnichannel_history_ids"] .o_data_row:contains("E-mail")',
        },
    ],
});
