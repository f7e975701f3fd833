import { reactive } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { session } from "@web/session";

// Bus types: the console reloads its state on both; an offer also pops.
const BUS_CONSOLE = "omnichannel.console";
const BUS_OFFER = "omnichannel.offer";
// Several pushes in a row (accept: offer, interaction, presence) make one reload.
const DEBOUNCE_MS = 150;
// Fallback when a bus message was lost: look again now and then.
const POLL_MS = 60000;

export const CHANNEL_ICONS = {
    phone: "fa-phone",
    email: "fa-envelope",
    chat: "fa-comments",
    webform: "fa-list-alt",
    sms: "fa-mobile",
    social: "fa-share-alt",
    fax: "fa-fax",
    video: "fa-video-camera",
};

/**
 * The channel of an offer or interaction in words: the label the server sent
 * (translated selection label), the technical key when it sent none.
 */
export function channelLabel(item) {
    return item.channel_label || item.channel_type || "";
}

/**
 * Whole seconds gone from `base` to the last tick. The tick runs in step
 * with the load (see `AgentConsole.restartTick`): rounding, not flooring,
 * keeps a millisecond of timer jitter from showing a second less.
 */
function secondsSince(state, base) {
    return Math.max(Math.round((state.now - base) / 1000), 0);
}

/**
 * Seconds a timer shows now: `seconds` as measured by the server at `at`
 * (client time, default: when the state was loaded) plus what went by since.
 * Pass the component's `useState(console.state)` so that the timer ticks.
 */
export function secondsNow(state, seconds, at) {
    return (seconds || 0) + secondsSince(state, at ?? state.loadedAt);
}

/** Seconds left before an offer expires (false: no limit). */
export function offerSecondsLeft(state, offer) {
    if (offer.seconds_left === false || offer.seconds_left === undefined) {
        return false;
    }
    return Math.max(offer.seconds_left - secondsSince(state, offer._at ?? state.loadedAt), 0);
}

/**
 * The agent console: the current user's presence, queues, offers and
 * interactions from `omnichannel.agent.action_console_state()`, kept up to
 * date by the bus ("omnichannel.console", "omnichannel.offer") and rebuilt
 * from the server after a reload or a lost connection. A new offer opens the
 * customer panel (screen-pop) on the main browser tab only.
 *
 * Durations come from the server as seconds at `loadedAt` (no clock skew);
 * `now` ticks every second so that timers move.
 */
export class AgentConsole {
    constructor(env, services) {
        this.env = env;
        this.orm = services.orm;
        this.bus = services.bus_service;
        this.multiTab = services.multi_tab;
        this.action = services.action;
        this.notification = services.notification;
        this.state = reactive({
            enabled: false,
            loaded: false,
            data: null,
            loadedAt: Date.now(),
            now: Date.now(),
            // running preview campaigns of the agent's queues (campaigns, issue 16)
            campaigns: [],
            // the side panel: one interaction (or offer) and its customer
            panel: {
                open: false,
                minimized: false,
                interactionId: false,
                partnerId: false,
                pop: null,
                loading: false,
            },
        });
        this.seenOffers = new Set();
        this.loadSeq = 0;
        this.timers = {};
    }

    async setup() {
        // from the session (ir.http.session_info): no request at start-up
        if (!session.omnichannel_cc?.is_agent) {
            return;
        }
        this.state.enabled = true;
        this.bus.subscribe(BUS_CONSOLE, () => this.scheduleLoad());
        this.bus.subscribe(BUS_OFFER, (payload) => this.onOfferPushed(payload));
        // Messages are dropped after a while: what was missed is reloaded.
        this.bus.addEventListener("connect", () => this.scheduleLoad());
        this.bus.addEventListener("reconnect", () => this.scheduleLoad());
        this.bus.start();
        this.restartTick();
        this.timers.poll = browser.setInterval(() => this.load(), POLL_MS);
        await this.load();
    }

    /** `now` ticks every second from now on: timers move in step with the last load. */
    restartTick() {
        browser.clearInterval(this.timers.tick);
        this.state.now = Date.now();
        this.timers.tick = browser.setInterval(() => (this.state.now = Date.now()), 1000);
    }

    // ------------------------------------------------------------------
    // State
    // ------------------------------------------------------------------
    async load() {
        const seq = ++this.loadSeq;
        let data;
        try {
            data = await this.orm.silent.call("omnichannel.agent", "action_console_state", []);
        } catch {
            return; // offline: the bus "reconnect" brings us back
        }
        if (seq !== this.loadSeq) {
            return; // a newer load is on its way
        }
        const popOutdated = this.popOutdatedBy(this.state.data, data);
        this.state.data = data;
        this.restartTick();
        this.state.loadedAt = this.state.now;
        const firstLoad = !this.state.loaded;
        this.state.loaded = true;
        for (const offer of data.offers) {
            this.noticeOffer(offer);
        }
        if (firstLoad && !this.state.panel.open && this.multiTab.isOnMainTab()) {
            // after a page reload: back to the interaction the agent was on
            const current = data.interactions.find((i) => i.state !== "offered");
            if (current) {
                this.openPanel(current.id, current.partner_id);
            }
        }
        this.syncPanel();
        if (popOutdated && this.state.panel.open) {
            await this.loadPop({ silent: true });
        }
    }

