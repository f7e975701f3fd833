import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { click, waitFor, waitForNone } from "@odoo/hoot-dom";
import { advanceTime, animationFrame } from "@odoo/hoot-mock";
import { getService, mountWithCleanup } from "@web/../tests/web_test_helpers";

import { mockConsoleServer } from "@omnichannel_cc/../tests/unit/omnichannel_test_helpers";
import { SoftphoneSystray } from "@omnichannel_cc_voip/softphone/softphone_systray";
import { currentUA, mockSoftphoneEnvironment } from "./softphone_test_helpers";

describe.current.tags("desktop");
// mail and im_livechat start their services in every environment of this addon
defineMailModels();

const TOGGLE = ".o_omnichannel_softphone_toggle";
const PANEL = ".o_omnichannel_softphone_panel";

/** Mount the softphone's systray item; its panel comes with the main components. */
async function mountSoftphone() {
    const media = mockSoftphoneEnvironment();
    mockConsoleServer().isAgent = false;
    await mountWithCleanup(SoftphoneSystray);
    await waitFor(TOGGLE);
    return { media, softphone: getService("omnichannel_softphone") };
}

test("systray: registration state in its colour and words", async () => {
    await mountSoftphone();
    expect(TOGGLE).toHaveAttribute("data-registration", "connecting");
    expect(".o_omnichannel_softphone_dot").toHaveClass("bg-warning");
    currentUA().emit("registered");
    await animationFrame();
    expect(".o_omnichannel_softphone_state_label").toHaveText("Registered");
    expect(".o_omnichannel_softphone_dot").toHaveClass("bg-success");
    currentUA().emit("registrationFailed", { cause: "Connection Error" });
    await animationFrame();
    expect(".o_omnichannel_softphone_state_label").toHaveText("Error");
    expect(".o_omnichannel_softphone_dot").toHaveClass("bg-danger");
    expect(".o_omnichannel_softphone_dot").not.toHaveClass("bg-success");
    expect(TOGGLE).toHaveAttribute("title", "Error · Registration refused: Connection Error");

    // the panel's badge has the same colour as the dot
    await click(TOGGLE);
    await waitFor(PANEL);
    expect(`${PANEL} .o_omnichannel_softphone_registration`).toHaveClass("text-bg-danger");
    expect(`${PANEL} .o_omnichannel_softphone_error`).toHaveText(
        "Registration refused: Connection Error\nRetry"
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
