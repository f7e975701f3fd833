import { reactive } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { session } from "@web/session";

// Click-to-dial: the server asks the agent's softphone to call a customer.
export const BUS_DIAL = "omnichannel_voip/dial";
// Keys of the dial pad, in the order they are shown.
export const DIALPAD_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
// Last click-to-dial handled, shared by the tabs: a notification replayed by
// the bus after a reconnection must not call the customer twice.
const DIAL_MAX_AGE = 30; // seconds
const LAST_DIAL_KEY = "omnichannel_softphone.last_dial_id";
const AUDIO_CONSTRAINTS = { audio: true, video: false };
// After an attended transfer, how long the colleague's phone may take to end
// the consultation call (its part of the dialog it replaced).
const REPLACED_GRACE_MS = 5000;
// A PBX that cannot be reached is tried again, quietly, ever less often:
// JsSIP reconnects its WebSocket after 2 s, 4 s, ... up to this (seconds);
const RECONNECT_MAX_SECONDS = 60;
// a registrar that does not answer or refuses for a passing reason (5xx)
// is asked again after 5 s, 10 s, ... up to 5 minutes.
const REGISTER_RETRY_MIN_MS = 5000;
const REGISTER_RETRY_MAX_MS = 300000;
// SIP answers that refuse the phone's account: no retry fixes them.
const CREDENTIALS_REFUSED = [401, 403, 407];
// States that say nothing is wrong with this browser: shown muted.
export const NEUTRAL_REGISTRATIONS = ["disabled", "unregistered", "unreachable"];

/**
 * The SIP URI to call for what the agent typed or the server sent: a number
 * or extension (visual separators dropped), an address "user@host" or a
 * full "sip:" URI. Returns null when there is nothing to call.
 */
