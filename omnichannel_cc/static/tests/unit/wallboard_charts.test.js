/* global Chart */
import { defineMailModels } from "@mail/../tests/mail_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { queryAll, queryOne, waitFor } from "@odoo/hoot-dom";
import { advanceTime, animationFrame } from "@odoo/hoot-mock";
import { Component, useState, xml } from "@odoo/owl";
import { mountWithCleanup, onRpc, preloadBundle } from "@web/../tests/web_test_helpers";

import {
    chartTheme,
    hourTicks,
    MIN_FETCH_INTERVAL,
    STATE_COLORS,
    WallboardCharts,
} from "@omnichannel_cc/wallboard_charts/wallboard_charts";
import { jsonCopy, mockConsoleServer } from "./omnichannel_test_helpers";

describe.current.tags("desktop");
defineMailModels();
preloadBundle("web.chartjs_lib");

const NOW_INDEX = 41; // 10:15
const LABELS = Array.from(
    { length: 96 },
    (_v, i) => `${String(Math.floor(i / 4)).padStart(2, "0")}:${String((i % 4) * 15).padStart(2, "0")}`
);

function series(values, length = 96) {
    const list = new Array(length).fill(0);
    for (const [index, value] of Object.entries(values)) {
        list[index] = value;
    }
    return list;
}

/** What `omnichannel.queue.wallboard_chart_data()` returns (labels translated by the server). */
function makeChartData() {
    const agents = NOW_INDEX + 1;
    return {
        interval_minutes: 15,
        labels: LABELS,
        now_index: NOW_INDEX,
        date: "2026-03-02",
        forecast_weeks: 4,
        queue_ids: [11],
        has_contacts: true,
        contacts: {
            today: series({ 36: 2, 37: 1, 40: 1 }),
            yesterday: series({ 36: 2 }),
            forecast: series({ 36: 2.0, 38: 0.5 }),
        },
        service_level: {
            values: series({ 36: 50.0 }),
            known: series({ 36: true, 37: true }).map(Boolean),
            counted: series({ 36: 2, 37: 1 }),
            target: 80.0,
        },
        agents: {
            states: [
                ["available", "Dostępny"],
                ["busy", "Zajęty"],
                ["wrapup", "Po rozmowie"],
                ["break", "Przerwa"],
                ["offline", "Niedostępny lub nieobecny"],
            ],
            series: {
                available: series({ 32: 1, 33: 1, 34: 1, 35: 1, 40: 1, 41: 1 }, agents),
                busy: series({ 36: 1, 37: 1, 38: 1 }, agents),
                wrapup: series({ 39: 1 }, agents),
                break: series({ 34: 1, 35: 1, 36: 1, 37: 1 }, agents),
                offline: series({ 31: 2, 32: 1, 33: 1, 38: 1, 39: 1, 40: 1, 41: 1 }, agents),
            },
            total: 2,
        },
    };
}

class Parent extends Component {
    static template = xml`
        <WallboardCharts t-if="state.shown" refreshKey="state.key" tv="state.tv"/>`;
    static components = { WallboardCharts };
    static props = ["*"];

    setup() {
        this.state = useState({ key: 1, tv: false, shown: true });
    }
}

/** Mount the charts on a fake server; `server.data` is what the next fetch returns. */
async function mountCharts(changeData = null) {
    const consoleServer = mockConsoleServer();
    consoleServer.isAgent = false; // a supervisor: no agent console
    const server = { data: makeChartData(), fetches: 0, fail: false };
    changeData?.(server.data);
    onRpc("omnichannel.queue", "wallboard_chart_data", ({ kwargs }) => {
        server.fetches++;
        server.kwargs = kwargs;
        if (server.fail) {
            throw new Error("the server is away");
        }
        return jsonCopy(server.data);
    });
    const parent = await mountWithCleanup(Parent);
    await waitFor(".o_omnichannel_wallboard_chart[data-chart='agents'] canvas");
    return { server, parent };
}

