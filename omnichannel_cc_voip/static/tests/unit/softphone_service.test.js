import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { waitUntil } from "@odoo/hoot-dom";
import { advanceTime, animationFrame } from "@odoo/hoot-mock";
import {
    asyncStep,
    getService,
    makeMockEnv,
    mockService,
    patchWithCleanup,
    waitForSteps,
} from "@web/../tests/web_test_helpers";
import { browser } from "@web/core/browser/browser";

import {
    makeOffer,
    mockConsoleServer,
    pushBus,
} from "@omnichannel_cc/../tests/unit/omnichannel_test_helpers";
import { sipTarget } from "@omnichannel_cc_voip/softphone/softphone_service";
import {
    currentUA,
    FakeUA,
    makeSoftphoneConfig,
    mockSoftphoneEnvironment,
} from "./softphone_test_helpers";

describe.current.tags("desktop");
// mail and im_livechat start their services in every environment of this addon
defineMailModels();

/**
 * Start the services with the softphone on a fake JsSIP; `tab.main` says
 * whether this browser tab is the main one (the one that registers).
 */
async function startSoftphone({ config, mainTab = true, consoleValues } = {}) {
    const media = mockSoftphoneEnvironment(config);
    const consoleServer = mockConsoleServer(consoleValues);
    const tab = { main: mainTab };
    mockService("multi_tab", { isOnMainTab: () => tab.main });
    await makeMockEnv();
    const softphone = getService("omnichannel_softphone");
    await waitUntil(() => softphone.state.loaded);
    patchWithCleanup(getService("notification"), {
        add: (message, options) => asyncStep(`${options?.type}: ${message}`),
    });
    return { softphone, media, tab, consoleServer };
}

/** Start registered, with an incoming call from Azure Interior ringing. */
async function startWithIncomingCall(options) {
    const started = await startSoftphone(options);
    currentUA().emit("registered");
    const session = currentUA().ring({ user: "+48221234567", displayName: "Azure Interior" });
    return { ...started, session };
}

test("sipTarget: numbers, extensions, addresses and SIP URIs", () => {
    expect(sipTarget("+48 22 123-45-67", "pbx.example.com")).toBe(
        "sip:+48221234567@pbx.example.com"
    );
    expect(sipTarget("(022) 123.45.67", "pbx.example.com")).toBe("sip:0221234567@pbx.example.com");
    expect(sipTarget(" 1002 ", "pbx.example.com")).toBe("sip:1002@pbx.example.com");
    expect(sipTarget("*97#", "pbx.example.com")).toBe("sip:*97%23@pbx.example.com");
    expect(sipTarget("alice@other.example.com", "pbx.example.com")).toBe(
        "sip:alice@other.example.com"
    );
    expect(sipTarget("sips:bob@pbx.example.com", "pbx.example.com")).toBe(
        "sips:bob@pbx.example.com"
    );
    expect(sipTarget("call me", "pbx.example.com")).toBe(null);
    expect(sipTarget("", "pbx.example.com")).toBe(null);
});

test("not configured (no extension): nothing registers, the reason is a notice, not an error", async () => {
    const { softphone } = await startSoftphone({
        config: makeSoftphoneConfig({
            enabled: false,
            reason: "You have no phone extension.",
            extension: false,
            password: false,
            ws_url: false,
            sip_uri: false,
            domain: false,
        }),
    });
    expect(softphone.state.registration).toBe("disabled");
    expect(softphone.state.notice).toBe("You have no phone extension.");
    expect(softphone.state.error).toBe(false);
    expect(FakeUA.instances).toHaveLength(0);
});

