import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { click, waitFor, waitForNone } from "@odoo/hoot-dom";
import { advanceTime, animationFrame } from "@odoo/hoot-mock";
import { getService, mountWithCleanup } from "@web/../tests/web_test_helpers";

import { mockConsoleServer } from "@omnichannel_cc/../tests/unit/omnichannel_test_helpers";
import { SoftphoneSystray } from "@omnichannel_cc_voip/softphone/softphone_systray";
import {
    currentUA,
    makeSoftphoneConfig,
    mockSoftphoneEnvironment,
} from "./softphone_test_helpers";

describe.current.tags("desktop");
// mail and im_livechat start their services in every environment of this addon
defineMailModels();

const TOGGLE = ".o_omnichannel_softphone_toggle";
const PANEL = ".o_omnichannel_softphone_panel";

const DOT = ".o_omnichannel_softphone_dot";
const LABEL = ".o_omnichannel_softphone_state_label";

/** Mount the softphone's systray item; its panel comes with the main components. */
async function mountSoftphone(config = makeSoftphoneConfig()) {
    const media = mockSoftphoneEnvironment(config);
    mockConsoleServer().isAgent = false;
    await mountWithCleanup(SoftphoneSystray);
    await waitFor(TOGGLE);
    return { media, softphone: getService("omnichannel_softphone") };
}

test("systray: registering, then registered in green", async () => {
    await mountSoftphone();
    expect(TOGGLE).toHaveAttribute("data-registration", "connecting");
    expect(DOT).toHaveClass("bg-warning");
    currentUA().connect();
    currentUA().emit("registered");
    await animationFrame();
    expect(LABEL).toHaveText("Registered");
    expect(DOT).toHaveClass("bg-success");
    expect(TOGGLE).not.toHaveClass("o_omnichannel_softphone_muted");
    expect(TOGGLE).toHaveAttribute("title", "Registered");
});

test("systray: not configured (no extension) is muted, the reason on hover", async () => {
    await mountSoftphone(
        makeSoftphoneConfig({
            enabled: false,
            reason: "You have no phone extension.",
            extension: false,
            password: false,
            ws_url: false,
            sip_uri: false,
            domain: false,
        })
    );
    expect(TOGGLE).toHaveAttribute("data-registration", "disabled");
    expect(LABEL).toHaveText("Not configured");
    expect(DOT).toHaveClass("bg-secondary");
    expect(DOT).not.toHaveClass("bg-danger");
    expect(TOGGLE).toHaveClass("o_omnichannel_softphone_muted");
    expect(TOGGLE).toHaveAttribute("title", "Not configured · You have no phone extension.");
    await click(TOGGLE);
    await waitFor(PANEL);
    expect(`${PANEL} .o_omnichannel_softphone_registration`).toHaveClass("text-bg-secondary");
    expect(`${PANEL} .o_omnichannel_softphone_notice`).toHaveText("You have no phone extension.");
    expect(`${PANEL} .o_omnichannel_softphone_error`).toHaveCount(0);
    expect(`${PANEL} .o_omnichannel_softphone_retry`).toHaveCount(0);
});

test("systray: PBX unreachable is muted, says where and what happens to calls", async () => {
    const { softphone } = await mountSoftphone(
        makeSoftphoneConfig({ ws_url: "ws://127.0.0.1:8088" })
    );
    currentUA().disconnect();
    await animationFrame();
    expect(TOGGLE).toHaveAttribute("data-registration", "unreachable");
    expect(LABEL).toHaveText("PBX unreachable");
    expect(DOT).toHaveClass("bg-secondary");
    expect(DOT).not.toHaveClass("bg-danger");
    expect(TOGGLE).toHaveClass("o_omnichannel_softphone_muted");
    expect(TOGGLE).toHaveAttribute(
        "title",
        "PBX unreachable · Cannot reach the PBX at ws://127.0.0.1:8088 — calls ring on your desk phone or are offered here."
    );
    await click(TOGGLE);
    await waitFor(PANEL);
    expect(`${PANEL} .o_omnichannel_softphone_registration`).toHaveClass("text-bg-secondary");
    expect(`${PANEL} .o_omnichannel_softphone_notice`).toHaveClass("text-muted");
    expect(`${PANEL} .o_omnichannel_softphone_notice`).toHaveText(
        "Cannot reach the PBX at ws://127.0.0.1:8088 — calls ring on your desk phone or are offered here.\nRetry now"
    );
    expect(`${PANEL} .o_omnichannel_softphone_error`).toHaveCount(0);
    // the agent may try at once
    await click(`${PANEL} .o_omnichannel_softphone_retry`);
    await animationFrame();
    expect(softphone.state.registration).toBe("connecting");
});

