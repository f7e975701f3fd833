import { patch } from "@web/core/utils/patch";
import { AgentConsole } from "@omnichannel_cc/agent_console/agent_console_service";

/**
 * Accepting a phone offer in the agent console also picks up the call that
 * rings in the browser softphone: one click, not two.
 */
patch(AgentConsole.prototype, {
    async accept(offer) {
        await super.accept(...arguments);
        const softphone = this.env.services.omnichannel_softphone;
        const call = softphone?.state?.call;
        if (
            offer.channel_type === "phone" &&
            call?.direction === "incoming" &&
            call.status === "ringing"
        ) {
            await softphone.answer();
        }
    },
});
