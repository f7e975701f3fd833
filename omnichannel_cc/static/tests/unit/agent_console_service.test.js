import { addBusServiceListeners } from "@bus/../tests/bus_test_helpers";
import { WEBSOCKET_CLOSE_CODES } from "@bus/workers/websocket_worker";
import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { waitUntil } from "@odoo/hoot-dom";
import { advanceTime, animationFrame, Deferred } from "@odoo/hoot-mock";
import {
    asyncStep,
    getService,
    makeMockEnv,
    MockServer,
    patchWithCleanup,
    waitForSteps,
} from "@web/../tests/web_test_helpers";

import {
    offerSecondsLeft,
    secondsNow,
} from "@omnichannel_cc/agent_console/agent_console_service";
import { formatDuration } from "@omnichannel_cc/utils/format";
import {
    makeInteraction,
    makeOffer,
    mockConsoleServer,
    pushBus,
} from "./omnichannel_test_helpers";

describe.current.tags("desktop");
// mail and im_livechat start their services in every environment of this addon
defineMailModels();

// the console waits this long after a push before it reloads (DEBOUNCE_MS)
const DEBOUNCE = 150;

/**
 * Start the web client services with the agent console on a fake server,
 * and let the console settle: first load, then the reload of the bus
 * "connect" event. `server.calls` is emptied.
 */
async function startConsole(values) {
    const server = mockConsoleServer(values);
    addBusServiceListeners(
        ["connect", () => asyncStep("bus connect")],
        ["reconnect", () => asyncStep("bus reconnect")]
    );
    await makeMockEnv();
    const agentConsole = getService("omnichannel_agent_console");
    await waitForSteps(["bus connect"]);
    await waitUntil(() => agentConsole.state.loaded);
    await advanceTime(DEBOUNCE);
    server.calls = [];
    return { agentConsole, server };
}

test("a user who is not an agent has no console: nothing is loaded", async () => {
    const server = mockConsoleServer();
    server.isAgent = false;
    await makeMockEnv();
    const agentConsole = getService("omnichannel_agent_console");
    await animationFrame();
    await advanceTime(1000);
    expect(agentConsole.state.enabled).toBe(false);
    expect(agentConsole.state.loaded).toBe(false);
    expect(server.loads).toBe(0);
});

test("first load: presence and queues, and the interaction in hand reopens its customer panel", async () => {
    const { agentConsole } = await startConsole({
        interactions: [makeInteraction({ id: 601, partner_id: 42, state: "active" })],
    });
    const { state } = agentConsole;
    expect(state.enabled).toBe(true);
    expect(state.data.presence.state).toBe("available");
    expect(state.data.queues.map((q) => q.name)).toEqual(["Support"]);
    expect(state.panel.open).toBe(true);
    expect(state.panel.interactionId).toBe(601);
    expect(state.panel.partnerId).toBe(42);
    expect(state.panel.pop.partner.id).toBe(42);
});

test("a console push reloads the state once, however many pushes come in a row", async () => {
    const { agentConsole, server } = await startConsole();
    const loads = server.loads;
    server.data.queues[0].waiting_count = 7;
    // accepting an offer changes the offer, the interaction and the presence
    const push = { user_id: 7 };
    await pushBus("omnichannel.console", push, push, push);
    await advanceTime(DEBOUNCE);
    expect(server.loads).toBe(loads + 1);
    expect(agentConsole.state.data.queues[0].waiting_count).toBe(7);
});

test("after a lost connection, the bus reconnect reloads what was missed", async () => {
    const { agentConsole, server } = await startConsole();
    const loads = server.loads;
    MockServer.env["bus.bus"]._simulateDisconnection(WEBSOCKET_CLOSE_CODES.ABNORMAL_CLOSURE);
    // while offline, a supervisor put the agent on a break
    Object.assign(server.data.presence, {
        state: "break",
        state_label: "Break",
        break_reason_id: 3,
        break_reason_name: "Lunch",
    });
    await advanceTime(100); // the worker's reconnection delay
    await waitForSteps(["bus reconnect"]);
    await advanceTime(DEBOUNCE);
    expect(server.loads).toBe(loads + 1);
    expect(agentConsole.state.data.presence.state).toBe("break");
    expect(agentConsole.state.data.presence.break_reason_name).toBe("Lunch");
});

