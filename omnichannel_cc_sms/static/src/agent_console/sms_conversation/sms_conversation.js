import { Component, onWillStart, useEffect, useRef, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { deserializeDateTime } from "@web/core/l10n/dates";
import { useService } from "@web/core/utils/hooks";
import { SmsCounter } from "../../sms_counter/sms_counter";
import { transliterate } from "../../sms_encoding";

const { DateTime } = luxon;

/**
 * An outbound SMS's state as the console rows give it (the chatter's SMS
 * notification: outgoing, sending, sent, delivered, failed, canceled), with
 * the words and colour shown.
 */
function outboundState(state) {
    switch (state) {
        case "outgoing":
        case "sending":
        case "queued":
            return { key: "queued", label: _t("Queued"), color: "secondary" };
        case "sent":
            return { key: "sent", label: _t("Sent"), color: "info" };
        case "delivered":
            return { key: "delivered", label: _t("Delivered"), color: "success" };
        case "failed":
            return { key: "failed", label: _t("Failed"), color: "danger" };
        case "canceled":
            return { key: "canceled", label: _t("Canceled"), color: "secondary" };
        default:
            return state ? { key: state, label: state, color: "secondary" } : null;
    }
}

// Drafts survive switching between conversations (the component is remounted).
const drafts = new Map();

/**
 * One SMS conversation of the agent console: the last messages both ways
 * (each outbound one with its delivery state), read already while it is
 * offered; while the interaction is active, a reply box with the SMS
 * counter, quick-reply templates and send.
 */
export class SmsConversation extends Component {
    static template = "omnichannel_cc_sms.SmsConversation";
    static components = { SmsCounter };
    static props = { interaction: Object };

    setup() {
        this.console = useService("omnichannel_agent_console");
        this.notification = useService("notification");
        const id = this.props.interaction.id;
        if (!drafts.has(id)) {
            drafts.set(id, { body: "" });
        }
        this.draft = useState(drafts.get(id));
        this.state = useState({ busy: false, templates: [] });
        this.threadRef = useRef("thread");
        this.bodyRef = useRef("body");
        onWillStart(() => this.loadTemplates());
        // the newest message in view, as in a chat
        useEffect(
            (el) => {
                if (el) {
                    el.scrollTop = el.scrollHeight;
                }
            },
            () => [this.threadRef.el, this.messages.length, this.messages.at(-1)?.id]
        );
    }

    get interaction() {
        return this.props.interaction;
    }

    get sms() {
        return this.interaction.sms;
    }

    get messages() {
        return this.sms.messages || [];
    }

    get isActive() {
        return this.interaction.state === "active";
    }

    get canSend() {
        return this.isActive && !this.state.busy && Boolean(this.draft.body.trim());
    }

    async loadTemplates() {
        try {
            this.state.templates = await this.console.smsTemplates();
        } catch {
            this.state.templates = []; // no quick replies: typing still works
        }
    }

    outboundState(message) {
        return message.direction === "out" ? outboundState(message.state) : null;
    }

    time(message) {
        if (!message.date) {
            return "";
        }
        const date = deserializeDateTime(message.date);
        return date.hasSame(DateTime.now(), "day")
            ? date.toLocaleString(DateTime.TIME_SIMPLE)
            : date.toLocaleString(DateTime.DATETIME_SHORT);
    }

    onTransliterate() {
        this.draft.body = transliterate(this.draft.body);
        this.bodyRef.el?.focus();
    }

    async onQuickReply(ev) {
        const templateId = parseInt(ev.target.value);
        ev.target.value = "";
        const template = this.state.templates.find((t) => t.id === templateId);
        if (!template) {
            return;
        }
        const text = await this.console.renderSmsTemplate(this.interaction, template);
        const body = this.draft.body.trimEnd();
        this.draft.body = body ? `${body} ${text}` : text;
        this.bodyRef.el?.focus();
    }

    onKeydown(ev) {
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
            ev.preventDefault();
            this.onSend();
        }
    }

    async onSend() {
        if (!this.canSend) {
            return;
        }
        const body = this.draft.body;
        this.state.busy = true;
        try {
            const result = await this.console.sendSms(this.interaction, body);
            if (result && this.draft.body === body) {
                this.draft.body = "";
            }
        } finally {
            this.state.busy = false;
        }
    }

    onEnd() {
        return this.console.end(this.interaction);
    }

    /** The wrap-up (disposition, notes) is the customer panel's. */
    onWrapup() {
        return this.console.openPanel(this.interaction.id, this.interaction.partner_id);
    }
}

/** Forget the drafts of conversations no longer in hand. */
export function forgetSmsDrafts(keepIds) {
    for (const id of drafts.keys()) {
        if (!keepIds.includes(id)) {
            drafts.delete(id);
        }
    }
}
