import { registry } from "@web/core/registry";

// An agent on a customer's case sends a video call link: Invite, choose the
// kind, no e-mail, create; the link is shown in the dialog to copy.
registry.category("web_tour.tours").add("omnichannel_cc_invitation_tour", {
    steps: () => [
        {
            content: "The case form has an Invite button",
            trigger: ".o_form_view .o_statusbar_buttons button:contains(Invite)",
            run: "click",
        },
        {
            content: "The dialog knows the customer of the case",
            trigger: ".modal .o_omnichannel_invitation_create div[name=partner_id] input:value(Jan Testowy)",
        },
        {
            content: "A video call",
            trigger: ".modal div[name=kind] input[data-value=video]",
            run: "click",
        },
        {
            content: "Not by e-mail: the agent shares the link in the call",
            trigger: ".modal div[name=send_email] input:checked",
            run: "click",
        },
        {
            content: "The e-mail box is unticked",
            trigger: ".modal div[name=send_email] input:not(:checked)",
        },
        {
            content: "Create the link",
            trigger: ".modal button[name=action_create]",
            run: "click",
        },
        {
            content: "The link is shown, ready to copy",
            trigger: ".modal .o_omnichannel_invitation_url:contains(/omnichannel/invite/)",
        },
        {
            content: "Close",
            trigger: ".modal .modal-footer button:contains(Close)",
            run: "click",
        },
        {
            content: "Back on the case",
            trigger: "body:not(:has(.modal)) .o_form_view",
        },
    ],
});
