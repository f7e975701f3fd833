/**
 * A duration in seconds as a clock: "m:ss" below one hour, "h:mm:ss" above.
 * Fractions are dropped; nothing, or less than nothing, shows as "0:00".
 * Every timer of the agent console, the wallboard and the softphone uses it.
 *
 * @param {number} totalSeconds
 * @returns {string}
 */
export function formatDuration(totalSeconds) {
    const seconds = Math.max(Math.floor(totalSeconds || 0), 0);
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = String(seconds % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
