import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { click, edit, queryAllTexts, select, waitFor, waitForNone } from "@odoo/hoot-dom";
import { advanceTime, animationFrame } from "@odoo/hoot-mock";
import { getService, mountWithCleanup, onRpc } from "@web/../tests/web_test_helpers";

import { AgentConsoleSystray } from "@omnichannel_cc/agent_console/agent_console_systray";
import {
    makeInteraction,
    makeOffer,
    mockConsoleServer,
    pushBus,
} from "@omnichannel_cc/../tests/unit/omnichannel_test_helpers";

describe.current.tags("desktop");
// mail and im_livechat start their services in every environment of these addons
defineMailModels();

const DOCK = ".o_omnichannel_sms_dock";
const CONVERSATION = `${DOCK} .o_omnichannel_sms_conversation`;
const BODY = `${DOCK} .o_omnichannel_sms_reply_body`;
const SUMMARY = `${DOCK} .o_omnichannel_sms_counter_summary`;
const SEND = `${DOCK} .o_omnichannel_sms_send`;

/** The `sms` part of a console row, as `_console_interactions` gives it. */
function makeSms(values = {}) {
    return {
        number: "+48601234567",
        blacklisted: false,
        transliterate: false,
        messages: [
            {
                id: 1,
                direction: "in",
                body: "Gdzie jest moja paczka?",
                date: "2025-01-06 08:59:00",
                state: "received",
            },
        ],
        ...values,
    };
}

/** An SMS interaction of the agent as the console state lists it. */
function makeSmsInteraction(values = {}) {
    return makeInteraction({
        id: 701,
        name: "INT/0701",
        channel_type: "sms",
        channel_label: "SMS",
        contact_address: "+48601234567",
        sms: makeSms(),
        ...values,
    });
}

/**
 * The console's fake server with SMS: `action_sms_reply` queues the reply in
 * the row's messages (or answers that the number opted out), the templates
 * and their preview. Each call is in `server.calls`.
 */
function mockSmsServer(values) {
    const server = mockConsoleServer(values);
    server.templates = [
        { id: 31, name: "Parcel sent", body: "Hello {{ object.partner_id.name }}, your parcel left." },
    ];
    onRpc("omnichannel.interaction", "action_sms_reply", ({ args, kwargs }) => {
        const [[id], body] = args;
        server.calls.push(`action_sms_reply:${id},${body},${kwargs.confirm_blacklisted}`);
        const interaction = server.data.interactions.find((i) => i.id === id);
        if (interaction.sms.blacklisted && !kwargs.confirm_blacklisted) {
            return { warning: "The customer opted out of SMS.", blacklisted: true };
        }
        const smsId = 900 + interaction.sms.messages.length;
        interaction.sms.messages.push({
            id: smsId,
            direction: "out",
            body,
            date: "2025-01-06 09:01:00",
            state: "outgoing",
        });
        return { sms_id: smsId, state: "outgoing", encoding: "UCS-2", segments: 1 };
    });
    server.templateReads = [];
    onRpc("sms.template", "search_read", ({ kwargs }) => {
        server.templateReads.push(kwargs.domain);
        return server.templates;
    });
    onRpc("sms.template.preview", "web_save", ({ args }) => {
        const values = args[1];
        server.calls.push(`preview:${values.sms_template_id},${values.resource_ref}`);
        return [{ id: 1, body: "Hello Azure Interior, your parcel left." }];
    });
    return server;
}

async function mountConsole(values) {
    const server = mockSmsServer(values);
    await mountWithCleanup(AgentConsoleSystray);
    const agentConsole = getService("omnichannel_agent_console");
    await waitFor(".o_omnichannel_console_toggle");
    // the reload of the bus "connect": on a loaded machine the event comes
    // later; wait for that reload (the first load is the service's start)
    // rather than assume it came within the first debounce
    await advanceTime(150);
    for (let i = 0; server.loads < 2 && i < 40; i++) {
        await animationFrame();
        await advanceTime(150);
    }
    server.calls = [];
    return { agentConsole, server };
}

/** Type `text` in the reply box, then let the counter render. */
async function typeReply(text) {
    await click(BODY);
    await edit(text);
    await animationFrame();
}

