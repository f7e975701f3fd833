import { addBusServiceListeners } from "@bus/../tests/bus_test_helpers";
import { WEBSOCKET_CLOSE_CODES } from "@bus/workers/websocket_worker";
import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { click, waitFor } from "@odoo/hoot-dom";
import { advanceTime } from "@odoo/hoot-mock";
import {
    asyncStep,
    MockServer,
    mountWithCleanup,
    onRpc,
    waitForSteps,
} from "@web/../tests/web_test_helpers";

import { Wallboard } from "@omnichannel_cc/wallboard/wallboard";
import { jsonCopy, mockConsoleServer, pushBus } from "./omnichannel_test_helpers";

describe.current.tags("desktop");
// mail and im_livechat start their services in every environment of this addon
defineMailModels();

// the wallboard waits this long after a push before it reloads (DEBOUNCE_MS)
const DEBOUNCE = 300;

/** What `omnichannel.queue.wallboard_data()` returns (labels as translated by the server). */
function makeBoard() {
    const agentStates = { available: 0, busy: 1, wrapup: 0, break: 1, offline: 0 };
    return {
        now: "2025-01-06 09:00:00",
        as_of: "2025-01-06 09:00:00",
        replica: false,
        day_start: "2025-01-05 23:00:00",
        user_id: 2,
        is_manager: false,
        push_interval: 2,
        poll_interval: 30,
        queues: [
            {
                id: 11,
                name: "Support",
                company_id: 1,
                company_name: "My Company",
                service_level_target: 80,
                service_level_seconds: 60,
                service_level: 75,
                service_level_known: true,
                sl_status: "warn",
                abandon_rate: 10,
                asa: 75,
                aht: 3725,
                waiting: 2,
                longest_wait: 50,
                offered: 10,
                answered: 9,
                answered_in_sl: 7,
                abandoned: 1,
                handled: 8,
                agents: agentStates,
                member_user_ids: [7, 8],
                can_manage: true,
                waiting_items: [
                    {
                        id: 601,
                        name: "INT/0601",
                        channel_type: "chat",
                        customer: "Azure Interior",
                        state: "queued",
                        offered_to: false,
                        seconds: 50,
                    },
                ],
            },
        ],
        agents: [
            {
                id: 1,
                user_id: 7,
                name: "Anna",
                state: "busy",
                break_reason: "",
                seconds_in_state: 3599,
                load: 1,
                handled_today: 4,
                current: {
                    id: 602,
                    name: "INT/0602",
                    channel_type: "phone",
                    customer: "Deco Addict",
                    seconds: 125,
                },
                queue_ids: [11],
                can_manage: true,
            },
            {
                id: 2,
                user_id: 8,
                name: "Bruno",
                state: "break",
                break_reason: "Lunch",
                seconds_in_state: 10,
                load: 0,
                handled_today: 2,
                current: false,
                queue_ids: [11],
                can_manage: true,
            },
        ],
        agent_states: [
            ["available", "Dostępny"],
            ["busy", "Zajęty"],
            ["wrapup", "Po rozmowie"],
            ["break", "Przerwa"],
            ["offline", "Niedostępny"],
        ],
        channel_types: [
            ["phone", "Telefon"],
            ["chat", "Czat"],
        ],
        break_reasons: [{ id: 3, name: "Lunch" }],
        campaigns: [
            {
                id: 21,
                name: "Collections March",
                queue_id: 11,
                dial_mode: "preview",
                dial_mode_label: "Podgląd",
                left: 37,
                reached_today: 12,
                abandon_rate: 2.5,
            },
        ],
        totals: {
            waiting: 2,
            longest_wait: 50,
            handled: 8,
            abandoned: 1,
            agents: agentStates,
        },
    };
}

