import { describe, expect, test } from "@odoo/hoot";
import { formatDuration } from "@omnichannel_cc/utils/format";
import { AGENT_STATE_COLORS, agentStateColor } from "@omnichannel_cc/utils/agent_state";

describe.current.tags("headless");

test("formatDuration: m:ss below one hour, h:mm:ss above", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(5)).toBe("0:05");
    expect(formatDuration(59.9)).toBe("0:59");
    expect(formatDuration(61)).toBe("1:01");
    expect(formatDuration(3599)).toBe("59:59");
    expect(formatDuration(3600)).toBe("1:00:00");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(36000 + 61)).toBe("10:01:01");
});

test("formatDuration: nothing or less than nothing is 0:00", () => {
    expect(formatDuration(undefined)).toBe("0:00");
    expect(formatDuration(false)).toBe("0:00");
    expect(formatDuration(-42)).toBe("0:00");
});

test("agentStateColor: one colour per presence state, neutral for others", () => {
    expect(AGENT_STATE_COLORS).toEqual({
        available: "success",
        busy: "danger",
        wrapup: "warning",
        break: "info",
        offline: "secondary",
    });
    expect(agentStateColor("busy")).toBe("danger");
    expect(agentStateColor("unknown")).toBe("secondary");
    expect(agentStateColor(undefined)).toBe("secondary");
});