test("SMS dock: the conversation of an active SMS interaction, both ways with states", async () => {
    await mountConsole({
        presence: { state: "busy", state_label: "Busy" },
        interactions: [
            makeSmsInteraction({
                sms: makeSms({
                    messages: [
                        { id: 1, direction: "in", body: "Gdzie paczka?", date: "2025-01-06 08:50:00", state: "received" },
                        { id: 2, direction: "out", body: "Sprawdzam", date: "2025-01-06 08:51:00", state: "delivered" },
                        { id: 3, direction: "out", body: "Wysłana", date: "2025-01-06 08:52:00", state: "sent" },
                        { id: 4, direction: "out", body: "Kod: 123", date: "2025-01-06 08:53:00", state: "failed", error: "Wrong number" },
                        { id: 5, direction: "out", body: "Kod: 124", date: "2025-01-06 08:54:00", state: "outgoing" },
                        { id: 6, direction: "out", body: "Kod: 125", date: "2025-01-06 08:55:00", state: "sending" },
                    ],
                }),
            }),
            // not SMS: no conversation in the dock
            makeInteraction({ id: 602, name: "INT/0602" }),
        ],
    });
    await waitFor(CONVERSATION);
    expect(CONVERSATION).toHaveAttribute("data-interaction-id", "701");
    expect(`${DOCK} .o_omnichannel_sms_dock_tab`).toHaveCount(1);
    expect(`${DOCK} .o_omnichannel_sms_dock_tab`).toHaveText("Azure Interior");
    expect(`${DOCK} .o_omnichannel_sms_number`).toHaveText("+48601234567");
    expect(`${DOCK} .o_omnichannel_sms_blacklisted`).toHaveCount(0);
    expect(queryAllTexts(`${DOCK} .o_omnichannel_sms_bubble`)).toEqual([
        "Gdzie paczka?",
        "Sprawdzam",
        "Wysłana",
        "Kod: 123",
        "Kod: 124",
        "Kod: 125",
    ]);
    expect(`${DOCK} .o_omnichannel_sms_message[data-direction='in'] .o_omnichannel_sms_message_state`).toHaveCount(0);
    expect(queryAllTexts(`${DOCK} .o_omnichannel_sms_message_state`)).toEqual([
        "Delivered",
        "Sent",
        "Failed",
        "Queued",
        "Queued",
    ]);
    expect(`${DOCK} .o_omnichannel_sms_message[data-message-id='4']`).toHaveAttribute("data-state", "failed");
    expect(`${DOCK} .o_omnichannel_sms_message[data-message-id='4'] .badge`).toHaveClass("text-bg-danger");
    expect(`${DOCK} .o_omnichannel_sms_message[data-message-id='4'] .badge`).toHaveAttribute(
        "title",
        "Wrong number"
    );
    expect(SEND).not.toBeEnabled();
});

test("SMS dock: the counter follows the reply; send queues it and empties the box", async () => {
    const { server } = await mountConsole({
        interactions: [makeSmsInteraction()],
    });
    await waitFor(BODY);
    expect(SUMMARY).toHaveText("0 characters · GSM-7 · 0 SMS · 160 left");
    await typeReply("Your parcel {ref} is on its way");
    expect(SUMMARY).toHaveText("31 characters · GSM-7 · 1 SMS · 127 left");

    const reply = "Dzień dobry, Pańska przesyłka została wysłana. ".repeat(2).trim();
    await typeReply(reply);
    expect(SUMMARY).toHaveText("93 characters · UCS-2 · 2 SMS · 41 left");
    expect(`${DOCK} .o_omnichannel_sms_counter_saving`).toHaveText(
        "Without Polish characters: 1 SMS instead of 2"
    );
    expect(SEND).toBeEnabled();
    await click(SEND);
    await waitFor(`${DOCK} .o_omnichannel_sms_message[data-message-id='901']`);
    expect(server.calls).toEqual([`action_sms_reply:701,${reply},false`, "action_console_state"]);
    expect(`${DOCK} .o_omnichannel_sms_message[data-message-id='901']`).toHaveAttribute(
        "data-state",
        "queued"
    );
    expect(`${DOCK} .o_omnichannel_sms_message[data-message-id='901'] .o_omnichannel_sms_bubble`).toHaveText(reply);
    expect(BODY).toHaveValue("");
    expect(SEND).not.toBeEnabled();
});

