import { Component, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { OfferPopup } from "./offer_popup";
import { ScreenPopPanel } from "./screen_pop_panel";

/** Always mounted in the web client: the offer popups and the customer panel. */
export class AgentConsoleOverlay extends Component {
    static template = "omnichannel_cc.AgentConsoleOverlay";
    static components = { OfferPopup, ScreenPopPanel };
    static props = {};

    setup() {
        this.console = useService("omnichannel_agent_console");
        this.cstate = useState(this.console.state);
    }

    get offers() {
        return this.cstate.data?.offers || [];
    }
}

registry.category("main_components").add("omnichannel_cc.AgentConsoleOverlay", {
    Component: AgentConsoleOverlay,
});