test("systray: registration refused (403) is the one red error", async () => {
    await mountSoftphone();
    currentUA().connect();
    currentUA().emit("registrationFailed", {
        response: { status_code: 403, reason_phrase: "Forbidden" },
    });
    await animationFrame();
    expect(LABEL).toHaveText("Error");
    expect(DOT).toHaveClass("bg-danger");
    expect(TOGGLE).not.toHaveClass("o_omnichannel_softphone_muted");
    expect(TOGGLE).toHaveAttribute("title", "Error · Registration refused: 403 Forbidden");

    // the panel's badge has the same colour as the dot
    await click(TOGGLE);
    await waitFor(PANEL);
    expect(`${PANEL} .o_omnichannel_softphone_registration`).toHaveClass("text-bg-danger");
    expect(`${PANEL} .o_omnichannel_softphone_error`).toHaveClass("alert-danger");
    expect(`${PANEL} .o_omnichannel_softphone_error`).toHaveText(
        "Registration refused: 403 Forbidden\nRetry"
    );
});

test("panel: an incoming call answered from the panel, its timer, then the last call", async () => {
    await mountSoftphone();
    currentUA().emit("registered");
    const session = currentUA().ring({ user: "+48221234567", displayName: "Azure Interior" });
    const call = `${PANEL} .o_omnichannel_softphone_call`;
    await waitFor(`${call}[data-status='ringing']`);
    expect(TOGGLE).toHaveClass("o_omnichannel_softphone_ringing");
    expect(`${call} .o_omnichannel_softphone_party`).toHaveText("Azure Interior");
    expect(`${call} .o_omnichannel_softphone_call_status`).toHaveText("Incoming call");

    await click(`${call} .o_omnichannel_softphone_answer`);
    await waitFor(`${call}[data-status='answering']`);
    expect(session.answeredWith).not.toBe(null);
    session.confirm();
    await waitFor(`${call}[data-status='established']`);
    expect(`${call} .o_omnichannel_softphone_call_status`).toHaveText("In call");
    expect(`${call} .o_omnichannel_softphone_timer`).toHaveText("0:00");
    await advanceTime(65000);
    expect(`${call} .o_omnichannel_softphone_timer`).toHaveText("1:05");

    await click(`${call} .o_omnichannel_softphone_hold`);
    await animationFrame();
    expect(`${call} .o_omnichannel_softphone_call_status`).toHaveText("On hold");
    expect(call).toHaveAttribute("data-hold", "1");

    await click(`${call} .o_omnichannel_softphone_hangup`);
    await waitForNone(call);
    expect(`${PANEL} .o_omnichannel_softphone_last_call`).toHaveText("Azure Interior: 1:05");
});

test("panel: the dial pad types a number and Call dials it", async () => {
    await mountSoftphone();
    currentUA().emit("registered");
    await click(TOGGLE);
    await waitFor(PANEL);
    for (const key of ["1", "0", "0", "2"]) {
        await click(`${PANEL} .o_omnichannel_softphone_key[data-key='${key}']`);
    }
    await animationFrame();
    expect(`${PANEL} .o_omnichannel_softphone_number`).toHaveValue("1002");
    await click(`${PANEL} .o_omnichannel_softphone_dial`);
    await waitFor(`${PANEL} .o_omnichannel_softphone_call[data-direction='outgoing']`);
    expect(currentUA().outgoing.map((s) => s.target)).toEqual(["sip:1002@pbx.example.com"]);
    expect(`${PANEL} .o_omnichannel_softphone_call_status`).toHaveText("Calling…");
});
