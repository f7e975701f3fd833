import { registry } from "@web/core/registry";

const TOGGLE = ".o_omnichannel_softphone_toggle";
const PANEL = ".o_omnichannel_softphone_panel";
const CALL = `${PANEL} .o_omnichannel_softphone_call:not(.o_omnichannel_softphone_consult_call)`;
const CONSULT = `${PANEL} .o_omnichannel_softphone_consult_call`;
const KEY = `${PANEL} .o_omnichannel_softphone_key`;

function softphone() {
    return odoo.__WOWL_DEBUG__.root.env.services.omnichannel_softphone;
}

/**
 * Another SIP phone inside the tour's page (a second JsSIP user agent
 * registered to the same PBX): the customer or a colleague. It answers
 * every call after a short ring and writes what happens to it on <body> as
 * data-omnichannel-<name>-* attributes, for the tour to wait on.
 */
class TestPhone {
    constructor(name, extension) {
        this.name = name;
        this.extension = extension;
        this.session = null;
        this.dtmf = "";
    }

    mark(key, value) {
        document.body.dataset[`omnichannel${this.name}${key}`] = value;
    }

    start() {
        const { ws_url, domain } = softphone().state.config;
        const JsSIP = window.JsSIP;
        this.ua = new JsSIP.UA({
            sockets: [new JsSIP.WebSocketInterface(ws_url)],
            uri: `sip:${this.extension}@${domain}`,
            display_name: this.name,
            register: true,
            session_timers: false,
        });
        this.ua.on("registered", () => this.mark("State", "registered"));
        this.ua.on("registrationFailed", ({ cause }) => this.mark("State", `error ${cause}`));
        this.ua.on("newRTCSession", ({ session, originator }) => {
            this.bind(session);
            if (originator === "remote") {
                this.mark("State", "ringing");
                setTimeout(() => {
                    if (!session.isEnded()) {
                        session.answer({ mediaConstraints: { audio: true, video: false } });
                    }
                }, 300);
            }
        });
        this.ua.start();
    }

    bind(session) {
        this.session = session;
        this.dtmf = "";
        this.mark("Dtmf", "");
        this.mark("Hold", "0");
        session.on("confirmed", () => {
            if (this.session === session) {
                this.mark("State", "in_call");
                this.mark("Peer", session.remote_identity.uri.user);
            }
        });
        session.on("newDTMF", ({ originator, dtmf }) => {
            if (originator === "remote") {
                this.dtmf += dtmf.tone;
                this.mark("Dtmf", this.dtmf);
            }
        });
        session.on("hold", ({ originator }) => originator === "remote" && this.mark("Hold", "1"));
        session.on("unhold", ({ originator }) => originator === "remote" && this.mark("Hold", "0"));
        // transfers: follow the REFER (blind) or accept the INVITE replacing
        // our call (attended)
        session.on("refer", ({ accept }) => {
            this.mark("Refer", "received");
            accept(() => {}, { mediaConstraints: { audio: true, video: false } });
        });
        session.on("replaces", ({ accept }) => {
            this.mark("Replaces", "received");
            accept();
        });
        const ended = (cause) => {
            if (this.session === session) {
                this.mark("State", `ended ${cause}`);
            }
        };
        session.on("ended", ({ cause }) => ended(cause));
        session.on("failed", ({ cause }) => ended(cause));
    }

    call(extension) {
        const { domain } = softphone().state.config;
        this.ua.call(`sip:${extension}@${domain}`, {
            mediaConstraints: { audio: true, video: false },
        });
    }

    /** Attended transfer, step 1: hold the current call, call `extension`. */
    consult(extension) {
        this.held = this.session;
        this.held.hold();
        this.call(extension);
    }

    /** Attended transfer, step 2: the held party replaces our consultation. */
    completeTransfer() {
        const { held, session } = this;
        held.refer(session.remote_identity.uri.toString(), {
            replaces: session,
            eventHandlers: { accepted: () => held.terminate() },
        });
    }

    hangup() {
        if (this.session && !this.session.isEnded()) {
            this.session.terminate();
        }
    }

    stop() {
        this.ua?.stop();
    }
}

const phones = {};

/**
 * Selector of <body> once the test phones' marks have these values, e.g.
 * `marks({ customerState: "in_call" })`; a value ending with "*" is a prefix.
 */
function marks(values) {
    const conditions = Object.entries(values).map(([key, value]) => {
        const name = key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
        return value.endsWith("*")
            ? `[data-omnichannel-${name}^="${value.slice(0, -1)}"]`
            : `[data-omnichannel-${name}="${value}"]`;
    });
    return `body${conditions.join("")}`;
}

