from odoo import _, api, models


class RatingRating(models.Model):
    _inherit = "rating.rating"

    @api.model_create_multi
    def create(self, vals_list):
        ratings = super().create(vals_list)
        ratings._chat_survey_answer()
        return ratings

    def write(self, vals):
        result = super().write(vals)
        # im_livechat's /im_livechat/feedback rewrites the session's one rating
        if "rating" in vals:
            self._chat_survey_answer()
        return result

    def _chat_survey_answer(self):
        """A live chat session's end-of-chat rating is its interaction's CSAT
        answer, so the visitor is not asked again by e-mail.

        im_livechat's faces are 5 (satisfied), 3 (neutral) and 1
        (dissatisfied): the same numbers on the CSAT 1-5 scale, so 5 counts
        as satisfied, 3 does not, and 1 is a detractor. The rating's id makes
        a second feedback on the same session a no-op (the first answer is
        kept, as for every channel)."""
        for rating in self.filtered(
            lambda r: r.res_model == "discuss.channel" and r.consumed and 1 <= r.rating <= 5
        ):
            # sudo: the visitor rates as the public user; only the session's kind and interaction
            session = self.env["discuss.channel"].sudo().browse(rating.res_id)
            if session.channel_type != "livechat":
                continue
            interaction = session._chat_interaction()
            if not interaction or not interaction._survey_kind():
                continue  # a queue without a survey: im_livechat's rating only
            self.env["omnichannel.survey.invitation"]._chat_switch_to_csat(interaction)
            try:
                self.env["omnichannel.interaction"].with_context(
                    omnichannel_chat_rating_id=rating.id
                )._survey_record_answer(
                    interaction.id,
                    "csat",
                    int(rating.rating),
                    rating.feedback,
                    channel="chat",
                    idempotency_key=f"rating:{rating.id}",
                )
            except ValueError:
                # asked another measure by e-mail already: that answer is awaited
                interaction._log_note(
                    _(
                        "The visitor rated the chat %(value)s of 5; not recorded as the "
                        "satisfaction answer: the survey was already sent.",
                        value=int(rating.rating),
                    )
                )
