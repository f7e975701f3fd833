from odoo import api, models


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    @api.model
    def _sms_receive(self, channel, message):
        """A digit texted back by a customer asked by SMS is their answer:
        recorded once (the gateway's message id is the idempotency key), not
        routed to an agent. Any other text, or a digit without an open
        invitation to that number, is a message as usual."""
        text = (message.text or "").strip()
        if text.isdigit() and len(text) <= 2:
            number = self._sms_sanitize(message.sender, channel.company_id)
            # sudo: the gateway's callback only learns whether its sender was asked by SMS
            invitations = self.env["omnichannel.survey.invitation"].sudo()
            invitation = invitations._sms_awaiting(number, channel)
            if invitation:
                try:
                    result = invitation._record_answer(
                        text, channel="sms", idempotency_key=message.provider_id
                    )
                except ValueError:
                    result = None  # out of range: a message for the agents
                if result and result["recorded"]:
                    # the gateway's re-delivery of this message is then a duplicate
                    # for the SMS addon too, never a new conversation
                    # sudo: idempotency keys are technical records no user may write
                    self.env["omnichannel.event.key"].sudo()._claim(
                        f"sms:{channel.id}", message.provider_id[:255], invitation.id
                    )
                    return {"received": 1, "survey_answer": True}
        return super()._sms_receive(channel, message)
