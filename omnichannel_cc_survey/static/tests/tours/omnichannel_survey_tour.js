import { registry } from "@web/core/registry";

// The customer opened the e-mailed link: the page asks (nothing recorded
// yet), they choose 3 out of 10, explain, send: the thanks page shows.
registry.category("web_tour.tours").add("omnichannel_cc_survey_answer_tour", {
    steps: () => [
        {
            content: "The page asks the NPS question",
            trigger: ".o_omnichannel_survey_form:contains(recommend us)",
        },
        {
            content: "Choose 3",
            trigger: "label[for='o_omnichannel_score_3']",
            run: "click",
        },
        {
            trigger: "#o_omnichannel_score_3:checked",
        },
        {
            content: "Say why",
            trigger: "#o_omnichannel_survey_comment",
            run: "edit Nobody called me back about the parcel",
        },
        {
            content: "Send",
            trigger: ".o_omnichannel_survey_submit",
            run: "click",
        },
        {
            content: "Thanks page",
            trigger: ".o_omnichannel_survey_thanks",
        },
    ],
});

// The queue's supervisor opens the follow-ups to do, finds the unhappy
// customer's comment, writes the outcome and records it.
registry.category("web_tour.tours").add("omnichannel_cc_survey_followup_tour", {
    steps: () => [
        {
            content: "The follow-up is listed",
            trigger: ".o_list_view .o_data_row:contains(Tour Customer) td[name=kind]",
            run: "click",
        },
        {
            content: "The comment shows",
            trigger: ".o_form_view .o_field_widget[name=comment]:contains(Nobody called me back)",
        },
        {
            content: "Write the outcome",
            trigger: ".o_form_view .o_field_widget[name=followup_outcome] textarea",
            run: "edit Called back, parcel re-sent",
        },
        {
            content: "Record it",
            trigger: ".o_form_view button.o_omnichannel_followup_done",
            run: "click",
        },
        {
            content: "Done",
            trigger: ".o_form_view .o_field_widget[name=followup_state]:contains(Done)",
        },
    ],
});