    /**
     * The customer panel lists the customer's interactions with their state,
     * the ones in hand too: when one of them was answered, ended, closed or
     * taken elsewhere between two loads of the console, the panel is out of
     * date.
     */
    popOutdatedBy(previous, data) {
        const pop = this.state.panel.pop;
        if (!previous || !pop) {
            return false;
        }
        const shown = new Set(pop.interactions.map((past) => past.id));
        const ofCustomer = (interaction) =>
            shown.has(interaction.id) ||
            interaction.partner_id === pop.partner.id ||
            interaction.commercial_partner_id === pop.commercial_partner.id;
        const before = new Map(previous.interactions.map((i) => [i.id, i]));
        const after = new Map(data.interactions.map((i) => [i.id, i]));
        const changed = [...after.values()].filter((i) => before.get(i.id)?.state !== i.state);
        const gone = [...before.values()].filter((i) => !after.has(i.id));
        return [...changed, ...gone].some(ofCustomer);
    }

    scheduleLoad() {
        browser.clearTimeout(this.timers.debounce);
        this.timers.debounce = browser.setTimeout(() => this.load(), DEBOUNCE_MS);
    }

    get offers() {
        return this.state.data?.offers || [];
    }

    get interactions() {
        return this.state.data?.interactions || [];
    }

    interaction(interactionId) {
        return this.interactions.find((i) => i.id === interactionId);
    }

    offerFor(interactionId) {
        return this.offers.find((o) => o.interaction_id === interactionId);
    }

    // ------------------------------------------------------------------
    // Offers and screen-pop
    // ------------------------------------------------------------------
    onOfferPushed(payload) {
        if (this.state.data && !this.offers.some((o) => o.offer_id === payload.offer_id)) {
            // show it at once; the reload below brings the rest of the state
            this.state.data.offers.push({ ...payload, _at: Date.now() });
            this.noticeOffer(payload);
        }
        this.scheduleLoad();
    }

    noticeOffer(offer) {
        if (this.seenOffers.has(offer.offer_id)) {
            return;
        }
        this.seenOffers.add(offer.offer_id);
        // one screen-pop per agent, not one per open tab
        if (this.multiTab.isOnMainTab()) {
            this.openPanel(offer.interaction_id, offer.partner_id);
        }
    }

    async openPanel(interactionId, partnerId) {
        const panel = this.state.panel;
        const samePartner = panel.partnerId === partnerId && panel.pop;
        Object.assign(panel, {
            open: true,
            minimized: false,
            interactionId,
            partnerId: partnerId || false,
        });
        if (!partnerId) {
            panel.pop = null;
            return;
        }
        if (!samePartner) {
            await this.loadPop();
        }
    }

    /**
     * (Re)load the customer of the panel. `silent`: a refresh the agent did
     * not ask for; on an error the panel keeps what it shows.
     */
    async loadPop({ silent = false } = {}) {
        const panel = this.state.panel;
        const partnerId = panel.partnerId;
        panel.loading = true;
        try {
            const orm = silent ? this.orm.silent : this.orm;
            const pop = await orm.call("res.partner", "omnichannel_screen_pop", [[partnerId]]);
            if (panel.partnerId === partnerId) {
                panel.pop = pop;
            }
        } catch (error) {
            if (!silent) {
                throw error;
            }
        } finally {
            panel.loading = false;
        }
    }

    closePanel() {
        Object.assign(this.state.panel, {
            open: false,
            interactionId: false,
            partnerId: false,
            pop: null,
        });
    }

    /** After a reload: the panel's interaction is gone (closed, taken elsewhere). */
    syncPanel() {
        const panel = this.state.panel;
        if (!panel.open || !panel.interactionId) {
            return;
        }
        if (!this.interaction(panel.interactionId) && !this.offerFor(panel.interactionId)) {
            this.closePanel();
        }
    }

    // ------------------------------------------------------------------
    // Agent actions
    // ------------------------------------------------------------------
    async run(promise, { refreshView = false } = {}) {
        try {
            return await promise;
        } finally {
            await this.load();
            if (refreshView) {
                await this.refreshView();
            }
        }
    }

    /** The interaction changed: a list or form of interactions on screen shows it. */
    async refreshView() {
        const controller = this.action.currentController;
        if (controller?.action?.res_model === "omnichannel.interaction") {
            await this.action.doAction("soft_reload");
        }
    }

