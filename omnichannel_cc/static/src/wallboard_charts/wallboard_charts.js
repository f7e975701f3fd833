/* global Chart */
import {
    Component,
    markRaw,
    onMounted,
    onWillUnmount,
    onWillUpdateProps,
    status,
    useEffect,
    useRef,
    useState,
} from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { useService } from "@web/core/utils/hooks";

// The charts change slowly: they are fetched on the wallboard's refreshes (bus
// push, poll, button), a minute apart at least; a refresh within the minute
// is served once, when the minute is over.
export const MIN_FETCH_INTERVAL = 60000;
// intervals shown before and after the day's activity
const MARGIN = 4;

// the agents' states in the colours of the wallboard's badges (utils/agent_state.js)
export const STATE_COLORS = Object.freeze({
    available: "#28a745",
    busy: "#dc3545",
    wrapup: "#f0ad00",
    break: "#17a2b8",
    offline: "#8a9099",
});
const COLORS = Object.freeze({
    today: "#3d8fe0",
    yesterday: "#9aa0a6",
    forecast: "#f08c00",
    serviceLevel: "#3d8fe0",
    target: "#e0443e",
});

/** Font sizes, line widths and colours: large, thick and contrasted in TV mode. */
export function chartTheme(tv) {
    return tv
        ? {
              font: 22,
              weight: "bold",
              line: 6,
              point: 6,
              ticks: 6,
              text: "#f2f2f2",
              grid: "rgba(255,255,255,0.2)",
          }
        : {
              font: 12,
              weight: "normal",
              line: 2,
              point: 3,
              ticks: 12,
              text: "#4c4c4c",
              grid: "rgba(0,0,0,0.08)",
          };
}

/**
 * [first, last] intervals worth showing: the day's activity (contacts today,
 * yesterday or forecast, agents not offline) and now, with a margin.
 */
export function chartWindow(data) {
    const { today, yesterday, forecast } = data.contacts;
    let first = data.now_index;
    let last = data.now_index;
    const see = (index) => {
        first = Math.min(first, index);
        last = Math.max(last, index);
    };
    data.labels.forEach((_label, index) => {
        if (today[index] || yesterday[index] || forecast[index]) {
            see(index);
        }
    });
    for (const [state, values] of Object.entries(data.agents.series)) {
        if (state !== "offline") {
            values.forEach((count, index) => count && see(index));
        }
    }
    return [Math.max(first - MARGIN, 0), Math.min(last + MARGIN, data.labels.length - 1)];
}

/**
 * The x axis labels shown: whole hours only, every `step` hours so that at
 * most `theme.ticks` are written (fewer, larger ones in TV mode).
 */
export function hourTicks(labels, theme) {
    const step = Math.max(Math.ceil(labels.length / 4 / theme.ticks), 1);
    return labels.map((label) => {
        const [hour, minute] = label.split(":").map(Number);
        return minute === 0 && hour % step === 0 ? label : null;
    });
}

function baseOptions(theme, labels, { stacked = false, yMax = undefined, percent = false } = {}) {
    const font = { size: theme.font, weight: theme.weight };
    const ticks = hourTicks(labels, theme);
    return {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
            legend: {
                position: "bottom",
                labels: {
                    color: theme.text,
                    font,
                    boxWidth: theme.font * 2,
                    sort: (a, b) => a.datasetIndex - b.datasetIndex,
                },
            },
            tooltip: { titleFont: font, bodyFont: font },
        },
        scales: {
            x: {
                stacked,
                ticks: {
                    color: theme.text,
                    font,
                    maxRotation: 0,
                    autoSkip: false,
                    callback: (_value, index) => ticks[index],
                },
                grid: { color: theme.grid },
            },
            y: {
                stacked,
                beginAtZero: true,
                max: yMax,
                ticks: {
                    color: theme.text,
                    font,
                    precision: 0,
                    callback: percent ? (value) => `${value}%` : undefined,
                },
                grid: { color: theme.grid },
            },
        },
    };
}

/**
 * Chart.js configurations of the three charts from `wallboard_chart_data()`,
 * for the intervals of `chartWindow`; today's series stop at now.
 */
