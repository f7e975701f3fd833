import { onRpc, patchWithCleanup } from "@web/../tests/web_test_helpers";
import { browser } from "@web/core/browser/browser";
import { session } from "@web/session";

import { Softphone } from "@omnichannel_cc_voip/softphone/softphone_service";

/**
 * A stand-in for the JsSIP library: user agents and sessions that record
 * what the softphone asks of them, and emit the events a PBX would cause
 * when a test calls `emit()`.
 */
class FakeEmitter {
    constructor() {
        this.handlers = {};
    }

    on(event, handler) {
        (this.handlers[event] ||= []).push(handler);
    }

    emit(event, data = {}) {
        for (const handler of this.handlers[event] || []) {
            handler(data);
        }
    }
}

export class FakeSession extends FakeEmitter {
    constructor({ user = "", displayName = "" } = {}) {
        super();
        this.remote_identity = {
            uri: { user, toString: () => `sip:${user}@pbx.example.com` },
            display_name: displayName,
        };
        this.ended = false;
        this.established = false;
        this.answeredWith = null;
        this.terminatedWith = null;
        this.localHold = false;
        this.audioMuted = false;
        this.tones = [];
        this.refers = [];
    }

    isEnded() {
        return this.ended;
    }

    isEstablished() {
        return this.established;
    }

    answer(options) {
        this.answeredWith = options;
    }

    /** The other side picks up (outgoing) or our answer is confirmed (incoming). */
    confirm() {
        this.established = true;
        this.emit("accepted", { originator: "remote" });
        this.emit("confirmed", { originator: "local" });
    }

    terminate(options) {
        this.terminatedWith = options || {};
        this.end("Terminated");
    }

    /** The call ends (the other party hangs up, or after terminate()). */
    end(cause = "Terminated") {
        if (this.ended) {
            return;
        }
        this.ended = true;
        this.emit(this.established ? "ended" : "failed", { cause });
    }

    isOnHold() {
        return { local: this.localHold, remote: false };
    }

    hold() {
        this.localHold = true;
        this.emit("hold", { originator: "local" });
    }

    unhold() {
        this.localHold = false;
        this.emit("unhold", { originator: "local" });
    }

    isMuted() {
        return { audio: this.audioMuted };
    }

    mute() {
        this.audioMuted = true;
        this.emit("muted");
    }

    unmute() {
        this.audioMuted = false;
        this.emit("unmuted");
    }

    sendDTMF(tone) {
        this.tones.push(tone);
    }

    refer(target, options) {
        this.refers.push({ target, options });
    }
}

export class FakeUA extends FakeEmitter {
    /** @type {FakeUA[]} every user agent made in the test */
    static instances = [];

    constructor(config) {
        super();
        this.config = config;
        this.started = false;
        this.stopped = false;
        this.connected = false;
        this.registerCalls = 0;
        /** @type {FakeSession[]} */
        this.outgoing = [];
        FakeUA.instances.push(this);
    }

    start() {
        this.started = true;
    }

    isConnected() {
        return this.connected;
    }

    register() {
        this.registerCalls++;
    }

    /** The WebSocket to the PBX opens. */
    connect() {
        this.connected = true;
        this.emit("connected");
    }

    /** The WebSocket cannot open or closes (JsSIP then tries again by itself). */
    disconnect() {
        this.connected = false;
        this.emit("disconnected", { error: true });
    }

    stop() {
        this.stopped = true;
    }

    call(target, options) {
        const session = new FakeSession({ user: target });
        session.target = target;
        session.options = options;
        this.outgoing.push(session);
        return session;
    }

    /** A call comes in from the PBX. */
    ring({ user = "+48221234567", displayName = "" } = {}) {
        const session = new FakeSession({ user, displayName });
        this.emit("newRTCSession", { session, originator: "remote", request: {} });
        return session;
    }
}

export const FakeJsSIP = {
    UA: FakeUA,
    WebSocketInterface: class {
        constructor(url) {
            this.url = url;
        }
    },
};

/** What `res.users.voip_softphone_config()` returns for an agent with extension 1001. */
export function makeSoftphoneConfig(values = {}) {
    return {
        enabled: true,
        reason: false,
        softphone: true,
        extension: "1001",
        password: "secret",
        ws_url: "wss://pbx.example.com:8089/ws",
        sip_uri: "sip:1001@pbx.example.com",
        domain: "pbx.example.com",
        display_name: "Mitchell Admin",
        ...values,
    };
}

/**
 * Install the fake JsSIP, a microphone and the server's softphone settings,
 * before the services start. Returns `media` (the streams handed out, and
 * whether their tracks were stopped).
 */
export function mockSoftphoneEnvironment(config = makeSoftphoneConfig()) {
    FakeUA.instances = [];
    patchWithCleanup(Softphone.prototype, {
        get JsSIP() {
            return FakeJsSIP;
        },
    });
    const media = { streams: [], denied: false };
    const getUserMedia = async () => {
        if (media.denied) {
            throw new Error("Permission denied");
        }
        const track = { kind: "audio", stopped: false, stop: () => (track.stopped = true) };
        const stream = { track, getTracks: () => [track] };
        media.streams.push(stream);
        return stream;
    };
    // 127.0.0.1 is a secure context: the browser has navigator.mediaDevices
    patchWithCleanup(browser.navigator.mediaDevices, { getUserMedia });
    // no sound card in the headless browser: no ringing tone
    patchWithCleanup(browser, { AudioContext: undefined });
    // the preference comes with the session (ir.http.session_info); the account by RPC
    patchWithCleanup(session, {
        omnichannel_cc: { ...session.omnichannel_cc, softphone: config.softphone },
    });
    onRpc("res.users", "voip_softphone_config", () => config);
    return media;
}

/** The user agent of the test (the last one made). */
export function currentUA() {
    return FakeUA.instances.at(-1);
}
