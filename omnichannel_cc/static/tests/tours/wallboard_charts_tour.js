import { registry } from "@web/core/registry";

const CHART = (name) => `.o_omnichannel_wallboard_chart[data-chart="${name}"] canvas`;

// A supervisor opens the wallboard: the three charts of the day are drawn,
// and drawn again, larger, in TV mode.
registry.category("web_tour.tours").add("omnichannel_cc_wallboard_charts_tour", {
    steps: () => [
        {
            content: "The queue tile is there",
            trigger: '.o_omnichannel_wallboard_tile[data-queue-name="Tour WBC queue"]',
        },
        {
            content: "Contacts per interval",
            trigger: CHART("contacts"),
        },
        {
            content: "Service level per interval",
            trigger: CHART("service_level"),
        },
        {
            content: "Agents by state",
            trigger: CHART("agents"),
        },
        {
            content: "A contact today: no empty notice, nothing failed",
            trigger: ".o_omnichannel_wallboard_charts:not(:has(.o_omnichannel_wallboard_charts_empty, .o_omnichannel_wallboard_charts_error))",
        },
        {
            content: "TV mode",
            trigger: ".o_omnichannel_wallboard_tv_toggle",
            run: "click",
        },
        {
            content: "The charts in TV mode",
            trigger: `.o_omnichannel_wallboard_tv .o_omnichannel_wallboard_charts_tv ${CHART("agents")}`,
        },
        {
            trigger: `.o_omnichannel_wallboard_charts_tv ${CHART("contacts")}`,
        },
        {
            content: "Back from TV mode",
            trigger: ".o_omnichannel_wallboard_tv_toggle",
            run: "click",
        },
        {
            trigger: `.o_omnichannel_wallboard_charts:not(.o_omnichannel_wallboard_charts_tv) ${CHART("service_level")}`,
        },
    ],
});
