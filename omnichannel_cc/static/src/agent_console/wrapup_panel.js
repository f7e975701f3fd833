import { Component, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";
import { formatDuration } from "../utils/format";
import { secondsNow } from "./agent_console_service";

/** Wrap-up of one interaction: disposition, notes, close. */
export class WrapupPanel extends Component {
    static template = "omnichannel_cc.WrapupPanel";
    static props = { interaction: Object };

    setup() {
        this.console = useService("omnichannel_agent_console");
        this.cstate = useState(this.console.state);
        this.state = useState({
            dispositionId: this.props.interaction.disposition_id || false,
            notes: this.props.interaction.notes || "",
            busy: false,
        });
    }

    get dispositions() {
        return this.cstate.data.dispositions;
    }

    get wrapupLeft() {
        const left = this.props.interaction.wrapup_seconds_left;
        if (!left) {
            return false;
        }
        const gone = secondsNow(this.cstate, 0);
        return formatDuration(Math.max(left - gone, 0));
    }

    onDispositionChange(ev) {
        this.state.dispositionId = parseInt(ev.target.value) || false;
    }

    async onClose() {
        this.state.busy = true;
        try {
            await this.console.close(
                this.props.interaction,
                this.state.dispositionId,
                this.state.notes
            );
        } finally {
            this.state.busy = false;
        }
    }
}