/** Throws unless RTP audio went both ways in `session`'s peer connection. */
async function assertAudioFlows(session, who) {
    const deadline = Date.now() + 10000;
    let last = { received: 0, sent: 0 };
    while (Date.now() < deadline) {
        const stats = await session.connection.getStats();
        last = { received: 0, sent: 0 };
        stats.forEach((report) => {
            if (report.kind === "audio" && report.type === "inbound-rtp") {
                last.received += report.bytesReceived || 0;
            }
            if (report.kind === "audio" && report.type === "outbound-rtp") {
                last.sent += report.bytesSent || 0;
            }
        });
        if (last.received > 0 && last.sent > 0) {
            return;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`No audio for ${who}: ${JSON.stringify(last)}`);
}

function agentSession() {
    const service = softphone();
    return service.sessions.get(service.state.call.id);
}

const registerSteps = () => [
    {
        content: "The softphone registers the agent's extension over WebSocket",
        trigger: `${TOGGLE}[data-registration="registered"]:contains("Registered")`,
        timeout: 20000,
    },
    {
        content: "Start the other phones of the test, registered to the same PBX",
        trigger: "body",
        run() {
            phones.customer = new TestPhone("Customer", "2001");
            phones.customer.start();
            phones.colleague = new TestPhone("Colleague", "3001");
            phones.colleague.start();
        },
    },
    {
        trigger: marks({ customerState: "registered", colleagueState: "registered" }),
        timeout: 15000,
    },
    {
        content: "Open the softphone",
        trigger: TOGGLE,
        run: "click",
    },
    {
        trigger: `${PANEL} .o_omnichannel_softphone_registration[data-registration="registered"]`,
    },
];

const stopPhonesStep = () => ({
    content: "Unregister the test phones",
    trigger: `${PANEL}:not(:has(.o_omnichannel_softphone_call))`,
    run() {
        phones.customer.stop();
        phones.colleague.stop();
    },
});

// The agent dials the customer's extension from the dial pad, talks (audio
// both ways with Chrome's fake devices), sends a DTMF key, holds, resumes,
// mutes and hangs up; then a click-to-dial from the server calls the
// customer, shown by name, and the customer hangs up.
registry.category("web_tour.tours").add("omnichannel_cc_voip_softphone_tour", {
    steps: () => [
        ...registerSteps(),
        ...["2", "0", "0", "1"].map((key) => ({
            content: `Dial pad: ${key}`,
            trigger: `${KEY}[data-key="${key}"]`,
            run: "click",
        })),
        {
            trigger: `${PANEL} .o_omnichannel_softphone_number:value(2001)`,
        },
        {
            content: "Call",
            trigger: `${PANEL} .o_omnichannel_softphone_dial:enabled`,
            run: "click",
        },
        {
            content: "The customer answers: in call, the timer runs",
            trigger: `${CALL}[data-status="established"]:contains("In call") .o_omnichannel_softphone_timer:not(:contains("0:00"))`,
            timeout: 15000,
        },
        {
            trigger: marks({ customerState: "in_call", customerPeer: "7101" }),
        },
        {
            content: "Audio flows both ways (fake microphone, RTP over WebRTC)",
            trigger: `${CALL}[data-status="established"]`,
            async run() {
                await assertAudioFlows(agentSession(), "the agent");
                await assertAudioFlows(phones.customer.session, "the customer");
                const audio = document.querySelector(".o_omnichannel_softphone_remote_audio");
                if (!audio?.srcObject?.getAudioTracks().length) {
                    throw new Error("The customer's audio is not played");
                }
            },
        },
        {
            content: "A DTMF key during the call",
            trigger: `${CALL} .o_omnichannel_softphone_key[data-key="5"]`,
            run: "click",
        },
        {
            trigger: `${CALL} .o_omnichannel_softphone_dtmf:contains("5")`,
        },
        {
            content: "The customer's phone received the tone",
            trigger: marks({ customerDtmf: "5" }),
        },
        {
            content: "Hold",
            trigger: `${CALL} .o_omnichannel_softphone_hold`,
            run: "click",
        },
        {
            trigger: `${CALL}[data-hold="1"]:contains("On hold")`,
        },
        {
            content: "The customer is on hold",
            trigger: marks({ customerHold: "1" }),
        },
        {
            content: "Resume",
            trigger: `${CALL} .o_omnichannel_softphone_hold:contains("Resume")`,
            run: "click",
        },
        {
            trigger: `${CALL}[data-hold="0"]:contains("In call")`,
        },
        {
            trigger: marks({ customerHold: "0" }),
        },
        {
            content: "Mute",
            trigger: `${CALL} .o_omnichannel_softphone_mute`,
            run: "click",
        },
        {
            trigger: `${CALL}[data-muted="1"] .o_omnichannel_softphone_mute:contains("Unmute")`,
            run: "click",
        },
        {
            trigger: `${CALL}[data-muted="0"]`,
        },
        {
            content: "Hang up",
            trigger: `${CALL} .o_omnichannel_softphone_hangup`,
            run: "click",
        },
        {
            content: "The call is over on both sides",
            trigger: `${PANEL} .o_omnichannel_softphone_last_call:contains("2001")`,
        },
        {
            trigger: marks({ customerState: "ended*" }),
        },
        {
            content: "Click-to-dial from the server: the softphone calls the customer",
            trigger: `${PANEL}:not(:has(.o_omnichannel_softphone_call))`,
            run() {
                softphone().onDialNotification(
                    { interaction_id: 1, number: "2001", name: "Jan Testowy" },
                    undefined
                );
            },
        },
        {
            content: "The customer's name is shown, the call is answered",
            trigger: `${CALL}[data-status="established"] .o_omnichannel_softphone_party:contains("Jan Testowy")`,
            timeout: 15000,
        },
        {
            content: "The customer hangs up",
            trigger: marks({ customerState: "in_call" }),
            run() {
                phones.customer.hangup();
            },
        },
        {
            trigger: `${PANEL} .o_omnichannel_softphone_last_call:contains("Jan Testowy")`,
        },
        stopPhonesStep(),
    ],
});

// Incoming calls: the agent declines one, answers the next and transfers it
// blind to a colleague, then answers a third and transfers it after
// consulting the colleague (attended transfer, REFER with Replaces); last,
// a colleague transfers a customer to the agent the same way.
registry.category("web_tour.tours").add("omnichannel_cc_voip_softphone_transfer_tour", {
    steps: () => [
        ...registerSteps(),
        {
            content: "The customer calls the agent",
            trigger: `${PANEL}:not(:has(.o_omnichannel_softphone_call))`,
            run() {
                phones.customer.call("7101");
            },
        },
        {
            content: "It rings: Answer / Decline",
            trigger: `${CALL}[data-status="ringing"][data-direction="incoming"]:contains("Customer"):has(.o_omnichannel_softphone_answer)`,
        },
        {
            trigger: `${TOGGLE}.o_omnichannel_softphone_ringing`,
        },
        {
            content: "Decline",
            trigger: `${CALL} .o_omnichannel_softphone_decline`,
            run: "click",
        },
        {
            content: "The customer is refused",
            trigger: marks({ customerState: "ended Rejected" }),
        },
        {
            trigger: `${PANEL}:not(:has(.o_omnichannel_softphone_call))`,
            run() {
                phones.customer.call("7101");
            },
        },
        {
            content: "Answer the second call",
            trigger: `${CALL}[data-status="ringing"] .o_omnichannel_softphone_answer`,
            run: "click",
        },
        {
            trigger: `${CALL}[data-status="established"]:contains("In call")`,
        },
        {
            trigger: marks({ customerState: "in_call" }),
        },
        {
            content: "Blind transfer to the colleague",
            trigger: `${CALL} .o_omnichannel_softphone_transfer`,
            run: "click",
        },
        {
            trigger: `${CALL} .o_omnichannel_softphone_transfer_target`,
            run: "edit 3001",
        },
        {
            trigger: `${CALL} .o_omnichannel_softphone_blind_transfer:enabled`,
            run: "click",
        },
        {
            content: "The customer now talks to the colleague; the agent is free",
            trigger: marks({
                customerRefer: "received",
                customerState: "in_call",
                customerPeer: "3001",
            }),
            timeout: 15000,
        },
        {
            trigger: marks({ colleagueState: "in_call", colleaguePeer: "2001" }),
        },
        {
            trigger: `${PANEL}:not(:has(.o_omnichannel_softphone_call))`,
        },
        {
            content: "They hang up",
            trigger: "body",
            run() {
                phones.customer.hangup();
            },
        },
        {
            trigger: marks({ colleagueState: "ended*" }),
            run() {
                phones.customer.call("7101");
            },
        },
        {
            content: "Answer the third call",
            trigger: `${CALL}[data-status="ringing"] .o_omnichannel_softphone_answer`,
            run: "click",
        },
        {
            trigger: `${CALL}[data-status="established"]`,
        },
        {
            trigger: marks({ customerState: "in_call" }),
        },
        {
            trigger: `${CALL} .o_omnichannel_softphone_transfer`,
            run: "click",
        },
        {
            trigger: `${CALL} .o_omnichannel_softphone_transfer_target`,
            run: "edit 3001",
        },
        {
            content: "Consult the colleague first",
            trigger: `${CALL} .o_omnichannel_softphone_consult:enabled`,
            run: "click",
        },
        {
            content: "The customer waits on hold while the agent talks to the colleague",
            trigger: `${CALL}[data-hold="1"]`,
        },
        {
            trigger: `${CONSULT}[data-status="established"]:contains("3001")`,
            timeout: 15000,
        },
        {
            trigger: marks({ customerHold: "1", colleagueState: "in_call", colleaguePeer: "7101" }),
        },
        {
            content: "Complete the transfer",
            trigger: `${PANEL} .o_omnichannel_softphone_complete_transfer:enabled`,
            run: "click",
        },
        {
            content: "The customer's new call replaces the agent's consultation",
            trigger: marks({
                colleagueReplaces: "received",
                colleagueState: "in_call",
                colleaguePeer: "2001",
            }),
            timeout: 15000,
        },
        {
            trigger: marks({ customerState: "in_call", customerPeer: "3001" }),
        },
        {
            content: "Both of the agent's calls are over",
            trigger: `${PANEL}:not(:has(.o_omnichannel_softphone_call))`,
            run() {
                phones.customer.hangup();
            },
        },
        {
            trigger: marks({ colleagueState: "ended*" }),
            run() {
                phones.customer.call("3001");
            },
        },
        {
            content:
                "Now a colleague transfers a customer to the agent: first they consult the agent",
            trigger: marks({ colleagueState: "in_call", colleaguePeer: "2001" }),
            run() {
                phones.colleague.consult("7101");
            },
        },
        {
            trigger: `${CALL}[data-status="ringing"]:contains("Colleague") .o_omnichannel_softphone_answer`,
            run: "click",
        },
        {
            trigger: `${CALL}[data-status="established"]:contains("Colleague")`,
        },
        {
            content: "The colleague completes the transfer",
            trigger: marks({ colleagueState: "in_call", colleaguePeer: "7101", customerHold: "1" }),
            run() {
                phones.colleague.completeTransfer();
            },
        },
        {
            content: "The customer's call replaced the colleague's, answered at once",
            trigger: `${CALL}[data-status="established"][data-direction="incoming"]:contains("Customer"):contains("In call")`,
            timeout: 15000,
        },
        {
            trigger: marks({ customerState: "in_call", customerPeer: "7101" }),
        },
        {
            content: "The colleague is out of both calls",
            trigger: marks({ colleagueState: "ended*" }),
        },
        {
            content: "The agent talks to the customer, then hangs up",
            trigger: `${CALL}[data-status="established"] .o_omnichannel_softphone_hangup`,
            run: "click",
        },
        {
            trigger: marks({ customerState: "ended*" }),
        },
        stopPhonesStep(),
    ],
});

// The PBX cannot be reached: the softphone says so quietly (muted, not an
// error), with the address on hover, keeps trying and lets the agent retry.
registry.category("web_tour.tours").add("omnichannel_cc_voip_softphone_error_tour", {
    steps: () => [
        {
            content: "The softphone cannot reach the PBX: said, not shouted",
            trigger: `${TOGGLE}.o_omnichannel_softphone_muted[data-registration="unreachable"]:contains("PBX unreachable"):has(.o_omnichannel_softphone_dot.bg-secondary)`,
            timeout: 20000,
        },
        {
            content: "The reason on hover",
            trigger: `${TOGGLE}[title*="Cannot reach the PBX at ws://"][title*="calls ring on your desk phone or are offered here"]`,
            run: "click",
        },
        {
            content: "The panel gives the reason, muted, and a way to retry at once",
            trigger: `${PANEL} .o_omnichannel_softphone_notice.text-muted:contains("Cannot reach the PBX"):has(.o_omnichannel_softphone_retry)`,
        },
        {
            content: "... and no error",
            trigger: `${PANEL}:not(:has(.o_omnichannel_softphone_error)) .o_omnichannel_softphone_registration.text-bg-secondary`,
        },
        {
            content: "No call can be made",
            trigger: `${PANEL} .o_omnichannel_softphone_number`,
            run: "edit 2001",
        },
        {
            trigger: `${PANEL}:has(.o_omnichannel_softphone_number:value(2001)) .o_omnichannel_softphone_dial:disabled`,
        },
        {
            content: "Retry: connecting again, then unreachable again",
            trigger: `${PANEL} .o_omnichannel_softphone_retry`,
            run: "click",
        },
        {
            trigger: `${TOGGLE}[data-registration="unreachable"]`,
            timeout: 20000,
        },
    ],
});
