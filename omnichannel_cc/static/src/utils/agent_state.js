/**
 * Bootstrap colour of each presence state of an agent (the selection
 * `omnichannel.agent.state`), as `bg-*`, `text-bg-*` classes: the console
 * systray and the wallboard show a state in the same colour.
 */
export const AGENT_STATE_COLORS = Object.freeze({
    available: "success",
    busy: "danger",
    wrapup: "warning",
    break: "info",
    offline: "secondary",
});

/**
 * @param {string} state
 * @returns {string} the colour of `state`, neutral for a state not known here
 */
export function agentStateColor(state) {
    return AGENT_STATE_COLORS[state] || "secondary";
}