export function chartConfigs(data, tv = false) {
    const theme = chartTheme(tv);
    const [first, last] = chartWindow(data);
    const labels = data.labels.slice(first, last + 1);
    // one value per label shown; none after now for today's series
    const range = (values, upToNow = false) =>
        labels.map((_label, offset) => {
            const index = first + offset;
            return (upToNow && index > data.now_index) || !(index in values) ? null : values[index];
        });
    const line = (label, values, color, extra = {}) => ({
        type: "line",
        label,
        data: values,
        borderColor: color,
        backgroundColor: color,
        borderWidth: theme.line,
        pointRadius: 0,
        fill: false,
        ...extra,
    });
    const contacts = {
        type: "bar",
        data: {
            labels,
            datasets: [
                {
                    type: "bar",
                    label: _t("Contacts today"),
                    data: range(data.contacts.today, true),
                    backgroundColor: COLORS.today,
                    order: 3,
                },
                line(_t("Contacts yesterday"), range(data.contacts.yesterday), COLORS.yesterday, {
                    borderDash: [theme.line * 3, theme.line * 2],
                    order: 2,
                }),
                line(
                    _t("Forecast (%(weeks)s weeks)", { weeks: data.forecast_weeks }),
                    range(data.contacts.forecast),
                    COLORS.forecast,
                    { order: 1 }
                ),
            ],
        },
        options: baseOptions(theme, labels),
    };
    const sl = data.service_level;
    const serviceLevel = {
        type: "line",
        data: {
            labels,
            datasets: [
                line(
                    _t("Service level"),
                    range(sl.values.map((value, index) => (sl.known[index] ? value : null))),
                    COLORS.serviceLevel,
                    { pointRadius: theme.point, spanGaps: false }
                ),
                line(
                    _t("Target (%(target)s)", { target: `${sl.target}%` }),
                    labels.map(() => sl.target),
                    COLORS.target,
                    { borderDash: [theme.line * 3, theme.line * 2] }
                ),
            ],
        },
        options: baseOptions(theme, labels, { yMax: 100, percent: true }),
    };
    const agents = {
        type: "bar",
        data: {
            labels,
            datasets: data.agents.states.map(([state, label]) => ({
                label,
                data: range(data.agents.series[state] || [], true),
                backgroundColor: STATE_COLORS[state] || STATE_COLORS.offline,
                barPercentage: 1,
                categoryPercentage: 1,
            })),
        },
        options: baseOptions(theme, labels, { stacked: true }),
    };
    return { contacts, serviceLevel, agents };
}

/**
 * The wallboard's charts of the day: contacts per 15 minutes (today,
 * yesterday, forecast), service level against its target, agents by state.
 * Fetched with the wallboard's refreshes (`refreshKey` changes), once a
 * minute at most; drawn larger in TV mode (`tv`).
 */
export class WallboardCharts extends Component {
    static template = "omnichannel_cc.WallboardCharts";
    static props = {
        refreshKey: { type: Number, optional: true },
        tv: { type: Boolean, optional: true },
        queueIds: { type: Array, element: Number, optional: true },
    };

    setup() {
        this.orm = useService("orm");
        this.state = useState({ data: null, error: false });
        this.canvases = {
            contacts: useRef("contacts"),
            serviceLevel: useRef("serviceLevel"),
            agents: useRef("agents"),
        };
        this.charts = {};
        this.lastFetch = 0;
        this.trailing = null;
        onMounted(() => this.fetch());
        onWillUpdateProps((next) => {
            if (next.refreshKey !== this.props.refreshKey) {
                this.requestRefresh();
            }
        });
        useEffect(
            () => this.renderCharts(),
            () => [this.state.data, this.props.tv]
        );
        onWillUnmount(() => {
            browser.clearTimeout(this.trailing);
            this.destroyCharts();
        });
    }

    /** Fetch now if the last fetch is a minute old, else once when it is. */
    requestRefresh() {
        const wait = this.lastFetch + MIN_FETCH_INTERVAL - Date.now();
        if (wait <= 0) {
            browser.clearTimeout(this.trailing);
            this.trailing = null;
            this.fetch();
        } else if (!this.trailing) {
            this.trailing = browser.setTimeout(() => {
                this.trailing = null;
                this.fetch();
            }, wait);
        }
    }

    async fetch() {
        this.lastFetch = Date.now();
        let data;
        try {
            [data] = await Promise.all([
                this.orm.call("omnichannel.queue", "wallboard_chart_data", [], {
                    queue_ids: this.props.queueIds || false,
                }),
                loadBundle("web.chartjs_lib"),
            ]);
        } catch {
            // the live figures above go on; the charts try again at the next refresh
            if (status(this) !== "destroyed") {
                this.state.error = true;
            }
            return;
        }
        if (status(this) !== "destroyed") {
            this.state.error = false;
            this.state.data = markRaw(data);
        }
    }

    destroyCharts() {
        for (const chart of Object.values(this.charts)) {
            chart.destroy();
        }
        this.charts = {};
    }

    renderCharts() {
        this.destroyCharts();
        if (!this.state.data) {
            return;
        }
        const configs = chartConfigs(this.state.data, Boolean(this.props.tv));
        for (const [key, config] of Object.entries(configs)) {
            const canvas = this.canvases[key].el;
            if (canvas) {
                this.charts[key] = new Chart(canvas, config);
            }
        }
    }
}
