import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { formatDuration } from "@omnichannel_cc/utils/format";
import { DIALPAD_KEYS } from "./softphone_service";

export const REGISTRATION_LABELS = {
    disabled: _t("Not configured"),
    other_tab: _t("In another tab"),
    connecting: _t("Connecting…"),
    registered: _t("Registered"),
    unregistered: _t("Not registered"),
    unreachable: _t("PBX unreachable"),
    error: _t("Error"),
};

/**
 * Bootstrap colour of each registration state: systray dot and panel badge.
 * Red only for what needs somebody (refused credentials, a call lost); a
 * phone not configured or a PBX out of reach is muted.
 */
export const REGISTRATION_COLORS = {
    disabled: "secondary",
    other_tab: "info",
    connecting: "warning",
    registered: "success",
    unregistered: "secondary",
    unreachable: "secondary",
    error: "danger",
};

/** What a call is doing, in words. */
export function callStatusLabel(call) {
    switch (call.status) {
        case "calling":
            return call.ringback ? _t("Ringing…") : _t("Calling…");
        case "ringing":
            return _t("Incoming call");
        case "answering":
            return _t("Connecting…");
        case "established":
            if (call.onHold) {
                return _t("On hold");
            }
            return call.remoteHold ? _t("Held by the other party") : _t("In call");
        default:
            return call.status;
    }
}

/**
 * The softphone panel (bottom left, above the page): registration state,
 * dial pad, the call and its controls (answer, decline, hold, mute, DTMF,
 * blind and attended transfer, hang up), then the consultation call of an
 * attended transfer.
 */
export class SoftphonePanel extends Component {
    static template = "omnichannel_cc_voip.SoftphonePanel";
    static props = {};

    setup() {
        this.softphone = useService("omnichannel_softphone");
        this.sstate = useState(this.softphone.state);
        this.local = useState({ transferTarget: "", showTransfer: false });
        this.keys = DIALPAD_KEYS;
        this.registrationLabels = REGISTRATION_LABELS;
        this.registrationColors = REGISTRATION_COLORS;
        this.callStatusLabel = callStatusLabel;
    }

    get call() {
        return this.sstate.call;
    }

    get consult() {
        return this.sstate.consult;
    }

    get config() {
        return this.sstate.config || {};
    }

    get canDial() {
        return this.sstate.registration === "registered" && !this.call;
    }

    get canRetry() {
        return ["error", "unregistered", "unreachable"].includes(this.sstate.registration);
    }

    timer(call) {
        // read through the component's state so that the timer re-renders;
        // the tick starts with the call: rounding keeps timer jitter out
        const now = this.sstate.now;
        return formatDuration(call.startedAt ? Math.round((now - call.startedAt) / 1000) : 0);
    }

    lastCallLabel(lastCall) {
        const who = lastCall.name || lastCall.number;
        if (!lastCall.answered) {
            return _t("%(who)s: not answered (%(cause)s)", { who, cause: lastCall.cause });
        }
        return _t("%(who)s: %(duration)s", { who, duration: formatDuration(lastCall.seconds) });
    }

    onClose() {
        this.softphone.togglePanel();
    }

    onRetry() {
        this.softphone.restart();
    }

    onNumberInput(ev) {
        this.sstate.number = ev.target.value;
    }

    onNumberKeydown(ev) {
        if (ev.key === "Enter") {
            this.onDial();
        }
    }

    onClearNumber() {
        this.sstate.number = this.sstate.number.slice(0, -1);
    }

    onKey(key) {
        this.softphone.pressKey(key);
    }

    async onDial() {
        const number = this.sstate.number.trim();
        if (number && (await this.softphone.dial(number))) {
            this.sstate.number = "";
        }
    }

    onAnswer() {
        return this.softphone.answer();
    }

    onDecline() {
        this.softphone.decline();
    }

    onHangup(call) {
        this.softphone.hangup(call.id);
    }

    onHold(call) {
        this.softphone.toggleHold(call.id);
    }

    onMute(call) {
        this.softphone.toggleMute(call.id);
    }

    onToggleTransfer() {
        this.local.showTransfer = !this.local.showTransfer;
    }

    onBlindTransfer() {
        if (this.softphone.blindTransfer(this.local.transferTarget.trim())) {
            this.local.showTransfer = false;
        }
    }

    async onConsult() {
        if (await this.softphone.startConsult(this.local.transferTarget.trim())) {
            this.local.showTransfer = false;
        }
    }

    onCompleteTransfer() {
        this.softphone.completeTransfer();
    }

    onCancelConsult() {
        this.softphone.cancelConsult();
    }
}

registry.category("main_components").add("omnichannel_cc_voip.SoftphonePanel", {
    Component: SoftphonePanel,
});
