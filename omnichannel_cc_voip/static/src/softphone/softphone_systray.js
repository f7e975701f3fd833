import { Component, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { REGISTRATION_COLORS, REGISTRATION_LABELS, callStatusLabel } from "./softphone_panel";
import { NEUTRAL_REGISTRATIONS } from "./softphone_service";

/**
 * Systray item of the browser softphone: registration state (and the call
 * in progress); a click opens or closes the softphone panel. Hidden for
 * users without a softphone.
 */
export class SoftphoneSystray extends Component {
    static template = "omnichannel_cc_voip.SoftphoneSystray";
    static props = {};

    setup() {
        this.softphone = useService("omnichannel_softphone");
        this.sstate = useState(this.softphone.state);
    }

    get visible() {
        // also when it cannot register: the panel says why
        return Boolean(this.sstate.config?.softphone);
    }

    get call() {
        return this.sstate.call;
    }

    get registrationLabel() {
        return REGISTRATION_LABELS[this.sstate.registration] || this.sstate.registration;
    }

    get registrationColor() {
        return REGISTRATION_COLORS[this.sstate.registration] || "secondary";
    }

    /** Not configured, PBX unreachable...: nothing the agent must act on now. */
    get muted() {
        return NEUTRAL_REGISTRATIONS.includes(this.sstate.registration) && !this.call;
    }

    /** The state, why (on hover) and the call. */
    get title() {
        const parts = [this.registrationLabel];
        const reason = this.sstate.error || this.sstate.notice;
        if (reason) {
            parts.push(reason);
        }
        if (this.call) {
            parts.push(callStatusLabel(this.call));
        }
        return parts.join(" · ");
    }

    onClick() {
        this.softphone.togglePanel();
    }
}

registry
    .category("systray")
    .add("omnichannel_cc_voip.softphone", { Component: SoftphoneSystray }, { sequence: 89 });
