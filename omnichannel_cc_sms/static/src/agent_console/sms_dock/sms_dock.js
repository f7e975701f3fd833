import { Component, useEffect, useExternalListener, useRef, useState } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { smsConversations } from "../agent_console_sms";
import { forgetSmsDrafts, SmsConversation } from "../sms_conversation/sms_conversation";

/**
 * The agent's SMS conversations, docked at the bottom of the screen: left of
 * the customer panel when it is open (sms_dock.scss), one tab per
 * conversation. It shows the conversation of the customer in the panel, or
 * the tab the agent chose; a tab chosen while the panel is open brings that
 * customer into the panel. Offers ring above it (sms_dock.scss): its top stays
 * below theirs.
 */
export class SmsDock extends Component {
    static template = "omnichannel_cc_sms.SmsDock";
    static components = { SmsConversation };
    static props = {};

    setup() {
        this.console = useService("omnichannel_agent_console");
        this.cstate = useState(this.console.state);
        this.state = useState({ selectedId: false, folded: false });
        this.rootRef = useRef("root");
        // a customer brought into the panel (offer, accept, a tab): their conversation
        useEffect(
            (panelId) => {
                if (this.conversations.some((i) => i.id === panelId)) {
                    this.state.selectedId = panelId;
                }
            },
            () => [this.cstate.panel.interactionId, this.conversations.length]
        );
        useEffect(
            (...ids) => forgetSmsDrafts(ids),
            () => this.conversations.map((i) => i.id)
        );
        // the offers are drawn by the console's overlay: measured once it rendered too
        useEffect(
            () => {
                const frame = browser.requestAnimationFrame(() => this.keepBelowOffers());
                return () => browser.cancelAnimationFrame(frame);
            },
            () => [
                this.cstate.data?.offers.length,
                this.cstate.panel.open,
                this.cstate.panel.minimized,
                this.rootRef.el,
            ]
        );
        useExternalListener(browser, "resize", () => this.keepBelowOffers());
    }

    /** Tell the dock's style where the offers ringing above it end. */
    keepBelowOffers() {
        const dock = this.rootRef.el;
        if (!dock) {
            return;
        }
        const stack = document.querySelector(".o_omnichannel_offer_stack");
        const bottom = stack ? stack.getBoundingClientRect().bottom : 0;
        dock.style.setProperty("--o-omnichannel-sms-offers-bottom", `${Math.round(bottom)}px`);
    }

    get conversations() {
        return smsConversations(this.cstate.data?.interactions);
    }

    get selected() {
        const conversations = this.conversations;
        return (
            conversations.find((i) => i.id === this.state.selectedId) || conversations.at(-1)
        );
    }

    title(interaction) {
        return interaction.partner_name || interaction.sms.number || interaction.contact_address;
    }

    onTab(interaction) {
        this.state.selectedId = interaction.id;
        this.state.folded = false;
        const panel = this.cstate.panel;
        if (panel.open && !panel.minimized && panel.interactionId !== interaction.id) {
            this.console.openPanel(interaction.id, interaction.partner_id);
        }
    }

    onFold() {
        this.state.folded = !this.state.folded;
    }
}

registry.category("main_components").add("omnichannel_cc_sms.SmsDock", { Component: SmsDock });
