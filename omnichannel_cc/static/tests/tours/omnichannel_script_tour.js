import { registry } from "@web/core/registry";

// An agent runs the call script of their interaction in the plain web client:
// a multiple-choice answer branches past a question, then the answers show
// on the interaction's Script page.
registry.category("web_tour.tours").add("omnichannel_cc_script_tour", {
    steps: () => [
        {
            content: "Open the script on the current step",
            trigger: 'button[name="action_script_run"]:contains("Next script step")',
            run: "click",
        },
        {
            content: "The first question, with the customer's name in the text",
            trigger: '.modal .o_field_widget[name="text"]:contains("Good morning Ewa Tour")',
        },
        {
            content: "Answer: Home",
            trigger: '.modal .o_field_widget[name="choice_id"] label:contains("Home")',
            run: "click",
        },
        {
            trigger: '.modal button[name="action_next"]',
            run: "click",
        },
        {
            content: "Home skips the registration number",
            trigger: '.modal .o_field_widget[name="title"]:contains("Estimated loss")',
        },
        {
            trigger: '.modal .o_field_widget[name="value_number"] input',
            run: "edit 12 500",
        },
        {
            trigger: '.modal button[name="action_next"]',
            run: "click",
        },
        {
            content: "The script is complete",
            trigger: '.modal h3:contains("The script is complete")',
        },
        {
            trigger: '.modal .o_data_row:contains("Estimated loss"):contains("12500")',
        },
        {
            trigger: '.modal footer button:contains("Close")',
            run: "click",
        },
        {
            content: "The answers are on the interaction",
            trigger: 'a.nav-link:contains("Script")',
            run: "click",
        },
        {
            trigger: '.o_field_widget[name="script_answer_ids"] .o_data_row:contains("Type of loss"):contains("Home")',
        },
        {
            trigger: '.o_field_widget[name="script_answer_ids"] .o_data_row:contains("Estimated loss"):contains("12500")',
        },
    ],
});
