import { Component, onMounted, onWillStart, onWillUnmount, useRef, useState } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";
import { deserializeDateTime } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { agentStateColor } from "../utils/agent_state";
import { formatDuration } from "../utils/format";
import { WallboardCharts } from "../wallboard_charts/wallboard_charts";

const BUS_TYPE = "omnichannel.wallboard";
// Several pushes in a row become one reload.
const DEBOUNCE_MS = 300;
// Channel classes where a supervisor can sit in on a conversation.
const JOINABLE_CHANNELS = new Set(["chat", "social", "sms", "email", "webform"]);
// Figures older than this when read (a read replica behind) are shown as late.
const LATE_SECONDS = 10;

/**
 * Live supervisor wallboard: one tile per queue, the agents' table and the
 * supervisor's actions. Reloads `wallboard_data()` when the server pushes
 * "omnichannel.wallboard" (rate-limited per company on the server), once more
 * after the server's push interval (changes the limit held back), on
 * reconnect and every poll interval as a fallback.
 */
export class Wallboard extends Component {
    static template = "omnichannel_cc.Wallboard";
    static components = { Dropdown, DropdownItem, WallboardCharts };
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.busService = useService("bus_service");
        this.notification = useService("notification");
        this.actionService = useService("action");
        this.rootRef = useRef("root");
        this.state = useState({
            data: null,
            loadedAt: Date.now(),
            tick: Date.now(),
            tv: false,
        });
        this.loadSeq = 0;
        this.timers = {};
        this.onPush = this.onPush.bind(this);
        this.onReconnect = this.onReconnect.bind(this);
        this.onFullscreenChange = this.onFullscreenChange.bind(this);
        onWillStart(() => this.load());
        onMounted(() => {
            this.busService.subscribe(BUS_TYPE, this.onPush);
            this.busService.addEventListener("reconnect", this.onReconnect);
            this.busService.start();
            const poll = (this.state.data?.poll_interval || 30) * 1000;
            this.timers.poll = browser.setInterval(() => this.load(), poll);
            this.restartTick();
            document.addEventListener("fullscreenchange", this.onFullscreenChange);
        });
        onWillUnmount(() => {
            this.busService.unsubscribe(BUS_TYPE, this.onPush);
            this.busService.removeEventListener("reconnect", this.onReconnect);
            browser.clearInterval(this.timers.poll);
            browser.clearInterval(this.timers.tick);
            browser.clearTimeout(this.timers.debounce);
            browser.clearTimeout(this.timers.trailing);
            document.removeEventListener("fullscreenchange", this.onFullscreenChange);
            if (document.fullscreenElement) {
                document.exitFullscreen().catch(() => {});
            }
        });
    }

    // ------------------------------------------------------------------
    // Data
    // ------------------------------------------------------------------
    async load() {
        const seq = ++this.loadSeq;
        const data = await this.orm.call("omnichannel.queue", "wallboard_data", [], {});
        if (seq !== this.loadSeq) {
            return; // a newer load is on its way
        }
        this.state.data = data;
        if (this.timers.tick) {
            this.restartTick(); // the live figures move in step with the load
        }
        this.state.loadedAt = Date.now();
        this.state.tick = this.state.loadedAt;
    }

    restartTick() {
        browser.clearInterval(this.timers.tick);
        this.timers.tick = browser.setInterval(() => (this.state.tick = Date.now()), 1000);
    }

    scheduleReload() {
        if (!this.timers.debounce) {
            this.timers.debounce = browser.setTimeout(() => {
                this.timers.debounce = null;
                this.load();
            }, DEBOUNCE_MS);
        }
        // the server drops pushes for push_interval seconds after this one:
        // look once more when that window is over
        browser.clearTimeout(this.timers.trailing);
        const interval = (this.state.data?.push_interval || 2) * 1000 + 500;
        this.timers.trailing = browser.setTimeout(() => this.load(), interval);
    }

    onPush(payload) {
        const companies = new Set((this.state.data?.queues || []).map((q) => q.company_id));
        if (!payload?.company_id || !companies.size || companies.has(payload.company_id)) {
            this.scheduleReload();
        }
    }

    onReconnect() {
        // bus messages are dropped after a while: reload what was missed
        this.scheduleReload();
    }

    // ------------------------------------------------------------------
    // Display helpers
    // ------------------------------------------------------------------
    get data() {
        return this.state.data || { queues: [], agents: [], totals: { agents: {} } };
    }

    get elapsed() {
        // whole seconds since the load (ticks run in step with it; rounding
        // keeps a millisecond of timer jitter from showing a second less)
        return Math.max(Math.round((this.state.tick - this.state.loadedAt) / 1000), 0);
    }

    /**
     * When the figures are from (the user's time zone): the server's clock, or
     * on a read replica the last change it has replayed from the primary.
     */
    get asOfText() {
        if (!this.data.as_of) {
            return "";
        }
        const time = deserializeDateTime(this.data.as_of).toFormat("HH:mm:ss");
        return _t("Figures as of %(time)s", { time });
    }

    /** Seconds the figures were behind the server's clock when read. */
    get asOfLag() {
        if (!this.data.as_of || !this.data.now) {
            return 0;
        }
        const lag = deserializeDateTime(this.data.now).diff(deserializeDateTime(this.data.as_of));
        return Math.max(Math.round(lag.as("seconds")), 0);
    }

    get asOfLate() {
        return this.asOfLag >= LATE_SECONDS;
    }

    get asOfTitle() {
        return this.asOfLate
            ? _t("The figures are %(seconds)s s behind: the read replica has not caught up yet.", {
                  seconds: this.asOfLag,
              })
            : false;
    }

    live(seconds) {
        return formatDuration((seconds || 0) + this.elapsed);
    }

    duration(seconds) {
        return formatDuration(seconds);
    }

    stateLabel(state) {
        const pair = (this.data.agent_states || []).find(([key]) => key === state);
        return pair ? pair[1] : state;
    }

    channelLabel(channelType) {
        const pair = (this.data.channel_types || []).find(([key]) => key === channelType);
        return pair ? pair[1] : channelType;
    }

    stateBadge(state) {
        return `text-bg-${agentStateColor(state)}`;
    }

    liveWaitStatus(queue) {
        // the longest wait goes on growing between reloads
        if (!queue.waiting) {
            return "none";
        }
        const wait = queue.longest_wait + this.elapsed;
        const threshold = queue.service_level_seconds;
        if (threshold <= 0 || wait >= threshold) {
            return "bad";
        }
        return wait >= threshold * 0.75 ? "warn" : "good";
    }

    agentsOf(queue) {
        const members = new Set(queue.member_user_ids);
        const order = { available: 0, busy: 1, wrapup: 2, break: 3, offline: 4 };
        return this.data.agents
            .filter((agent) => members.has(agent.user_id) && agent.user_id !== this.data.user_id)
            .sort((a, b) => order[a.state] - order[b.state] || a.name.localeCompare(b.name));
    }

    canJoin(agent) {
        return agent.can_manage && agent.current && agent.current.id && JOINABLE_CHANNELS.has(agent.current.channel_type);
    }

    // ------------------------------------------------------------------
    // Supervisor actions
    // ------------------------------------------------------------------
    async setAgentState(agent, state, breakReasonId = false) {
        await this.orm.call("omnichannel.agent", "action_set_state", [[agent.id], state, breakReasonId]);
        this.notification.add(
            _t("%(agent)s is now %(state)s.", { agent: agent.name, state: this.stateLabel(state) }),
            { type: "success" }
        );
        await this.load();
    }

    async assign(item, agent) {
        await this.orm.call("omnichannel.interaction", "action_supervisor_assign", [[item.id], agent.user_id]);
        this.notification.add(
            _t("%(name)s offered to %(agent)s.", { name: item.name, agent: agent.name }),
            { type: "success" }
        );
        await this.load();
    }

    async pick(item) {
        await this.orm.call("omnichannel.interaction", "action_supervisor_pick", [[item.id]]);
        this.notification.add(_t("You picked up %(name)s.", { name: item.name }), {
            type: "success",
        });
        await this.load();
    }

    async join(agent) {
        const action = await this.orm.call("omnichannel.interaction", "action_supervisor_join", [
            [agent.current.id],
        ]);
        await this.actionService.doAction(action);
    }

    async openInteraction(interactionId) {
        if (!interactionId) {
            return;
        }
        await this.actionService.doAction({
            type: "ir.actions.act_window",
            res_model: "omnichannel.interaction",
            res_id: interactionId,
            views: [[false, "form"]],
            target: "current",
        });
    }

    // ------------------------------------------------------------------
    // TV mode
    // ------------------------------------------------------------------
    async toggleTv() {
        const enter = !this.state.tv;
        this.state.tv = enter;
        try {
            if (enter && !document.fullscreenElement) {
                await document.documentElement.requestFullscreen();
            } else if (!enter && document.fullscreenElement) {
                await document.exitFullscreen();
            }
        } catch {
            // no full screen (iframe, browser policy): the TV layout alone
        }
    }

    onFullscreenChange() {
        if (!document.fullscreenElement && this.state.tv) {
            this.state.tv = false;
        }
    }
}

registry.category("actions").add("omnichannel_cc.wallboard", Wallboard);