test("registration: the user's account on the channel's WebSocket", async () => {
    const { softphone } = await startSoftphone();
    const ua = currentUA();
    expect(ua.config.uri).toBe("sip:1001@pbx.example.com");
    expect(ua.config.password).toBe("secret");
    expect(ua.config.sockets[0].url).toBe("wss://pbx.example.com:8089/ws");
    // JsSIP reconnects by itself, ever less often
    expect(ua.config.connection_recovery_min_interval).toBe(2);
    expect(ua.config.connection_recovery_max_interval).toBe(60);
    expect(ua.started).toBe(true);
    expect(softphone.state.registration).toBe("connecting");

    ua.connect();
    ua.emit("registered");
    expect(softphone.state.registration).toBe("registered");
    expect(softphone.state.error).toBe(false);
    expect(softphone.state.notice).toBe(false);

    // Retry: a new user agent; the old one's late events are ignored
    softphone.restart();
    expect(ua.stopped).toBe(true);
    expect(FakeUA.instances).toHaveLength(2);
    expect(softphone.state.registration).toBe("connecting");
    ua.emit("registered");
    expect(softphone.state.registration).toBe("connecting");
    currentUA().emit("registered");
    expect(softphone.state.registration).toBe("registered");
});

test("PBX unreachable: a quiet notice while JsSIP tries again, then registered", async () => {
    const { softphone } = await startSoftphone({
        config: makeSoftphoneConfig({ ws_url: "ws://127.0.0.1:8088" }),
    });
    const ua = currentUA();
    ua.disconnect(); // nothing listens there
    expect(softphone.state.registration).toBe("unreachable");
    expect(softphone.state.error).toBe(false);
    expect(softphone.state.notice).toBe(
        "Cannot reach the PBX at ws://127.0.0.1:8088 — calls ring on your desk phone or are offered here."
    );
    // JsSIP's next attempts: the state does not flicker
    ua.emit("connecting");
    expect(softphone.state.registration).toBe("unreachable");
    ua.emit("registrationFailed", { cause: "Connection Error" });
    ua.disconnect();
    expect(softphone.state.registration).toBe("unreachable");
    expect(ua.registerCalls).toBe(0); // JsSIP registers once connected
    expect(FakeUA.instances).toHaveLength(1);

    ua.emit("connecting");
    ua.connect();
    ua.emit("registered");
    expect(softphone.state.registration).toBe("registered");
    expect(softphone.state.notice).toBe(false);
    // lost again, between calls: unreachable, not an error
    ua.disconnect();
    expect(softphone.state.registration).toBe("unreachable");
});

test("registrar without answer: not registered, asked again after 5 s, 10 s, ...", async () => {
    const { softphone } = await startSoftphone();
    const ua = currentUA();
    ua.connect();
    ua.emit("registrationFailed", { cause: "Request Timeout" });
    expect(softphone.state.registration).toBe("unregistered");
    expect(softphone.state.error).toBe(false);
    expect(softphone.state.notice).toInclude("Request Timeout");
    await advanceTime(4900);
    expect(ua.registerCalls).toBe(0);
    await advanceTime(100);
    expect(ua.registerCalls).toBe(1);
    ua.emit("registrationFailed", {
        response: { status_code: 503, reason_phrase: "Service Unavailable" },
    });
    expect(softphone.state.registration).toBe("unregistered");
    await advanceTime(9900);
    expect(ua.registerCalls).toBe(1);
    await advanceTime(100);
    expect(ua.registerCalls).toBe(2);
    ua.emit("registered");
    expect(softphone.state.registration).toBe("registered");
    await advanceTime(600000);
    expect(ua.registerCalls).toBe(2); // no retry once registered
});

test("registration refused (401 / 403): an error, no quiet retry; it stays until registered", async () => {
    const { softphone } = await startSoftphone();
    const ua = currentUA();
    ua.connect();
    ua.emit("registrationFailed", {
        response: { status_code: 401, reason_phrase: "Unauthorized" },
        cause: "Authentication Error",
    });
    expect(softphone.state.registration).toBe("error");
    expect(softphone.state.error).toBe("Registration refused: 401 Unauthorized");
    expect(softphone.state.notice).toBe(false);
    await advanceTime(600000);
    expect(ua.registerCalls).toBe(0);
    // the connection comes and goes: the refusal stays the reason
    ua.emit("connecting");
    ua.disconnect();
    ua.emit("registrationFailed", { cause: "Connection Error" });
    expect(softphone.state.registration).toBe("error");
    ua.connect();
    ua.emit("registrationFailed", { response: { status_code: 403, reason_phrase: "Forbidden" } });
    expect(softphone.state.error).toBe("Registration refused: 403 Forbidden");
    ua.emit("registered");
    expect(softphone.state.registration).toBe("registered");
    expect(softphone.state.error).toBe(false);
});

