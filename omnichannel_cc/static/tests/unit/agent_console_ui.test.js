import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { after, describe, expect, test } from "@odoo/hoot";
import { click, edit, select, waitFor, waitForNone } from "@odoo/hoot-dom";
import { advanceTime, animationFrame } from "@odoo/hoot-mock";
import { defineParams, getService, mountWithCleanup } from "@web/../tests/web_test_helpers";
import { currencies } from "@web/core/currency";

import { AgentConsoleSystray } from "@omnichannel_cc/agent_console/agent_console_systray";
import { makeInteraction, makeOffer, mockConsoleServer, pushBus } from "./omnichannel_test_helpers";

describe.current.tags("desktop");
// mail and im_livechat start their services in every environment of this addon
defineMailModels();

/**
 * Mount the console's systray item; the web client's main components come
 * with it (offer popups, customer panel).
 */
async function mountConsole(values) {
    const server = mockConsoleServer(values);
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

test("systray: presence in the state's colour, time in state ticking", async () => {
    const { server } = await mountConsole({ presence: { state_seconds: 65 } });
    expect(".o_omnichannel_console_state_label").toHaveText("Available");
    expect(".o_omnichannel_console_dot").toHaveClass("bg-success");
    expect(".o_omnichannel_console_state_timer").toHaveText("1:05");
    await advanceTime(3000);
    expect(".o_omnichannel_console_state_timer").toHaveText("1:08");

    // a supervisor sets a break: the console is told to reload
    Object.assign(server.data.presence, {
        state: "break",
        state_label: "Break",
        state_seconds: 3599,
    });
    await pushBus("omnichannel.console", { user_id: 7 });
    await advanceTime(150);
    expect(".o_omnichannel_console_state_label").toHaveText("Break");
    expect(".o_omnichannel_console_dot").toHaveClass("bg-info");
    expect(".o_omnichannel_console_dot").not.toHaveClass("bg-success");
    expect(".o_omnichannel_console_state_timer").toHaveText("59:59");
    await advanceTime(1000);
    expect(".o_omnichannel_console_state_timer").toHaveText("1:00:00");
});

test("systray menu: the interactions in hand with the server's channel label and their timer", async () => {
    await mountConsole({
        presence: { state: "busy", state_label: "Busy" },
        interactions: [makeInteraction({ state_seconds: 125, channel_label: "Telefon" })],
    });
    expect(".o_omnichannel_console_dot").toHaveClass("bg-danger");
    await click(".o_omnichannel_console_toggle");
    await animationFrame();
    const row = ".o_omnichannel_console_interaction[data-name='INT/0601']";
    await waitFor(row);
    expect(`${row} i.fa-phone`).toHaveAttribute("title", "Telefon");
    expect(`${row} .font-monospace`).toHaveText("2:05");
    await advanceTime(5000);
    expect(`${row} .font-monospace`).toHaveText("2:10");
});

test("offer popup: channel label from the server, countdown and waiting time; accept", async () => {
    const { server } = await mountConsole({
        offers: [makeOffer({ seconds_left: 20, ring_seconds: 20, waiting_seconds: 30 })],
    });
    const popup = ".o_omnichannel_offer_popup[data-offer-id='501']";
    await waitFor(popup);
    expect(`${popup} .o_omnichannel_offer_channel`).toHaveText("Incoming call");
    expect(`${popup} .o_omnichannel_offer_countdown`).toHaveText("20 s");
    expect(`${popup} .o_omnichannel_offer_waiting`).toHaveText("0:30");
    expect(`${popup} .progress-bar`).toHaveClass("bg-primary");
    await advanceTime(15000);
    expect(`${popup} .o_omnichannel_offer_countdown`).toHaveText("5 s");
    expect(`${popup} .o_omnichannel_offer_waiting`).toHaveText("0:45");
    expect(`${popup} .progress-bar`).toHaveClass("bg-danger"); // last quarter

    await click(`${popup} .o_omnichannel_offer_accept`);
    await waitForNone(popup);
    expect(server.calls.slice(0, 2)).toEqual(["action_accept:501", "action_console_state"]);
    // the customer panel shows the interaction now in hand
    await waitFor(".o_omnichannel_screen_pop_interaction[data-state='active']");
    expect(".o_omnichannel_screen_pop_interaction_state").toHaveText("Active");
});

test("offer popup: reject sends the rejection and the popup goes", async () => {
    const { server } = await mountConsole({ offers: [makeOffer()] });
    await waitFor(".o_omnichannel_offer_popup");
    await click(".o_omnichannel_offer_reject");
    await waitForNone(".o_omnichannel_offer_popup");
    expect(server.calls).toEqual(["action_reject:501", "action_console_state"]);
    expect(".o_omnichannel_screen_pop").toHaveCount(0);
});

test("wrap-up: time left counts down; close sends the disposition and the notes", async () => {
    const { server } = await mountConsole({
        presence: { state: "wrapup", state_label: "Wrap-up" },
        interactions: [
            makeInteraction({ state: "wrapup", state_label: "Wrap-up", wrapup_seconds_left: 30 }),
        ],
    });
    await waitFor(".o_omnichannel_wrapup");
    expect(".o_omnichannel_console_dot").toHaveClass("bg-warning");
    expect(".o_omnichannel_wrapup .card-header .font-monospace").toHaveText("0:30 left");
    await advanceTime(10000);
    expect(".o_omnichannel_wrapup .card-header .font-monospace").toHaveText("0:20 left");
    // a disposition is required when there are some
    expect(".o_omnichannel_wrapup_close").toHaveAttribute("disabled");
    await select("21", { target: ".o_omnichannel_wrapup_disposition" });
    await click(".o_omnichannel_wrapup_notes");
    await edit("Call back on Monday");
    await animationFrame();
    await click(".o_omnichannel_wrapup_close");
    await waitForNone(".o_omnichannel_screen_pop");
    expect(server.calls.slice(0, 2)).toEqual([
        "action_console_close:601,21,Call back on Monday",
        "action_console_state",
    ]);
    await waitFor(".o_notification:contains('INT/0601 is closed.')");
});

test("offer popup: what rings, per channel and direction", async () => {
    await mountConsole({
        offers: [
            makeOffer(),
            makeOffer({ offer_id: 502, interaction_id: 602, channel_type: "chat" }),
            makeOffer({ offer_id: 503, interaction_id: 603, channel_type: "email" }),
            makeOffer({
                offer_id: 504,
                interaction_id: 604,
                direction: "outbound",
                offer_kind: "callback",
                callback_attempt: 1,
                callback_max_attempts: 3,
                customer_name: "Zofia Nowak",
            }),
            makeOffer({
                offer_id: 505,
                interaction_id: 605,
                direction: "outbound",
                offer_kind: "outbound",
                customer_name: "Jan Kowalski",
            }),
            // a channel type of an addon the core does not know: its own label
            makeOffer({
                offer_id: 506,
                interaction_id: 606,
                channel_type: "pigeon",
                channel_label: "Carrier pigeon",
            }),
        ],
    });
    const title = (offerId) =>
        `.o_omnichannel_offer_popup[data-offer-id='${offerId}'] .o_omnichannel_offer_channel`;
    await waitFor(title(506));
    expect(title(501)).toHaveText("Incoming call");
    expect(title(502)).toHaveText("Incoming web chat");
    expect(title(503)).toHaveText("Incoming e-mail");
    expect(title(504)).toHaveText("Call-back 1/3 to Zofia Nowak");
    expect(title(505)).toHaveText("Outbound call to Jan Kowalski");
    expect(title(506)).toHaveText("Incoming Carrier pigeon");
    // the popups of calls to be made in the web client: accept or reject
    expect(".o_omnichannel_offer_accept").toHaveCount(6);
    expect(".o_omnichannel_offer_answer_on_phone").toHaveCount(0);
});

test("offer on the desk phone: answered on the phone, not accepted in the popup", async () => {
    await mountConsole({ offers: [makeOffer({ answer_on_phone: true })] });
    const popup = ".o_omnichannel_offer_popup[data-offer-id='501']";
    await waitFor(popup);
    expect(`${popup} .o_omnichannel_offer_channel`).toHaveText("Incoming call");
    expect(`${popup} .o_omnichannel_offer_answer_on_phone`).toHaveText("Answer on your phone");
    expect(`${popup} .o_omnichannel_offer_accept`).toHaveCount(0);
    expect(`${popup} .o_omnichannel_offer_reject`).toHaveCount(0);
    // the customer panel, open while it rings, says the same
    await waitFor(".o_omnichannel_screen_pop_offer");
    expect(".o_omnichannel_screen_pop_answer_hint").toHaveText("Answer on your phone");
});

test("customer panel of a ringing offer: accept or reject in the popup", async () => {
    await mountConsole({ offers: [makeOffer()] });
    await waitFor(".o_omnichannel_screen_pop_offer");
    expect(".o_omnichannel_screen_pop_answer_hint").toHaveText("Accept or reject in the popup");
});

test("systray: busy is a state of its own, Available only the chosen one", async () => {
    const { server } = await mountConsole({
        presence: { state: "busy", state_label: "Busy" },
        interactions: [makeInteraction()],
    });
    await click(".o_omnichannel_console_toggle");
    await waitFor(".o_omnichannel_console_state_available");
    const available = ".o_omnichannel_console_state_available";
    expect(".o_omnichannel_console_presence_current .badge").toHaveText("Busy");
    expect(".o_omnichannel_console_presence_current .badge").toHaveClass("text-bg-danger");
    expect(available).not.toHaveClass("btn-primary");
    expect(available).toHaveClass("btn-outline-primary");
    expect(available).toHaveAttribute("aria-pressed", "false");
    expect(available).toHaveAttribute("data-chosen", "true");
    expect(".o_omnichannel_console_presence_derived[data-state='busy']").toHaveCount(1);
    expect(".o_omnichannel_console_state_offline").toHaveClass("btn-outline-secondary");

    // the call ends and is closed: available, the current state again
    Object.assign(server.data.presence, { state: "available", state_label: "Available" });
    server.data.interactions = [];
    await pushBus("omnichannel.console", { user_id: 7 });
    await advanceTime(150);
    await waitFor(`${available}.btn-primary`);
    expect(available).toHaveAttribute("aria-pressed", "true");
    expect(available).toHaveAttribute("data-chosen", "false");
    expect(".o_omnichannel_console_presence_derived").toHaveCount(0);
});

test("customer panel: the history follows the call in hand, up to wrap-up", async () => {
    await mountConsole({ interactions: [makeInteraction()] });
    const row = ".o_omnichannel_screen_pop_history li[data-name='INT/0601']";
    await waitFor(row);
    expect(`${row} .o_omnichannel_screen_pop_history_state`).toHaveText("Active");
    await click(".o_omnichannel_action_end");
    await waitFor(".o_omnichannel_wrapup");
    await waitFor(`${row} .o_omnichannel_screen_pop_history_state:contains(Wrap-up)`);
    expect(`${row} .o_omnichannel_screen_pop_history_detail`).toHaveAttribute(
        "title",
        "Wrap-up · Mitchell Admin"
    );
});

test("customer panel: the facts other addons add on a history line (a survey answer)", async () => {
    const extra = [{ key: "satisfaction", label: "CSAT", value: 4 }];
    await mountConsole({ interactions: [makeInteraction({ extra })] });
    const row = ".o_omnichannel_screen_pop_history li[data-name='INT/0601']";
    await waitFor(row);
    expect(`${row} .o_omnichannel_screen_pop_history_extra[data-key='satisfaction']`).toHaveText(
        "CSAT 4"
    );
    expect(`${row} .o_omnichannel_screen_pop_history_detail`).toHaveAttribute(
        "title",
        "Active · Mitchell Admin · CSAT 4"
    );
});

test("customer panel: promise to pay only for an identified customer", async () => {
    const { agentConsole } = await mountConsole({
        interactions: [
            makeInteraction(),
            makeInteraction({
                id: 602,
                name: "INT/0602",
                channel_type: "chat",
                partner_id: false,
                partner_name: false,
                commercial_partner_id: false,
                contact_address: "Visitor 12",
            }),
        ],
    });
    await waitFor(".o_omnichannel_screen_pop_interaction[data-state='active']");
    expect(".o_omnichannel_action_promise").toHaveCount(1);
    await agentConsole.openPanel(602, false);
    await waitFor(".o_omnichannel_screen_pop_unknown");
    expect(".o_omnichannel_screen_pop_actions").toHaveCount(1);
    expect(".o_omnichannel_action_promise").toHaveCount(0);
});

test("customer panel: open credits explain unpaid invoices with nothing due", async () => {
    // Deco Addict in Odoo's demo: invoices covered by unmatched credit notes
    const server = mockConsoleServer({ interactions: [makeInteraction()] });
    server.popValues = { overdue_amount: 0, total_due: 0, has_overdue: false, open_credit: 106662.5 };
    await mountWithCleanup(AgentConsoleSystray);
    await waitFor(".o_omnichannel_screen_pop_credit");
    expect(".o_omnichannel_screen_pop_credit").toHaveText(/Open credit/);
    expect(".o_omnichannel_screen_pop_balance.alert-danger").toHaveCount(0);
});

test("customer panel: amounts in the document's currency as a Polish user reads them", async () => {
    // a Polish company: PLN with its symbol after the amount, comma decimals
    defineParams({ lang_parameters: { decimal_point: ",", thousands_sep: "\u00a0" } });
    currencies[17] = { symbol: "zł", position: "after", digits: [69, 2] };
    after(() => delete currencies[17]);
    const server = mockConsoleServer({ interactions: [makeInteraction()] });
    const invoice = {
        id: 9,
        name: "FV/2026/00042",
        invoice_date: "2026-10-01",
        date_due: "2026-10-15",
        amount_total: 1234.5,
        amount_residual: 1234.5,
        amount_residual_company: 1234.5,
        currency: "PLN",
        currency_id: 17,
        payment_state: "not_paid",
        payment_state_label: "Not Paid",
        days_overdue: 50,
        overdue: true,
    };
    // an order in a currency the web client does not know keeps its ISO code
    const order = {
        id: 4,
        name: "S00042",
        date_order: "2026-11-20 10:00:00",
        state: "sale",
        state_label: "Sales Order",
        invoice_status: "to invoice",
        delivery_status: false,
        amount_total: 99.9,
        currency: "CZK",
        currency_id: 999,
    };
    server.popValues = { invoices: [invoice], sale_orders: [order] };
    await mountWithCleanup(AgentConsoleSystray);
    await waitFor(".o_omnichannel_screen_pop:contains(FV/2026/00042)");
    expect(".o_omnichannel_screen_pop").toHaveText(/1\s234,50\szł/);
    expect(".o_omnichannel_screen_pop").toHaveText(/99,90 CZK/);
});

test("campaigns: Next contact opens the customer panel, Dial counts the attempt", async () => {
    const { server } = await mountConsole({});
    await click(".o_omnichannel_console_toggle");
    await waitFor(".o_omnichannel_console_interactions");
    expect(".o_omnichannel_console_next_contact").toHaveCount(0);
    await click(".o_omnichannel_console_toggle"); // closed again

    server.campaigns = [{ id: 5, name: "Collections March" }];
    server.nextContacts = [
        makeInteraction({
            id: 701,
            name: "INT/0701",
            direction: "outbound",
            campaign_contact_id: 31,
            campaign_name: "Collections March",
            campaign_phone: "+48601100001",
        }),
    ];
    await click(".o_omnichannel_console_toggle");
    await waitFor(".o_omnichannel_console_campaigns:contains(Collections March)");
    await click(".o_omnichannel_console_next_contact");
    await waitFor(".o_omnichannel_screen_pop_campaign:contains(Collections March)");
    expect(".o_omnichannel_screen_pop_campaign a").toHaveAttribute("href", "tel:+48601100001");
    expect(".o_omnichannel_screen_pop_campaign_attempts").toHaveCount(0);
    await click(".o_omnichannel_action_dial");
    await waitFor(".o_omnichannel_screen_pop_campaign_attempts:contains(Attempt 1)");
    expect(".o_omnichannel_action_dial").toHaveCount(0);
    await waitFor(".o_notification:contains(Dialing +48601100001)");
    expect(server.calls).toInclude("action_next_contact");
    expect(server.calls).toInclude("action_dial:31");

    // nobody left: a notice, no panel change
    await click(".o_omnichannel_console_toggle");
    await click(await waitFor(".o_omnichannel_console_next_contact"));
    await waitFor(".o_notification:contains(Nobody left to call now.)");
});
