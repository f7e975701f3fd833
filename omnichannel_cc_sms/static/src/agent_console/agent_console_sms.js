import { ConfirmationDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { AgentConsole } from "@omnichannel_cc/agent_console/agent_console_service";

// Interaction states whose SMS conversation the console shows: offered too,
// so that the agent reads what the customer wrote before accepting.
export const SMS_CONVERSATION_STATES = ["offered", "active", "wrapup"];

/**
 * The SMS interactions in hand with their conversation, oldest first, among
 * the console's `interactions` (pass the component's `useState` of the
 * console state, so that it renders again on a reload).
 */
export function smsConversations(interactions) {
    return (interactions || []).filter(
        (interaction) =>
            interaction.channel_type === "sms" &&
            interaction.sms &&
            SMS_CONVERSATION_STATES.includes(interaction.state)
    );
}

/**
 * SMS conversations in the agent console: the agent's SMS interactions in
 * hand carry their last messages (`sms` of each console row), which the
 * console's bus reload keeps fresh; the agent replies with
 * `action_sms_reply`, after a confirmation when the customer opted out.
 */
patch(AgentConsole.prototype, {
    async accept(offer) {
        await super.accept(...arguments);
        const interaction = this.interaction(offer.interaction_id);
        if (offer.channel_type === "sms" && interaction?.sms && this.env.services.ui?.isSmall) {
            // one screen: the conversation first, the customer panel a tab away
            this.state.panel.minimized = true;
        }
    },

    /**
     * Send `body` to the customer of the SMS `interaction`. A customer who
     * opted out (STOP) is texted only once the agent confirms.
     *
     * @returns {Promise<Object|false>} what the server answered for the sent
     *     SMS ({sms_id, state, encoding, segments}); false when the agent
     *     did not confirm
     */
    async sendSms(interaction, body) {
        const reply = (confirmBlacklisted) =>
            this.orm.call("omnichannel.interaction", "action_sms_reply", [[interaction.id], body], {
                confirm_blacklisted: confirmBlacklisted,
            });
        let result = await reply(false);
        if (result?.blacklisted) {
            if (!(await this.confirmSmsToOptedOut(result.warning))) {
                return false;
            }
            result = await reply(true);
        }
        await this.load();
        return result;
    },

    /** Ask the agent whether to text a number that opted out; resolves to their answer. */
    confirmSmsToOptedOut(warning) {
        return new Promise((resolve) => {
            const question = _t(
                "This number opted out of SMS (STOP). Send this transactional reply anyway?"
            );
            this.env.services.dialog.add(
                ConfirmationDialog,
                {
                    title: _t("Opted out of SMS"),
                    body: warning && warning !== question ? `${warning}\n\n${question}` : question,
                    confirmLabel: _t("Send anyway"),
                    confirm: () => resolve(true),
                    cancel: () => resolve(false),
                },
                { onClose: () => resolve(false) }
            );
        });
    },

    /** The SMS templates of interactions (quick replies), read once. */
    smsTemplates() {
        this._smsTemplates ??= this.orm
            .searchRead(
                "sms.template",
                [["model", "=", "omnichannel.interaction"]],
                ["name", "body"],
                { order: "name, id" }
            )
            .catch((error) => {
                this._smsTemplates = null; // asked again next time
                throw error;
            });
        return this._smsTemplates;
    },

    /**
     * A template's text for `interaction`, its placeholders filled in by the
     * server (`{{ object.partner_id.name }}`) as Odoo's own template preview.
     */
    async renderSmsTemplate(interaction, template) {
        const [preview] = await this.orm.webSave(
            "sms.template.preview",
            [],
            {
                sms_template_id: template.id,
                resource_ref: `omnichannel.interaction,${interaction.id}`,
            },
            { specification: { body: {} } }
        );
        return preview?.body ?? template.body;
    },
});