function chartOf(name) {
    return Chart.getChart(queryOne(`.o_omnichannel_wallboard_chart[data-chart='${name}'] canvas`));
}

test("three charts from the server's figures, today stopping at now, around the day's activity", async () => {
    const { server } = await mountCharts();
    expect(server.kwargs.queue_ids).toBe(false); // all the queues the user sees
    expect(".o_omnichannel_wallboard_chart canvas").toHaveCount(3);
    expect(".o_omnichannel_wallboard_charts_empty").toHaveCount(0);
    expect(Object.keys(Chart.instances)).toHaveLength(3);

    // from 4 intervals before the first agent came (08:00) to 4 after now
    const contacts = chartOf("contacts");
    expect(contacts.data.labels[0]).toBe("07:00");
    expect(contacts.data.labels.at(-1)).toBe("11:15");
    // whole hours on the axis
    const xTicks = contacts.options.scales.x.ticks;
    expect([0, 1, 4].map((index) => xTicks.callback(index, index))).toEqual(["07:00", null, "08:00"]);
    const [today, yesterday, forecast] = contacts.data.datasets;
    expect(today.label).toBe("Contacts today");
    expect(today.data.slice(8, 14)).toEqual([2, 1, 0, 0, 1, 0]); // 09:00 ... 10:15
    expect(today.data.slice(14)).toEqual([null, null, null, null]); // after now
    expect(yesterday.data[8]).toBe(2);
    expect(forecast.label).toBe("Forecast (4 weeks)");
    expect(forecast.data.slice(8, 11)).toEqual([2, 0, 0.5]);
    expect(forecast.data.at(-1)).toBe(0);

    const [sl, target] = chartOf("service_level").data.datasets;
    // 09:00 50 %, 09:15 0 % (known), no service level where no contact counts
    expect(sl.data.slice(7, 11)).toEqual([null, 50, 0, null]);
    expect(target.label).toBe("Target (80%)");
    expect(target.data.every((value) => value === 80)).toBe(true);
    expect(chartOf("service_level").options.scales.y.max).toBe(100);

    const agents = chartOf("agents");
    expect(agents.options.scales.y.stacked).toBe(true);
    expect(agents.data.datasets.map((d) => d.label)).toEqual([
        "Dostępny",
        "Zajęty",
        "Po rozmowie",
        "Przerwa",
        "Niedostępny lub nieobecny",
    ]);
    expect(agents.data.datasets[0].backgroundColor).toBe(STATE_COLORS.available);
    // 07:45 two offline; 08:30 one available, one on a break; nothing after now
    const at = (index) => agents.data.datasets.map((d) => d.data[index - 28]);
    expect(at(31)).toEqual([0, 0, 0, 0, 2]);
    expect(at(34)).toEqual([1, 0, 0, 1, 0]);
    expect(at(42)).toEqual([null, null, null, null, null]);
});

test("no contacts yet today: said plainly, yesterday and the forecast still drawn", async () => {
    await mountCharts((data) => {
        data.has_contacts = false;
        data.contacts.today = series({});
        data.service_level.values = series({});
        data.service_level.known = series({}).map(Boolean);
        data.service_level.counted = series({});
    });
    expect(".o_omnichannel_wallboard_charts_empty").toHaveText("No contacts yet today.");
    expect(".o_omnichannel_wallboard_chart canvas").toHaveCount(3);
    const [today, yesterday] = chartOf("contacts").data.datasets;
    expect(today.data.filter(Boolean)).toEqual([]);
    expect(yesterday.data.filter(Boolean)).toEqual([2]);
    expect(chartOf("service_level").data.datasets[0].data.filter((v) => v !== null)).toEqual([]);
});

