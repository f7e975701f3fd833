import { registry } from "@web/core/registry";

// Issue 19: customer text holding HTML/JS (see tests/test_hostile_content.py)
// shows as text. Each payload would set window.__xss if a browser ran it.
const SYSTRAY = ".o_omnichannel_console_toggle";
const POP = ".o_omnichannel_screen_pop";
const OFFER = ".o_omnichannel_offer_popup";
const IMG = "<img src=x onerror=";
const SCRIPT = "<script>window.__xss=1</script>";
const SVG = '"><svg onload=window.__xss=1>';

function noScriptRan(where) {
    return {
        content: `No payload ran: ${where}`,
        trigger: "body",
        run() {
            if (window.__xss !== undefined) {
                console.error(`A payload ran (${where}): window.__xss = ${window.__xss}`);
                throw new Error(`A payload ran (${where})`);
            }
        },
    };
}

// A form field shows the text: in its input (a value is never markup) or as text
function fieldHolds(name, text) {
    return {
        content: `The form's ${name} shows the payload as text`,
        trigger: `.o_form_view .o_field_widget[name="${name}"]`,
        run() {
            const input = this.anchor.querySelector("input, textarea");
            const shown = input ? input.value : this.anchor.textContent;
            if (!shown.includes(text)) {
                throw new Error(`${name} shows ${JSON.stringify(shown)}, not the payload`);
            }
        },
    };
}

// jQuery's :contains with the text in single quotes (the payloads hold double ones)
const has = (text) => `:contains('${text}')`;

registry.category("web_tour.tours").add("omnichannel_cc_hostile_agent_tour", {
    steps: () => [
        {
            content: "Open the agent console in the systray",
            trigger: `${SYSTRAY}[data-state="offline"]`,
            run: "click",
        },
        noScriptRan("console"),
        {
            content: "Become available",
            trigger: ".o_omnichannel_console_state_available",
            run: "click",
        },
        {
            content: "The offer shows the customer's name and the subject as text",
            trigger: `${OFFER} .o_omnichannel_offer_customer${has(IMG)}`,
        },
        {
            trigger: `${OFFER} .o_omnichannel_offer_subject${has(SCRIPT)}`,
        },
        noScriptRan("offer popup"),
        {
            content: "The screen-pop names the customer as text",
            trigger: `${POP}${has(IMG)}`,
        },
        {
            content: "The open case's subject as text",
            trigger: `${POP} .o_omnichannel_screen_pop_cases .o_omnichannel_screen_pop_case_subject${has(SVG)}`,
        },
        {
            content: "The e-mail's subject in the history, as text",
            trigger: `${POP} .o_omnichannel_screen_pop_history li${has(SCRIPT + " subject")}`,
        },
        noScriptRan("screen-pop"),
        {
            content: "Accept the call",
            trigger: `${OFFER} .o_omnichannel_offer_accept`,
            run: "click",
        },
        {
            trigger: `${POP} .o_omnichannel_screen_pop_interaction[data-state="active"]`,
        },
        {
            content: "The active call's subject as text",
            trigger: `${POP} .o_omnichannel_screen_pop_interaction${has(SCRIPT + " call")}`,
        },
        noScriptRan("screen-pop, active call"),
        {
            content: "Open the e-mail from the history",
            trigger: `${POP} .o_omnichannel_screen_pop_history li${has(SCRIPT + " subject")} a`,
            run: "click",
        },
        fieldHolds("subject", SCRIPT + " subject"),
        fieldHolds("partner_id", IMG),
        fieldHolds("notes", SVG),
        {
            content: "The chatter holds the e-mail",
            trigger: ".o-mail-Chatter .o-mail-Message",
        },
        {
            content: "The chatter shows the e-mail's subject as text",
            trigger: `.o-mail-Chatter .o-mail-Message-body${has("Subject: " + SCRIPT)}`,
        },
        {
            // Odoo shows an e-mail's body in a shadow root, out of reach of :contains
            content: "The chatter shows the e-mail body as text, no element of it",
            trigger: ".o-mail-Chatter .o-mail-Message-body .overflow-x-auto",
            run() {
                const root = this.anchor.shadowRoot;
                const text = root?.textContent || "";
                for (const payload of ["Body " + IMG, SCRIPT, SVG]) {
                    if (!text.includes(payload)) {
                        throw new Error(`The body shows ${JSON.stringify(text)}, not ${payload}`);
                    }
                }
                if (root.querySelector("script, svg, img[src='x'], [onerror], [onload]")) {
                    throw new Error("The body holds an element of the payload");
                }
            },
        },
        {
            content: "The attachment's file name as text",
            trigger: `.o-mail-AttachmentCard${has(SVG)}, .o-mail-AttachmentList${has(SVG)}`,
        },
        noScriptRan("interaction form and chatter"),
    ],
});

registry.category("web_tour.tours").add("omnichannel_cc_hostile_wallboard_tour", {
    steps: () => [
        {
            content: "The waiting call names the customer as text",
            trigger: `.o_omnichannel_wallboard_waiting_item${has(IMG)}`,
        },
        noScriptRan("wallboard"),
    ],
});

registry.category("web_tour.tours").add("omnichannel_cc_hostile_report_tour", {
    steps: () => [
        {
            content: "The report's list names the customer as text",
            trigger: `.o_list_view .o_data_row${has(IMG)}`,
        },
        noScriptRan("report list"),
        {
            content: "Switch to the pivot",
            trigger: ".o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "Fold the rows (by queue)",
            trigger: ".o_pivot tbody th.o_pivot_header_cell_opened",
            run: "click",
        },
        {
            content: "and open them again",
            trigger: ".o_pivot tbody th.o_pivot_header_cell_closed",
            run: "click",
        },
        {
            content: "by customer",
            trigger: ".o_popover select.o_add_custom_group_menu",
            run: "select partner_id",
        },
        {
            content: "The pivot names the customer as text",
            trigger: `.o_pivot tbody th${has(IMG)}`,
        },
        noScriptRan("report pivot"),
    ],
});
