"""The keypad survey after a call: the PBX asks on ``/route`` whether to
play it, and posts the digits as a signed ``survey_answer`` event."""

from odoo import _, api, models
from odoo.exceptions import UserError

from odoo.addons.omnichannel_cc.models.omnichannel_interaction import UNANSWERED_STATES


class OmnichannelInteraction(models.Model):
    _inherit = "omnichannel.interaction"

    @api.model
    def _voip_route_fast_ok(self, channel, queue):
        # whether the PBX plays the survey is sampled on the interaction's id,
        # which a call answered before it is written does not have yet
        return super()._voip_route_fast_ok(channel, queue) and not queue.satisfaction_kind

    def _voip_route_answer(self, answer):
        answer = super()._voip_route_answer(answer)
        # {"kind", "min", "max"}: the PBX plays the survey after the call; a
        # call already missed, abandoned or closed is not asked
        asked = self.state not in UNANSWERED_STATES and self.state != "done"
        answer["survey"] = (asked and self._survey_prompt()) or False
        return answer

    def _voip_on_survey_answer(self, values, agent):
        try:
            result = self._survey_record_answer(
                self.id,
                None,
                int(values["digits"]),
                channel="phone",
                # a call id is the PBX's: the channel's id keeps two PBXs apart
                idempotency_key=f"{self.channel_id.id}:{values['call_id']}:survey",
            )
        except ValueError as error:
            # a UserError is a 400 and rolls back what the event claimed
            raise UserError(
                _(
                    "The keypad answer %(digits)s of %(name)s is refused: %(error)s",
                    digits=values["digits"],
                    name=self.name,
                    error=error,
                )
            ) from error
        return {"survey": result["status"], "recorded": result["recorded"]}
