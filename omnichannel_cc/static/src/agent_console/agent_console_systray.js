import { Component, useState } from "@odoo/owl";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { useDropdownState } from "@web/core/dropdown/dropdown_hooks";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { agentStateColor } from "../utils/agent_state";
import { formatDuration } from "../utils/format";
import { CHANNEL_ICONS, channelLabel, secondsNow } from "./agent_console_service";

// Presence states that follow from the work in hand (the agent chose Available).
const DERIVED_STATES = ["busy", "wrapup"];

/**
 * Systray item of the agent console: presence and time in state; the menu
 * changes presence (with break reasons), logs in and out of queues and lists
 * the current interactions. Shown to contact center agents only.
 */
export class AgentConsoleSystray extends Component {
    static template = "omnichannel_cc.AgentConsoleSystray";
    static components = { Dropdown };
    static props = {};

    setup() {
        this.console = useService("omnichannel_agent_console");
        this.cstate = useState(this.console.state);
        this.dropdown = useDropdownState();
        this.channelIcons = CHANNEL_ICONS;
        this.channelLabel = channelLabel;
    }

    get data() {
        return this.cstate.data;
    }

    get presence() {
        return this.data.presence;
    }

    get color() {
        return agentStateColor(this.presence.state);
    }

    get stateTimer() {
        return formatDuration(secondsNow(this.cstate, this.presence.state_seconds));
    }

    get loggedInCount() {
        return this.data.queues.filter((q) => q.logged_in).length;
    }

    interactionTimer(interaction) {
        return formatDuration(secondsNow(this.cstate, interaction.state_seconds));
    }

    /** The agent is in this state now (busy and wrap-up are states of their own). */
    isCurrentState(state, breakReasonId = false) {
        const presence = this.presence;
        if (state === "break") {
            return presence.state === "break" && presence.break_reason_id === breakReasonId;
        }
        return presence.state === state;
    }

    /**
     * Busy and wrap-up follow from the work in hand, not from a choice: the
     * agent chose Available and is back to it when the work allows.
     */
    isChosenState(state) {
        return state === "available" && DERIVED_STATES.includes(this.presence.state);
    }

    stateButtonClass(state) {
        if (this.isCurrentState(state)) {
            return "btn-primary";
        }
        return this.isChosenState(state) ? "btn-outline-primary" : "btn-outline-secondary";
    }

    /** What busy / wrap-up mean for the agent, or nothing in another state. */
    get derivedStateNote() {
        switch (this.presence.state) {
            case "busy":
                return _t("Busy with the contacts in hand: new work comes as room frees up.");
            case "wrapup":
                return _t("Wrapping up: new work comes once the wrap-up ends.");
        }
        return "";
    }

    async onSetState(state, breakReasonId = false) {
        this.dropdown.close();
        await this.console.setState(state, breakReasonId);
    }

    onToggleQueue(queue) {
        return this.console.toggleQueue(queue);
    }

    onOpenInteraction(interaction) {
        this.dropdown.close();
        return this.console.openPanel(interaction.id, interaction.partner_id);
    }

    onRefresh() {
        return Promise.all([this.console.load(), this.console.loadCampaigns()]);
    }

    /** Campaigns (issue 16): the running preview campaigns the agent works. */
    get campaignNames() {
        return this.cstate.campaigns.map((campaign) => campaign.name).join(", ");
    }

    onNextContact() {
        this.dropdown.close();
        return this.console.nextContact();
    }
}

registry.category("systray").add(
    "omnichannel_cc.agent_console",
    { Component: AgentConsoleSystray },
    { sequence: 90 }
);
