import { registry } from "@web/core/registry";

const TILE = '.o_omnichannel_wallboard_tile[data-queue-name="Tour WB queue"]';
const AGENT = '.o_omnichannel_wallboard_agent[data-agent-name="WB Agent"]';

// A supervisor watches the wallboard, makes an agent available, assigns one
// waiting chat to them and picks the other one up: the tile follows.
registry.category("web_tour.tours").add("omnichannel_cc_wallboard_tour", {
    steps: () => [
        {
            content: "The queue tile shows two contacts waiting",
            trigger: `${TILE}[data-waiting="2"] .o_omnichannel_wallboard_waiting:contains(2)`,
        },
        {
            content: "The agent is offline",
            trigger: `${AGENT}[data-state="offline"]`,
        },
        {
            content: "Set the agent's state",
            trigger: `${AGENT} .o_omnichannel_wallboard_set_state`,
            run: "click",
        },
        {
            content: "Available",
            trigger: ".o_omnichannel_wallboard_state_available",
            run: "click",
        },
        {
            trigger: `${AGENT}[data-state="available"]`,
        },
        {
            content: "Assign the first chat",
            trigger: `${TILE} .o_omnichannel_wallboard_waiting_item[data-name="WBCHAT1"] .o_omnichannel_wallboard_assign`,
            run: "click",
        },
        {
            content: "to the agent",
            trigger: '.o_omnichannel_wallboard_assign_to:contains("WB Agent")',
            run: "click",
        },
        {
            content: "It rings at the agent, who is busy now",
            trigger: `${TILE} .o_omnichannel_wallboard_waiting_item[data-name="WBCHAT1"] .o_omnichannel_wallboard_offered:contains("WB Agent")`,
        },
        {
            trigger: `${AGENT}[data-state="busy"]`,
        },
        {
            content: "Pick the second chat up",
            trigger: `${TILE} .o_omnichannel_wallboard_waiting_item[data-name="WBCHAT2"] .o_omnichannel_wallboard_pick`,
            run: "click",
        },
        {
            content: "One contact is still waiting (ringing)",
            trigger: `${TILE}[data-waiting="1"]:not(:has([data-name="WBCHAT2"]))`,
        },
        {
            content: "TV mode",
            trigger: ".o_omnichannel_wallboard_tv_toggle",
            run: "click",
        },
        {
            trigger: ".o_omnichannel_wallboard.o_omnichannel_wallboard_tv",
        },
    ],
});
