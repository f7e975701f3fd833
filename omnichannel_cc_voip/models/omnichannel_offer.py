from odoo import models


class OmnichannelOffer(models.Model):
    _inherit = "omnichannel.offer"

    def _console_offer_extra(self, now):
        extra = super()._console_offer_extra(now)
        extra["answer_on_phone"] = self._voip_rings_desk_phone()
        return extra

    def _voip_rings_desk_phone(self):
        """The offered call rings on the agent's desk phone: the PBX sends an
        inbound call to the agent's extension, and the agent does not use the
        browser softphone. The call is answered on the phone (the PBX then
        reports it answered), not accepted in the web client."""
        self.ensure_one()
        # sudo: the interaction is not the agent's yet and the ACD may push the offer as
        # someone else: the call's channel and direction and the agent's phone settings only
        offer = self.sudo()
        interaction, user = offer.interaction_id, offer.user_id
        return (
            interaction.channel_type == "phone"
            and interaction.direction == "inbound"
            and bool(user.omnichannel_extension)
            and not user.omnichannel_softphone
        )