test("SMS dock: transliteration by the agent, or by the channel (what it saves)", async () => {
    const { server } = await mountConsole({ interactions: [makeSmsInteraction()] });
    await waitFor(BODY);
    await typeReply("Zażółć gęślą jaźń");
    expect(SUMMARY).toHaveText("17 characters · UCS-2 · 1 SMS · 53 left");
    await click(`${DOCK} .o_omnichannel_sms_transliterate`);
    await animationFrame();
    expect(BODY).toHaveValue("Zazolc gesla jazn");
    expect(SUMMARY).toHaveText("17 characters · GSM-7 · 1 SMS · 143 left");

    // a channel that sends without diacritics: the counts of what it will send
    server.data.interactions[0].sms.transliterate = true;
    await pushBus("omnichannel.console", { user_id: 7 });
    await advanceTime(150);
    await waitFor(`${DOCK} .o_omnichannel_sms_transliterated`);
    await typeReply("Dzień dobry, Pańska przesyłka została wysłana. ".repeat(2).trim());
    expect(SUMMARY).toHaveText("93 characters · GSM-7 · 1 SMS · 67 left");
    expect(`${DOCK} .o_omnichannel_sms_counter_sent_plain`).toHaveText(
        "Sent without diacritics: 1 SMS instead of 2"
    );
    expect(`${DOCK} .o_omnichannel_sms_transliterate`).toHaveCount(0);
});

test("SMS dock: a number that opted out asks before sending, and sends once confirmed", async () => {
    const { server } = await mountConsole({
        interactions: [makeSmsInteraction({ sms: makeSms({ blacklisted: true }) })],
    });
    await waitFor(`${DOCK} .o_omnichannel_sms_blacklisted`);
    await typeReply("Your refund was paid");
    await click(SEND);
    await waitFor(".modal");
    expect(".modal .modal-body").toHaveText(/^The customer opted out of SMS\.\s+This number/);
    expect(".modal .modal-body").toHaveText(
        /This number opted out of SMS \(STOP\)\. Send this transactional reply anyway\?$/
    );
    expect(server.calls).toEqual(["action_sms_reply:701,Your refund was paid,false"]);

    // cancelled: nothing sent, the reply kept
    await click(".modal-footer .btn-secondary");
    await waitForNone(".modal");
    expect(server.calls).toEqual(["action_sms_reply:701,Your refund was paid,false"]);
    expect(BODY).toHaveValue("Your refund was paid");

    server.calls = [];
    await click(SEND);
    await waitFor(".modal");
    await click(".modal-footer .btn-primary");
    await waitFor(`${DOCK} .o_omnichannel_sms_message[data-direction='out']`);
    expect(server.calls).toEqual([
        "action_sms_reply:701,Your refund was paid,false",
        "action_sms_reply:701,Your refund was paid,true",
        "action_console_state",
    ]);
    expect(BODY).toHaveValue("");
});

test("SMS dock: a quick reply puts the template, filled in by the server, in the box", async () => {
    const { server } = await mountConsole({ interactions: [makeSmsInteraction()] });
    await waitFor(`${DOCK} .o_omnichannel_sms_quick_reply`);
    expect(queryAllTexts(`${DOCK} .o_omnichannel_sms_quick_reply option`)).toEqual([
        "Quick reply…",
        "Parcel sent",
    ]);
    await select("31", { target: `${DOCK} .o_omnichannel_sms_quick_reply` });
    await animationFrame();
    expect(BODY).toHaveValue("Hello Azure Interior, your parcel left.");
    expect(server.calls).toInclude("preview:31,omnichannel.interaction,701");
    // read once for the console
    expect(server.templateReads).toEqual([[["model", "=", "omnichannel.interaction"]]]);
    expect(`${DOCK} .o_omnichannel_sms_quick_reply`).toHaveValue("");
    expect(SUMMARY).toHaveText("39 characters · GSM-7 · 1 SMS · 121 left");
});

test("SMS dock: a new message pushed by the bus shows after the console's reload", async () => {
    const { server } = await mountConsole({ interactions: [makeSmsInteraction()] });
    await waitFor(`${DOCK} .o_omnichannel_sms_message[data-message-id='1']`);
    await typeReply("Chwileczkę");
    server.data.interactions[0].sms.messages.push({
        id: 2,
        direction: "in",
        body: "Halo?",
        date: "2025-01-06 09:00:30",
        state: "received",
    });
    await pushBus("omnichannel.console", { user_id: 7 });
    await advanceTime(150);
    await waitFor(`${DOCK} .o_omnichannel_sms_message[data-message-id='2']`);
    expect(`${DOCK} .o_omnichannel_sms_message[data-message-id='2']`).toHaveAttribute("data-direction", "in");
    // what the agent was typing is kept
    expect(BODY).toHaveValue("Chwileczkę");
});