export function sipTarget(number, domain) {
    const text = String(number || "").trim();
    if (!text) {
        return null;
    }
    if (/^sips?:/i.test(text)) {
        return text;
    }
    if (text.includes("@")) {
        return `sip:${text}`;
    }
    const user = text.replace(/[\s.\-()/]/g, "");
    if (!/^\+?[0-9*#]+$/.test(user)) {
        return null;
    }
    return `sip:${user.replace(/#/g, "%23")}@${domain}`;
}

/**
 * The browser softphone of the current user: a JsSIP user agent registered
 * over the phone channel's WebSocket with the user's extension, as given by
 * `res.users.voip_softphone_config()`.
 *
 * Only the main browser tab registers (multi_tab): several tabs registering
 * the same extension would all ring and fight over the calls. Other tabs
 * show that the phone lives in another tab, and take over when the main
 * tab closes.
 *
 * `state.call` is the current call; `state.consult` the second call of an
 * attended transfer (the first one is then on hold). The JsSIP sessions are
 * kept out of the reactive state, in `sessions`, keyed by call id.
 */
export class Softphone {
    constructor(env, services) {
        this.env = env;
        this.orm = services.orm;
        this.bus = services.bus_service;
        this.multiTab = services.multi_tab;
        this.notification = services.notification;
        this.state = reactive({
            loaded: false,
            config: null,
            // disabled (not configured) | other_tab | connecting | registered |
            // unregistered | unreachable (PBX down or too far: retried) |
            // error (refused credentials, the PBX lost during a call)
            registration: "disabled",
            // why the phone is in error (shown in red) ...
            error: false,
            // ... or why it is not registered, nothing to worry about (muted)
            notice: false,
            panelOpen: false,
            number: "",
            call: null,
            consult: null,
            // what the last call ended with, shown until the next one
            lastCall: null,
            now: Date.now(),
        });
        this.ua = null;
        this.sessions = new Map();
        this.audio = new Map();
        this.localStreams = new Map();
        this.callSeq = 0;
        this.replacing = null;
        this.timers = {};
        this.ringer = null;
        this.stopping = false;
        // the registrar refused the account (401 / 403): no quiet retry
        this.refused = false;
        this.registerRetries = 0;
    }

    /** The global of static/lib/jssip/jssip.min.js (a plain script, not a module). */
    get JsSIP() {
        return window.JsSIP;
    }

    async setup() {
        // from the session (ir.http.session_info): users who did not turn
        // the softphone on load their pages without asking for an account
        if (!session.omnichannel_cc?.softphone) {
            this.state.config = { enabled: false, softphone: false, reason: false };
            this.state.loaded = true;
            this.state.registration = "disabled";
            return;
        }
        let config;
        try {
            config = await this.orm.silent.call("res.users", "voip_softphone_config", []);
        } catch {
            return; // no server to ask (e.g. a mocked environment): no softphone
        }
        this.state.config = config;
        this.state.loaded = true;
        if (!config.enabled) {
            this.state.registration = "disabled";
            this.state.notice = config.reason || false;
            return;
        }
        if (!this.JsSIP) {
            this.setError(_t("The SIP library (JsSIP) is not loaded."));
            return;
        }
        this.bus.subscribe(BUS_DIAL, (payload, { id } = {}) =>
            this.onDialNotification(payload, id)
        );
        this.bus.start();
        this.multiTab.bus.addEventListener("become_main_tab", () => this.startUA());
        this.multiTab.bus.addEventListener("no_longer_main_tab", () => this.stopUA());
        browser.addEventListener("pagehide", () => this.stopUA());
        if (this.multiTab.isOnMainTab()) {
            this.startUA();
        } else {
            this.state.registration = "other_tab";
        }
    }

    // ------------------------------------------------------------------
    // Registration
    // ------------------------------------------------------------------
    startUA() {
        if (this.ua || !this.state.config?.enabled) {
            return;
        }
        const { ws_url, sip_uri, password, display_name } = this.state.config;
        const JsSIP = this.JsSIP;
        let ua;
        try {
            ua = new JsSIP.UA({
                sockets: [new JsSIP.WebSocketInterface(ws_url)],
                uri: sip_uri,
                password: password || undefined,
                display_name,
                register: true,
                connection_recovery_min_interval: 2,
                connection_recovery_max_interval: RECONNECT_MAX_SECONDS,
                session_timers: false,
                user_agent: "Odoo omnichannel softphone (JsSIP)",
            });
        } catch (error) {
            this.setError(
                _t("Invalid softphone settings: %(error)s", { error: error.message || error })
            );
            return;
        }
        this.ua = ua;
        this.stopping = false;
        this.refused = false;
        this.registerRetries = 0;
        this.state.registration = "connecting";
        this.state.error = false;
        this.state.notice = false;
        // Events of a user agent already replaced (restart) are ignored. An
        // error or an unreachable PBX stays shown while JsSIP tries again,
        // until the phone registers: no flicker at every attempt.
        ua.on("connecting", () => {
            if (
                this.ua === ua &&
                !["registered", "error", "unreachable"].includes(this.state.registration)
            ) {
                this.state.registration = "connecting";
            }
        });
        ua.on("disconnected", () => {
            if (this.ua !== ua || this.stopping) {
                return;
            }
            if (this.sessions.size) {
                // a real failure: the agent is talking to somebody
                this.setError(
                    _t("The connection to the PBX at %(url)s was lost during the call.", {
                        url: ws_url,
                    })
                );
            } else if (!this.refused) {
                this.setUnreachable();
            }
        });
        ua.on("registered", () => {
            if (this.ua === ua) {
                browser.clearTimeout(this.timers.register);
                this.refused = false;
                this.registerRetries = 0;
                Object.assign(this.state, {
                    registration: "registered",
                    error: false,
                    notice: false,
                });
            }
        });
        ua.on("unregistered", () => {
            if (this.ua === ua && !["error", "unreachable"].includes(this.state.registration)) {
                this.state.registration = "unregistered";
            }
        });
        ua.on("registrationFailed", ({ response, cause }) => {
            if (this.ua === ua) {
                this.onRegistrationFailed(ua, response, cause);
            }
        });
        ua.on("newRTCSession", (event) => this.onNewSession(event));
        ua.start();
    }

    /**
     * The registrar said no (or nothing). Refused credentials are an error
     * for the agent or their administrator; anything else (no answer, the
     * PBX busy or restarting, the WebSocket lost) is retried quietly.
     */
    onRegistrationFailed(ua, response, cause) {
        const reason = response ? `${response.status_code} ${response.reason_phrase}` : cause;
        if (response && CREDENTIALS_REFUSED.includes(response.status_code)) {
            browser.clearTimeout(this.timers.register);
            this.refused = true;
            this.setError(_t("Registration refused: %(reason)s", { reason }));
            return;
        }
        if (this.refused || (this.state.registration === "error" && this.sessions.size)) {
            return; // the refusal, or the call just lost, stays the reason
        }
        const { ws_url } = this.state.config;
        if (!ua.isConnected()) {
            // the WebSocket is down: JsSIP registers again once it is back
            this.setUnreachable();
            return;
        }
        this.state.registration = "unregistered";
        this.state.error = false;
        this.state.notice = _t(
            "The PBX at %(url)s did not register your phone (%(reason)s); trying again — calls ring on your desk phone or are offered here.",
            { url: ws_url, reason }
        );
        browser.clearTimeout(this.timers.register);
        const delay = Math.min(
            REGISTER_RETRY_MIN_MS * 2 ** this.registerRetries,
            REGISTER_RETRY_MAX_MS
        );
        this.registerRetries++;
        this.timers.register = browser.setTimeout(() => {
            if (this.ua === ua && !this.isRegistered && ua.isConnected()) {
                ua.register();
            }
        }, delay);
    }

    stopUA() {
        const ua = this.ua;
        browser.clearTimeout(this.timers.register);
        if (!ua) {
            return;
        }
        this.stopping = true;
        for (const session of this.sessions.values()) {
            this.terminate(session);
        }
        this.ua = null;
        ua.stop();
        this.state.registration = this.multiTab.isOnMainTab() ? "unregistered" : "other_tab";
    }

    /** Register again after an error (or after stopping). */
    restart() {
        this.stopUA();
        if (this.multiTab.isOnMainTab()) {
            this.startUA();
        }
    }

    setError(message) {
        Object.assign(this.state, { registration: "error", error: message, notice: false });
    }

    /** The PBX cannot be reached: said quietly, JsSIP keeps trying. */
    setUnreachable() {
        Object.assign(this.state, {
            registration: "unreachable",
            error: false,
            notice: _t(
                "Cannot reach the PBX at %(url)s — calls ring on your desk phone or are offered here.",
                { url: this.state.config.ws_url }
            ),
        });
    }

    get isRegistered() {
        return this.state.registration === "registered";
    }

    // ------------------------------------------------------------------
    // Calls
    // ------------------------------------------------------------------
    newCall(values) {
        return {
            id: ++this.callSeq,
            direction: "outgoing",
            number: "",
            name: "",
            interactionId: false,
            // calling | ringing (incoming, not answered) | established | ended
            status: "calling",
            onHold: false,
            remoteHold: false,
            muted: false,
            startedAt: false,
            ringback: false,
            dtmf: "",
            transfer: false, // false | "trying" | "failed"
            ...values,
        };
    }

    /**
     * Call `number` (digits, extension, "user@host" or SIP URI).
     *
     * @param {string} number
     * @param {Object} [options]
     * @param {string} [options.name] who is called, shown instead of the number
     * @param {number} [options.interactionId] the interaction this call is for
     * @param {boolean} [options.consult] a consultation call (attended transfer)
     */
    async dial(number, { name = "", interactionId = false, consult = false } = {}) {
        if (!this.ua || !this.isRegistered) {
            this.notification.add(_t("The softphone is not registered."), { type: "warning" });
            return false;
        }
        if (consult ? this.state.consult : this.state.call) {
            this.notification.add(_t("Finish the current call first."), { type: "warning" });
            return false;
        }
        const target = sipTarget(number, this.state.config.domain);
        if (!target) {
            this.notification.add(_t("%(number)s is not a number to call.", { number }), {
                type: "warning",
            });
            return false;
        }
        const call = this.newCall({ number: String(number).trim(), name, interactionId });
        this.setCall(call, consult);
        this.state.panelOpen = true;
        const stream = await this.getMicrophone(call);
        if (!stream || this.currentCall(call.id)?.status !== "calling") {
            // no microphone, or hung up meanwhile
            this.stopMicrophone(call.id);
            this.dropCall(call.id);
            return false;
        }
        let session;
        try {
            session = this.ua.call(target, {
                mediaStream: stream,
                mediaConstraints: AUDIO_CONSTRAINTS,
                rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
                eventHandlers: {
                    peerconnection: ({ peerconnection }) =>
                        this.attachRemoteAudio(call.id, peerconnection),
                },
            });
        } catch (error) {
            this.stopMicrophone(call.id);
            this.dropCall(call.id);
            this.notification.add(
                _t("The call could not start: %(error)s", { error: error.message || error }),
                { type: "danger" }
            );
            return false;
        }
        this.bindSession(call.id, session);
        return true;
    }

    async answer() {
        const call = this.state.call;
        const session = call && this.sessions.get(call.id);
        if (session && call.status === "ringing") {
            await this.answerSession(call, session);
        }
    }

    async answerSession(call, session) {
        this.stopRinging();
        call.status = "answering";
        const stream = await this.getMicrophone(call);
        if (!stream || session.isEnded()) {
            // no microphone, or the caller gave up meanwhile
            this.stopMicrophone(call.id);
            this.terminate(session, { status_code: 480, reason_phrase: "No Microphone" });
            return;
        }
        session.answer({ mediaStream: stream, mediaConstraints: AUDIO_CONSTRAINTS });
    }

    /** Refuse the incoming call (603 Decline). */
    decline() {
        const call = this.state.call;
        const session = call && this.sessions.get(call.id);
        if (session && ["ringing", "answering"].includes(call.status)) {
            this.terminate(session, { status_code: 603, reason_phrase: "Decline" });
        }
    }

    /** Hang up the consultation call if there is one, else the call. */
    hangup(callId) {
        const call = callId ? this.currentCall(callId) : this.state.consult || this.state.call;
        const session = call && this.sessions.get(call.id);
        if (session) {
            this.terminate(session);
        } else if (call) {
            this.dropCall(call.id);
        }
    }

    toggleHold(callId) {
        const call = this.currentCall(callId || this.state.call?.id);
        const session = call && this.sessions.get(call.id);
        if (!session || call.status !== "established") {
            return;
        }
        if (session.isOnHold().local) {
            session.unhold();
        } else {
            session.hold();
        }
    }

    toggleMute(callId) {
        const call = this.currentCall(callId || this.activeCall?.id);
        const session = call && this.sessions.get(call.id);
        if (!session || call.status !== "established") {
            return;
        }
        if (session.isMuted().audio) {
            session.unmute({ audio: true });
        } else {
            session.mute({ audio: true });
        }
    }

    /** The call the agent talks in: the consultation if any, else the call. */
    get activeCall() {
        return this.state.consult || this.state.call;
    }

    /** A dial pad key: a DTMF tone in a call, a digit of the number otherwise. */
    pressKey(key) {
        const call = this.activeCall;
        if (call && call.status === "established") {
            this.sendDTMF(key);
        } else if (!call) {
            this.state.number += key;
        }
    }

    sendDTMF(tone) {
        const call = this.activeCall;
        const session = call && this.sessions.get(call.id);
        if (!session || call.status !== "established") {
            return false;
        }
        session.sendDTMF(tone);
        call.dtmf += tone;
        return true;
    }

    /** Blind transfer: hand the call over to `number` and leave it. */
    blindTransfer(number) {
        const call = this.state.call;
        const session = call && this.sessions.get(call.id);
        const target = sipTarget(number, this.state.config.domain);
        if (!session || call.status !== "established" || !target) {
            return false;
        }
        call.transfer = "trying";
        session.refer(target, { eventHandlers: this.referHandlers(call.id, session) });
        return true;
    }

    /** Attended transfer, step 1: hold the customer and call the colleague. */
    async startConsult(number, name = "") {
        const call = this.state.call;
        const session = call && this.sessions.get(call.id);
        if (!session || call.status !== "established" || this.state.consult) {
            return false;
        }
        if (!session.isOnHold().local) {
            session.hold();
        }
        return this.dial(number, { name, consult: true });
    }

    /** Attended transfer, step 2: connect the customer with the colleague. */
    completeTransfer() {
        const call = this.state.call;
        const consult = this.state.consult;
        const session = call && this.sessions.get(call.id);
        const consultSession = consult && this.sessions.get(consult.id);
        if (!session || !consultSession || consult.status !== "established") {
            return false;
        }
        call.transfer = "trying";
        session.refer(consultSession.remote_identity.uri.toString(), {
            replaces: consultSession,
            eventHandlers: this.referHandlers(call.id, session),
        });
        return true;
    }

    /** Attended transfer given up: end the consultation, resume the customer. */
    cancelConsult() {
        const consult = this.state.consult;
        if (consult) {
            this.hangup(consult.id);
        }
        const call = this.state.call;
        const session = call && this.sessions.get(call.id);
        if (session && session.isOnHold().local) {
            session.unhold();
        }
    }

    referHandlers(callId, session) {
        const failed = () => {
            const call = this.currentCall(callId);
            if (call) {
                call.transfer = "failed";
            }
            this.notification.add(_t("The transfer failed."), { type: "danger" });
        };
        return {
            requestFailed: failed,
            failed,
            // the transfer target answered: our part of the call is over
            accepted: () => {
                this.terminate(session);
                // After an attended transfer the colleague's phone ends the
                // consultation it replaced; end it here if it does not.
                const consultSession =
                    this.state.consult && this.sessions.get(this.state.consult.id);
                if (consultSession) {
                    browser.setTimeout(() => this.terminate(consultSession), REPLACED_GRACE_MS);
                }
            },
        };
    }

    /** Click-to-dial pushed by the server on the bus. */
    onDialNotification(payload, notificationId) {
        if (!this.multiTab.isOnMainTab() || !payload?.number) {
            return;
        }
        // a dial replayed by the bus after a reconnection is not a fresh click
        if (payload.sent_at && Date.now() / 1000 - payload.sent_at > DIAL_MAX_AGE) {
            return;
        }
        if (notificationId) {
            const last = Number(browser.localStorage.getItem(LAST_DIAL_KEY) || 0);
            if (notificationId <= last) {
                return;
            }
            browser.localStorage.setItem(LAST_DIAL_KEY, String(notificationId));
        }
        return this.dial(payload.number, {
            name: payload.name || "",
            interactionId: payload.interaction_id || false,
        });
    }

    // ------------------------------------------------------------------
    // JsSIP sessions
    // ------------------------------------------------------------------
    onNewSession({ session, originator, request }) {
        if (originator !== "remote") {
            return; // ours: bound in dial()
        }
        // set by the "replaces" handler below, which runs this synchronously
        const replacedId = this.replacing;
        this.replacing = null;
        if (this.state.call && !replacedId) {
            // one call at a time (plus our own consultation calls)
            session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
            return;
        }
        const identity = session.remote_identity;
        const call = this.newCall({
            direction: "incoming",
            status: replacedId ? "answering" : "ringing",
            number: identity?.uri?.user || request?.from?.uri?.user || "",
            name: identity?.display_name || "",
        });
        // the new call takes the place of the one it replaces (JsSIP ends
        // that one once the new one is confirmed)
        this.setCall(call, Boolean(replacedId) && this.state.consult?.id === replacedId);
        session.on("peerconnection", ({ peerconnection }) =>
            this.attachRemoteAudio(call.id, peerconnection)
        );
        this.bindSession(call.id, session);
        this.state.panelOpen = true;
        if (replacedId) {
            this.answerSession(this.currentCall(call.id), session);
        } else {
            this.startRinging();
        }
    }

    bindSession(callId, session) {
        this.sessions.set(callId, session);
        const update = (values) => {
            const call = this.currentCall(callId);
            if (call) {
                Object.assign(call, values);
            }
        };
        session.on("progress", () => update({ ringback: true }));
        session.on("accepted", () => update({ status: "established", startedAt: Date.now() }));
        session.on("confirmed", () => {
            const call = this.currentCall(callId);
            if (call && call.status !== "established") {
                update({ status: "established", startedAt: Date.now() });
            }
            this.startTicking();
        });
        session.on("hold", ({ originator }) =>
            update(originator === "local" ? { onHold: true } : { remoteHold: true })
        );
        session.on("unhold", ({ originator }) =>
            update(originator === "local" ? { onHold: false } : { remoteHold: false })
        );
        session.on("muted", () => update({ muted: true }));
        session.on("unmuted", () => update({ muted: false }));
        // A colleague completes an attended transfer to us: the customer's
        // call replaces the colleague's, answered at once (as desk phones
        // do). What JsSIP's accept() does, except that ending the replaced
        // call tolerates the colleague having ended it first.
        session.on("replaces", ({ request, reject }) => {
            if (!session.isEstablished()) {
                reject();
                return;
            }
            const replacement = new this.JsSIP.RTCSession(this.ua);
            replacement.on("confirmed", () => this.terminate(session));
            this.replacing = callId;
            replacement.init_incoming(request);
        });
        // The other party asks us to call someone else: agents do not follow
        // transfers they did not make.
        session.on("refer", ({ reject }) => reject());
        session.on("ended", ({ cause }) => this.onSessionEnded(callId, cause));
        session.on("failed", ({ cause }) => this.onSessionEnded(callId, cause));
    }

    onSessionEnded(callId, cause) {
        const call = this.currentCall(callId);
        this.sessions.delete(callId);
        this.stopMicrophone(callId);
        this.detachRemoteAudio(callId);
        if (!call) {
            return;
        }
        if (call.direction === "incoming" && this.state.call?.id === callId) {
            this.stopRinging();
        }
        this.state.lastCall = {
            number: call.number,
            name: call.name,
            direction: call.direction,
            cause: cause || "",
            seconds: call.startedAt ? Math.round((Date.now() - call.startedAt) / 1000) : 0,
            answered: Boolean(call.startedAt),
        };
        this.dropCall(callId);
        const main = this.state.call;
        if (main && !this.state.consult) {
            // back from a consultation: talk to the customer again
            const session = this.sessions.get(main.id);
            if (session && session.isOnHold().local && main.transfer !== "trying") {
                session.unhold();
            }
        }
        if (!this.state.call && !this.state.consult) {
            this.stopTicking();
        }
    }

    terminate(session, options) {
        try {
            if (!session.isEnded()) {
                session.terminate(options);
            }
        } catch {
            // already ending: its "ended" / "failed" event cleans up
        }
    }

    currentCall(callId) {
        for (const call of [this.state.call, this.state.consult]) {
            if (call && call.id === callId) {
                return call;
            }
        }
        return null;
    }

    setCall(call, consult) {
        if (consult) {
            this.state.consult = call;
        } else {
            this.state.call = call;
        }
    }

    dropCall(callId) {
        if (this.state.consult?.id === callId) {
            this.state.consult = null;
        } else if (this.state.call?.id === callId) {
            this.state.call = null;
            if (this.state.consult) {
                // the customer left during a consultation: it becomes the call
                this.state.call = this.state.consult;
                this.state.consult = null;
            }
        }
    }

    // ------------------------------------------------------------------
    // Media
    // ------------------------------------------------------------------
    async getMicrophone(call) {
        try {
            const stream = await browser.navigator.mediaDevices.getUserMedia(AUDIO_CONSTRAINTS);
            this.localStreams.set(call.id, stream);
            return stream;
        } catch (error) {
            this.notification.add(
                _t("The microphone cannot be used: %(error)s", { error: error.message || error }),
                { type: "danger" }
            );
            return null;
        }
    }

    stopMicrophone(callId) {
        const stream = this.localStreams.get(callId);
        if (stream) {
            for (const track of stream.getTracks()) {
                track.stop();
            }
            this.localStreams.delete(callId);
        }
    }

    attachRemoteAudio(callId, peerconnection) {
        peerconnection.addEventListener("track", ({ streams, track }) => {
            if (track.kind !== "audio") {
                return;
            }
            let audio = this.audio.get(callId);
            if (!audio) {
                audio = document.createElement("audio");
                audio.autoplay = true;
                audio.className = "o_omnichannel_softphone_remote_audio d-none";
                audio.dataset.callId = callId;
                document.body.appendChild(audio);
                this.audio.set(callId, audio);
            }
            audio.srcObject = streams[0] || new MediaStream([track]);
            audio.play().catch(() => {
                // autoplay refused until the agent interacts with the page
            });
        });
    }

    detachRemoteAudio(callId) {
        const audio = this.audio.get(callId);
        if (audio) {
            audio.srcObject = null;
            audio.remove();
            this.audio.delete(callId);
        }
    }

    /** A two-tone ring while an incoming call waits, generated (no sound file). */
    startRinging() {
        this.stopRinging();
        const AudioContext = browser.AudioContext;
        if (!AudioContext) {
            return;
        }
        try {
            const context = new AudioContext();
            const gain = context.createGain();
            gain.gain.value = 0;
            gain.connect(context.destination);
            for (const frequency of [440, 480]) {
                const oscillator = context.createOscillator();
                oscillator.frequency.value = frequency;
                oscillator.connect(gain);
                oscillator.start();
            }
            let on = false;
            const interval = browser.setInterval(() => {
                on = !on;
                gain.gain.value = on ? 0.1 : 0;
            }, 1000);
            this.ringer = { context, interval };
        } catch {
            this.ringer = null; // no sound: the panel still shows the call
        }
    }

    stopRinging() {
        if (this.ringer) {
            browser.clearInterval(this.ringer.interval);
            this.ringer.context.close().catch(() => {});
            this.ringer = null;
        }
    }

    startTicking() {
        if (!this.timers.tick) {
            this.state.now = Date.now();
            this.timers.tick = browser.setInterval(() => (this.state.now = Date.now()), 1000);
        }
    }

    stopTicking() {
        browser.clearInterval(this.timers.tick);
        this.timers.tick = null;
    }

    // ------------------------------------------------------------------
    // Panel
    // ------------------------------------------------------------------
    togglePanel() {
        this.state.panelOpen = !this.state.panelOpen;
    }
}

export const softphoneService = {
    dependencies: ["orm", "bus_service", "multi_tab", "notification"],
    start(env, services) {
        const softphone = new Softphone(env, services);
        softphone.setup();
        return softphone;
    },
};

registry.category("services").add("omnichannel_softphone", softphoneService);
