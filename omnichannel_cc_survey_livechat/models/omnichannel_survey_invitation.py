from odoo import models


class OmnichannelSurveyInvitation(models.Model):
    _inherit = "omnichannel.survey.invitation"

    def _store_rating(self):
        # the chat's answer is im_livechat's own rating: linked, not copied
        rating_id = self.env.context.get("omnichannel_chat_rating_id")
        if not rating_id:
            return super()._store_rating()
        self.rating_id = rating_id

    def _chat_switch_to_csat(self, interaction):
        """A queue (or campaign) measuring NPS or CES still stores the chat's
        rating as a CSAT answer: the interaction's invitation not sent yet
        becomes a CSAT one (the rating answers it; no e-mail follows). Without
        an invitation, ``_survey_record_answer`` creates a CSAT one. An
        invitation already e-mailed keeps its measure and awaits its answer."""
        # sudo: the visitor's feedback request; the rules decide, not the visitor
        invitation = self.sudo().search([("interaction_id", "=", interaction.id)], limit=1)
        if invitation and invitation.kind != "csat" and invitation.state == "scheduled":
            invitation.write({"kind": "csat", "survey_id": interaction._survey_template("csat").id})
