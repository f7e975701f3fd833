import { Component, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";
import { formatDuration } from "../utils/format";
import { CHANNEL_ICONS, offerSecondsLeft, secondsNow } from "./agent_console_service";
import { offerAnswerHint, offerTitle } from "./offer_wording";

/**
 * An offer: what rings (an incoming call, a chat, a call-back...), who, on
 * which queue, how long they have waited, accept / reject (or answer on the
 * desk phone) and the countdown before it goes to someone else.
 */
export class OfferPopup extends Component {
    static template = "omnichannel_cc.OfferPopup";
    static props = { offer: Object };

    setup() {
        this.console = useService("omnichannel_agent_console");
        this.cstate = useState(this.console.state);
        this.state = useState({ busy: false });
        this.channelIcons = CHANNEL_ICONS;
    }

    get offer() {
        return this.props.offer;
    }

    get title() {
        return offerTitle(this.offer);
    }

    get answerHint() {
        return offerAnswerHint(this.offer);
    }

    get secondsLeft() {
        return offerSecondsLeft(this.cstate, this.offer);
    }

    get progress() {
        const total = this.offer.ring_seconds || 0;
        const left = this.secondsLeft;
        return total && left !== false ? Math.round((100 * left) / total) : 100;
    }

    get waiting() {
        return formatDuration(secondsNow(this.cstate, this.offer.waiting_seconds, this.offer._at));
    }

    get panelShown() {
        const panel = this.cstate.panel;
        return panel.open && !panel.minimized && panel.interactionId === this.offer.interaction_id;
    }

    async onAccept() {
        this.state.busy = true;
        try {
            await this.console.accept(this.offer);
        } finally {
            this.state.busy = false;
        }
    }

    async onReject() {
        this.state.busy = true;
        try {
            await this.console.reject(this.offer);
        } finally {
            this.state.busy = false;
        }
    }

    onShowCustomer() {
        return this.console.openPanel(this.offer.interaction_id, this.offer.partner_id);
    }
}
