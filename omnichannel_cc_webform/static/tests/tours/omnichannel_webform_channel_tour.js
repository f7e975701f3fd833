import { registry } from "@web/core/registry";

// A manager finds the snippet to paste on the company's website.
registry.category("web_tour.tours").add("omnichannel_cc_webform_channel_tour", {
    steps: () => [
        {
            content: "Open the Web form tab",
            trigger: '.o_notebook a[name="webform"]',
            run: "click",
        },
        {
            content: "The embeddable snippet is there",
            trigger: '.o_field_widget[name="webform_snippet"]:contains("embed.js")',
        },
    ],
});