test("the PBX lost during a call: an error; after the call, unreachable again", async () => {
    const { softphone, session } = await startWithIncomingCall();
    await softphone.answer();
    session.confirm();
    currentUA().disconnect();
    expect(softphone.state.registration).toBe("error");
    expect(softphone.state.error).toBe(
        "The connection to the PBX at wss://pbx.example.com:8089/ws was lost during the call."
    );
    session.end("Connection Error");
    expect(softphone.state.call).toBe(null);
    expect(softphone.state.registration).toBe("error"); // said until something changes
    currentUA().disconnect(); // JsSIP's next attempt fails too
    expect(softphone.state.registration).toBe("unreachable");
    expect(softphone.state.error).toBe(false);
});

test("only the main browser tab registers; another tab takes over when it becomes the main one", async () => {
    const { softphone, tab } = await startSoftphone({ mainTab: false });
    expect(softphone.state.registration).toBe("other_tab");
    expect(FakeUA.instances).toHaveLength(0);

    tab.main = true;
    getService("multi_tab").bus.trigger("become_main_tab");
    expect(FakeUA.instances).toHaveLength(1);
    currentUA().emit("registered");
    expect(softphone.state.registration).toBe("registered");

    tab.main = false;
    getService("multi_tab").bus.trigger("no_longer_main_tab");
    expect(currentUA().stopped).toBe(true);
    expect(softphone.state.registration).toBe("other_tab");
});

test("incoming call: rings, answering takes the microphone, hang-up keeps how long it lasted", async () => {
    const { softphone, media, session } = await startWithIncomingCall();
    const { state } = softphone;
    expect(state.panelOpen).toBe(true);
    expect(state.call.direction).toBe("incoming");
    expect(state.call.status).toBe("ringing");
    expect(state.call.number).toBe("+48221234567");
    expect(state.call.name).toBe("Azure Interior");

    await softphone.answer();
    expect(session.answeredWith.mediaStream).toBe(media.streams[0]);
    expect(state.call.status).toBe("answering");
    session.confirm();
    expect(state.call.status).toBe("established");

    await advanceTime(65000);
    softphone.hangup();
    expect(session.terminatedWith).toEqual({});
    expect(state.call).toBe(null);
    expect(state.lastCall).toEqual({
        number: "+48221234567",
        name: "Azure Interior",
        direction: "incoming",
        cause: "Terminated",
        seconds: 65,
        answered: true,
    });
    expect(media.streams[0].track.stopped).toBe(true); // the microphone is released
});

test("one call at a time: a second incoming call gets busy; decline refuses the ringing one", async () => {
    const { softphone, session } = await startWithIncomingCall();
    const second = currentUA().ring({ user: "+48601000000" });
    expect(second.terminatedWith).toEqual({ status_code: 486, reason_phrase: "Busy Here" });
    expect(softphone.state.call.number).toBe("+48221234567");

    softphone.decline();
    expect(session.terminatedWith).toEqual({ status_code: 603, reason_phrase: "Decline" });
    expect(softphone.state.call).toBe(null);
    expect(softphone.state.lastCall.answered).toBe(false);
    expect(softphone.state.lastCall.seconds).toBe(0);
});

test("no microphone: the answer is given up with 480 and the agent is told", async () => {
    const { softphone, media, session } = await startWithIncomingCall();
    media.denied = true;
    await softphone.answer();
    expect(session.answeredWith).toBe(null);
    expect(session.terminatedWith).toEqual({ status_code: 480, reason_phrase: "No Microphone" });
    expect(softphone.state.call).toBe(null);
    await waitForSteps(["danger: The microphone cannot be used: Permission denied"]);
});

