import { patch } from "@web/core/utils/patch";
import { AgentConsole } from "@omnichannel_cc/agent_console/agent_console_service";

/**
 * Accepting a web chat in the agent console opens its conversation, as Odoo
 * opens a live chat for its operator (`Thread.open()` of mail's store): a
 * chat window, or the thread in the Discuss app when Discuss is on screen.
 * The customer panel stays open beside it (agent_console_overlay.scss moves
 * the chat windows left of the panel, so the composer is never covered).
 */
patch(AgentConsole.prototype, {
    async accept(offer) {
        await super.accept(...arguments);
        // the reload after the accept brings the interaction, now the agent's
        const interaction = this.interaction(offer.interaction_id);
        if (interaction?.state === "active" && interaction.discuss_channel_id) {
            await this.openChat(interaction.discuss_channel_id);
        }
    },

    /** Open the live chat session `channelId` (a discuss.channel the agent is a member of). */
    async openChat(channelId) {
        const store = this.env.services["mail.store"];
        if (!store) {
            return;
        }
        const thread = await store.Thread.getOrFetch({ model: "discuss.channel", id: channelId });
        if (!thread) {
            return;
        }
        thread.open();
        if (this.env.services.ui?.isSmall) {
            // one screen: the conversation first, the customer panel a tab away
            this.state.panel.minimized = true;
        }
    },
});