test("SMS dock: accept an SMS offer, reply, end; the wrap-up in the customer panel", async () => {
    const { server } = await mountConsole({
        offers: [makeOffer({ offer_id: 801, interaction_id: 701, channel_type: "sms", channel_label: "SMS" })],
        interactions: [makeSmsInteraction({ state: "offered", state_label: "Offered" })],
    });
    const popup = ".o_omnichannel_offer_popup[data-offer-id='801']";
    await waitFor(popup);
    // offered: the customer's text can be read, not answered yet
    await waitFor(`${CONVERSATION}[data-state='offered'] .o_omnichannel_sms_offered_hint`);
    expect(`${DOCK} .o_omnichannel_sms_bubble`).toHaveText("Gdzie jest moja paczka?");
    expect(`${DOCK} .o_omnichannel_sms_reply`).toHaveCount(0);
    expect(`${DOCK} .o_omnichannel_sms_end`).toHaveCount(0);
    await click(`${popup} .o_omnichannel_offer_accept`);
    await waitFor(`${CONVERSATION}[data-state='active'] .o_omnichannel_sms_reply_body`);
    expect(`${DOCK} .o_omnichannel_sms_dock_tab`).toHaveText("Azure Interior");
    expect(".o_omnichannel_screen_pop").toHaveAttribute("data-interaction-id", "701");
    await typeReply("Dzień dobry");
    await click(SEND);
    await waitFor(`${DOCK} .o_omnichannel_sms_message[data-direction='out']`);

    await click(`${DOCK} .o_omnichannel_sms_end`);
    await waitFor(`${CONVERSATION}[data-state='wrapup']`);
    expect(`${DOCK} .o_omnichannel_sms_reply`).toHaveCount(0);
    expect(`${DOCK} .o_omnichannel_sms_wrapup_hint`).toHaveCount(1);
    expect(".o_omnichannel_screen_pop .o_omnichannel_wrapup").toHaveCount(1);
    await select("21", { target: ".o_omnichannel_wrapup_disposition" });
    await animationFrame();
    await click(".o_omnichannel_wrapup_close");
    await waitForNone(DOCK);
    expect(server.calls).toInclude("action_console_close:701,21,");
});

test("SMS dock: one tab per conversation; a tab shows its conversation and its customer", async () => {
    await mountConsole({
        interactions: [
            makeSmsInteraction(),
            makeSmsInteraction({
                id: 702,
                name: "INT/0702",
                partner_id: 43,
                partner_name: false,
                contact_address: "+48607654321",
                sms: makeSms({ number: "+48607654321", messages: [] }),
            }),
        ],
    });
    // after a reload, the panel is back on the first interaction in hand
    await waitFor(".o_omnichannel_screen_pop[data-interaction-id='701']");
    await waitFor(`${CONVERSATION}[data-interaction-id='701']`);
    expect(queryAllTexts(`${DOCK} .o_omnichannel_sms_dock_tab`)).toEqual([
        "Azure Interior",
        "+48607654321",
    ]);
    await typeReply("draft for 701");
    await click(`${DOCK} .o_omnichannel_sms_dock_tab[data-interaction-id='702']`);
    await waitFor(`${CONVERSATION}[data-interaction-id='702']`);
    expect(`${DOCK} .o_omnichannel_sms_thread`).toHaveText("No messages yet.");
    await waitFor(".o_omnichannel_screen_pop[data-interaction-id='702']");
    expect(BODY).toHaveValue("");
    // back: the draft is still there
    await click(`${DOCK} .o_omnichannel_sms_dock_tab[data-interaction-id='701']`);
    await waitFor(`${CONVERSATION}[data-interaction-id='701']`);
    expect(BODY).toHaveValue("draft for 701");

    // folded: the tabs stay, the conversation goes
    await click(`${DOCK} .o_omnichannel_sms_dock_fold`);
    await animationFrame();
    expect(CONVERSATION).toHaveCount(0);
    expect(`${DOCK} .o_omnichannel_sms_dock_tab`).toHaveCount(2);
});
