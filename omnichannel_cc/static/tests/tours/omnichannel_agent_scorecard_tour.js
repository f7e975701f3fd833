import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// An agent opens "My scorecard" from the Work menu: the pivot of their own
// figures, then the list, where no colleague's row shows.
registry.category("web_tour.tours").add("omnichannel_cc_agent_scorecard_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("omnichannel_cc.omnichannel_menu_root", "Open the Contact Center"),
        {
            trigger: 'button[data-menu-xmlid="omnichannel_cc.omnichannel_menu_work"]',
            run: "click",
        },
        {
            content: "Open my scorecard",
            trigger: 'a[data-menu-xmlid="omnichannel_cc.omnichannel_agent_scorecard_menu_my"]',
            run: "click",
        },
        {
            content: "The pivot shows the contacts handled",
            trigger: '.o_pivot th.o_pivot_measure_row:contains("# Handled")',
        },
        {
            trigger: ".o_pivot .o_pivot_cell_value:contains(2)",
        },
        {
            content: "Switch to the list",
            trigger: "button.o_switch_view.o_list",
            run: "click",
        },
        {
            content: "My own rows",
            trigger: '.o_data_row td[name="user_id"]:contains("Scorecard Tour Agent")',
        },
        {
            content: "No colleague's",
            trigger: '.o_list_view:not(:has(td:contains("Scorecard Tour Colleague")))',
        },
    ],
});