/** Mount the wallboard on a fake server; `server.board` is what it loads next. */
async function mountWallboard(changeBoard = null) {
    const consoleServer = mockConsoleServer();
    consoleServer.isAgent = false; // a supervisor: no agent console
    const server = { board: makeBoard(), loads: 0, calls: [] };
    changeBoard?.(server.board);
    onRpc("omnichannel.queue", "wallboard_data", () => {
        server.loads++;
        return jsonCopy(server.board);
    });
    onRpc("omnichannel.agent", "action_set_state", ({ args }) => {
        server.calls.push(`action_set_state:${JSON.stringify(args)}`);
        const agent = server.board.agents.find((a) => a.id === args[0][0]);
        Object.assign(agent, { state: args[1], seconds_in_state: 0, current: false });
        return true;
    });
    addBusServiceListeners(
        ["connect", () => asyncStep("bus connect")],
        ["reconnect", () => asyncStep("bus reconnect")]
    );
    await mountWithCleanup(Wallboard, { props: {} });
    await waitForSteps(["bus connect"]);
    return server;
}

const TILE = ".o_omnichannel_wallboard_tile[data-queue-name='Support']";
const ANNA = ".o_omnichannel_wallboard_agent[data-agent-name='Anna']";

test("queue tile: figures as durations, the longest wait goes on and turns into a breach", async () => {
    await mountWallboard();
    expect(`${TILE} .o_omnichannel_wallboard_waiting`).toHaveText("2");
    expect(`${TILE} .o_omnichannel_wallboard_asa`).toHaveText("1:15");
    expect(`${TILE} .o_omnichannel_wallboard_aht`).toHaveText("1:02:05");
    const longest = `${TILE} .o_omnichannel_wallboard_longest`;
    const figure = ".o_omnichannel_wallboard_figure:has(.o_omnichannel_wallboard_longest)";
    const longestFigure = `${TILE} ${figure}`;
    expect(longest).toHaveText("0:50");
    // 50 s of a 60 s service level: a warning
    expect(longestFigure).toHaveClass("o_omnichannel_wallboard_warn");
    const waitingItem = `${TILE} .o_omnichannel_wallboard_waiting_item[data-name='INT/0601']`;
    expect(`${waitingItem} td:eq(2)`).toHaveText("0:50");
    await advanceTime(10000);
    expect(longest).toHaveText("1:00");
    expect(longestFigure).toHaveClass("o_omnichannel_wallboard_bad");
    expect(longestFigure).not.toHaveClass("o_omnichannel_wallboard_warn");
    expect(".o_omnichannel_wallboard_total:contains('Longest wait') strong").toHaveText("1:00");
});

test("header: the time the figures are from; late ones (a replica behind) stand out", async () => {
    const server = await mountWallboard();
    const asOf = ".o_omnichannel_wallboard_as_of";
    expect(asOf).toHaveText(/^Figures as of \d\d:\d\d:00$/);
    expect(asOf).toHaveClass("text-muted");
    expect(asOf).not.toHaveAttribute("title");
    // the replica has replayed the primary up to 45 s ago
    Object.assign(server.board, { as_of: "2025-01-06 08:59:15", replica: true });
    await click(".o_omnichannel_wallboard_refresh");
    await waitFor(`${asOf}.text-warning`);
    expect(asOf).toHaveText(/^Figures as of \d\d:\d\d:15$/);
    expect(asOf).toHaveAttribute("title", /45 s behind/);
    expect(server.loads).toBe(2);
});

test("queue tile: the figures other addons add (_wallboard_queue_extra), none without", async () => {
    await mountWallboard();
    expect(`${TILE} .o_omnichannel_wallboard_extra`).toHaveCount(0);
});

test("queue tile: an addon's figure with its label and detail (today's satisfaction)", async () => {
    await mountWallboard((board) => {
        board.queues[0].extra = [
            { key: "satisfaction", label: "CSAT today", value: "80%", detail: "5 answers" },
        ];
    });
    const figure = `${TILE} .o_omnichannel_wallboard_extra_figure[data-key='satisfaction']`;
    expect(`${figure} .o_omnichannel_wallboard_label`).toHaveText("CSAT today");
    expect(`${figure} strong`).toHaveText("80%");
    expect(`${figure} .small`).toHaveText("5 answers");
});