test("an offer pushed on the bus shows at once and pops its customer, once", async () => {
    const { agentConsole, server } = await startConsole();
    const payload = makeOffer({ offer_id: 502, interaction_id: 602, partner_id: 43 });
    server.data.offers = [payload];
    await pushBus("omnichannel.offer", payload);
    // before the reload: from the push alone
    expect(agentConsole.offers.map((o) => o.offer_id)).toEqual([502]);
    expect(agentConsole.state.panel.open).toBe(true);
    expect(agentConsole.state.panel.interactionId).toBe(602);
    await waitUntil(() => agentConsole.state.panel.pop);
    expect(agentConsole.state.panel.pop.partner.id).toBe(43);
    // the reload brings the same offer: not twice, no second pop
    await advanceTime(DEBOUNCE);
    expect(agentConsole.offers.map((o) => o.offer_id)).toEqual([502]);
    expect(server.calls).toEqual(["omnichannel_screen_pop:43", "action_console_state"]);
});

test("in a secondary browser tab, a pushed offer shows but does not pop the panel", async () => {
    const { agentConsole, server } = await startConsole();
    patchWithCleanup(getService("multi_tab"), { isOnMainTab: () => false });
    await pushBus("omnichannel.offer", makeOffer());
    expect(agentConsole.offers.map((o) => o.offer_id)).toEqual([501]);
    expect(agentConsole.state.panel.open).toBe(false);
    await advanceTime(DEBOUNCE);
    expect(server.calls).toEqual(["action_console_state"]);
});

test("accept: the offer is accepted on the server, the state reloaded, the panel shows the interaction", async () => {
    const { agentConsole, server } = await startConsole({ offers: [makeOffer()] });
    expect(agentConsole.state.panel.interactionId).toBe(601); // popped on load
    await agentConsole.accept(agentConsole.offers[0]);
    expect(server.calls).toEqual([
        "action_accept:501",
        "action_console_state",
        // the history now shows the call as answered, loaded once
        "omnichannel_screen_pop:42",
    ]);
    expect(agentConsole.state.panel.pop.interactions.map((i) => i.state)).toEqual(["active"]);
    expect(agentConsole.offers).toEqual([]);
    expect(agentConsole.interaction(601).state).toBe("active");
    expect(agentConsole.state.data.presence.state).toBe("busy");
    expect(agentConsole.state.panel.open).toBe(true);
    expect(agentConsole.state.panel.interactionId).toBe(601);
});

test("reject: the offer is rejected on the server, it disappears and its panel closes", async () => {
    const { agentConsole, server } = await startConsole({ offers: [makeOffer()] });
    expect(agentConsole.state.panel.open).toBe(true);
    await agentConsole.reject(agentConsole.offers[0]);
    expect(server.calls).toEqual(["action_reject:501", "action_console_state"]);
    expect(agentConsole.offers).toEqual([]);
    expect(agentConsole.state.panel.open).toBe(false);
    expect(agentConsole.state.panel.interactionId).toBe(false);
});

test("timers: time in state and offer countdown run from the server's figures", async () => {
    const { agentConsole, server } = await startConsole({
        presence: { state_seconds: 65 },
        offers: [makeOffer({ seconds_left: 20, waiting_seconds: 30 })],
    });
    const { state } = agentConsole;
    const offer = agentConsole.offers[0];
    expect(formatDuration(secondsNow(state, state.data.presence.state_seconds))).toBe("1:05");
    expect(offerSecondsLeft(state, offer)).toBe(20);
    await advanceTime(5000);
    expect(formatDuration(secondsNow(state, state.data.presence.state_seconds))).toBe("1:10");
    expect(offerSecondsLeft(state, offer)).toBe(15);
    expect(formatDuration(secondsNow(state, offer.waiting_seconds))).toBe("0:35");
    await advanceTime(30000);
    expect(offerSecondsLeft(state, offer)).toBe(0); // never below zero
    // a reload starts again from what the server measured
    server.data.presence.state_seconds = 600;
    await agentConsole.load();
    expect(formatDuration(secondsNow(state, state.data.presence.state_seconds))).toBe("10:00");
    expect(offerSecondsLeft(state, { seconds_left: false })).toBe(false); // no limit
});

