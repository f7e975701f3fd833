import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import {
    deserializeDate,
    deserializeDateTime,
    formatDate,
    formatDateTime,
} from "@web/core/l10n/dates";
import { getCurrency } from "@web/core/currency";
import { useService } from "@web/core/utils/hooks";
import { formatFloat, formatMonetary } from "@web/views/fields/formatters";
import { formatDuration } from "../utils/format";
import { CHANNEL_ICONS, channelLabel, secondsNow } from "./agent_console_service";
import { offerAnswerHint } from "./offer_wording";
import { WrapupPanel } from "./wrapup_panel";

/**
 * The customer panel (screen-pop) next to the web client: the interaction in
 * hand with its quick actions and wrap-up, and what the agent must know of
 * the customer before answering — open orders, unpaid and overdue invoices,
 * open cases and their owners, the history on every channel — each a link to
 * its record.
 */
export class ScreenPopPanel extends Component {
    static template = "omnichannel_cc.ScreenPopPanel";
    static components = { WrapupPanel };
    static props = {};

    setup() {
        this.console = useService("omnichannel_agent_console");
        this.cstate = useState(this.console.state);
        this.channelIcons = CHANNEL_ICONS;
        this.channelLabel = channelLabel;
        // the transfer picker: null while closed, else {queues, agents, value}
        this.transferState = useState({ targets: null, value: "" });
    }

    get panel() {
        return this.cstate.panel;
    }

    get pop() {
        return this.panel.pop;
    }

    get access() {
        return this.cstate.data?.access || {};
    }

    get interaction() {
        const id = this.panel.interactionId;
        return (this.cstate.data?.interactions || []).find((i) => i.id === id);
    }

    get offer() {
        const id = this.panel.interactionId;
        return (this.cstate.data?.offers || []).find((o) => o.interaction_id === id);
    }

    get title() {
        return (
            this.pop?.partner.name ||
            this.interaction?.partner_name ||
            this.offer?.partner_name ||
            this.interaction?.contact_address ||
            this.offer?.contact_address ||
            _t("Unknown customer")
        );
    }

    /** How to take the offer ringing for the panel's interaction. */
    get answerHint() {
        return offerAnswerHint(this.offer || {});
    }

    get interactionTimer() {
        return formatDuration(secondsNow(this.cstate, this.interaction.state_seconds));
    }

    get overdueInvoices() {
        return (this.pop?.invoices || []).filter((invoice) => invoice.overdue);
    }

    place(partner) {
        return [partner.city, partner.country].filter(Boolean).join(", ");
    }

    /**
     * An amount in its document's currency, with the symbol where the web
     * client knows the currency ("1 234,50 zł" for a Polish user), else the
     * ISO code after the number.
     */
    money(amount, currencyName, currencyId) {
        if (currencyId && getCurrency(currencyId)) {
            return formatMonetary(amount, { currencyId });
        }
        return `${formatFloat(amount, { digits: [16, 2] })} ${currencyName || ""}`.trim();
    }

    companyMoney(amount) {
        return formatMonetary(amount, { currencyId: this.pop.currency.id });
    }

    date(value) {
        return value ? formatDate(deserializeDate(value)) : "";
    }

    datetime(value) {
        return value ? formatDateTime(deserializeDateTime(value)) : "";
    }

    /** A past interaction's line in full: shown cut short, read on hover. */
    historyDetail(past) {
        const extra = (past.extra || []).map((fact) => `${fact.label} ${fact.value}`);
        return [past.state_label, past.agent, past.disposition, past.subject, ...extra]
            .filter(Boolean)
            .join(" · ");
    }

    daysOverdue(invoice) {
        return _t("%(days)s days overdue", { days: invoice.days_overdue });
    }

    open(resModel, resId) {
        return this.console.openRecord(resModel, resId);
    }

    onMinimize() {
        this.panel.minimized = !this.panel.minimized;
    }

    onClose() {
        this.console.closePanel();
    }

    onReloadPop() {
        return this.console.loadPop();
    }

    onQuickAction(method) {
        return this.console.quickAction(this.interaction, method);
    }

    onEnd() {
        return this.console.end(this.interaction);
    }

    /** Campaigns (issue 16): dial the preview contact (the attempt counts). */
    onDial() {
        return this.console.dialCampaign(this.interaction);
    }

    onHold() {
        return this.console.hold(this.interaction, !this.interaction.is_on_hold);
    }

    async onTransferOpen() {
        if (this.transferState.targets) {
            this.transferState.targets = null;
            return;
        }
        const targets = await this.console.transferTargets(this.interaction);
        Object.assign(this.transferState, { targets, value: "" });
    }

    async onTransferConfirm() {
        const [type, id] = this.transferState.value.split(":");
        if (!id) {
            return;
        }
        const interaction = this.interaction;
        this.transferState.targets = null;
        await this.console.transfer(interaction, { type, id: parseInt(id) });
    }

    onLinkCase(caseId) {
        return this.console.linkCase(this.interaction, caseId);
    }
}
