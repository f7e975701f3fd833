import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// A supervisor opens the staffing plan of their queue, computes it and sees
// one line per hour with the agents required and scheduled.
registry.category("web_tour.tours").add("omnichannel_cc_staffing_plan_tour", {
    url: "/odoo",
    steps: () => [
        ...stepUtils.goToAppSteps("omnichannel_cc.omnichannel_menu_root", "Open the Contact Center"),
        {
            trigger: 'button[data-menu-xmlid="omnichannel_cc.omnichannel_menu_reporting"]',
            run: "click",
        },
        {
            content: "Open the staffing plans",
            trigger: 'a[data-menu-xmlid="omnichannel_cc.omnichannel_staffing_plan_menu"]',
            run: "click",
        },
        {
            content: "Open the plan of the queue",
            trigger: '.o_data_row td:contains("Staffing tour queue")',
            run: "click",
        },
        {
            content: "Compute it",
            trigger: 'button[name="action_compute"]',
            run: "click",
        },
        {
            content: "One line per hour, from midnight",
            trigger: '.o_field_widget[name="line_ids"] .o_data_row:first td[name="interval"]:contains("00:00")',
        },
        {
            trigger: '.o_field_widget[name="line_ids"] td[name="interval"]:contains("23:00")',
        },
        {
            content: "The spreadsheet export is offered once computed",
            trigger: 'button[name="action_export_xlsx"]',
        },
        {
            content: "Open the chart",
            trigger: 'button[name="action_view_chart"]',
            run: "click",
        },
        {
            content: "Agents to schedule and scheduled, interval by interval",
            trigger: ".o_graph_renderer canvas",
        },
    ],
});