test("in a call: hold, mute and key tones go to the session; keys dial the number otherwise", async () => {
    const { softphone, session } = await startWithIncomingCall();
    softphone.pressKey("5"); // ringing: neither a tone nor a digit
    expect(session.tones).toEqual([]);
    await softphone.answer();
    session.confirm();
    const call = softphone.state.call;
    softphone.toggleHold();
    expect(session.localHold).toBe(true);
    expect(call.onHold).toBe(true);
    softphone.toggleHold();
    expect(call.onHold).toBe(false);
    softphone.toggleMute();
    expect(call.muted).toBe(true);
    softphone.pressKey("1");
    softphone.pressKey("#");
    expect(session.tones).toEqual(["1", "#"]);
    expect(call.dtmf).toBe("1#");
    softphone.hangup();
    softphone.pressKey("1");
    softphone.pressKey("0");
    expect(softphone.state.number).toBe("10");
});

test("blind transfer: the call is referred to the colleague and left once they take it", async () => {
    const { softphone, session } = await startWithIncomingCall();
    await softphone.answer();
    session.confirm();
    expect(softphone.blindTransfer("1002")).toBe(true);
    expect(softphone.state.call.transfer).toBe("trying");
    const [refer] = session.refers;
    expect(refer.target).toBe("sip:1002@pbx.example.com");
    refer.options.eventHandlers.accepted();
    expect(session.terminatedWith).toEqual({});
    expect(softphone.state.call).toBe(null);
});

test("click-to-dial from the server: a fresh request calls; an old or replayed one does not", async () => {
    const { softphone, media } = await startSoftphone();
    const ua = currentUA();
    ua.emit("registered");
    await pushBus("omnichannel_voip/dial", {
        interaction_id: 601,
        number: "+48 22 123-45-67",
        name: "Azure Interior",
        sent_at: Date.now() / 1000,
    });
    await waitUntil(() => ua.outgoing.length);
    const [session] = ua.outgoing;
    expect(session.target).toBe("sip:+48221234567@pbx.example.com");
    expect(session.options.mediaStream).toBe(media.streams[0]);
    const call = softphone.state.call;
    expect(call.direction).toBe("outgoing");
    expect(call.interactionId).toBe(601);
    expect(call.name).toBe("Azure Interior");
    expect(call.status).toBe("calling");
    session.emit("progress");
    expect(call.ringback).toBe(true);
    session.confirm();
    expect(call.status).toBe("established");
    softphone.hangup();

    // replayed by the bus after a reconnection, long after the click
    await pushBus("omnichannel_voip/dial", {
        number: "+48221234567",
        sent_at: Date.now() / 1000 - 60,
    });
    // already handled (by this tab or another one): same notification id
    const lastId = Number(browser.localStorage.getItem("omnichannel_softphone.last_dial_id"));
    expect(lastId).toBeGreaterThan(0);
    await softphone.onDialNotification(
        { number: "+48221234567", sent_at: Date.now() / 1000 },
        lastId
    );
    await animationFrame();
    expect(ua.outgoing).toHaveLength(1);
});

test("accepting a phone offer in the agent console answers the call ringing in the softphone", async () => {
    const { media, session, consoleServer } = await startWithIncomingCall({
        consoleValues: { offers: [makeOffer({ channel_type: "phone" })] },
    });
    const agentConsole = getService("omnichannel_agent_console");
    await waitUntil(() => agentConsole.state.loaded);
    await agentConsole.accept(agentConsole.offers[0]);
    expect(consoleServer.calls).toInclude("action_accept:501");
    await waitUntil(() => session.answeredWith);
    expect(session.answeredWith.mediaStream).toBe(media.streams[0]);
});

test("accepting an e-mail offer leaves a ringing call alone", async () => {
    const { softphone, session, consoleServer } = await startWithIncomingCall({
        consoleValues: { offers: [makeOffer({ channel_type: "email", channel_label: "E-mail" })] },
    });
    const agentConsole = getService("omnichannel_agent_console");
    await waitUntil(() => agentConsole.state.loaded);
    await agentConsole.accept(agentConsole.offers[0]);
    expect(consoleServer.calls).toInclude("action_accept:501");
    await animationFrame();
    expect(session.answeredWith).toBe(null);
    expect(softphone.state.call.status).toBe("ringing");
});