test("agents: state badge in the shared colours, labels from the server, time in state ticking", async () => {
    await mountWallboard();
    expect(`${ANNA} .o_omnichannel_wallboard_state`).toHaveText("Zajęty");
    expect(`${ANNA} .o_omnichannel_wallboard_state`).toHaveClass("text-bg-danger");
    expect(`${ANNA} td:eq(3)`).toHaveText("INT/0602 · Telefon · Deco Addict · 2:05");
    const bruno = ".o_omnichannel_wallboard_agent[data-agent-name='Bruno']";
    expect(`${bruno} .o_omnichannel_wallboard_state`).toHaveText("Przerwa: Lunch");
    expect(`${bruno} .o_omnichannel_wallboard_state`).toHaveClass("text-bg-info");
    // waiting contacts show their channel in the server's words too
    expect(`${TILE} .o_omnichannel_wallboard_waiting_item .small.text-muted`).toHaveText(
        "Czat · Azure Interior"
    );
    const timeInState = `${ANNA} .o_omnichannel_wallboard_time_in_state`;
    expect(timeInState).toHaveText("59:59");
    await advanceTime(1000);
    expect(timeInState).toHaveText("1:00:00");
    await advanceTime(5000);
    expect(timeInState).toHaveText("1:00:05");
    expect(`${ANNA} td:eq(3)`).toHaveText("INT/0602 · Telefon · Deco Addict · 2:11");
});

test("pushes: one reload after the debounce, one more after the server's push interval; other companies ignored", async () => {
    const server = await mountWallboard();
    const loads = server.loads;
    await pushBus("omnichannel.wallboard", { company_id: 2 });
    await advanceTime(5000);
    expect(server.loads).toBe(loads);

    server.board.queues[0].waiting = 5;
    await pushBus("omnichannel.wallboard", { company_id: 1 }, { company_id: 1 });
    await advanceTime(DEBOUNCE);
    expect(server.loads).toBe(loads + 1);
    expect(`${TILE} .o_omnichannel_wallboard_waiting`).toHaveText("5");
    // changes the server held back within its push interval: one more look
    server.board.queues[0].waiting = 6;
    await advanceTime(2500 - DEBOUNCE);
    expect(server.loads).toBe(loads + 2);
    expect(`${TILE} .o_omnichannel_wallboard_waiting`).toHaveText("6");
    await advanceTime(5000);
    expect(server.loads).toBe(loads + 2);
});

test("after a lost connection, the bus reconnect reloads the board", async () => {
    const server = await mountWallboard();
    const loads = server.loads;
    MockServer.env["bus.bus"]._simulateDisconnection(WEBSOCKET_CLOSE_CODES.ABNORMAL_CLOSURE);
    server.board.queues[0].waiting = 9;
    await advanceTime(100); // the worker's reconnection delay
    await waitForSteps(["bus reconnect"]);
    await advanceTime(DEBOUNCE);
    expect(server.loads).toBe(loads + 1);
    expect(`${TILE} .o_omnichannel_wallboard_waiting`).toHaveText("9");
});

test("set an agent's state: sent to the server, confirmed with the server's label, board reloaded", async () => {
    const server = await mountWallboard();
    await click(`${ANNA} .o_omnichannel_wallboard_set_state`);
    await click(await waitFor(".o_omnichannel_wallboard_state_offline"));
    await waitFor(".o_notification:contains('Anna is now Niedostępny.')");
    expect(server.calls).toEqual([`action_set_state:${JSON.stringify([[1], "offline", false])}`]);
    await waitFor(`${ANNA}[data-state='offline']`);
    expect(`${ANNA} .o_omnichannel_wallboard_state`).toHaveClass("text-bg-secondary");
});

test("campaign tiles: contacts left, reached today and abandonment of each running campaign", async () => {
    const server = await mountWallboard();
    const tile = ".o_omnichannel_wallboard_campaign[data-campaign-name='Collections March']";
    expect(`${tile} .o_omnichannel_wallboard_campaign_mode`).toHaveText("Podgląd");
    expect(`${tile} .o_omnichannel_wallboard_campaign_left`).toHaveText("37");
    expect(`${tile} .o_omnichannel_wallboard_campaign_reached`).toHaveText("12");
    expect(`${tile} .o_omnichannel_wallboard_campaign_abandon`).toHaveText("2.5%");
    // the campaign paused: its tile goes with the next load
    server.board.campaigns = [];
    await click(".o_omnichannel_wallboard_refresh");
    await waitFor(".o_omnichannel_wallboard_tile[data-queue-name='Support']");
    await advanceTime(DEBOUNCE);
    expect(tile).toHaveCount(0);
    expect(".o_omnichannel_wallboard_campaigns").toHaveCount(0);
});