    // ------------------------------------------------------------------
    // Campaigns (issue 16): preview dialing
    // ------------------------------------------------------------------
    async loadCampaigns() {
        try {
            this.state.campaigns = await this.orm.silent.call(
                "omnichannel.campaign",
                "console_preview_campaigns",
                []
            );
        } catch {
            this.state.campaigns = [];
        }
    }

    /** The next contact of the agent's preview campaigns, in the customer panel. */
    async nextContact() {
        const payload = await this.run(
            this.orm.call("omnichannel.campaign", "action_next_contact", [[]])
        );
        if (!payload) {
            this.notification.add(_t("Nobody left to call now."), { type: "info" });
            return false;
        }
        await this.openPanel(payload.interaction_id, payload.partner_id);
        return payload;
    }

    /** The agent dials the campaign contact: the attempt is counted. */
    async dialCampaign(interaction) {
        const result = await this.run(
            this.orm.call("omnichannel.campaign.contact", "action_dial", [
                [interaction.campaign_contact_id],
            ])
        );
        this.notification.add(_t("Dialing %(phone)s", { phone: result.phone }), {
            type: "info",
        });
        return result;
    }

    setState(state, breakReasonId = false) {
        return this.run(
            this.orm.call("omnichannel.agent", "action_my_state", [state, breakReasonId])
        );
    }

    toggleQueue(queue) {
        return this.run(
            this.orm.call("omnichannel.agent", "action_queue_login", [[queue.id], !queue.logged_in])
        );
    }

    async accept(offer) {
        await this.run(this.orm.call("omnichannel.offer", "action_accept", [[offer.offer_id]]), {
            refreshView: true,
        });
        // an open panel shows the call as answered: the load above refreshed it
        const panel = this.state.panel;
        if (!panel.open || panel.interactionId !== offer.interaction_id) {
            await this.openPanel(offer.interaction_id, offer.partner_id);
        }
    }

    async reject(offer) {
        await this.run(this.orm.call("omnichannel.offer", "action_reject", [[offer.offer_id]]));
        if (this.state.panel.interactionId === offer.interaction_id) {
            this.closePanel();
        }
    }

    end(interaction) {
        return this.run(
            this.orm.call("omnichannel.interaction", "action_end", [[interaction.id]]),
            { refreshView: true }
        );
    }

    async close(interaction, dispositionId, notes) {
        await this.run(
            this.orm.call(
                "omnichannel.interaction",
                "action_console_close",
                [[interaction.id]],
                { disposition_id: dispositionId || false, notes: notes || "" }
            ),
            { refreshView: true }
        );
        this.notification.add(_t("%(name)s is closed.", { name: interaction.name }), {
            type: "success",
        });
        if (this.state.panel.interactionId === interaction.id) {
            this.closePanel();
        }
    }

    async quickAction(interaction, method) {
        const action = await this.orm.call("omnichannel.interaction", method, [[interaction.id]]);
        await this.action.doAction(action, { onClose: () => this.scheduleLoad() });
    }

    /** Hold / resume the customer of the active interaction. */
    hold(interaction, onHold) {
        const method = onHold ? "action_hold" : "action_resume";
        return this.run(this.orm.call("omnichannel.interaction", method, [[interaction.id]]));
    }

    /** Queues and free agents the interaction may be transferred to. */
    transferTargets(interaction) {
        return this.orm.call("omnichannel.interaction", "transfer_targets", [[interaction.id]]);
    }

    /** target: {type: "queue" | "agent", id} */
    async transfer(interaction, target) {
        const method =
            target.type === "queue" ? "action_transfer_queue" : "action_transfer_agent";
        await this.run(
            this.orm.call("omnichannel.interaction", method, [[interaction.id], target.id]),
            { refreshView: true }
        );
        this.notification.add(_t("%(name)s is transferred.", { name: interaction.name }), {
            type: "success",
        });
        if (this.state.panel.interactionId === interaction.id) {
            this.closePanel();
        }
    }

    async linkCase(interaction, caseId) {
        await this.run(
            this.orm.call("omnichannel.interaction", "action_console_link_case", [
                [interaction.id],
                caseId,
            ]),
            { refreshView: true }
        );
    }

    openRecord(resModel, resId) {
        return this.action.doAction({
            type: "ir.actions.act_window",
            res_model: resModel,
            res_id: resId,
            views: [[false, "form"]],
            target: "current",
        });
    }
}

export const agentConsoleService = {
    dependencies: ["orm", "bus_service", "multi_tab", "action", "notification"],
    start(env, services) {
        const agentConsole = new AgentConsole(env, services);
        agentConsole.setup();
        return agentConsole;
    },
};

registry.category("services").add("omnichannel_agent_console", agentConsoleService);
