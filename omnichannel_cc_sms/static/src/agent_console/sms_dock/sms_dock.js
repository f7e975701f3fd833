import { Component, useEffect, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { smsConversations } from "../agent_console_sms";
import { forgetSmsDrafts, SmsConversation } from "../sms_conversation/sms_conversation";

/**
 * The agent's SMS conversations, docked at the bottom of the screen: left of
 * the customer panel when it is open (sms_dock.scss), one tab per
 * conversation. It shows the conversation of the customer in the panel, or
 * the tab the agent chose; a tab chosen while the panel is open brings that
 * customer into the panel.
 */
export class SmsDock extends Component {
    static template = "omnichannel_cc_sms.SmsDock";
    static components = { SmsConversation };
    static props = {};

    setup() {
        this.console = useService("omnichannel_agent_console");
        this.cstate = useState(this.console.state);
        this.state = useState({ selectedId: false, folded: false });
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