test("an answer that comes after a newer one is dropped", async () => {
    const { agentConsole, server } = await startConsole();
    const gate = new Deferred();
    server.nextLoadGate = gate;
    const slow = agentConsole.load(); // reads "available", answers late
    server.data.presence.state = "break";
    await agentConsole.load();
    expect(agentConsole.state.data.presence.state).toBe("break");
    gate.resolve();
    await slow;
    expect(agentConsole.state.data.presence.state).toBe("break");
});

test("a reload closes the panel of an interaction that is no longer the agent's", async () => {
    const { agentConsole, server } = await startConsole({
        interactions: [makeInteraction({ id: 601, partner_id: 42 })],
    });
    expect(agentConsole.state.panel.open).toBe(true);
    server.data.interactions = []; // transferred by a supervisor
    await pushBus("omnichannel.console", { user_id: 7 });
    await advanceTime(DEBOUNCE);
    expect(agentConsole.state.panel.open).toBe(false);
});

test("presence and queues: each change is sent to the server, then the state reloaded", async () => {
    const { agentConsole, server } = await startConsole();
    await agentConsole.setState("break", 3);
    expect(agentConsole.state.data.presence.state).toBe("break");
    expect(agentConsole.state.data.presence.break_reason_name).toBe("Lunch");
    await agentConsole.toggleQueue(agentConsole.state.data.queues[0]);
    expect(agentConsole.state.data.queues[0].logged_in).toBe(false);
    expect(server.calls).toEqual([
        "action_my_state:break,3",
        "action_console_state",
        "action_queue_login:11,false",
        "action_console_state",
    ]);
});

test("end then close: wrap-up, then closed with its disposition and notes", async () => {
    const { agentConsole, server } = await startConsole({
        interactions: [makeInteraction({ id: 601, partner_id: 42 })],
    });
    patchWithCleanup(getService("notification"), {
        add: (message, options) => asyncStep(`${options.type}: ${message}`),
    });
    await agentConsole.end(agentConsole.interaction(601));
    expect(agentConsole.interaction(601).state).toBe("wrapup");
    await agentConsole.close(agentConsole.interaction(601), 21, "Call back on Monday");
    expect(server.calls).toEqual([
        "action_end:601",
        "action_console_state",
        // the customer's history shows the call in wrap-up
        "omnichannel_screen_pop:42",
        "action_console_close:601,21,Call back on Monday",
        // the panel closes with its interaction: nothing more to show
        "action_console_state",
    ]);
    await waitForSteps(["success: INT/0601 is closed."]);
    expect(agentConsole.interaction(601)).toBe(undefined);
    expect(agentConsole.state.panel.open).toBe(false);
});

test("a state change of the customer's interactions reloads the panel's history; others do not", async () => {
    const { agentConsole, server } = await startConsole({
        interactions: [
            makeInteraction({ id: 601, partner_id: 42, state: "wrapup", state_label: "Wrap-up" }),
            makeInteraction({ id: 602, partner_id: 42, name: "INT/0602" }),
            makeInteraction({ id: 603, partner_id: 77, commercial_partner_id: 77 }),
        ],
    });
    await agentConsole.openPanel(602, 42);
    const states = () => agentConsole.state.panel.pop.interactions.map((i) => [i.id, i.state]);
    expect(states()).toEqual([
        [602, "active"],
        [601, "wrapup"],
    ]);
    server.calls = [];
    // another customer's chat ends: this panel is up to date
    Object.assign(server.data.interactions[2], { state: "wrapup", state_label: "Wrap-up" });
    await pushBus("omnichannel.console", { user_id: 7 });
    await advanceTime(DEBOUNCE);
    expect(server.calls).toEqual(["action_console_state"]);
    // the earlier call is closed from its form: gone from the console, done in the history
    const [wrapup] = server.data.interactions.splice(0, 1);
    server.closed.push({ ...wrapup, state: "done", state_label: "Done" });
    await pushBus("omnichannel.console", { user_id: 7 });
    await advanceTime(DEBOUNCE);
    await waitUntil(() => states()[1][1] === "done");
    expect(server.calls).toEqual([
        "action_console_state",
        "action_console_state",
        "omnichannel_screen_pop:42",
    ]);
    expect(states()).toEqual([
        [602, "active"],
        [601, "done"],
    ]);
    expect(agentConsole.state.panel.interactionId).toBe(602);
});