test("an empty day: nothing at all, the notice and empty charts, no error", async () => {
    await mountCharts((data) => {
        data.has_contacts = false;
        data.contacts = { today: series({}), yesterday: series({}), forecast: series({}) };
        data.service_level = {
            values: series({}),
            known: series({}).map(Boolean),
            counted: series({}),
            target: 80,
        };
        for (const state of Object.keys(data.agents.series)) {
            data.agents.series[state] = series({}, NOW_INDEX + 1);
        }
    });
    expect(".o_omnichannel_wallboard_charts_empty").toHaveCount(1);
    expect(".o_omnichannel_wallboard_charts_error").toHaveCount(0);
    // around now only
    expect(chartOf("contacts").data.labels).toEqual(LABELS.slice(NOW_INDEX - 4, NOW_INDEX + 5));
});

test("refreshed with the wallboard, once a minute at most; larger in TV mode; destroyed on unmount", async () => {
    const { server, parent } = await mountCharts();
    expect(server.fetches).toBe(1);
    // the wallboard reloads (a push) 10 s later: too early, one fetch when the minute is over
    await advanceTime(10000);
    parent.state.key++;
    await animationFrame();
    parent.state.key++;
    await animationFrame();
    expect(server.fetches).toBe(1);
    server.data.contacts.today[41] = 7;
    await advanceTime(MIN_FETCH_INTERVAL - 10000);
    await animationFrame();
    expect(server.fetches).toBe(2);
    expect(chartOf("contacts").data.datasets[0].data[41 - 28]).toBe(7);
    // no reload of the wallboard: no fetch of its own
    await advanceTime(5 * MIN_FETCH_INTERVAL);
    expect(server.fetches).toBe(2);
    // a reload more than a minute after: at once
    parent.state.key++;
    await animationFrame();
    expect(server.fetches).toBe(3);

    expect(chartOf("contacts").options.scales.x.ticks.font.size).toBe(12);
    parent.state.tv = true;
    await animationFrame();
    expect(".o_omnichannel_wallboard_charts").toHaveClass("o_omnichannel_wallboard_charts_tv");
    const tv = chartOf("contacts");
    expect(tv.options.scales.x.ticks.font.size).toBe(22);
    expect(tv.data.datasets[2].borderWidth).toBe(6);
    expect(Object.keys(Chart.instances)).toHaveLength(3); // redrawn, not added
    expect(server.fetches).toBe(3);

    parent.state.shown = false;
    await animationFrame();
    expect(queryAll(".o_omnichannel_wallboard_charts")).toHaveLength(0);
    expect(Object.keys(Chart.instances)).toHaveLength(0);
    await advanceTime(2 * MIN_FETCH_INTERVAL);
    expect(server.fetches).toBe(3);
});

test("a failed fetch: a notice, the live board goes on, the next refresh draws the charts", async () => {
    const consoleServer = mockConsoleServer();
    consoleServer.isAgent = false;
    let fail = true;
    onRpc("omnichannel.queue", "wallboard_chart_data", () => {
        if (fail) {
            throw new Error("the server is away");
        }
        return makeChartData();
    });
    const parent = await mountWithCleanup(Parent);
    await waitFor(".o_omnichannel_wallboard_charts_error");
    expect(".o_omnichannel_wallboard_chart canvas").toHaveCount(0);
    fail = false;
    await advanceTime(MIN_FETCH_INTERVAL);
    parent.state.key++;
    await waitFor(".o_omnichannel_wallboard_chart[data-chart='contacts'] canvas");
    expect(".o_omnichannel_wallboard_charts_error").toHaveCount(0);
    expect(Object.keys(Chart.instances)).toHaveLength(3);
});

test("hour ticks: whole hours, fewer of them in TV mode", () => {
    const shown = (labels, tv) => hourTicks(labels, chartTheme(tv)).filter(Boolean);
    expect(shown(LABELS, false)).toEqual(LABELS.filter((label, i) => i % 8 === 0)); // every 2 h
    expect(shown(LABELS, true)).toEqual(["00:00", "04:00", "08:00", "12:00", "16:00", "20:00"]);
    expect(shown(LABELS.slice(30, 50), true)).toEqual(["08:00", "09:00", "10:00", "11:00", "12:00"]);
});
