import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// An agent opens the pending call-back of their queue and calls now: the
// call-back becomes an outbound call attempt.
registry.category("web_tour.tours").add("omnichannel_cc_callback_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("omnichannel_cc.omnichannel_menu_root", "Open the Contact Center"),
        {
            trigger: 'button[data-menu-xmlid="omnichannel_cc.omnichannel_menu_work"]',
            run: "click",
        },
        {
            content: "Open the call-backs",
            trigger: 'a[data-menu-xmlid="omnichannel_cc.omnichannel_callback_menu"]',
            run: "click",
        },
        {
            content: "Open the pending call-back",
            trigger: '.o_data_row td:contains("+48509333444")',
            run: "click",
        },
        {
            content: "Call now",
            trigger: 'button[name="action_call_now"]',
            run: "click",
        },
        {
            content: "The call-back is in progress with one attempt",
            trigger: '.o_statusbar_status button.o_arrow_button_current:contains("In progress")',
        },
        {
            trigger: 'button[name="action_view_interactions"] .o_stat_value:contains("1")',
        },
    ],
});
