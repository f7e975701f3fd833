import { registry } from "@web/core/registry";
import { stepUtils } from "@web_tour/tour_service/tour_utils";

// The spreadsheet draws on a canvas: its figures are read from the model of
// the dashboard action (the component that holds the loaded dashboards).
function dashboardModel() {
    const nodes = [odoo.__WOWL_DEBUG__.root.__owl__];
    while (nodes.length) {
        const node = nodes.pop();
        const dashboard = node.component.loader && node.component.state?.activeDashboard;
        if (dashboard?.model) {
            return dashboard.model;
        }
        nodes.push(...Object.values(node.children));
    }
    return undefined;
}

function scorecard(model, title) {
    const { getters } = model;
    const sheetId = getters.getSheetIdByName("Dashboard");
    for (const figure of getters.getFigures(sheetId)) {
        const runtime = getters.getChartRuntime(figure.id);
        if (runtime?.title?.text === title) {
            return runtime.keyValue;
        }
    }
    throw new Error(`No scorecard "${title}"`);
}

async function waitForFigures(expected, timeout = 8000) {
    const deadline = Date.now() + timeout;
    let actual;
    while (Date.now() < deadline) {
        const model = dashboardModel();
        if (model) {
            actual = Object.fromEntries(
                Object.keys(expected).map((title) => [title, scorecard(model, title)])
            );
            if (Object.keys(expected).every((title) => actual[title] === expected[title])) {
                return;
            }
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
        `Dashboard figures ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`
    );
}

// A supervisor opens the Contact Center dashboard: this month's service
// level of the test's contacts (2 of 3 within the threshold) and 3 handled;
// another month: no contact.
registry.category("web_tour.tours").add("omnichannel_cc_dashboard_tour", {
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open the Dashboards app",
            trigger: ".o_app[data-menu-xmlid='spreadsheet_dashboard.spreadsheet_dashboard_menu_root']",
            run: "click",
        },
        {
            content: "Open the Contact Center dashboard",
            trigger: ".o_spreadsheet_dashboard_search_panel li[data-name='Contact Center']",
            run: "click",
        },
        {
            content: "The spreadsheet is drawn, with its filters (not the sample)",
            trigger:
                ".o_spreadsheet_dashboard_action:has(.o_filter_value_container .date_filter_values) .o_renderer .o-spreadsheet",
        },
        {
            content: "This month's figures",
            trigger: ".o_spreadsheet_dashboard_action .o-spreadsheet",
            run: () => waitForFigures({ "Service level": "66.7%", Handled: "3" }),
        },
        {
            content: "Choose another month",
            trigger: ".o_control_panel .date_filter_values select",
            run() {
                const select = document.querySelector(".o_control_panel .date_filter_values select");
                const other = [...select.options]
                    .map((option) => option.value)
                    .find(
                        (value) =>
                            value !== select.value &&
                            value !== "empty" &&
                            !value.endsWith("_quarter")
                    );
                select.value = other;
                select.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            content: "No contact that month",
            trigger: ".o_spreadsheet_dashboard_action .o-spreadsheet",
            run: () => waitForFigures({ "Service level": "", Handled: "" }),
        },
        {
            content: "No error",
            trigger:
                "body:not(:has(.o_notification_manager .o_notification.border-danger)):not(:has(.dashboard-loading-status.error))",
        },
    ],
});

// A supervisor whose queues have no contact yet: the sample dashboard, drawn
// without filters and without error.
registry.category("web_tour.tours").add("omnichannel_cc_dashboard_sample_tour", {
    steps: () => [
        stepUtils.showAppsMenuItem(),
        {
            content: "Open the Dashboards app",
            trigger: ".o_app[data-menu-xmlid='spreadsheet_dashboard.spreadsheet_dashboard_menu_root']",
            run: "click",
        },
        {
            content: "Open the Contact Center dashboard",
            trigger: ".o_spreadsheet_dashboard_search_panel li[data-name='Contact Center']",
            run: "click",
        },
        {
            content: "The sample is drawn",
            trigger: ".o_spreadsheet_dashboard_action .o_renderer.o-sample-dashboard .o-spreadsheet",
            run: () => waitForFigures({ "Service level": "82.0%", Handled: "1,874" }),
        },
        {
            content: "No filter on the sample, no error",
            trigger:
                "body:not(:has(.o_filter_value_container)):not(:has(.o_notification_manager .o_notification.border-danger)):not(:has(.dashboard-loading-status.error))",
        },
    ],
});
